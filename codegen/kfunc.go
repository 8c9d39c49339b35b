package codegen

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"friday/check"
	"friday/lazybtf"
	"friday/syntax"
	"friday/types"
)

// kernelType finds a type of the running kernel's BTF by name and gives it
// with its BTF id.
func kernelType[T btf.Type](k *Kernel, name string) (T, btf.TypeID, error) {
	var t T
	spec, err := k.btf()
	if err != nil {
		return t, 0, fmt.Errorf("kernel BTF: %w", err)
	}
	if t, err = lazybtf.TypeByName[T](spec, name); err != nil {
		return t, 0, fmt.Errorf("kernel BTF: %w", err)
	}
	id, err := spec.TypeID(t)
	return t, id, err
}

// callKfunc calls a kernel function that BPF programs may call (a kfunc).
func (f *fn) callKfunc(pos syntax.Pos, name string) {
	call, err := f.g.opts.Kernel.kfuncCall(name)
	if err != nil {
		f.errorf(pos, "this kernel has no function %s: %v", name, err)
		return
	}
	f.emit(call)
}

// kfuncCall is a call of the kfunc name, named by its id in the kernel's
// BTF.
func (k *Kernel) kfuncCall(name string) (asm.Instruction, error) {
	_, id, err := kernelType[*btf.Func](k, name)
	if err != nil {
		return asm.Instruction{}, err
	}
	return asm.Instruction{
		OpCode:   asm.OpCode(asm.JumpClass).SetJumpOp(asm.Call),
		Src:      asm.PseudoKfuncCall,
		Constant: int64(id),
	}, nil
}

// kfuncAllowed says whether the kernel lets programs of type pt call the
// kfunc name; which types it allows has grown with kernel versions (6.18
// allows the task kfuncs in tracepoint and perf event programs, not in raw
// tracepoint or kprobe ones). It loads a program that calls the kfunc to
// find out, once per type and kfunc: the verifier refuses a kfunc the
// type may not call before it looks at the arguments, which are zeros.
func (k *Kernel) kfuncAllowed(pt ebpf.ProgramType, name string) bool {
	call, err := k.kfuncCall(name)
	if err != nil {
		return false
	}
	key := kfuncProbe{pt, name}
	if v, ok := k.kfuncs.Load(key); ok {
		return v.(bool)
	}
	insns := asm.Instructions{
		asm.Mov.Imm(asm.R1, 0), asm.Mov.Imm(asm.R2, 0), asm.Mov.Imm(asm.R3, 0),
		asm.Mov.Imm(asm.R4, 0), asm.Mov.Imm(asm.R5, 0),
		call,
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
	}
	spec := &ebpf.ProgramSpec{Type: pt, License: "GPL", Instructions: insns}
	if pt == ebpf.Tracing {
		// A tracing program needs something to attach to: a task
		// iterator, which the kernel loads where it has BTF, stands
		// for fentry, fexit and the other iterators, whose kfuncs are
		// the same.
		spec.AttachType, spec.AttachTo = ebpf.AttachTraceIter, "task"
	}
	prog, err := ebpf.NewProgram(spec)
	if err == nil {
		prog.Close()
	}
	// Other failures (the zero arguments, no privileges) are left for the
	// real load to report.
	allowed := err == nil || !strings.Contains(err.Error(), "is not allowed")
	k.kfuncs.Store(key, allowed)
	return allowed
}

type kfuncProbe struct {
	pt   ebpf.ProgramType
	name string
}

// commOfPid is comm(pid): the name of the task with that pid, taken
// through bpf_task_from_pid. Like bpftrace, a pid without a task gives
// "N/A" and a warning.
func (f *fn) commOfPid(e syntax.Expr, c *check.Call, t *types.Type) value {
	if !f.g.opts.Kernel.kfuncAllowed(f.ptype, "bpf_task_from_pid") {
		f.errorf(e.Pos(), "comm(pid) needs the kernel function bpf_task_from_pid, which this kernel does not allow in %s probes; use it in tracepoint, profile, interval or iter probes", f.points[0].Provider)
		return value{}
	}
	off, err := f.g.taskField("comm")
	if err != nil {
		f.errorf(e.Pos(), "comm(pid): %v", err)
	}
	m := f.alloc(t.Size)
	pid := f.alloc(8)
	f.storeInt(pid, f.evalInt(c.Args[0]), 8)
	f.emit(asm.LoadMem(asm.R1, pid.base, int16(pid.off), asm.Word))
	f.callKfunc(e.Pos(), "bpf_task_from_pid")
	none, end := f.b.newLabel(), f.b.newLabel()
	f.b.jmpImm(asm.JEq, asm.R0, 0, none)
	// The task is held until bpf_task_release; its name is read in place.
	n := min(t.Size, 16)
	f.zero(m, t.Size)
	for i := 0; i < n; i += 8 {
		f.emit(asm.LoadMem(asm.R1, asm.R0, int16(off+i), asm.DWord),
			asm.StoreMem(m.base, int16(m.off+i), asm.R1, asm.DWord))
	}
	f.emit(asm.Mov.Reg(asm.R1, asm.R0))
	f.callKfunc(e.Pos(), "bpf_task_release")
	f.b.ja(end)
	f.b.mark(none)
	f.writeStr(m, "N/A", t.Size, true)
	layout := types.TupleOf(types.I64)
	f.eventWith(e, Errorf, "No such process (pid=%d)", "", nil, layout, func(dst mem) {
		f.emit(asm.LoadMem(asm.R1, pid.base, int16(pid.off), asm.DWord),
			asm.StoreMem(dst.base, int16(dst.off), asm.R1, asm.DWord))
	}).Warn = true
	f.b.mark(end)
	return value{kind: vMem, m: m, t: t}
}

// pseudoBTFID marks a 64-bit load of the address of a kernel variable
// given by its BTF id (BPF_PSEUDO_BTF_ID).
const pseudoBTFID = asm.R3

// percpuKaddr is percpu_kaddr(name[, cpu]): the address of a per-CPU
// kernel variable on the current CPU or on cpu (NULL when there is no such
// CPU), through bpf_this_cpu_ptr or bpf_per_cpu_ptr.
func (f *fn) percpuKaddr(e syntax.Expr, c *check.Call, t *types.Type) value {
	name, _ := f.constString(c.Args[0])
	id, err := f.g.opts.Kernel.percpuVar(name)
	if err != nil {
		f.errorf(e.Pos(), "percpu_kaddr(%q): %v", name, err)
		return value{}
	}
	if len(c.Args) > 1 {
		f.toRegInto(f.evalInt(c.Args[1]), asm.R2)
	}
	ld := asm.LoadImm(asm.R1, int64(id), asm.DWord)
	ld.Src = pseudoBTFID
	f.emit(ld)
	if len(c.Args) > 1 {
		f.call(asm.FnPerCpuPtr)
	} else {
		f.call(asm.FnThisCpuPtr)
	}
	return value{kind: vReg, r: asm.R0, t: t}
}

// percpuVar is the BTF id of the per-CPU kernel variable name, or why a
// program cannot take its address.
func (k *Kernel) percpuVar(name string) (btf.TypeID, error) {
	v, id, err := kernelType[*btf.Var](k, name)
	if err != nil {
		return 0, fmt.Errorf("the kernel's BTF has no variable %s", name)
	}
	ds, _, err := kernelType[*btf.Datasec](k, ".data..percpu")
	if err != nil {
		return 0, fmt.Errorf("the kernel's BTF has no per-CPU variables")
	}
	percpu := false
	for _, vs := range ds.Vars {
		percpu = percpu || vs.Type == v
	}
	if !percpu {
		return 0, fmt.Errorf("%s is not a per-CPU variable (kaddr() gives the address of others)", name)
	}
	// The kernel finds the address through kallsyms when it loads the
	// program.
	_, ok, err := k.addr(name)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("the kernel cannot give BPF programs the address of %s: its kallsyms lists no variables (it is built without CONFIG_KALLSYMS_ALL)", name)
	}
	return id, nil
}
