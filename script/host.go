package script

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"friday/codegen"
	"friday/lazybtf"
	"friday/probe"
	"friday/symbol"
	"friday/syntax"
)

// Host is what friday learns about the machine its scripts run on: the
// kernel's types (BTF) and symbols, its tracepoints and traceable
// functions, which kfuncs its program types may call, the symbols of the
// binaries processes run. Each is read when first needed and kept, so
// that scripts sharing a Host read it once: the commands share one among
// all the scripts they compile and run. It is safe for concurrent use.
type Host struct {
	btf     func() (*lazybtf.Spec, error)
	probes  *probe.Resolver
	kernel  *codegen.Kernel
	symbols *symbol.Resolver
}

// NewHost returns a Host that has read nothing yet.
func NewHost() *Host {
	spec := sync.OnceValues(lazybtf.LoadKernel)
	syms := symbol.NewResolver()
	return &Host{
		btf:     spec,
		probes:  probe.NewResolver(spec),
		kernel:  codegen.NewKernel(spec),
		symbols: syms,
	}
}

// ListProbes returns the lines `friday trace -l [PATTERN]` prints: the
// attach points matching pattern (all when it is empty), with their
// arguments when verbose; with a pid, those of that process's user-space
// providers (see probe.Resolver.List).
func (h *Host) ListProbes(pattern string, verbose bool, pid int) ([]string, error) {
	return h.probes.List(pattern, verbose, probe.UserOptions{Pid: pid})
}

// Symbols is the resolver that symbolizes the stacks of the Host's
// scripts: the processes it has seen stay readable after they exit.
func (h *Host) Symbols() *symbol.Resolver { return h.symbols }

// KindsWork says what keeps a kind of probe of the script src from
// attaching on this kernel, from its attach points' text alone: before
// compiling it, which for kprobes resolves each function against the
// kernel's and reads the kernel types it names. nil when nothing is
// known to, or src does not parse (compiling it says why). A point that
// is a whole positional parameter ($1 { ... }) is of the kind of its
// value among params.
func (h *Host) KindsWork(name string, src []byte, params ...string) error {
	f, err := syntax.Parse(name, src)
	if err != nil {
		return nil
	}
	for _, pr := range f.Probes {
		for _, ap := range pr.Points {
			raw := ap.Raw
			if d, ok := strings.CutPrefix(raw, "$"); ok {
				if n, err := strconv.Atoi(d); err == nil && n >= 1 && n <= len(params) {
					raw = params[n-1]
				}
			}
			kind, _, _ := strings.Cut(raw, ":")
			if len(ap.Parts) > 0 && raw == ap.Raw {
				kind = ap.Parts[0]
			}
			if err := h.probes.KindWorks(kind); err != nil {
				return fmt.Errorf("%s: %w", raw, err)
			}
		}
	}
	return nil
}

// kernelBTF is the kernel's BTF for the checker, which takes a missing one
// as none: the script's uses of kernel types are then reported as unknown,
// which says what is missing.
func (h *Host) kernelBTF() *lazybtf.Spec {
	spec, err := h.btf()
	if err != nil {
		return nil
	}
	return spec
}
