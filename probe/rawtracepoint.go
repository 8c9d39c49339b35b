package probe

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"

	"friday/lazybtf"
	"friday/syntax"
)

func init() {
	register(&provider{
		name:     "rawtracepoint",
		aliases:  []string{"rt"},
		progType: ebpf.RawTracepoint,
		expand:   expandRawTracepoint,
		list:     listRawTracepoints,
		details:  rawTracepointDetails,
		attach:   attachRawTracepoint,
	})
}

// rawTracepointPrefix names the BTF typedef the kernel declares for each
// raw tracepoint: a pointer to the prototype of its probe functions, whose
// first parameter is the registration's private data, not an argument.
const rawTracepointPrefix = "btf_trace_"

func (r *resolver) kernelBTF() (*lazybtf.Spec, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spec == nil {
		spec, err := r.btf()
		if err != nil {
			return nil, fmt.Errorf("raw tracepoints need kernel BTF: %w", err)
		}
		r.spec = spec
	}
	return r.spec, nil
}

// kernelBTFNames returns *cache, filled on first use with the sorted
// names, without prefix, of the kernel's BTF types of kind T that start
// with prefix and that keep accepts. Only the types whose name matches
// are decoded.
func kernelBTFNames[T btf.Type](r *resolver, mu *sync.Mutex, cache *[]string, prefix string, keep func(string) bool) ([]string, error) {
	spec, err := r.kernelBTF()
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if *cache != nil {
		return *cache, nil
	}
	names := []string{}
	for id, full := range spec.Names() {
		name, ok := strings.CutPrefix(full, prefix)
		if !ok || name == "" || !keep(name) {
			continue
		}
		t, err := spec.TypeByID(id)
		if err != nil {
			return nil, err
		}
		if _, ok := t.(T); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	*cache = names
	return names, nil
}

// rawTracepointNames lists every raw tracepoint of the kernel, sorted.
func (r *resolver) rawTracepointNames() ([]string, error) {
	all := func(string) bool { return true }
	return kernelBTFNames[*btf.Typedef](r, &r.mu, &r.rawNames, rawTracepointPrefix, all)
}

// rawTracepointProto returns the prototype of the raw tracepoint's
// arguments, without the leading private-data parameter. The typedef says
// the event exists but leaves the parameters unnamed; the kernel's stub
// function for the event (or, on older kernels, its BPF glue function)
// names them.
func (r *resolver) rawTracepointProto(event string) (*btf.FuncProto, error) {
	spec, err := r.kernelBTF()
	if err != nil {
		return nil, err
	}
	td, err := lazybtf.TypeByName[*btf.Typedef](spec, rawTracepointPrefix+event)
	if err != nil {
		return nil, err
	}
	var proto *btf.FuncProto
	if ptr, ok := td.Type.(*btf.Pointer); ok {
		proto, _ = ptr.Target.(*btf.FuncProto)
	}
	if proto == nil || len(proto.Params) == 0 {
		return nil, fmt.Errorf("raw tracepoint %s: unexpected BTF %v", event, td.Type)
	}
	for _, prefix := range []string{"__probestub_", "__bpf_trace_"} {
		fn, err := lazybtf.TypeByName[*btf.Func](spec, prefix+event)
		if err != nil {
			continue
		}
		if named, ok := fn.Type.(*btf.FuncProto); ok && len(named.Params) == len(proto.Params) {
			proto = named
			break
		}
	}
	return &btf.FuncProto{Return: proto.Return, Params: proto.Params[1:]}, nil
}

func expandRawTracepoint(r *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
	module, event, err := moduleTarget(ap, "rawtracepoint", "an event (rawtracepoint[:module]:event)", args)
	if err != nil {
		return nil, err
	}
	if module != "" && module != "vmlinux" {
		return nil, fmt.Errorf("%s: raw tracepoints of kernel modules are not supported yet (only vmlinux)", ap.Raw)
	}
	name := func(ev string) string {
		if module != "" {
			return "rawtracepoint:" + module + ":" + ev
		}
		return "rawtracepoint:" + ev
	}
	var events []string
	if hasWildcard(event) {
		all, err := r.rawTracepointNames()
		if err != nil {
			return nil, err
		}
		for _, ev := range all {
			if wildcardMatch(event, ev) {
				events = append(events, ev)
			}
		}
		if len(events) == 0 {
			return nil, noAttachPoints("raw tracepoint matches "+name(event), "run 'friday trace -l' to list the raw tracepoints")
		}
	} else {
		events = []string{event}
	}
	spec, err := r.kernelBTF()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ap.Raw, err)
	}
	var points []*Point
	for _, ev := range events {
		proto, err := r.rawTracepointProto(ev)
		if errors.Is(err, btf.ErrNotFound) {
			return nil, r.unknownRawTracepoint(ap, name(ev), ev)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ap.Raw, err)
		}
		points = append(points, &Point{
			Provider: "rawtracepoint",
			Target:   module,
			Func:     ev,
			Name:     name(ev),
			Proto:    proto,
			// args.NAME reads the slot of each parameter, typed from BTF.
			Args: r.converter(spec).ProtoArgs(ev, proto),
		})
	}
	return points, nil
}

func (r *resolver) unknownRawTracepoint(ap *syntax.AttachPoint, full, event string) error {
	suggestion := ""
	if all, err := r.rawTracepointNames(); err == nil {
		if best := nearest(event, slices.Values(all)); best != "" {
			suggestion = strings.TrimSuffix(full, event) + best
		}
	}
	return noMatch("rawtracepoint", strings.TrimPrefix(full, "rawtracepoint:"), suggestion, "run 'friday trace -l' to list the raw tracepoints")
}

func listRawTracepoints(r *resolver) ([]string, error) {
	return withPrefix("rawtracepoint:vmlinux:", r.rawTracepointNames)
}

// rawTracepointDetails lists the arguments in C, as the kernel declares
// them.
func rawTracepointDetails(r *resolver, name string) ([]string, error) {
	proto, err := r.rawTracepointProto(name[strings.LastIndexByte(name, ':')+1:])
	if err != nil {
		return nil, err
	}
	return paramDecls(proto), nil
}

// paramDecls spells each parameter of proto as a C declaration.
func paramDecls(proto *btf.FuncProto) []string {
	var lines []string
	for _, p := range proto.Params {
		lines = append(lines, strings.TrimSpace(cDecl(p.Type, p.Name)))
	}
	return lines
}

// cDecl spells a BTF type and a name as a C declaration, for listings.
func cDecl(t btf.Type, name string) string {
	switch t := t.(type) {
	case *btf.Pointer:
		return cDecl(t.Target, "* "+name)
	case *btf.Const:
		return "const " + cDecl(t.Type, name)
	case *btf.Volatile:
		return "volatile " + cDecl(t.Type, name)
	case *btf.Array:
		return cDecl(t.Type, fmt.Sprintf("%s[%d]", name, t.Nelems))
	case *btf.Struct:
		return "struct " + t.Name + " " + name
	case *btf.Union:
		return "union " + t.Name + " " + name
	case *btf.Enum:
		return "enum " + t.Name + " " + name
	case *btf.Fwd:
		return t.Kind.String() + " " + t.Name + " " + name
	case *btf.Void:
		return "void " + name
	case *btf.FuncProto:
		return "void (" + name + ")(...)"
	}
	return t.TypeName() + " " + name
}

func attachRawTracepoint(_ *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: p.Func, Program: prog})
	if err != nil {
		return nil, attachError(p, err)
	}
	return l, nil
}
