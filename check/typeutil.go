package check

import (
	"strings"

	"friday/syntax"
	"friday/types"
)

// Types of builtin values whose layout the runtime and codegen agree on.
// Sizes are those of the value as stored in a map or an event record.
var (
	commT       = types.StringOf(16)
	usymT       = &types.Type{Kind: types.Usym, Size: 16}       // address + pid
	inetT       = &types.Type{Kind: types.Inet, Size: 24}       // family (8) + 16 address bytes
	timestampT  = &types.Type{Kind: types.Timestamp, Size: 16}  // format id + nanoseconds
	cgroupPathT = &types.Type{Kind: types.CgroupPath, Size: 16} // filter id + cgroup id
	macT        = &types.Type{Kind: types.MacAddr, Size: 6}
	strerrorT   = &types.Type{Kind: types.Strerror, Size: 8}
	syscallT    = &types.Type{Kind: types.Syscall, Size: 8}
	signalT     = &types.Type{Kind: types.Signal, Size: 8}
)

// DefaultStackDepth is the number of frames kstack/ustack keep by default.
const DefaultStackDepth = 127

func stackT(kind types.Kind, mode types.StackMode, depth int) *types.Type {
	size := 8 // stack id
	if kind == types.UStack {
		size = 16 // stack id + pid
	}
	return &types.Type{Kind: kind, Size: size, Stack: mode, StackDepth: depth}
}

func isInt(t *types.Type) bool { return t != nil && t.Kind == types.Int }
func isStr(t *types.Type) bool { return t != nil && t.Kind == types.String }
func isPtr(t *types.Type) bool { return t != nil && t.Kind == types.Pointer }

// isIntegral: values usable as numbers in arithmetic.
func isIntegral(t *types.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind {
	case types.Int, types.Bool, types.Enum:
		return true
	case types.Count, types.Sum, types.Min, types.Max, types.Avg:
		return true
	}
	return false
}

// isScalar: values that can be tested for truth.
func isScalar(t *types.Type) bool {
	return isIntegral(t) || isPtr(t)
}

func isSigned(t *types.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind {
	case types.Int, types.Sum, types.Min, types.Max, types.Avg, types.Stats:
		return t.Signed
	case types.Enum:
		return false
	}
	return false
}

// constType is the type of an integer constant. Constants are 64-bit, as
// in bpftrace and C's usual arithmetic on 64-bit operands: int64, or uint64
// when the value is unsigned (above MaxInt64, or computed from an unsigned
// operand). Narrow constant types would make variables initialised from
// them wrap at 255, which no script expects.
func constType(v int64, unsigned bool) *types.Type {
	if unsigned {
		return types.U64
	}
	return types.I64
}

// fits reports whether constant v can be stored in integer type t.
func fits(v int64, vUnsigned bool, t *types.Type) bool {
	bits := uint(t.Size * 8)
	if t.Signed {
		if vUnsigned && v < 0 {
			return false
		}
		if bits == 64 {
			return true
		}
		return v >= -(1<<(bits-1)) && v < 1<<(bits-1)
	}
	if v < 0 && !vUnsigned {
		return false
	}
	if bits == 64 {
		return true
	}
	return uint64(v) < 1<<bits
}

// unifyInts is the smallest integer type that holds every value of a and
// b, or nil when there is none (uint64 with any signed type).
func unifyInts(a, b *types.Type) *types.Type {
	if a.Signed == b.Signed {
		if a.Size >= b.Size {
			return a
		}
		return b
	}
	u, s := a, b
	if a.Signed {
		u, s = b, a
	}
	size := s.Size
	if u.Size >= size {
		size = u.Size * 2
	}
	if size > 8 {
		return nil
	}
	return types.IntOf(size, true)
}

// varType is the type a scratch variable takes when it holds a value of
// type t: integers are 64-bit, keeping t's signedness, so that arithmetic
// on the variable does not wrap at the width of whatever first assigned it.
// Only a declared type (let $x: uint8) keeps a narrow width.
func varType(t *types.Type) *types.Type {
	if t.Kind == types.Int && t.Size != 8 {
		return types.IntOf(8, t.Signed)
	}
	return t
}

// mapFields is tuple or record t with the type of each field i replaced by
// fn(i, its type): t itself when nothing changes, nil when fn gives nil.
func mapFields(t *types.Type, fn func(i int, ft *types.Type) *types.Type) *types.Type {
	changed := false
	elems := make([]*types.Type, len(t.Fields))
	names := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		elems[i] = fn(i, f.Type)
		if elems[i] == nil {
			return nil
		}
		names[i] = f.Name
		if elems[i] != f.Type {
			changed = true
		}
	}
	if !changed {
		return t
	}
	if t.Kind == types.Record {
		return types.RecordOf(names, elems)
	}
	return types.TupleOf(elems...)
}

// stored is the type a value takes when stored in a map: integers and
// enums widen to 8 bytes (recursively inside tuples, where narrow unsigned
// integers, such as the literals of a tuple, become int64: it holds them
// and other values of the map's tuples, whatever their sign).
func stored(t *types.Type) *types.Type {
	return storedIn(t, false)
}

func storedIn(t *types.Type, inTuple bool) *types.Type {
	if t == nil {
		return nil
	}
	switch t.Kind {
	case types.Int:
		if t.Size != 8 {
			return types.IntOf(8, t.Signed || inTuple)
		}
	case types.Enum:
		if t.Size != 8 {
			e := *t
			e.Size = 8
			return &e
		}
	case types.Tuple, types.Record:
		return mapFields(t, func(_ int, ft *types.Type) *types.Type { return storedIn(ft, true) })
	}
	return t
}

// merge combines the type already held by a map or variable with a newly
// assigned one: integers widen (when unify is set), strings and buffers
// take the larger capacity, tuples merge element-wise. It returns nil when
// the types are incompatible.
func merge(old, nw *types.Type, intUnify bool) *types.Type {
	if old == nil {
		return nw
	}
	if nw == nil {
		return old
	}
	if old.Kind != nw.Kind {
		// Older bpftrace had no bool type: comparisons were integers, and
		// scripts mix them with integers in one variable or map.
		switch {
		case old.Kind == types.Int && nw.Kind == types.Bool:
			return old
		case old.Kind == types.Bool && nw.Kind == types.Int:
			return nw
		case old.Kind == types.Enum && nw.Kind == types.Int, old.Kind == types.Int && nw.Kind == types.Enum:
			// Enum constants are integers: a map keyed by HI_SOFTIRQ is
			// read with a softirq number.
			return old
		}
		return nil
	}
	switch old.Kind {
	case types.Int:
		if intUnify {
			return unifyInts(old, nw)
		}
		return old
	case types.String, types.Buffer:
		if nw.Size > old.Size {
			return nw
		}
		return old
	case types.Tuple, types.Record:
		if len(old.Fields) != len(nw.Fields) {
			return nil
		}
		return mapFields(old, func(i int, ft *types.Type) *types.Type {
			if old.Fields[i].Name != nw.Fields[i].Name {
				return nil
			}
			return merge(ft, nw.Fields[i].Type, intUnify)
		})
	case types.Sum, types.Min, types.Max, types.Avg, types.Stats, types.Tseries:
		// One aggregation fed signed and unsigned values (@m = min(5);
		// @m = min(-2)) keeps them as signed.
		if old.Kind == types.Tseries && (old.Step != nw.Step || old.Max != nw.Max || old.Agg != nw.Agg) {
			return nil
		}
		if old.Signed || !nw.Signed {
			return old
		}
		return nw
	case types.Pointer:
		// Any pointer may be stored where another was: bpftrace compares
		// pointers by address only.
		if types.Equal(old, nw) || old.Elem.Kind == types.Void {
			return old
		}
		if nw.Elem.Kind == types.Void {
			return old
		}
		return nil
	}
	if types.Equal(old, nw) {
		return old
	}
	return nil
}

var intNames = map[string]*types.Type{
	"uint8": types.U8, "uint16": types.U16, "uint32": types.U32, "uint64": types.U64,
	"int8": types.I8, "int16": types.I16, "int32": types.I32, "int64": types.I64,
	"u8": types.U8, "u16": types.U16, "u32": types.U32, "u64": types.U64,
	"s8": types.I8, "s16": types.I16, "s32": types.I32, "s64": types.I64,
	"uint8_t": types.U8, "uint16_t": types.U16, "uint32_t": types.U32, "uint64_t": types.U64,
	"int8_t": types.I8, "int16_t": types.I16, "int32_t": types.I32, "int64_t": types.I64,
	"__u8": types.U8, "__u16": types.U16, "__u32": types.U32, "__u64": types.U64,
	"__s8": types.I8, "__s16": types.I16, "__s32": types.I32, "__s64": types.I64,
	"char": types.I8, "signed char": types.I8, "unsigned char": types.U8,
	"short": types.I16, "short int": types.I16, "unsigned short": types.U16, "unsigned short int": types.U16,
	"int": types.I32, "signed": types.I32, "signed int": types.I32, "unsigned": types.U32, "unsigned int": types.U32,
	"long": types.I64, "long int": types.I64, "unsigned long": types.U64, "unsigned long int": types.U64,
	"long long": types.I64, "long long int": types.I64, "unsigned long long": types.U64, "unsigned long long int": types.U64,
	"size_t": types.U64, "ssize_t": types.I64, "pid_t": types.I32, "uid_t": types.U32, "gid_t": types.U32,
}

// resolveType turns a written type into a type. unsized allows T[] (casts
// infer the length).
func (c *checker) resolveType(te *syntax.TypeExpr, unsized bool) *types.Type {
	if te.Of != nil {
		c.errorf(te.Pos(), "typeof(expression) is not allowed here: there is no expression to type")
		return nil
	}
	name := strings.Join(strings.Fields(te.Name), " ")
	name = strings.TrimPrefix(name, "const ")
	name = strings.TrimPrefix(name, "volatile ")
	var t *types.Type
	switch {
	case c.ctypes[name] != nil:
		t = c.ctypes[name]
	case intNames[name] != nil:
		t = intNames[name]
	case name == "bool" || name == "_Bool":
		t = types.BoolT
	case name == "void":
		t = types.VoidT
	case name == "string":
		t = types.StringOf(c.maxStr)
	case name == "inet":
		t = inetT
	case name == "ksym_t":
		t = types.KSymT
	case name == "usym_t":
		t = usymT
	case name == "timestamp":
		t = timestampT
	case name == "macaddr_t":
		t = macT
	case strings.HasPrefix(name, "struct ") || strings.HasPrefix(name, "union ") || strings.HasPrefix(name, "enum "):
		t = c.btf.named(name)
		if t == nil {
			c.errorf(te.Pos(), "Cannot resolve unknown type \"%s\"", name)
			return nil
		}
	default:
		t = c.btf.typedef(name)
		if t == nil {
			// bpftrace also takes a struct's bare name: (file *)arg0.
			t = c.ctypes["struct "+name]
		}
		if t == nil {
			t = c.btf.named("struct " + name)
		}
		if t == nil {
			c.errorf(te.Pos(), "Cannot resolve unknown type \"%s\"", name)
			return nil
		}
	}
	if t.Kind == types.Void && te.Ptr == 0 && te.Array == 0 && te.Name != "void" {
		return t
	}
	for i := 0; i < te.Ptr; i++ {
		t = types.PointerTo(t)
	}
	switch {
	case te.Array > 0:
		if te.Name == "string" && te.Ptr == 0 {
			return types.StringOf(te.Array)
		}
		t = types.ArrayOf(t, te.Array)
	case te.Array < 0:
		if !unsized {
			c.errorf(te.Pos(), "Array size must be given here: %s[]", name)
			return nil
		}
		t = &types.Type{Kind: types.Array, Elem: t, Len: -1}
	}
	return t
}
