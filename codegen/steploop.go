package codegen

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// A step loop runs an algorithm over buffers known only at run time one
// step per bpf_loop callback, with the algorithm's state in a per-CPU map
// value: the verifier knows nothing of what a map value holds, so it
// checks the callback once for any state rather than for every state it
// could work out, which nested loops over strings would need. The
// callback's context, on the stack, holds the buffers' addresses, 8 bytes
// each, then the state's.
type stepLoop struct {
	ctx   mem
	state int16 // offset of the state's address in the context
}

// startStepLoop sets up a step loop over bufs whose state is the value
// (size bytes) of the per-CPU array map name. R0 is then the state, for
// the caller to initialize; a failed lookup jumps to fail.
func (f *fn) startStepLoop(name string, size int, bufs []mem, fail string) stepLoop {
	f.g.internalMap(name, &ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: uint32(size), MaxEntries: 1})
	l := stepLoop{ctx: f.alloc(8 * (len(bufs) + 1)), state: int16(8 * len(bufs))}
	for i, b := range bufs {
		f.addr(asm.R1, b)
		f.emit(asm.StoreMem(l.ctx.base, int16(l.ctx.off+8*i), asm.R1, asm.DWord))
	}
	f.emit(storeImm(l.ctx.base, int16(l.ctx.off)+l.state, 0, asm.DWord))
	f.mapPtr(asm.R1, name)
	f.addr(asm.R2, l.ctx.at(int(l.state)))
	f.call(asm.FnMapLookupElem)
	f.b.jmpImm(asm.JEq, asm.R0, 0, fail)
	f.emit(asm.StoreMem(l.ctx.base, int16(l.ctx.off)+l.state, asm.R0, asm.DWord))
	return l
}

// run compiles the callback, whose body step writes with the context in
// R2 and which returns 1 to stop, and calls it up to steps times. R1 is
// then the state.
func (f *fn) runStepLoop(l stepLoop, steps int, step func(sf *fn)) {
	sf := f.newSubprog()
	step(sf)
	sf.finishSubprog(2)
	// bpf_loop refuses more steps than maxLoops, which only buffers of
	// thousands of bytes could need.
	f.emit(asm.Mov.Imm(asm.R1, int32(min(steps, maxLoops))))
	f.loadFuncPtr(asm.R2, sf.name)
	f.addr(asm.R3, l.ctx)
	f.emit(asm.Mov.Imm(asm.R4, 0))
	f.call(asm.FnLoop)
	f.emit(asm.LoadMem(asm.R1, l.ctx.base, int16(l.ctx.off)+l.state, asm.DWord))
}
