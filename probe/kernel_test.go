package probe

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"friday/lazybtf"
	"friday/syntax"
)

// kernelTestBTF is a small kernel BTF with functions for fentry and the
// context of an iterator, declared as the kernel declares them.
func kernelTestBTF() (*lazybtf.Spec, error) {
	long := &btf.Int{Name: "long int", Size: 8, Encoding: btf.Signed}
	ulong := &btf.Int{Name: "long unsigned int", Size: 8}
	intT := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Char}
	file := &btf.Struct{Name: "file", Size: 16, Members: []btf.Member{{Name: "f_flags", Type: &btf.Int{Name: "unsigned int", Size: 4}}}}
	sock := &btf.Struct{Name: "sock", Size: 8}
	task := &btf.Struct{Name: "task_struct", Size: 24, Members: []btf.Member{
		{Name: "pid", Type: intT},
		{Name: "comm", Type: &btf.Array{Type: char, Index: intT, Nelems: 16}, Offset: 64},
	}}
	meta := &btf.Struct{Name: "bpf_iter_meta", Size: 24}
	ptrUnion := func(name string, target btf.Type, off btf.Bits) btf.Member {
		return btf.Member{Type: &btf.Union{Size: 8, Members: []btf.Member{{Name: name, Type: &btf.Pointer{Target: target}}}}, Offset: off}
	}
	fn := func(name string, ret btf.Type, params ...btf.FuncParam) *btf.Func {
		return &btf.Func{Name: name, Type: &btf.FuncProto{Return: ret, Params: params}, Linkage: btf.GlobalFunc}
	}
	all := []btf.Type{
		fn("vfs_read", &btf.Typedef{Name: "ssize_t", Type: long},
			btf.FuncParam{Name: "file", Type: &btf.Pointer{Target: file}},
			btf.FuncParam{Name: "buf", Type: &btf.Pointer{Target: char}},
			btf.FuncParam{Name: "count", Type: &btf.Typedef{Name: "size_t", Type: ulong}},
			btf.FuncParam{Name: "pos", Type: &btf.Pointer{Target: &btf.Typedef{Name: "loff_t", Type: long}}}),
		fn("vfs_write", &btf.Typedef{Name: "ssize_t", Type: long},
			btf.FuncParam{Name: "file", Type: &btf.Pointer{Target: file}},
			btf.FuncParam{Name: "buf", Type: &btf.Pointer{Target: &btf.Const{Type: char}}},
			btf.FuncParam{Name: "count", Type: &btf.Typedef{Name: "size_t", Type: ulong}},
			btf.FuncParam{Name: "pos", Type: &btf.Pointer{Target: &btf.Typedef{Name: "loff_t", Type: long}}}),
		fn("tcp_sendmsg", intT,
			btf.FuncParam{Name: "sk", Type: &btf.Pointer{Target: sock}},
			btf.FuncParam{Name: "msg", Type: &btf.Pointer{Target: &btf.Void{}}},
			btf.FuncParam{Name: "size", Type: &btf.Typedef{Name: "size_t", Type: ulong}}),
		fn("tcp_send_ack", &btf.Void{}, btf.FuncParam{Name: "sk", Type: &btf.Pointer{Target: sock}}),
		// In BTF but not traceable (no ftrace site, no symbol).
		fn("tcp_send_inline", &btf.Void{}),
		&btf.Struct{Name: "bpf_iter__task", Size: 16, Members: []btf.Member{
			ptrUnion("meta", meta, 0), ptrUnion("task", task, 64),
		}},
		&btf.Struct{Name: "bpf_iter__task__safe_trusted", Size: 16},
	}
	b, err := btf.NewBuilder(all, nil)
	if err != nil {
		return nil, err
	}
	return loadBuilt(b)
}

// testModuleBTF gives the ext4 module a function of its own.
func testModuleBTF(module string, _ *lazybtf.Spec) (*lazybtf.Spec, error) {
	if module != "ext4" {
		return nil, os.ErrNotExist
	}
	kiocb := &btf.Pointer{Target: &btf.Struct{Name: "kiocb", Size: 8}}
	iov := &btf.Pointer{Target: &btf.Struct{Name: "iov_iter", Size: 8}}
	b, err := btf.NewBuilder([]btf.Type{&btf.Func{
		Name: "ext4_file_read_iter",
		Type: &btf.FuncProto{
			Return: &btf.Typedef{Name: "ssize_t", Type: &btf.Int{Name: "long int", Size: 8, Encoding: btf.Signed}},
			Params: []btf.FuncParam{{Name: "iocb", Type: kiocb}, {Name: "to", Type: iov}},
		},
		Linkage: btf.StaticFunc,
	}}, nil)
	if err != nil {
		return nil, err
	}
	return loadBuilt(b)
}

// kernelResolver reads testdata/tracefs (with its list of traceable
// functions) and the BTF above, on a kernel that has kprobes.
func kernelResolver(tracefsDir string) *resolver {
	r := &resolver{Resolver: newResolver(func() (string, error) { return tracefsDir, nil }, kernelTestBTF)}
	r.kernel.kallsyms = "testdata/kallsyms"
	r.kernel.kprobes = func() error { return nil }
	r.kernel.moduleBTF = testModuleBTF
	return r
}

func describeKernelPoint(p *Point) []string {
	s := fmt.Sprintf("%s provider=%s target=%s func=%s", p.Name, p.Provider, p.Target, p.Func)
	if p.Offset != 0 {
		s += fmt.Sprintf(" offset=%d", p.Offset)
	}
	if w := p.Watch; w != nil {
		s += fmt.Sprintf(" watch=%#x/%d/%s", w.Addr, w.Len, w.Mode)
	}
	s += " prog=" + p.ProgramType().String()
	if a := p.AttachType(); a != 0 {
		s += " attach=" + a.String()
	}
	if to := p.AttachTo(); to != "" {
		s += " to=" + to
	}
	lines := []string{s}
	if p.Args != nil {
		for _, f := range p.Args.Fields {
			lines = append(lines, "  "+describeField(f))
		}
	}
	return lines
}

// TestKernelExpand runs testdata/kernel_expand.txt: kernel function,
// iterator and watchpoint attach points, then the points they expand to
// with their args, or the error. ">kallsyms" cases read the kernel's
// functions from testdata/kallsyms, as when tracefs does not list them.
func TestKernelExpand(t *testing.T) {
	for _, c := range readCases(t, "testdata/kernel_expand.txt") {
		dir := "testdata/tracefs"
		if c.flag == "kallsyms" {
			dir = t.TempDir()
		}
		pts, err := kernelResolver(dir).expand(&syntax.AttachPoint{Raw: c.input})
		var got []string
		if err != nil {
			got = []string{"error: " + err.Error()}
		}
		for _, p := range pts {
			got = append(got, describeKernelPoint(p)...)
		}
		checkLines(t, fmt.Sprintf("kernel_expand.txt:%d: %s", c.line, c.input), got, c.want)
	}
}

// TestKernelList runs testdata/kernel_list.txt ("> PATTERN" lists, ">v
// PATTERN" lists verbosely; ">nokprobes PATTERN" lists on a kernel
// without kprobes).
func TestKernelList(t *testing.T) {
	for _, c := range readCases(t, "testdata/kernel_list.txt") {
		r := kernelResolver("testdata/tracefs")
		if c.flag == "nokprobes" {
			r.kernel.kprobes = func() error { return errNoKprobes }
		}
		got, err := r.listLines(c.input, c.flag == "v")
		if err != nil {
			got = []string{"error: " + err.Error()}
		}
		checkLines(t, fmt.Sprintf("kernel_list.txt:%d: %s", c.line, c.input), got, c.want)
	}
}

// TestKernelLoadError: only a refusal that means the kernel cannot run
// fentry programs at all is explained; other errors are left to the
// caller.
func TestKernelLoadError(t *testing.T) {
	p := &Point{Provider: "fentry", Func: "vfs_read", Name: "fentry:vfs_read"}
	err := LoadError(p, fmt.Errorf("load program: %w", errnoNotSupported))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "fentry:vfs_read: this kernel refuses") {
		t.Errorf("ENOTSUPP: %v", err)
	}
	if err := LoadError(p, fmt.Errorf("verifier: invalid access")); err != nil {
		t.Errorf("verifier error explained as %v", err)
	}
	if err := LoadError(&Point{Provider: "tracepoint"}, errnoNotSupported); err != nil {
		t.Errorf("tracepoint: %v", err)
	}
}
