package probe

import (
	"github.com/cilium/ebpf/btf"

	"friday/lazybtf"
)

// testBTF is a small kernel BTF with raw tracepoints, declared the way the
// kernel declares them: btf_trace_<event> is a pointer to the unnamed
// prototype of the probe functions, private data first; a stub function
// (or a glue function) names the parameters.
func testBTF() (*lazybtf.Spec, error) {
	voidp := &btf.Pointer{Target: &btf.Void{}}
	task := &btf.Pointer{Target: &btf.Struct{Name: "task_struct", Size: 8}}
	regs := &btf.Pointer{Target: &btf.Struct{Name: "pt_regs", Size: 8}}
	boolT := &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}
	uint := &btf.Int{Name: "unsigned int", Size: 4}
	long := &btf.Int{Name: "long int", Size: 8, Encoding: btf.Signed}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Char}
	var all []btf.Type
	// raw declares event; funcPrefix "" leaves its parameters unnamed.
	raw := func(event, funcPrefix string, params ...btf.FuncParam) {
		params = append([]btf.FuncParam{{Name: "__data", Type: voidp}}, params...)
		unnamed := make([]btf.FuncParam, len(params))
		for i, p := range params {
			unnamed[i].Type = p.Type
		}
		all = append(all, &btf.Typedef{
			Name: "btf_trace_" + event,
			Type: &btf.Pointer{Target: &btf.FuncProto{Return: &btf.Void{}, Params: unnamed}},
		})
		if funcPrefix != "" {
			all = append(all, &btf.Func{
				Name:    funcPrefix + event,
				Type:    &btf.FuncProto{Return: &btf.Void{}, Params: params},
				Linkage: btf.StaticFunc,
			})
		}
	}
	raw("sched_switch", "__probestub_",
		btf.FuncParam{Name: "preempt", Type: boolT},
		btf.FuncParam{Name: "prev", Type: task},
		btf.FuncParam{Name: "next", Type: task},
		btf.FuncParam{Name: "prev_state", Type: uint})
	raw("sched_wakeup", "__bpf_trace_", btf.FuncParam{Name: "p", Type: task})
	raw("sys_enter", "__probestub_", btf.FuncParam{Name: "regs", Type: regs}, btf.FuncParam{Name: "id", Type: long})
	raw("console", "", btf.FuncParam{Type: &btf.Pointer{Target: &btf.Const{Type: char}}}, btf.FuncParam{Type: &btf.Typedef{Name: "size_t", Type: uint}})
	b, err := btf.NewBuilder(all, nil)
	if err != nil {
		return nil, err
	}
	return loadBuilt(b)
}

// loadBuilt reads the BTF b writes as the resolver reads the kernel's.
func loadBuilt(b *btf.Builder) (*lazybtf.Spec, error) {
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		return nil, err
	}
	return lazybtf.Load(raw)
}
