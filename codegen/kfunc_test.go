package codegen

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"friday/internal/testenv"
	"friday/symbol"
)

// A per-CPU variable's address comes from the kernel when it loads the
// program, which it can only do when its kallsyms lists variables: then
// the program must load; otherwise friday must say why it cannot.
func TestPercpuKaddr(t *testing.T) {
	testenv.BPF(t)
	const name = "process_counts"
	k, err := symbol.ReadKallsyms()
	if err != nil {
		t.Fatal(err)
	}
	_, listed := k.Addr(name)
	obj, err := compile(`interval:s:1 { @a = *percpu_kaddr("` + name + `"); $p = percpu_kaddr("` + name + `", 1); if ($p != 0) { @b = *$p; } }`)
	if listed && err == nil {
		_, id, err := kernelType[*btf.Var](kernel, name)
		if err != nil {
			t.Fatal(err)
		}
		loads := 0
		for _, ins := range obj.Programs[0].Insns {
			if ins.OpCode.IsDWordLoad() && ins.Src == pseudoBTFID {
				if ins.Constant != int64(id) {
					t.Errorf("load of %s's address has BTF id %d, want %d", name, ins.Constant, id)
				}
				loads++
			}
		}
		if loads != 2 {
			t.Errorf("%d loads of %s's address, want 2:\n%v", loads, name, obj.Programs[0].Insns)
		}
	}
	needsKernel(t, obj, err, listed, "CONFIG_KALLSYMS_ALL")
}

// comm(pid) in BEGIN, a raw tracepoint program, loads where the kernel
// allows the task kfuncs there, and is otherwise refused with the reason
// (Linux 6.18 refuses them).
func TestCommOfPidInBegin(t *testing.T) {
	testenv.BPF(t)
	obj, err := compile(`BEGIN { @ = comm(1); }`)
	needsKernel(t, obj, err, kernel.kfuncAllowed(ebpf.RawTracepoint, "bpf_task_from_pid"), "comm(pid) needs the kernel function bpf_task_from_pid, which this kernel does not allow in begin probes")
}

// needsKernel checks what compiling a script that needs something the
// kernel may lack gave: without it (has false), an error saying why;
// with it, a program that loads.
func needsKernel(t *testing.T, obj *Object, err error, has bool, why string) {
	t.Helper()
	if !has {
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Fatalf("got error %v, want one containing %q", err, why)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	coll, err := load(obj)
	if err != nil {
		t.Fatal(err)
	}
	coll.Close()
}
