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

// testSpec is the test's types as lazybtf reads them from the BTF
// cilium/ebpf writes.
func testSpec(t *testing.T) *lazybtf.Spec {
	t.Helper()
	raw, err := testBuilder(t).Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := lazybtf.Load(raw)
	if err != nil {
		t.Fatal(err)
	}
	return spec
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
	c := New(testSpec(t))
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
	c := New(testSpec(t))
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
	c := New(testSpec(t))
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

// TestKernel converts the kernel's task_struct, the largest struct scripts
// commonly read, its typedefs, enum constants and function arguments.
func TestKernel(t *testing.T) {
	spec, err := lazybtf.LoadKernel()
	if err != nil {
		testenv.Unavailable(t, "no kernel BTF: %v", err)
	}
	c := New(spec)
	task := c.Named("struct task_struct")
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
	if f, _ := task.Field("real_parent"); f.Type.Elem != task {
		t.Errorf("real_parent is %s", f.Type)
	}
	if pid := c.Typedef("pid_t"); pid == nil || pid.Kind != types.Int || pid.Size != 4 || !pid.Signed {
		t.Errorf("pid_t is %v", pid)
	}
	// include/net/tcp_states.h
	if ec, ok := c.EnumValue("TCP_SYN_RECV"); !ok || ec.Val != 3 || ec.Type.EnumNames[1] != "TCP_ESTABLISHED" {
		t.Errorf("TCP_SYN_RECV = %+v, %v", ec, ok)
	}
	if _, ok := c.EnumValue("NOSUCH_CONSTANT"); ok {
		t.Error("NOSUCH_CONSTANT found")
	}
	args := c.ProtoArgs("vfs_read", c.FuncProto("vfs_read"))
	var got []string
	for _, f := range args.Fields {
		got = append(got, fmt.Sprintf("%s %s @%d", f.Name, f.Type, f.Offset))
	}
	want := "file struct file * @0, buf int8 * @8, count uint64 @16, pos int64 * @24"
	if strings.Join(got, ", ") != want {
		t.Errorf("vfs_read's args: %s\nwant %s", strings.Join(got, ", "), want)
	}
	if file := args.Fields[0].Type.Elem; file.Fields != nil || file.Complete().Fields == nil {
		t.Errorf("struct file reached through a pointer: fields %v before it was read", file.Fields)
	}
}
