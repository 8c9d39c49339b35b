package script

import (
	"sync"

	"github.com/cilium/ebpf/btf"

	"friday/codegen"
	"friday/probe"
	"friday/symbol"
)

// Host is what friday learns about the machine its scripts run on: the
// kernel's types (BTF) and symbols, its tracepoints and traceable
// functions, which kfuncs its program types may call, the symbols of the
// binaries processes run. Each is read when first needed and kept, so
// that scripts sharing a Host read it once: the commands share one among
// all the scripts they compile and run. It is safe for concurrent use.
type Host struct {
	btf     func() (*btf.Spec, error)
	probes  *probe.Resolver
	kernel  *codegen.Kernel
	symbols *symbol.Resolver
}

// NewHost returns a Host that has read nothing yet.
func NewHost() *Host {
	spec := sync.OnceValues(btf.LoadKernelSpec)
	syms := symbol.NewResolver()
	return &Host{
		btf:     spec,
		probes:  probe.NewResolver(spec),
		kernel:  codegen.NewKernel(spec, syms.KernelSymbols),
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

// kernelBTF is the kernel's BTF for the checker, which takes a missing one
// as none: the script's uses of kernel types are then reported as unknown,
// which says what is missing.
func (h *Host) kernelBTF() *btf.Spec {
	spec, _ := h.btf()
	return spec
}
