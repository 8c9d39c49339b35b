package lazybtf

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf/btf"

	"friday/internal/testenv"
)

// ciliumKernel is the running kernel's BTF as cilium/ebpf reads it, read
// once for the tests that compare with it.
var ciliumKernel = sync.OnceValues(btf.LoadKernelSpec)

// kernelSpecs are the running kernel's BTF read both ways; lazybtf's
// afresh.
func kernelSpecs(t *testing.T) (*Spec, *btf.Spec) {
	t.Helper()
	lazy, err := LoadKernel()
	if err != nil {
		testenv.Unavailable(t, "no kernel BTF: %v", err)
	}
	full, err := ciliumKernel()
	if err != nil {
		t.Fatal(err)
	}
	return lazy, full
}

// describe spells what a type is made of, naming the types it refers to
// by ID, so that a type decoded by each reader compares without following
// its references.
func describe(t btf.Type, id func(btf.Type) btf.TypeID, members []btf.Member) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%T %q", t, t.TypeName())
	switch t := t.(type) {
	case *btf.Int:
		fmt.Fprintf(&b, " size %d enc %d", t.Size, t.Encoding)
	case *btf.Pointer:
		fmt.Fprintf(&b, " -> %d", id(t.Target))
	case *btf.Array:
		fmt.Fprintf(&b, " [%d] of %d by %d", t.Nelems, id(t.Type), id(t.Index))
	case *btf.Struct, *btf.Union:
		size, _ := btf.Sizeof(t)
		fmt.Fprintf(&b, " size %d", size)
		for _, m := range members {
			fmt.Fprintf(&b, " {%s %d @%d:%d}", m.Name, id(m.Type), m.Offset, m.BitfieldSize)
		}
	case *btf.Enum:
		fmt.Fprintf(&b, " size %d signed %v %v", t.Size, t.Signed, t.Values)
	case *btf.Fwd:
		fmt.Fprintf(&b, " %v", t.Kind)
	case *btf.Typedef:
		fmt.Fprintf(&b, " = %d", id(t.Type))
	case *btf.Const:
		fmt.Fprintf(&b, " = %d", id(t.Type))
	case *btf.Volatile:
		fmt.Fprintf(&b, " = %d", id(t.Type))
	case *btf.Restrict:
		fmt.Fprintf(&b, " = %d", id(t.Type))
	case *btf.TypeTag:
		fmt.Fprintf(&b, " %s = %d", t.Value, id(t.Type))
	case *btf.Func:
		fmt.Fprintf(&b, " %v = %d", t.Linkage, id(t.Type))
	case *btf.FuncProto:
		fmt.Fprintf(&b, " returns %d", id(t.Return))
		for _, p := range t.Params {
			fmt.Fprintf(&b, " (%s %d)", p.Name, id(p.Type))
		}
	case *btf.Var:
		fmt.Fprintf(&b, " %v = %d", t.Linkage, id(t.Type))
	case *btf.Datasec:
		fmt.Fprintf(&b, " size %d", t.Size)
		for _, v := range t.Vars {
			fmt.Fprintf(&b, " {%d @%d+%d}", id(v.Type), v.Offset, v.Size)
		}
	case *btf.Float:
		fmt.Fprintf(&b, " size %d", t.Size)
	}
	return b.String()
}

// Every type of the kernel decodes as cilium/ebpf decodes it: kinds,
// names, sizes, members' offsets and bitfields, enum values, array
// lengths, typedef chains, function prototypes, variables and sections,
// each referring to the same types.
func TestKernelTypesAsCilium(t *testing.T) {
	lazy, full := kernelSpecs(t)
	lazyID := func(t btf.Type) btf.TypeID { id, _ := lazy.TypeID(t); return id }
	fullID := func(t btf.Type) btf.TypeID { id, _ := full.TypeID(t); return id }
	n, compared := 0, 0
	for want, err := range full.All() {
		if err != nil {
			t.Fatal(err)
		}
		id := fullID(want)
		if strings.HasSuffix(fmt.Sprintf("%T", want), "declTag") {
			// cilium/ebpf keeps declaration tags as types of their own;
			// lazybtf gives the tagged type.
			continue
		}
		got, err := lazy.TypeByID(id)
		if err != nil {
			t.Fatalf("type %d: %v", id, err)
		}
		var wm, gm []btf.Member
		switch w := want.(type) {
		case *btf.Struct:
			wm = w.Members
		case *btf.Union:
			wm = w.Members
		}
		gm = lazy.Members(got)
		compared++
		if g, w := describe(got, lazyID, gm), describe(want, fullID, wm); g != w {
			t.Errorf("type %d:\n got %s\nwant %s", id, g, w)
			if n++; n > 10 {
				t.FailNow()
			}
		}
	}
	if compared < 1000 {
		t.Errorf("compared %d types: the kernel has more", compared)
	}
}

// Each type is found by its name, with the others of that name, and an
// enum constant by its name in the first enum that has it.
func TestKernelNames(t *testing.T) {
	lazy, full := kernelSpecs(t)
	firstEnum := map[string]btf.TypeID{}
	for typ, err := range full.All() {
		if err != nil {
			t.Fatal(err)
		}
		id, _ := full.TypeID(typ)
		if e, ok := typ.(*btf.Enum); ok {
			for _, v := range e.Values {
				if _, dup := firstEnum[v.Name]; !dup {
					firstEnum[v.Name] = id
				}
			}
		}
		name := typ.TypeName()
		if name == "" || strings.HasSuffix(fmt.Sprintf("%T", typ), "declTag") {
			continue
		}
		// Functions are found in their own table, the others in theirs.
		_, isFunc := typ.(*btf.Func)
		if !slices.Contains(lazy.idsByName(name, isFunc), id) {
			t.Errorf("%s (type %d) not found by its name", name, id)
		}
		if slices.Contains(lazy.idsByName(name, !isFunc), id) {
			t.Errorf("%s (type %d) found among the wrong kinds", name, id)
		}
	}
	if len(firstEnum) < 1000 {
		t.Errorf("%d enum constants: the kernel has more", len(firstEnum))
	}
	for name, id := range firstEnum {
		if got, ok := lazy.EnumOf(name); got != id || !ok {
			t.Errorf("enum constant %s in type %d (%v), want %d", name, got, ok, id)
		}
	}
	if id, ok := lazy.EnumOf("NO_SUCH_CONSTANT_ANYWHERE"); ok {
		t.Errorf("NO_SUCH_CONSTANT_ANYWHERE found in type %d", id)
	}
}

// A type asked for comes whole, with the structs it holds by value; one
// reached through a pointer gets its members when asked for, and the
// types decoded are the spec's own: task_struct points back to
// task_struct.
func TestLazyMembers(t *testing.T) {
	lazy, _ := kernelSpecs(t)
	task, err := TypeByName[*btf.Struct](lazy, "task_struct")
	if err != nil {
		t.Fatal(err)
	}
	var parent *btf.Struct
	for _, m := range task.Members {
		if m.Name == "real_parent" {
			parent, _ = m.Type.(*btf.Pointer).Target.(*btf.Struct)
		}
	}
	if parent != task {
		t.Fatalf("real_parent points to %v, not to task_struct itself", parent)
	}
	if _, err := TypeByName[*btf.Struct](lazy, "no_such_struct_anywhere"); err == nil {
		t.Error("found a struct that does not exist")
	}
	if _, err := TypeByName[*btf.Union](lazy, "task_struct"); err == nil {
		t.Error("found task_struct as a union")
	}
	sock, err := TypeByName[*btf.Struct](lazy, "sock")
	if err != nil {
		t.Fatal(err)
	}
	member := func(ms []btf.Member, name string) btf.Type {
		for _, m := range ms {
			if m.Name == name {
				return m.Type
			}
		}
		t.Fatalf("no member %s", name)
		return nil
	}
	common := member(sock.Members, "__sk_common").(*btf.Struct)
	if len(common.Members) == 0 {
		t.Fatal("struct sock_common, held by value, has no members")
	}
	prot := member(common.Members, "skc_prot").(*btf.Pointer).Target.(*btf.Struct)
	if len(prot.Members) != 0 {
		t.Fatal("struct proto, reached through a pointer, was decoded whole")
	}
	// Members are decoded once, whichever goroutine asks first.
	var wg sync.WaitGroup
	got := make([]int, 8)
	for i := range got {
		wg.Go(func() { got[i] = len(lazy.Members(prot)) })
	}
	wg.Wait()
	for _, n := range got {
		if n == 0 || n != got[0] {
			t.Fatalf("struct proto's members by goroutine: %v", got)
		}
	}
}

// A module's BTF (split BTF) refers to the kernel's types and strings:
// its types are found by name with the kernel's, after its own, and their
// IDs follow the kernel's.
func TestSplit(t *testing.T) {
	intT := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	task := &btf.Struct{Name: "task", Size: 4, Members: []btf.Member{{Name: "pid", Type: intT}}}
	base, _ := build(t, intT, task)
	id := func(typ btf.Type) uint32 { id, _ := base.TypeID(typ); return uint32(id) }
	intID, taskID := id(mustType[*btf.Int](t, base, "int")), id(mustType[*btf.Struct](t, base, "task"))
	strBase := uint32(len(base.strs))
	// The module's strings, after the kernel's: its own names.
	strs := []byte("\x00mod_read\x00mod_state\x00t\x00count\x00")
	name := func(s string) uint32 { return strBase + uint32(strings.Index(string(strs), "\x00"+s+"\x00")) + 1 }
	first := uint32(base.count) + 1
	var types []byte
	put := func(vs ...uint32) {
		for _, v := range vs {
			types = bo.AppendUint32(types, v)
		}
	}
	info := func(kind, vlen int) uint32 { return uint32(kind)<<24 | uint32(vlen) }
	// first: struct mod_state { struct task *t; int count; }
	put(name("mod_state"), info(kindStruct, 2), 16,
		name("t"), first+1, 0,
		name("count"), intID, 64)
	// first+1: struct task *
	put(0, info(kindPointer, 0), taskID)
	// first+2: int (struct mod_state *)
	put(0, info(kindFuncProto, 1), intID, 0, first+3)
	// first+3: struct mod_state *
	put(0, info(kindPointer, 0), first)
	// first+4: mod_read
	put(name("mod_read"), info(kindFunc, 1), first+2)
	hdr := make([]byte, 24)
	bo.PutUint16(hdr, 0xeb9f)
	hdr[2] = 1
	bo.PutUint32(hdr[4:], 24)
	bo.PutUint32(hdr[12:], uint32(len(types)))
	bo.PutUint32(hdr[16:], uint32(len(types)))
	bo.PutUint32(hdr[20:], uint32(len(strs)))
	mod, err := LoadSplit(append(append(hdr, types...), strs...), base)
	if err != nil {
		t.Fatal(err)
	}
	fn := mustType[*btf.Func](t, mod, "mod_read")
	if id, _ := mod.TypeID(fn); id != btf.TypeID(first+4) {
		t.Errorf("mod_read has ID %d, want %d", id, first+4)
	}
	proto := fn.Type.(*btf.FuncProto)
	if proto.Return != mustType[*btf.Int](t, base, "int") {
		t.Errorf("mod_read returns %v, not the kernel's int", proto.Return)
	}
	state := proto.Params[0].Type.(*btf.Pointer).Target.(*btf.Struct)
	ms := mod.Members(state)
	if len(ms) != 2 || ms[1].Name != "count" || ms[1].Offset != 64 ||
		ms[0].Type.(*btf.Pointer).Target != mustType[*btf.Struct](t, base, "task") {
		t.Errorf("struct mod_state = %+v", ms)
	}
	// The kernel's types are found through the module's spec too.
	if got := mustType[*btf.Struct](t, mod, "task"); got != mustType[*btf.Struct](t, base, "task") {
		t.Errorf("struct task through the module is %v", got)
	}
	var names []string
	for id, name := range mod.Names() {
		names = append(names, fmt.Sprintf("%d %s", id-btf.TypeID(first), name))
	}
	if got := strings.Join(names, ", "); got != "0 mod_state, 4 mod_read" {
		t.Errorf("the module's names: %s", got)
	}
}

func mustType[T btf.Type](t *testing.T, s *Spec, name string) T {
	t.Helper()
	typ, err := TypeByName[T](s, name)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// Built BTF reads back as it was written, and a truncated blob is refused.
func TestBuilt(t *testing.T) {
	intT := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	node := &btf.Struct{Name: "node", Size: 16}
	node.Members = []btf.Member{
		{Name: "next", Type: &btf.Pointer{Target: node}},
		{Name: "flag", Type: intT, Offset: 67, BitfieldSize: 3},
		{Name: "neg", Type: intT, Offset: 96},
	}
	e := &btf.Enum{Name: "sign", Size: 4, Signed: true, Values: []btf.EnumValue{{Name: "MINUS", Value: ^uint64(0)}}}
	s, raw := build(t, node, e)
	got, err := TypeByName[*btf.Struct](s, "node")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Members) != 3 || got.Members[1].Offset != 67 || got.Members[1].BitfieldSize != 3 ||
		got.Members[0].Type.(*btf.Pointer).Target != got {
		t.Errorf("struct node = %+v", got.Members)
	}
	en, err := TypeByName[*btf.Enum](s, "sign")
	if err != nil || en.Values[0].Value != ^uint64(0) {
		t.Errorf("enum sign = %v, %v", en, err)
	}
	// A name not there ends its search at an empty slot, however few
	// the names.
	only := &btf.Enum{Name: "only", Size: 4, Values: []btf.EnumValue{{Name: "ONLY", Value: 1}}}
	small, _ := build(t, only)
	if _, err := small.AnyTypesByName("long"); err == nil {
		t.Error("found long among one enum")
	}
	if _, ok := small.EnumOf("RED"); ok {
		t.Error("found RED among one enum constant")
	}
	if _, ok := small.EnumOf("ONLY"); !ok {
		t.Error("the one enum constant not found")
	}
	if _, err := Load(raw[:20]); err == nil {
		t.Error("a truncated header loads")
	}
	if _, err := Load(raw[:len(raw)-1]); err == nil {
		t.Error("truncated strings load")
	}
}

// What a tool reading task_struct pays: the kernel's BTF read and indexed,
// and task_struct found with its members, by lazybtf and by cilium/ebpf.
func BenchmarkKernelTaskStruct(b *testing.B) {
	b.Run("lazybtf", func(b *testing.B) {
		for b.Loop() {
			s, err := LoadKernel()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := TypeByName[*btf.Struct](s, "task_struct"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cilium", func(b *testing.B) {
		for b.Loop() {
			s, err := btf.LoadKernelSpec()
			if err != nil {
				b.Fatal(err)
			}
			var st *btf.Struct
			if err := s.TypeByName("task_struct", &st); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// build loads the raw BTF cilium/ebpf writes for types, and returns it
// too.
func build(t *testing.T, types ...btf.Type) (*Spec, []byte) {
	t.Helper()
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s, raw
}
