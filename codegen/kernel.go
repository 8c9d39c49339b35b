package codegen

import (
	"sync"

	"friday/lazybtf"
	"friday/symbol"
)

// Kernel is what code generation asks of the machine: the running
// kernel's types (BTF) and symbols, which kfuncs each program type may
// call, its clocks, and the pid namespace friday runs in. Each answer is
// found when first needed and kept: compilations on one machine share a
// Kernel deliberately, and one made for a single compilation asks again.
// It is safe for concurrent use.
type Kernel struct {
	btf     func() (*lazybtf.Spec, error)
	symbols func() (*symbol.Kernel, error)
	tai     func() int64
	pidNS   func() (pidNS, bool)
	kfuncs  sync.Map // kfuncProbe → bool
}

// NewKernel asks spec for the kernel's types and symbols for its symbol
// table; nil reads the running kernel's, once.
func NewKernel(spec func() (*lazybtf.Spec, error), symbols func() (*symbol.Kernel, error)) *Kernel {
	if spec == nil {
		spec = sync.OnceValues(lazybtf.LoadKernel)
	}
	if symbols == nil {
		symbols = sync.OnceValues(symbol.ReadKallsyms)
	}
	return &Kernel{
		btf:     spec,
		symbols: symbols,
		tai:     sync.OnceValue(measureTAIOffset),
		pidNS:   sync.OnceValues(readPidNamespace),
	}
}
