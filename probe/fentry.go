package probe

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"friday/btftypes"
	"friday/lazybtf"
	"friday/syntax"
	"friday/types"
)

func init() {
	for _, pv := range []struct {
		name    string
		aliases []string
		attach  ebpf.AttachType
	}{
		{"fentry", []string{"f", "kfunc"}, ebpf.AttachTraceFEntry},
		{"fexit", []string{"fr", "kretfunc"}, ebpf.AttachTraceFExit},
	} {
		register(&provider{
			name:     pv.name,
			aliases:  pv.aliases,
			progType: ebpf.Tracing,
			expand:   expandFentry(pv.name),
			list:     listFentry(pv.name),
			details:  fentryDetails,
			attach:   attachFentry,

			newestFirst: always,
		})
		loadings[pv.name] = &loading{
			attachType: pv.attach,
			attachTo:   func(p *Point) string { return p.Func },
			loadError:  fentryLoadError,
		}
	}
}

// RetvalField is the field of an fexit point's Args that holds the
// function's return value: the context slot after the arguments. Its name
// cannot be written in a script, so only the retval builtin reaches it.
const RetvalField = "$retval"

// btfFuncs lists the functions of module ("" for vmlinux) that BTF
// describes and the kernel can trace, sorted; the spec describes them.
func (r *resolver) btfFuncs(module string) ([]string, *lazybtf.Spec, error) {
	spec, err := r.moduleSpec(module)
	if err != nil {
		return nil, nil, err
	}
	k := &r.kernel
	k.mu.Lock()
	names, ok := k.btfFuncs[module]
	k.mu.Unlock()
	if ok {
		return names, spec, nil
	}
	// The traceable functions (those with an ftrace site or at least a
	// symbol) narrow BTF down to what fentry can attach to; without them
	// BTF alone decides.
	funcs, ferr := r.kernelFuncs()
	if module != "" {
		// A module's BTF also holds the kernel's: its own functions are
		// the module's symbols that BTF describes.
		if ferr != nil {
			return nil, nil, ferr
		}
		for _, f := range funcs {
			if f.Module == module && isBTFFunc(spec, f.Name) {
				names = append(names, f.Name)
			}
		}
	} else {
		seen := map[string]bool{}
		for id, name := range spec.Names() {
			if seen[name] || ferr == nil && !funcs.has(kernelFunc{Name: name}) {
				continue
			}
			t, err := spec.TypeByID(id)
			if err != nil {
				return nil, nil, err
			}
			if _, ok := t.(*btf.Func); ok {
				seen[name] = true
				names = append(names, name)
			}
		}
		sort.Strings(names)
	}
	k.mu.Lock()
	if k.btfFuncs == nil {
		k.btfFuncs = map[string][]string{}
	}
	k.btfFuncs[module] = names
	k.mu.Unlock()
	return names, spec, nil
}

// traceableBTFFunc reports whether BTF describes function name of module
// and the kernel can trace it; it spares building the list of all
// functions when a script names one.
func (r *resolver) traceableBTFFunc(spec *lazybtf.Spec, module, name string) bool {
	if !isBTFFunc(spec, name) {
		return false
	}
	funcs, err := r.kernelFuncs()
	return err != nil && module == "" || funcs.has(kernelFunc{Module: module, Name: name})
}

// isBTFFunc reports whether spec describes one function name.
func isBTFFunc(spec *lazybtf.Spec, name string) bool {
	_, err := lazybtf.TypeByName[*btf.Func](spec, name)
	return err == nil
}

// moduleSpec is the BTF of a module, or of the kernel for "".
func (r *resolver) moduleSpec(module string) (*lazybtf.Spec, error) {
	base, err := r.kernelBTF()
	if module == "" || err != nil {
		return base, err
	}
	k := &r.kernel
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.modSpecs[module]; s != nil {
		return s, nil
	}
	load := k.moduleBTF
	if load == nil {
		load = lazybtf.LoadKernelModule
	}
	s, err := load(module, base)
	if err != nil {
		return nil, fmt.Errorf("no BTF for kernel module %s: %w", module, err)
	}
	if k.modSpecs == nil {
		k.modSpecs = map[string]*lazybtf.Spec{}
	}
	k.modSpecs[module] = s
	return s, nil
}

// btfModules lists the modules whose functions fentry may name: the
// modules with traceable functions.
func (r *resolver) btfModules() []string {
	funcs, err := r.kernelFuncs()
	if err != nil {
		return nil
	}
	var mods []string
	for _, f := range funcs {
		if f.Module != "" && (len(mods) == 0 || mods[len(mods)-1] != f.Module) {
			mods = append(mods, f.Module)
		}
	}
	return mods
}

// funcProto returns the BTF prototype of a function of module.
func funcProto(spec *lazybtf.Spec, name string) (*btf.FuncProto, error) {
	fn, err := lazybtf.TypeByName[*btf.Func](spec, name)
	if err != nil {
		return nil, err
	}
	proto, ok := fn.Type.(*btf.FuncProto)
	if !ok {
		return nil, fmt.Errorf("function %s: unexpected BTF %v", name, fn.Type)
	}
	return proto, nil
}

// fentryArgs is the args struct of a function: parameter i in the i-th
// 8-byte slot of the context and, for fexit, the return value in the slot
// after them.
func (r *resolver) fentryArgs(spec *lazybtf.Spec, name string, proto *btf.FuncProto, exit bool) *types.Type {
	conv := r.converter(spec)
	args := conv.ProtoArgs(name, proto)
	if _, void := proto.Return.(*btf.Void); exit && !void {
		args.Fields = append(args.Fields, types.Field{Name: RetvalField, Type: conv.Type(proto.Return), Offset: args.Size})
		args.Size += 8
	}
	return args
}

// converter converts the types of spec, sharing what it converted with
// every point the spec describes. Expansion runs on one goroutine at a
// time, as the converter requires.
func (r *resolver) converter(spec *lazybtf.Spec) *btftypes.Converter {
	k := &r.kernel
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.convs == nil {
		k.convs = map[*lazybtf.Spec]*btftypes.Converter{}
	}
	conv := k.convs[spec]
	if conv == nil {
		conv = btftypes.New(spec)
		k.convs[spec] = conv
	}
	return conv
}

func expandFentry(provider string) func(*resolver, *syntax.AttachPoint, []string) ([]*Point, error) {
	return func(r *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
		module, fn, err := moduleTarget(ap, provider, "a function ("+provider+"[:module]:function)", args)
		if err != nil {
			return nil, err
		}
		// mods are the modules to look in; "" is vmlinux.
		var mods []string
		switch {
		case module == "" || module == "vmlinux":
			mods = []string{""}
		case hasWildcard(module):
			if wildcardMatch(module, "vmlinux") {
				mods = append(mods, "")
			}
			for _, m := range r.btfModules() {
				if wildcardMatch(module, m) {
					mods = append(mods, m)
				}
			}
		default:
			mods = []string{module}
		}
		var points []*Point
		for _, mod := range mods {
			spec, err := r.moduleSpec(mod)
			var matches []string
			switch {
			case err != nil:
			case hasWildcard(fn):
				var names []string
				names, _, err = r.btfFuncs(mod)
				for _, n := range names {
					if wildcardMatch(fn, n) {
						matches = append(matches, n)
					}
				}
			case r.traceableBTFFunc(spec, mod, fn):
				matches = []string{fn}
			case mod == "" && !hasWildcard(module):
				names, _, _ := r.btfFuncs(mod)
				return nil, unknownBTFFunc(provider, fn, names)
			}
			if err != nil {
				if hasWildcard(module) {
					continue
				}
				return nil, fmt.Errorf("%s: %w", ap.Raw, err)
			}
			for _, name := range matches {
				proto, err := funcProto(spec, name)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", ap.Raw, err)
				}
				full := provider + ":" + name
				if module != "" {
					full = provider + ":" + moduleOrVmlinux(mod) + ":" + name
				}
				points = append(points, &Point{
					Provider: provider,
					Target:   moduleOrVmlinux(mod),
					Func:     name,
					Name:     full,
					Args:     r.fentryArgs(spec, name, proto, provider == "fexit"),
				})
			}
		}
		if len(points) == 0 {
			if !hasWildcard(fn) && !hasWildcard(module) {
				return nil, fmt.Errorf("%s: kernel module %s has no function %s that fentry can trace", ap.Raw, module, fn)
			}
			return nil, noAttachPoints("kernel function with BTF matches "+fullName(provider, args), "run 'friday trace -l' to list them")
		}
		return points, nil
	}
}

func moduleOrVmlinux(m string) string {
	if m == "" {
		return "vmlinux"
	}
	return m
}

func unknownBTFFunc(provider, fn string, names []string) error {
	return noMatch(provider, fn, nearest(fn, slices.Values(names)), "the kernel function does not exist, has no BTF or cannot be traced")
}

func listFentry(provider string) func(*resolver) ([]string, error) {
	return func(r *resolver) ([]string, error) {
		var out []string
		for _, mod := range append([]string{""}, r.btfModules()...) {
			names, _, err := r.btfFuncs(mod)
			if err != nil {
				if mod == "" {
					return nil, err
				}
				continue // modules without BTF have no fentry points
			}
			for _, n := range names {
				out = append(out, provider+":"+moduleOrVmlinux(mod)+":"+n)
			}
		}
		return out, nil
	}
}

// fentryDetails lists the arguments in C, as BTF declares them, and for
// fexit the return value.
func fentryDetails(r *resolver, name string) ([]string, error) {
	parts := strings.SplitN(name, ":", 3)
	mod := parts[1]
	if mod == "vmlinux" {
		mod = ""
	}
	spec, err := r.moduleSpec(mod)
	if err != nil {
		return nil, err
	}
	proto, err := funcProto(spec, parts[2])
	if err != nil {
		return nil, err
	}
	lines := paramDecls(proto)
	if _, void := proto.Return.(*btf.Void); parts[0] == "fexit" && !void {
		lines = append(lines, strings.TrimSpace(cDecl(proto.Return, "retval")))
	}
	return lines, nil
}

// errnoNotSupported is the kernel's ENOTSUPP, which it returns to BPF
// callers when the architecture lacks BPF trampolines.
const errnoNotSupported = unix.Errno(524)

// fentryLoadError explains a refused fentry or fexit program. Root is
// refused with EPERM (or ENOTSUPP) only when the kernel cannot build the
// BPF trampoline these programs are called through; other errors are the
// verifier's or the function's.
func fentryLoadError(p *Point, err error) error {
	refused := errors.Is(err, errnoNotSupported) ||
		errors.Is(err, unix.EPERM) && os.Geteuid() == 0
	if !refused {
		return nil
	}
	return fmt.Errorf("%s: %w", p.Name, kindError("this kernel refuses to load fentry/fexit (kfunc/kretfunc) programs, even for root: it has no BPF trampolines; use rawtracepoint: or tracepoint: probes instead"))
}

func attachFentry(_ *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		if le := fentryLoadError(p, err); le != nil {
			return nil, le
		}
		return nil, attachError(p, err)
	}
	return l, nil
}
