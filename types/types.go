// Package types is the type model shared by the checker, the code generator
// and the output formatter: what a value is, how many bytes it takes in BPF
// memory, and how it is printed.
package types

import (
	"fmt"
	"strings"
	"sync"
)

type Kind uint8

const (
	Void       Kind = iota
	Int             // Size 1, 2, 4 or 8; Signed
	Bool            // stored as 1 byte (8 in registers)
	String          // NUL-terminated, Size bytes reserved (the string's capacity)
	Buffer          // buf(): a length byte, then Size-1 bytes of data (see BufferOf)
	Pointer         // Elem is the pointee; Size 8; User says it points into user memory
	Array           // Len elements of Elem
	Struct          // C struct or union (Union set) from BTF or a tracepoint format
	Tuple           // anonymous fields .0 .1 ...; Fields hold offsets
	Record          // named tuple: (a=1, b="x")
	KStack          // kernel stack id: Stack holds the mode and depth
	UStack          // user stack id + pid
	Ksym            // kernel address to be printed as a symbol
	Usym            // user address (+ pid) to be printed as a symbol
	Inet            // ntop(): address family + 16 bytes
	Username        // uid to be printed as a user name
	Timestamp       // strftime(): format id + nanoseconds
	CgroupPath      // cgroup_path(): cgroup id to be resolved when printed
	MacAddr         // macaddr(): 6 bytes
	Strerror        // strerror(): errno to be printed as text
	Syscall         // syscall_name(): system call number to be printed as its name
	Signal          // signal_name(): signal number to be printed as its description
	Probe           // the probe builtin: an id of the probe's name
	Enum            // value of a C enum: printed by name where known
	// Map value kinds made by aggregation functions. Only map values have
	// these kinds.
	Count
	Sum
	Min
	Max
	Avg
	Stats
	Hist
	Lhist
	Tseries
)

// StackMode is the output format of a stack: bpftrace, perf, raw or
// build_id (user stacks only: each frame is the build id of the binary
// and the offset in its file).
type StackMode uint8

const (
	StackBpftrace StackMode = iota
	StackPerf
	StackRaw
	StackBuildID
)

type Type struct {
	Kind   Kind
	Size   int  // bytes of the value as it is stored in a BPF map or event
	Signed bool // Int, Sum, Min, Max, Avg, Stats, Tseries: the value is signed

	Elem *Type // Pointer, Array
	Len  int   // Array
	User bool  // Pointer: points into user memory (probe_read_user); Int: an address uptr() marked so
	// Kernel marks an Int that kptr() made an address in kernel memory.
	// A plain integer read as an address is in the memory its probe's
	// type implies.
	Kernel bool

	Name  string // Struct: "struct task_struct"; Enum: "enum x"
	Union bool   // Struct
	// Fields are those of a Struct, Tuple or Record. A struct made by
	// LazyStruct has them only once completed (see Complete).
	Fields []Field
	lazy   *lazyFields
	// Struct: the alignment a C attribute set (1 when packed); 0 for
	// the one its fields give.
	AttrAlign int

	Stack      StackMode // KStack, UStack
	StackDepth int       // KStack, UStack: frames kept

	// Hist: Bits is the log2 sub-bucket bits (0..5).
	// Lhist: Min, Max, Step as given to lhist().
	// Tseries: Step is the interval in nanoseconds, Max the number of
	// intervals kept.
	Bits           int
	Min, Max, Step int64
	// Tseries: how the values stored in one interval combine: "avg",
	// "max", "min", "sum", or "" for the last one stored.
	Agg string

	// Enum: value names by value (for printing).
	EnumNames map[int64]string
}

// Field is a member of a Struct, Tuple or Record. Offsets are in bytes from
// the start of the value. A bitfield has BitSize > 0 and BitOffset within
// the bytes at Offset. DataLoc marks a tracepoint __data_loc field: the u32
// at Offset holds (length << 16 | offset-from-ctx) of the real data.
type Field struct {
	Name      string
	Type      *Type
	Offset    int
	BitOffset int
	BitSize   int
	DataLoc   bool
}

// lazyFields are the fields of a struct yet to be found.
type lazyFields struct {
	once sync.Once
	fill func(*Type)
}

// LazyStruct is a struct (a union when union is set) whose fields fill
// sets when they are first needed; a size of 0 says that fill finds it
// too. The kernel's types reach thousands of others through pointers; a
// script follows few of them, and most of its programs' start-up would
// go to types it never reads.
func LazyStruct(name string, union bool, size int, fill func(t *Type)) *Type {
	return &Type{Kind: Struct, Name: name, Union: union, Size: size, lazy: &lazyFields{fill: fill}}
}

// Complete gives a struct made by LazyStruct its fields, and returns t.
// Field and Align complete t themselves; what reads the fields or size
// of a struct it reached through a pointer completes it first (the
// checker does, where a pointer is dereferenced or moved), and a copy of
// the Type is made of a complete one. It is safe for concurrent use.
func (t *Type) Complete() *Type {
	if l := t.lazy; l != nil {
		l.once.Do(func() { l.fill(t) })
	}
	return t
}

// Common types.
var (
	VoidT  = &Type{Kind: Void}
	BoolT  = &Type{Kind: Bool, Size: 1}
	U8     = IntOf(1, false)
	U16    = IntOf(2, false)
	U32    = IntOf(4, false)
	U64    = IntOf(8, false)
	I8     = IntOf(1, true)
	I16    = IntOf(2, true)
	I32    = IntOf(4, true)
	I64    = IntOf(8, true)
	VoidP  = &Type{Kind: Pointer, Size: 8, Elem: VoidT}
	KSymT  = &Type{Kind: Ksym, Size: 8}
	UserT  = &Type{Kind: Username, Size: 8}
	ProbeT = &Type{Kind: Probe, Size: 8}
)

func IntOf(size int, signed bool) *Type {
	return &Type{Kind: Int, Size: size, Signed: signed}
}

// StringOf is a string with room for n bytes including the terminating NUL.
func StringOf(n int) *Type { return &Type{Kind: String, Size: n} }

// BufferOf is a buf() value with room for n bytes of data: a length byte
// followed by the data, n+1 bytes in all.
func BufferOf(n int) *Type { return &Type{Kind: Buffer, Size: n + 1} }

func PointerTo(elem *Type) *Type { return &Type{Kind: Pointer, Size: 8, Elem: elem} }

func ArrayOf(elem *Type, n int) *Type {
	return &Type{Kind: Array, Size: elem.Size * n, Elem: elem, Len: n}
}

// TupleOf lays the elements out with C alignment, as bpftrace does.
func TupleOf(elems ...*Type) *Type {
	t := &Type{Kind: Tuple}
	t.layout(nil, elems)
	return t
}

// RecordOf is a tuple whose fields have names.
func RecordOf(names []string, elems []*Type) *Type {
	t := &Type{Kind: Record}
	t.layout(names, elems)
	return t
}

func (t *Type) layout(names []string, elems []*Type) {
	off, maxAlign := 0, 1
	for i, e := range elems {
		a := e.tupleAlign()
		if a > maxAlign {
			maxAlign = a
		}
		off = alignUp(off, a)
		f := Field{Type: e, Offset: off, Name: fmt.Sprint(i)}
		if names != nil {
			f.Name = names[i]
		}
		t.Fields = append(t.Fields, f)
		off += e.Size
	}
	t.Size = alignUp(off, maxAlign)
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// tupleAlign is the alignment of an element of a tuple or record, as
// bpftrace lays them out: byte-array values (strings, buffers, addresses
// to resolve when printed, strftime and cgroup_path values) go at any
// byte, tuples and structs by their own alignment, other values of 1 or
// 2 bytes by their size, of 3 or 4 bytes at 4, of more at 8; an array by
// its elements' unless it takes 2 bytes or less.
func (t *Type) tupleAlign() int {
	switch t.Kind {
	case String, Buffer, Inet, MacAddr, Usym, Timestamp, CgroupPath:
		return 1
	case Tuple, Record:
		a := 1
		for _, f := range t.Fields {
			a = max(a, f.Type.tupleAlign())
		}
		return a
	case Struct:
		return t.Align()
	}
	switch {
	case t.Size <= 2:
		return max(t.Size, 1)
	case t.Kind == Array:
		return t.Elem.tupleAlign()
	case t.Size <= 4:
		return 4
	}
	return 8
}

// Align is the C alignment of the type.
func (t *Type) Align() int {
	switch t.Kind {
	case Int, Bool, Enum:
		if t.Size > 0 && t.Size <= 8 {
			return t.Size
		}
		return 8
	case String, Buffer, Inet, MacAddr:
		return 1
	case Array:
		return t.Elem.Align()
	case Tuple, Record:
		return t.tupleAlign()
	case Struct:
		if t.AttrAlign > 0 {
			return t.AttrAlign
		}
		a := 1
		for _, f := range t.Complete().Fields {
			if fa := f.Type.Align(); fa > a {
				a = fa
			}
		}
		return a
	}
	return 8
}

// IsInteger reports whether values of t live in a register as numbers.
func (t *Type) IsInteger() bool {
	switch t.Kind {
	case Int, Bool, Enum, Pointer, Ksym, Usym, Username, Probe, Strerror, Syscall, Signal, CgroupPath:
		return true
	}
	return false
}

// IsAggregate reports whether t is a map value made by an aggregation
// function (count, hist, ...).
func (t *Type) IsAggregate() bool { return t.Kind >= Count }

// Field looks up a field of a Struct, Tuple or Record by name.
func (t *Type) Field(name string) (Field, bool) {
	for _, f := range t.Complete().Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// String spells the type as bpftrace's error messages do.
func (t *Type) String() string {
	if t == nil {
		return "none"
	}
	switch t.Kind {
	case Void:
		return "void"
	case Int:
		if t.Signed {
			return fmt.Sprintf("int%d", t.Size*8)
		}
		return fmt.Sprintf("uint%d", t.Size*8)
	case Bool:
		return "bool"
	case String:
		return fmt.Sprintf("string[%d]", t.Size)
	case Buffer:
		// Named by the data it holds, as buf(x, n) is written.
		return fmt.Sprintf("buffer[%d]", t.Size-1)
	case Pointer:
		return t.Elem.String() + " *"
	case Array:
		if t.Len < 0 {
			// A cast's array whose length its operand decides.
			return t.Elem.String() + "[]"
		}
		return fmt.Sprintf("%s[%d]", t.Elem, t.Len)
	case Struct:
		return t.Name
	case Enum:
		return t.Name
	case Tuple, Record:
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			parts[i] = f.Type.String()
			if t.Kind == Record {
				parts[i] = f.Name + "=" + parts[i]
			}
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return kindNames[t.Kind]
}

var kindNames = map[Kind]string{
	KStack: "kstack", UStack: "ustack", Ksym: "ksym", Usym: "usym",
	Inet: "inet", Username: "username", Timestamp: "timestamp",
	CgroupPath: "cgroup_path", MacAddr: "mac_address", Strerror: "strerror",
	Syscall: "syscall_name", Signal: "signal_name", Probe: "probe", Count: "count", Sum: "sum", Min: "min", Max: "max",
	Avg: "avg", Stats: "stats", Hist: "hist", Lhist: "lhist", Tseries: "tseries",
}

// Equal reports whether a and b are the same type for the purpose of
// storing one into a map or variable declared with the other.
func Equal(a, b *Type) bool {
	if a.Kind != b.Kind || a.Size != b.Size || a.Signed != b.Signed {
		return false
	}
	switch a.Kind {
	case Pointer, Array:
		return a.Len == b.Len && Equal(a.Elem, b.Elem)
	case Struct, Enum:
		return a.Name == b.Name
	case Tuple, Record:
		if len(a.Fields) != len(b.Fields) {
			return false
		}
		for i := range a.Fields {
			if a.Fields[i].Name != b.Fields[i].Name || !Equal(a.Fields[i].Type, b.Fields[i].Type) {
				return false
			}
		}
	case Hist:
		return a.Bits == b.Bits
	case Lhist:
		return a.Min == b.Min && a.Max == b.Max && a.Step == b.Step
	case Tseries:
		return a.Max == b.Max && a.Step == b.Step && a.Agg == b.Agg
	case KStack, UStack:
		return a.Stack == b.Stack && a.StackDepth == b.StackDepth
	}
	return true
}
