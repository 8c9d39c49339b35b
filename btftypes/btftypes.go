// Package btftypes converts kernel BTF types into the shared type model,
// for the checker (casts, struct fields, enums) and for attach points whose
// arguments BTF describes.
package btftypes

import (
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"

	"friday/lazybtf"
	"friday/types"
)

// Converter converts kernel BTF types into types.Type on demand. Struct
// types are cached by BTF identity so recursive structs (task_struct points
// to task_struct) become cyclic graphs rather than infinite ones. A struct
// reached through a pointer is converted without its fields, which it
// gets when first needed (types.LazyStruct): task_struct reaches thousands
// of types, a script reads a few. The methods of a Converter are not safe
// for concurrent use; the completion of the structs it made is.
type Converter struct {
	spec *lazybtf.Spec
	mu   sync.Mutex // guards cache: structs complete on any goroutine
	// cache holds structs, unions, forward declarations and enums, so
	// that each has one identity.
	cache map[btf.Type]*types.Type
	// Local gives the types a script defines ("struct task_struct"), which
	// win over the kernel's of the same name wherever those are reached:
	// as bpftrace, which gives the compiler the script's definitions
	// first. Nil, or a nil result, keeps the kernel's.
	Local func(name string) *types.Type
}

// EnumConst is an enum constant: its value and its enum type.
type EnumConst struct {
	Val  int64
	Type *types.Type
}

// New returns a converter over spec; a nil spec knows no types.
func New(spec *lazybtf.Spec) *Converter {
	return &Converter{spec: spec, cache: map[btf.Type]*types.Type{}}
}

// Named looks up "struct x", "union x" or "enum x".
func (b *Converter) Named(name string) *types.Type {
	if b.spec == nil {
		return nil
	}
	kind, base, _ := strings.Cut(name, " ")
	cands, err := b.spec.TypesByName(base)
	if err != nil {
		return nil
	}
	var fallback btf.Type
	for _, t := range cands {
		switch t := t.(type) {
		case *btf.Struct:
			if kind == "struct" {
				return b.Type(t)
			}
		case *btf.Union:
			if kind == "union" {
				return b.Type(t)
			}
		case *btf.Enum:
			if kind == "enum" {
				return b.Type(t)
			}
		case *btf.Fwd:
			if kind == "struct" || kind == "union" {
				fallback = t
			}
		}
	}
	if fallback != nil {
		return b.Type(fallback)
	}
	return nil
}

// Typedef looks up a typedef or base type name such as "u32" or "pid_t".
func (b *Converter) Typedef(name string) *types.Type {
	if b.spec == nil {
		return nil
	}
	cands, err := b.spec.TypesByName(name)
	if err != nil {
		return nil
	}
	for _, t := range cands {
		switch t.(type) {
		case *btf.Typedef, *btf.Int:
			return b.Type(t)
		}
	}
	return nil
}

// EnumValue finds an enum constant by name.
func (b *Converter) EnumValue(name string) (EnumConst, bool) {
	if b.spec == nil {
		return EnumConst{}, false
	}
	id, ok := b.spec.EnumOf(name)
	if !ok {
		return EnumConst{}, false
	}
	t, err := b.spec.TypeByID(id)
	if err != nil {
		return EnumConst{}, false
	}
	e, ok := t.(*btf.Enum)
	if !ok {
		return EnumConst{}, false
	}
	for _, v := range e.Values {
		if v.Name == name {
			return EnumConst{Val: int64(v.Value), Type: b.Type(e)}, true
		}
	}
	return EnumConst{}, false
}

// FuncProto finds the prototype of kernel function name.
func (b *Converter) FuncProto(name string) *btf.FuncProto {
	if b.spec == nil {
		return nil
	}
	cands, err := b.spec.FuncsByName(name)
	if err != nil {
		return nil
	}
	for _, t := range cands {
		if fn, ok := t.(*btf.Func); ok {
			proto, _ := fn.Type.(*btf.FuncProto)
			return proto
		}
	}
	return nil
}

// ProtoArgs is the struct of a function prototype's parameters, laid out
// as 8-byte slots (as raw tracepoint and fentry contexts hold them).
func (b *Converter) ProtoArgs(name string, proto *btf.FuncProto) *types.Type {
	t := &types.Type{Kind: types.Struct, Name: "struct " + name + "_args"}
	for i, p := range proto.Params {
		pname := p.Name
		if pname == "" {
			pname = fmt.Sprintf("arg%d", i)
		}
		t.Fields = append(t.Fields, types.Field{Name: pname, Type: b.Type(p.Type), Offset: 8 * i})
	}
	t.Size = 8 * len(proto.Params)
	return t
}

// Type converts t: a struct complete with its fields, and those of the
// structs it holds by value.
func (b *Converter) Type(t btf.Type) *types.Type {
	return value(b.typ(t))
}

// value completes the structs a value of type t holds: t itself, or the
// elements of an array. A struct completes those of its fields.
func value(t *types.Type) *types.Type {
	for u := t; u != nil; u = u.Elem {
		if u.Kind == types.Struct {
			u.Complete()
		}
		if u.Kind != types.Array {
			break
		}
	}
	return t
}

// typ converts t, leaving structs to be completed.
func (b *Converter) typ(t btf.Type) *types.Type {
	if r := b.cached(t); r != nil {
		return r
	}
	switch t := t.(type) {
	case *btf.Void:
		return types.VoidT
	case *btf.Int:
		if t.Encoding&btf.Bool != 0 {
			return types.BoolT
		}
		size := int(t.Size)
		if size > 8 {
			return types.ArrayOf(types.U8, size)
		}
		return types.IntOf(size, t.Encoding&btf.Signed != 0 || t.Name == "char")
	case *btf.Typedef, *btf.Const, *btf.Volatile, *btf.Restrict, *btf.TypeTag:
		return b.typ(btf.UnderlyingType(t))
	case *btf.Pointer:
		// Only through a struct can pointers make a cycle.
		return types.PointerTo(b.typ(t.Target))
	case *btf.Array:
		if isChar(t.Type) {
			// char arrays hold text: bpftrace reads and prints them as strings.
			return types.StringOf(int(t.Nelems))
		}
		return types.ArrayOf(b.typ(t.Type), int(t.Nelems))
	case *btf.Struct:
		if r := b.local("struct ", t.Name); r != nil {
			return r
		}
		return b.composite(t, "struct "+t.Name, false, int(t.Size))
	case *btf.Union:
		if r := b.local("union ", t.Name); r != nil {
			return r
		}
		return b.composite(t, "union "+t.Name, true, int(t.Size))
	case *btf.Fwd:
		kind := "struct "
		if t.Kind == btf.FwdUnion {
			kind = "union "
		}
		if r := b.local(kind, t.Name); r != nil {
			return r
		}
		return b.keep(t, &types.Type{Kind: types.Struct, Name: kind + t.Name, Union: t.Kind == btf.FwdUnion})
	case *btf.Enum:
		if r := b.local("enum ", t.Name); r != nil {
			return r
		}
		r := &types.Type{Kind: types.Enum, Size: int(t.Size), Signed: t.Signed, Name: "enum " + t.Name,
			EnumNames: map[int64]string{}}
		for _, v := range t.Values {
			r.EnumNames[int64(v.Value)] = v.Name
		}
		return b.keep(t, r)
	case *btf.Float:
		return types.ArrayOf(types.U8, int(t.Size))
	}
	return types.VoidT
}

// local is the script's own definition of the named type kind+name.
func (b *Converter) local(kind, name string) *types.Type {
	if b.Local == nil || name == "" {
		return nil
	}
	return b.Local(kind + name)
}

// cached is the conversion of t made before, or nil.
func (b *Converter) cached(t btf.Type) *types.Type {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cache[t]
}

// keep caches r as the conversion of t, unless another goroutine did so
// first: it returns the one kept.
func (b *Converter) keep(t btf.Type, r *types.Type) *types.Type {
	b.mu.Lock()
	defer b.mu.Unlock()
	if k, ok := b.cache[t]; ok {
		return k
	}
	b.cache[t] = r
	return r
}

// composite is struct or union key, whose fields are converted when first
// needed.
func (b *Converter) composite(key btf.Type, name string, union bool, size int) *types.Type {
	if strings.HasSuffix(name, " ") {
		name += "(anonymous)"
	}
	return b.keep(key, types.LazyStruct(name, union, size, func(t *types.Type) { t.Fields = b.fields(b.spec.Members(key)) }))
}

// fields converts the members of a struct or union.
func (b *Converter) fields(members []btf.Member) []types.Field {
	var fields []types.Field
	for _, m := range members {
		off := int(m.Offset)
		if m.Name == "" {
			// Members of anonymous structs and unions are reached as if
			// they belonged to the enclosing struct.
			inner := b.Type(m.Type)
			if inner.Kind == types.Struct {
				for _, f := range inner.Fields {
					f.Offset += off / 8
					fields = append(fields, f)
				}
			}
			continue
		}
		f := types.Field{Name: m.Name, Type: b.Type(m.Type), Offset: off / 8}
		if m.BitfieldSize > 0 {
			f.BitSize = int(m.BitfieldSize)
			f.BitOffset = off % 8
		}
		fields = append(fields, f)
	}
	return fields
}

// isChar reports whether t is the C type char (through qualifiers and
// typedefs).
func isChar(t btf.Type) bool {
	for {
		switch u := t.(type) {
		case *btf.Typedef:
			t = u.Type
		case *btf.Const:
			t = u.Type
		case *btf.Volatile:
			t = u.Type
		case *btf.Int:
			// Only plain char: u8 and unsigned char arrays hold bytes.
			return u.Size == 1 && u.Name == "char"
		default:
			return false
		}
	}
}
