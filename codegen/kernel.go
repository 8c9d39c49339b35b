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
	btf    func() (*lazybtf.Spec, error)
	tai    func() int64
	pidNS  func() (pidNS, bool)
	kfuncs sync.Map // kfuncProbe → bool
	addrs  sync.Map // symbol name → address, 0 for none
}

// NewKernel asks spec for the kernel's types; nil reads the running
// kernel's, once.
func NewKernel(spec func() (*lazybtf.Spec, error)) *Kernel {
	if spec == nil {
		spec = sync.OnceValues(lazybtf.LoadKernel)
	}
	return &Kernel{
		btf:   spec,
		tai:   sync.OnceValue(measureTAIOffset),
		pidNS: sync.OnceValues(readPidNamespace),
	}
}

// addr is the address of the kernel's symbol name, found in one pass over
// kallsyms that keeps only it: code generation asks for one or two, which
// the whole table (symbol.Kernel) would make megabytes.
func (k *Kernel) addr(name string) (uint64, bool, error) {
	if a, ok := k.addrs.Load(name); ok {
		return a.(uint64), a.(uint64) != 0, nil
	}
	a, ok, err := symbol.KallsymsAddr(name)
	if err != nil {
		return 0, false, err
	}
	k.addrs.Store(name, a)
	return a, ok, nil
}
