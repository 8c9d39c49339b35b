package probe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"friday/syntax"
)

func init() {
	register(&provider{
		name:     "kprobe",
		aliases:  []string{"k"},
		progType: ebpf.Kprobe,
		expand:   expandKprobe("kprobe"),
		list:     listKprobes,
		attach:   attachKprobe,
		works:    (*Resolver).kprobesWork,
	})
	// Like bpftrace, listings name every function once, as a kprobe.
	register(&provider{
		name:     "kretprobe",
		aliases:  []string{"kr"},
		progType: ebpf.Kprobe,
		expand:   expandKprobe("kretprobe"),
		attach:   attachKprobe,
		works:    (*Resolver).kprobesWork,
	})
}

// kprobePMU is the perf event source kprobes are created through; older
// kernels only have the tracefs file kprobe_events.
const kprobePMU = "/sys/bus/event_source/devices/kprobe"

// errNoKprobes says why no kprobe can work on this kernel.
var errNoKprobes error = kindError("this kernel has no kprobes (CONFIG_KPROBES is off: there is neither a kprobe PMU nor a kprobe_events file); use tracepoint:, rawtracepoint: or uprobe: probes instead")

// machineKprobes reports whether the running kernel can create kprobes;
// dir gives its tracefs directory.
func machineKprobes(tracefsDir func() (string, error)) error {
	if _, err := os.Stat(kprobePMU); err == nil {
		return nil
	}
	dir, err := tracefsDir()
	if err != nil {
		return fmt.Errorf("no kprobe PMU and %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kprobe_events")); err != nil {
		return errNoKprobes
	}
	return nil
}

func (r *Resolver) kprobesWork() error {
	if r.kernel.kprobes != nil {
		return r.kernel.kprobes()
	}
	return machineKprobes(r.dir)
}

// expandKprobe resolves "kprobe:func", "kprobe:func+offset" and
// "kprobe:module:func" against the kernel's traceable functions. It does
// not ask whether kprobes work: a script is checked and compiled the same
// way on every kernel, and attaching says what is missing.
func expandKprobe(provider string) func(*resolver, *syntax.AttachPoint, []string) ([]*Point, error) {
	return func(r *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
		module, fn, err := moduleTarget(ap, provider, "a function ("+provider+"[:module]:function[+offset])", args)
		if err != nil {
			return nil, err
		}
		var offset uint64
		if name, off, ok := strings.Cut(fn, "+"); ok {
			if provider == "kretprobe" {
				return nil, fmt.Errorf("%s: kretprobes take no offset (they fire when the function returns)", ap.Raw)
			}
			if hasWildcard(fn) {
				return nil, fmt.Errorf("%s: an offset cannot be given with a wildcard", ap.Raw)
			}
			n, err := strconv.ParseUint(off, 0, 64)
			if err != nil || name == "" {
				return nil, fmt.Errorf("%s: bad function offset %q (want function+offset, e.g. vfs_read+16)", ap.Raw, off)
			}
			fn, offset = name, n
		}
		funcs, err := r.kernelFuncs()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ap.Raw, err)
		}
		var matches []kernelFunc
		if hasWildcard(fn) || hasWildcard(module) {
			for _, f := range funcs {
				if wildcardMatch(fn, f.Name) && (module == "" || matchModule(module, f)) {
					matches = append(matches, f)
				}
			}
			if len(matches) == 0 {
				return nil, noAttachPoints("kernel function matches "+fullName(provider, args), "run 'friday trace -l' to list the kprobes")
			}
		} else {
			f, ok := findKernelFunc(funcs, module, fn)
			if !ok {
				return nil, unknownKernelFunc(provider, module, fn, funcs)
			}
			matches = []kernelFunc{f}
		}
		points := make([]*Point, 0, len(matches))
		seen := map[string]bool{}
		for _, f := range matches {
			name := provider + ":" + f.Name
			if module != "" {
				name = provider + ":" + f.moduleName() + ":" + f.Name
			}
			if offset != 0 {
				name = fullName(provider, args)
			}
			// A kprobe is placed by function name, which finds the kernel
			// proper's function first: a name that several modules
			// define is attached once.
			if seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			points = append(points, &Point{
				Provider: provider,
				Target:   f.Module,
				Func:     f.Name,
				Name:     name,
				Offset:   offset,
			})
		}
		return points, nil
	}
}

// findKernelFunc finds a function by name in the given module, or in any
// module when none is given (the kernel proper first).
func findKernelFunc(funcs funcList, module, name string) (kernelFunc, bool) {
	if module != "" {
		f := kernelFunc{Name: name}
		if module != "vmlinux" {
			f.Module = module
		}
		return f, funcs.has(f)
	}
	if f := (kernelFunc{Name: name}); funcs.has(f) {
		return f, true
	}
	for _, f := range funcs {
		if f.Name == name {
			return f, true
		}
	}
	return kernelFunc{}, false
}

func unknownKernelFunc(provider, module, fn string, funcs []kernelFunc) error {
	name := fn
	if module != "" {
		name = module + ":" + fn
	}
	candidates := func(yield func(string) bool) {
		for _, f := range funcs {
			if (module == "" || matchModule(module, f)) && !yield(f.Name) {
				return
			}
		}
	}
	return noMatch(provider, name, nearest(fn, candidates), "the kernel function does not exist or cannot be traced")
}

// listKprobes lists kernel functions only when kprobes work: listing what
// cannot be attached would mislead.
func listKprobes(r *resolver) ([]string, error) {
	if r.kprobesWork() != nil {
		return nil, nil
	}
	funcs, err := r.kernelFuncs()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(funcs))
	for i, f := range funcs {
		if f.Module == "" {
			names[i] = "kprobe:" + f.Name
		} else {
			names[i] = "kprobe:" + f.Module + ":" + f.Name
		}
	}
	return names, nil
}

func attachKprobe(r *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	if err := r.Attachable(p); err != nil {
		return nil, err
	}
	opts := &link.KprobeOptions{Offset: p.Offset}
	var l link.Link
	var err error
	if p.Provider == "kretprobe" {
		l, err = link.Kretprobe(p.Func, prog, opts)
	} else {
		l, err = link.Kprobe(p.Func, prog, opts)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: the kernel cannot place a kprobe on %s (not found, or not traceable)", p.Name, p.Func)
	}
	if err != nil {
		return nil, attachError(p, err)
	}
	return l, nil
}
