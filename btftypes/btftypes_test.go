package btftypes

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf/btf"

	"friday/internal/testenv"
	"friday/lazybtf"
	"friday/types"
)

// testSources are the test's types as cilium/ebpf builds them, and as
// lazybtf reads them back from the BTF cilium/ebpf writes.
func testSources(t *testing.T) map[string]Source {
	t.Helper()
	b := testBuilder(t)
	spec, err := b.Spec()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lazy, err := lazybtf.Load(raw)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Source{"cilium": FromSpec(spec), "lazybtf": lazy}
}

func testBuilder(t *testing.T) *btf.Builder {
	t.Helper()
	intT := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	u32 := &btf.Typedef{Name: "u32", Type: &btf.Int{Name: "unsigned int", Size: 4}}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Char}
	node := &btf.Struct{Name: "node", Size: 40}
	node.Members = []btf.Member{
		{Name: "next", Type: &btf.Pointer{Target: node}},
		{Name: "name", Type: &btf.Array{Type: &btf.Const{Type: char}, Index: intT, Nelems: 16}, Offset: 64},
		// An anonymous union: its members are reached as the struct's.
		{Type: &btf.Union{Size: 8, Members: []btf.Member{
			{Name: "id", Type: u32},
			{Name: "raw", Type: &btf.Array{Type: &btf.Int{Name: "unsigned char", Size: 1}, Index: intT, Nelems: 8}},
		}}, Offset: 192},
		{Name: "flag", Type: intT, Offset: 259, BitfieldSize: 3},
		{Name: "vals", Type: &btf.Array{Type: intT, Index: intT, Nelems: 2}, Offset: 256 + 32},
	}
	color := &btf.Enum{Name: "color", Size: 4, Values: []btf.EnumValue{{Name: "RED", Value: 1}, {Name: "BLUE", Value: 4}}}
	fn := &btf.Func{Name: "walk", Linkage: btf.GlobalFunc, Type: &btf.FuncProto{
		Return: intT,
		Params: []btf.FuncParam{{Name: "n", Type: &btf.Pointer{Target: node}}, {Type: color}},
	}}
	b, err := btf.NewBuilder([]btf.Type{node, color, fn, u32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStruct(t *testing.T) {
	for name, src := range testSources(t) {
		t.Run(name, func(t *testing.T) { testStruct(t, New(src)) })
	}
}

func testStruct(t *testing.T, c *Converter) {
	n := c.Named("struct node")
	if n == nil || n.Kind != types.Struct || n.Size != 40 {
		t.Fatalf("struct node = %v", n)
	}
	want := []struct {
		name      string
		typ       string
		off, bits int
		bitOff    int
	}{
		{"next", "struct node *", 0, 0, 0},
		{"name", "string[16]", 8, 0, 0},
		{"id", "uint32", 24, 0, 0},
		{"raw", "uint8[8]", 24, 0, 0},
		{"flag", "int32", 32, 3, 3},
		{"vals", "int32[2]", 36, 0, 0},
	}
	if len(n.Fields) != len(want) {
		t.Fatalf("fields %v", n.Fields)
	}
	for i, w := range want {
		f := n.Fields[i]
		if f.Name != w.name || f.Type.String() != w.typ || f.Offset != w.off || f.BitSize != w.bits || f.BitOffset != w.bitOff {
			t.Errorf("field %d: %s %s @%d bits %d+%d, want %+v", i, f.Name, f.Type, f.Offset, f.BitOffset, f.BitSize, w)
		}
	}
	// Recursion ends in the same type, not an endless chain.
	if n.Fields[0].Type.Elem != n {
		t.Error("next does not point back to struct node")
	}
	if c.Named("union node") != nil || c.Named("struct nosuch") != nil {
		t.Error("found a type that does not exist")
	}
}

// TestLazy: a struct reached through a pointer gets its fields when they
// are needed, once, whichever goroutines ask.
func TestLazy(t *testing.T) {
	for name, src := range testSources(t) {
		t.Run(name, func(t *testing.T) { testLazy(t, New(src)) })
	}
}

func testLazy(t *testing.T, c *Converter) {
	proto := c.FuncProto("walk")
	node := c.ProtoArgs("walk", proto).Fields[0].Type.Elem
	if node.Name != "struct node" || node.Size != 40 || node.Fields != nil {
		t.Fatalf("pointee %s of %d bytes, fields %v: want struct node of 40, no fields yet", node.Name, node.Size, node.Fields)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if f, ok := node.Field("vals"); !ok || f.Offset != 36 {
				t.Errorf("vals = %+v, %v", f, ok)
			}
		})
	}
	wg.Wait()
	if len(node.Fields) != 6 || node.Fields[0].Type.Elem != node {
		t.Errorf("completed fields %v", node.Fields)
	}
	if c.Named("struct node") != node {
		t.Error("struct node converted twice")
	}
}

func TestTypedefEnumFunc(t *testing.T) {
	for name, src := range testSources(t) {
		t.Run(name, func(t *testing.T) { testTypedefEnumFunc(t, New(src)) })
	}
}

func testTypedefEnumFunc(t *testing.T, c *Converter) {
	if u := c.Typedef("u32"); u == nil || u.Kind != types.Int || u.Size != 4 || u.Signed {
		t.Errorf("u32 = %v", u)
	}
	ec, ok := c.EnumValue("BLUE")
	if !ok || ec.Val != 4 || ec.Type.Name != "enum color" || ec.Type.EnumNames[1] != "RED" {
		t.Errorf("BLUE = %+v, %v", ec, ok)
	}
	proto := c.FuncProto("walk")
	if proto == nil {
		t.Fatal("no prototype for walk")
	}
	args := c.ProtoArgs("walk", proto)
	if args.Size != 16 || len(args.Fields) != 2 || args.Fields[0].Name != "n" || args.Fields[1].Name != "arg1" || args.Fields[1].Offset != 8 {
		t.Errorf("walk args = %+v", args)
	}
	if c.FuncProto("nosuch") != nil {
		t.Error("found a function that does not exist")
	}
}

// TestNilSpec: without BTF nothing is found, and nothing fails.
func TestNilSpec(t *testing.T) {
	c := New(nil)
	if c.Named("struct task_struct") != nil || c.Typedef("u32") != nil || c.FuncProto("vfs_read") != nil {
		t.Error("a nil spec found types")
	}
	if _, ok := c.EnumValue("RED"); ok {
		t.Error("a nil spec found an enum value")
	}
}

// kernelSources are the running kernel's BTF read by lazybtf and by
// cilium/ebpf.
func kernelSources(t *testing.T) (lazy, full Source) {
	t.Helper()
	l, err := lazybtf.LoadKernel()
	if err != nil {
		testenv.Unavailable(t, "no kernel BTF: %v", err)
	}
	f, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	return l, FromSpec(f)
}

// TestKernel converts the kernel's task_struct, the largest struct scripts
// commonly read.
func TestKernel(t *testing.T) {
	lazy, _ := kernelSources(t)
	task := New(lazy).Named("struct task_struct")
	if task == nil {
		t.Fatal("no struct task_struct")
	}
	for _, name := range []string{"pid", "tgid", "comm", "real_parent"} {
		if _, ok := task.Field(name); !ok {
			t.Errorf("task_struct has no %s", name)
		}
	}
	if f, _ := task.Field("comm"); f.Type.Kind != types.String || f.Type.Size != 16 {
		t.Errorf("comm is %s", f.Type)
	}
}

// dump spells t's fields, and those of the structs they reach, depth
// levels down: names, types, offsets, bitfields.
func dump(b *strings.Builder, t *types.Type, depth int, seen map[*types.Type]bool) {
	if t == nil || depth == 0 || seen[t] {
		return
	}
	seen[t] = true
	fmt.Fprintf(b, "%s size %d {", t, t.Size)
	for _, f := range t.Complete().Fields {
		fmt.Fprintf(b, " %s %s @%d:%d+%d", f.Name, f.Type, f.Offset, f.BitOffset, f.BitSize)
	}
	b.WriteString(" }\n")
	for _, f := range t.Fields {
		u := f.Type
		for u.Kind == types.Pointer || u.Kind == types.Array {
			u = u.Elem
		}
		if u.Kind == types.Struct {
			dump(b, u, depth-1, seen)
		}
	}
}

// The kernel's types convert the same read by lazybtf as by
// cilium/ebpf: the structs scripts read and those they reach, typedef
// chains (pid_t), enums and their constants, and the arguments of a
// function.
func TestKernelAsCilium(t *testing.T) {
	lazy, full := kernelSources(t)
	l, f := New(lazy), New(full)
	for _, name := range []string{"struct task_struct", "struct sock", "struct tcp_sock", "struct file",
		"struct sk_buff", "struct request", "union bpf_attr", "enum bpf_map_type", "struct nosuch"} {
		var lb, fb strings.Builder
		dump(&lb, l.Named(name), 3, map[*types.Type]bool{})
		dump(&fb, f.Named(name), 3, map[*types.Type]bool{})
		if lb.String() != fb.String() || (lb.Len() == 0) != (name == "struct nosuch") {
			t.Errorf("%s:\nlazybtf %s\ncilium  %s", name, lb.String(), fb.String())
		}
	}
	for _, name := range []string{"pid_t", "u64", "size_t", "nosuch_t"} {
		if a, b := l.Typedef(name), f.Typedef(name); fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: lazybtf %v, cilium %v", name, a, b)
		}
	}
	for _, name := range []string{"TCP_SYN_RECV", "SKB_DROP_REASON_NETFILTER_DROP", "BPF_MAP_TYPE_RINGBUF", "NOSUCH_CONSTANT"} {
		a, aok := l.EnumValue(name)
		b, bok := f.EnumValue(name)
		if aok != bok || aok && (a.Val != b.Val || a.Type.Name != b.Type.Name) {
			t.Errorf("%s: lazybtf %+v, %v; cilium %+v, %v", name, a, aok, b, bok)
		}
		if want := name != "NOSUCH_CONSTANT"; aok != want {
			t.Errorf("%s found: %v", name, aok)
		}
	}
	for _, fn := range []string{"vfs_read", "tcp_v4_connect", "__probestub_sched_switch"} {
		var lb, fb strings.Builder
		dump(&lb, l.ProtoArgs(fn, l.FuncProto(fn)), 2, map[*types.Type]bool{})
		dump(&fb, f.ProtoArgs(fn, f.FuncProto(fn)), 2, map[*types.Type]bool{})
		if lb.String() != fb.String() || lb.Len() == 0 {
			t.Errorf("%s:\nlazybtf %s\ncilium  %s", fn, lb.String(), fb.String())
		}
	}
}
