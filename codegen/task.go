package codegen

import (
	"fmt"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"friday/check"
	"friday/syntax"
	"friday/types"
)

// taskField is the byte offset of a member of struct task_struct in the
// running kernel, from its BTF.
func (g *gen) taskField(name string) (int, error) {
	if g.taskOffsets == nil {
		st, _, err := kernelType[*btf.Struct](g.opts.Kernel, "task_struct")
		if err != nil {
			return 0, err
		}
		g.taskOffsets = map[string]int{}
		for _, m := range st.Members {
			g.taskOffsets[m.Name] = int(m.Offset.Bytes())
		}
	}
	off, ok := g.taskOffsets[name]
	if !ok {
		return 0, fmt.Errorf("struct task_struct has no member %s", name)
	}
	return off, nil
}

// parentTask is pcomm and ppid, as bpftrace defines them:
// task->group_leader->comm, the name of the task's process, and
// task->real_parent->pid, of the current task or of the task given.
func (f *fn) parentTask(e syntax.Expr, c *check.Call, t *types.Type) value {
	link, field := "real_parent", "pid"
	if c.Name == "pcomm" {
		link, field = "group_leader", "comm"
	}
	linkOff, err := f.g.taskField(link)
	if err != nil {
		f.errorf(e.Pos(), "%s: %v", c.Name, err)
	}
	off, err := f.g.taskField(field)
	if err != nil {
		f.errorf(e.Pos(), "%s: %v", c.Name, err)
	}
	var task value
	if len(c.Args) == 1 {
		task = f.evalInt(c.Args[0])
	} else {
		task = f.helperValue(asm.FnGetCurrentTask, types.U64)
	}
	linked := f.readRemote(task, linkOff, types.Field{Type: types.U64}, types.U64, spaceKernel)
	size := 4
	if c.Name == "pcomm" {
		size = t.Size
	}
	return f.readRemote(linked, off, types.Field{Type: &types.Type{Kind: t.Kind, Size: size}}, t, spaceKernel)
}
