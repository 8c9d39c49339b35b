// Package lazybtf reads BTF in its raw form, as the kernel exposes its
// own, without decoding all of it: one pass indexes the types by name,
// and a type is decoded into cilium/ebpf's btf types only when asked for.
// A type asked for comes whole, with the structs and unions it holds by
// value, as cilium/ebpf gives it; those it reaches only through pointers
// come without their members until those are asked for (Members):
// task_struct alone reaches thousands of types, struct sock most of the
// kernel's, and a script reads a few fields.
//
// cilium/ebpf's btf.LoadKernelSpec sorts an index of all the kernel's
// types and decodes the whole closure of each type asked for; reading
// only what is asked for is what keeps a tool's start-up in milliseconds.
package lazybtf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// KernelPath is where the running kernel describes its types.
const KernelPath = "/sys/kernel/btf/vmlinux"

// The kinds of BTF types (include/uapi/linux/btf.h).
const (
	kindInt       = 1
	kindPointer   = 2
	kindArray     = 3
	kindStruct    = 4
	kindUnion     = 5
	kindEnum      = 6
	kindFwd       = 7
	kindTypedef   = 8
	kindVolatile  = 9
	kindConst     = 10
	kindRestrict  = 11
	kindFunc      = 12
	kindFuncProto = 13
	kindVar       = 14
	kindDatasec   = 15
	kindFloat     = 16
	kindDeclTag   = 17
	kindTypeTag   = 18
	kindEnum64    = 19
)

// Spec is the types of one BTF blob: the kernel's, or a module's, whose
// types and strings follow the kernel's. It is safe for concurrent use.
type Spec struct {
	base    *Spec      // the kernel's, for a module's
	firstID btf.TypeID // the ID of the first type of types
	strBase uint32     // the offset of strs among the strings
	types   []byte     // the type section
	strs    []byte     // the string section
	// every holds the offset in types of every 16th type (IDs 1, 17,
	// 33...): a type is found from the one before it there, which keeps
	// the index of the kernel's types at 32 KB instead of 500.
	every []uint32
	count int // the number of types of types
	// byName is an open-addressing hash table of the IDs of the named
	// types other than functions by name (0: an empty slot). funcs is
	// the same of the functions, made when one is first looked up: they
	// are four fifths of the kernel's names, and most scripts name none.
	byName []uint32
	funcs  func() []uint32
	seed   maphash.Seed

	mu      sync.Mutex
	decoded map[btf.TypeID]btf.Type
	ids     map[btf.Type]btf.TypeID
	// partial are the structs and unions decoded without their members.
	partial map[btf.Type]btf.TypeID

	enums     func() []uint64 // see enumTable
	enumTypes []typeAt        // the enums, found by index for enumTable
}

// LoadKernel reads the running kernel's BTF. The kernel lets it be mapped
// (since Linux 6.16): the pages are the kernel's own and count in no
// process's memory. Where it cannot be mapped it is read.
func LoadKernel() (*Spec, error) {
	f, err := os.Open(KernelPath)
	if err != nil {
		return nil, fmt.Errorf("kernel BTF: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("kernel BTF: %w", err)
	}
	raw, err := unix.Mmap(int(f.Fd()), 0, int(info.Size()), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		raw, err = readAll(f)
		if err != nil {
			return nil, fmt.Errorf("kernel BTF: %w", err)
		}
		return Load(raw)
	}
	s, err := Load(raw)
	if err != nil {
		unix.Munmap(raw)
		return nil, fmt.Errorf("kernel BTF: %w", err)
	}
	// The mapping lives as long as the spec: its decoded names are
	// copies, its raw sections are not.
	runtime.AddCleanup(s, func(b []byte) { unix.Munmap(b) }, raw)
	return s, nil
}

// readAll reads f, which is sysfs's and read a page at a time: in one
// buffer of the size it says it has.
func readAll(f *os.File) ([]byte, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, info.Size())
	n := 0
	for n < len(buf) {
		m, err := f.ReadAt(buf[n:], int64(n))
		n += m
		if err != nil {
			if n == len(buf) {
				break
			}
			return nil, err
		}
	}
	return buf, nil
}

// Load indexes raw, a BTF blob (header, types and strings), which it keeps
// and which must not change.
func Load(raw []byte) (*Spec, error) { return LoadSplit(raw, nil) }

// LoadKernelModule reads the BTF of a kernel module of the running kernel,
// whose types refer to base's, the kernel's.
func LoadKernelModule(module string, base *Spec) (*Spec, error) {
	if module == "" || strings.ContainsAny(module, "/.") {
		return nil, fmt.Errorf("invalid module name %q", module)
	}
	f, err := os.Open(filepath.Join(filepath.Dir(KernelPath), module))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := readAll(f)
	if err != nil {
		return nil, err
	}
	return LoadSplit(raw, base)
}

// LoadSplit indexes raw as Load does; with a base, raw is split BTF (a
// kernel module's), whose IDs and string offsets continue base's.
func LoadSplit(raw []byte, base *Spec) (*Spec, error) {
	const hdrLen = 24
	if len(raw) < hdrLen {
		return nil, errors.New("BTF shorter than its header")
	}
	// The kernel's BTF is in its own byte order; so is what cilium/ebpf
	// writes by default.
	bo := binary.NativeEndian
	if bo.Uint16(raw) != 0xeb9f {
		return nil, errors.New("not BTF of this machine's byte order: no magic number")
	}
	hl, typeOff, typeLen := uint64(bo.Uint32(raw[4:])), uint64(bo.Uint32(raw[8:])), uint64(bo.Uint32(raw[12:]))
	strOff, strLen := uint64(bo.Uint32(raw[16:])), uint64(bo.Uint32(raw[20:]))
	if hl+typeOff+typeLen > uint64(len(raw)) || hl+strOff+strLen > uint64(len(raw)) {
		return nil, errors.New("BTF sections beyond its end")
	}
	s := &Spec{
		base:    base,
		firstID: 1,
		types:   raw[hl+typeOff : hl+typeOff+typeLen],
		strs:    raw[hl+strOff : hl+strOff+strLen],
		seed:    maphash.MakeSeed(),
		decoded: map[btf.TypeID]btf.Type{},
		ids:     map[btf.Type]btf.TypeID{},
		partial: map[btf.Type]btf.TypeID{},
	}
	if base != nil {
		s.firstID = base.firstID + btf.TypeID(base.count)
		s.strBase = base.strBase + uint32(len(base.strs))
	}
	if err := s.index(); err != nil {
		return nil, err
	}
	s.enums = sync.OnceValue(s.enumTable)
	s.funcs = sync.OnceValue(s.funcTable)
	return s, nil
}

// extra is the length of the data that follows a type's 12 bytes.
func extra(kind, vlen int) int {
	switch kind {
	case kindInt, kindVar, kindDeclTag:
		return 4
	case kindArray:
		return 12
	case kindStruct, kindUnion, kindDatasec, kindEnum64:
		return 12 * vlen
	case kindEnum, kindFuncProto:
		return 8 * vlen
	}
	return 0
}

// bo is the byte order of the BTF read: the machine's.
var bo = binary.NativeEndian

// stride is how many types apart the offsets kept in Spec.every are.
const stride = 16

// walk yields the ID and offset of each type, in order.
func (s *Spec) walk(yield func(id btf.TypeID, off int) bool) {
	id := s.firstID
	for off := 0; off+12 <= len(s.types); id++ {
		if !yield(id, off) {
			return
		}
		info := bo.Uint32(s.types[off+4:])
		off += 12 + extra(int(info>>24&0x1f), int(info&0xffff))
	}
}

// index checks that each type is within the type section, keeps the
// offsets of every 16th, and fills byName, in one pass over the types.
func (s *Spec) index() error {
	type entry struct{ id, name uint32 }
	var named []entry
	for off := 0; off+12 <= len(s.types); s.count++ {
		if s.count%stride == 0 {
			s.every = append(s.every, uint32(off))
		}
		info := bo.Uint32(s.types[off+4:])
		kind := int(info >> 24 & 0x1f)
		id := uint32(s.firstID) + uint32(s.count)
		if n := bo.Uint32(s.types[off:]); n != 0 && kind != kindFunc {
			named = append(named, entry{id, n})
		}
		if kind == kindEnum || kind == kindEnum64 {
			s.enumTypes = append(s.enumTypes, typeAt{id, uint32(off)})
		}
		off += 12 + extra(kind, int(info&0xffff))
		if off > len(s.types) {
			return fmt.Errorf("BTF type %d runs beyond the type section", s.firstID+btf.TypeID(s.count))
		}
	}
	s.byName = make([]uint32, tableSize(len(named)))
	for _, t := range named {
		s.insert(s.byName, t.id, t.name)
	}
	return nil
}

// funcTable is funcs: the functions' hash table.
func (s *Spec) funcTable() []uint32 {
	var funcs []typeAt
	for id, off := range s.walk {
		if s.headerAt(off).kind == kindFunc {
			funcs = append(funcs, typeAt{uint32(id), uint32(off)})
		}
	}
	tab := make([]uint32, tableSize(len(funcs)))
	for _, f := range funcs {
		s.insert(tab, f.id, bo.Uint32(s.types[f.off:]))
	}
	return tab
}

// insert adds the type id, whose name is at name among the strings, to
// the hash table tab.
func (s *Spec) insert(tab []uint32, id, name uint32) {
	mask := uint64(len(tab) - 1)
	for j := maphash.Bytes(s.seed, s.nameBytes(name)) & mask; ; j = (j + 1) & mask {
		if tab[j] == 0 {
			tab[j] = id
			return
		}
	}
}

// typeAt is a type's ID and its offset in the type section.
type typeAt struct{ id, off uint32 }

// tableSize is the size of a hash table of n entries: a power of two with
// a third of it or more empty, and one empty slot at least, which ends
// the search for a name not there.
func tableSize(n int) int {
	size := 1
	for size <= n+n/2 {
		size <<= 1
	}
	return size
}

// offset is where the type of ID id, one of types, starts in types.
func (s *Spec) offset(id btf.TypeID) int {
	i := int(id - s.firstID)
	off := int(s.every[i/stride])
	for range i % stride {
		info := bo.Uint32(s.types[off+4:])
		off += 12 + extra(int(info>>24&0x1f), int(info&0xffff))
	}
	return off
}

// nameBytes is the string at off among the strings, in place.
func (s *Spec) nameBytes(off uint32) []byte {
	if off < s.strBase {
		return s.base.nameBytes(off)
	}
	off -= s.strBase
	if off >= uint32(len(s.strs)) {
		return nil
	}
	b := s.strs[off:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return b
}

// name is the string at off in the string section.
func (s *Spec) name(off uint32) string { return string(s.nameBytes(off)) }

// idsByName are the IDs of the types named name, functions or the
// others: a module's own, then the kernel's.
func (s *Spec) idsByName(name string, funcs bool) []btf.TypeID {
	tab := s.byName
	if funcs {
		tab = s.funcs()
	}
	found := s.ownIDsByName(tab, name)
	if s.base != nil {
		found = append(found, s.base.idsByName(name, funcs)...)
	}
	return found
}

// ownIDsByName are the IDs of the spec's own types named name in tab, one
// of its hash tables.
func (s *Spec) ownIDsByName(tab []uint32, name string) []btf.TypeID {
	var found []btf.TypeID
	if name == "" || len(tab) == 0 {
		return nil
	}
	mask := uint64(len(tab) - 1)
	for i := maphash.String(s.seed, name) & mask; tab[i] != 0; i = (i + 1) & mask {
		id := tab[i]
		if string(s.nameBytes(bo.Uint32(s.types[s.offset(btf.TypeID(id)):]))) == name {
			found = append(found, btf.TypeID(id))
		}
	}
	return found
}

// AnyTypesByName returns the types named name, as cilium/ebpf's Spec does,
// each whole.
func (s *Spec) AnyTypesByName(name string) ([]btf.Type, error) {
	return s.decodeAll(name, append(s.idsByName(name, false), s.idsByName(name, true)...))
}

// TypesByName returns the types named name other than functions (structs,
// typedefs, enums...), each whole.
func (s *Spec) TypesByName(name string) ([]btf.Type, error) {
	return s.decodeAll(name, s.idsByName(name, false))
}

// FuncsByName returns the functions named name.
func (s *Spec) FuncsByName(name string) ([]btf.Type, error) {
	return s.decodeAll(name, s.idsByName(name, true))
}

// decodeAll decodes the types of ids, found for name.
func (s *Spec) decodeAll(name string, ids []btf.TypeID) ([]btf.Type, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("type name %s: %w", name, btf.ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := make([]btf.Type, 0, len(ids))
	for _, id := range ids {
		t, err := s.decode(id)
		if err != nil {
			return nil, err
		}
		s.whole(t)
		found = append(found, t)
	}
	return found, nil
}

// TypeByName returns the one type of Go type T named name, as
// cilium/ebpf's Spec.TypeByName does.
func TypeByName[T btf.Type](s *Spec, name string) (T, error) {
	var zero T
	lookup := s.TypesByName
	switch any(zero).(type) {
	case *btf.Func:
		lookup = s.FuncsByName
	case nil: // T is an interface: any kind
		lookup = s.AnyTypesByName
	}
	all, err := lookup(name)
	if err != nil {
		return zero, err
	}
	var found []T
	for _, t := range all {
		if t, ok := t.(T); ok {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return zero, fmt.Errorf("type %s of kind %T: %w", name, zero, btf.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return zero, fmt.Errorf("type %s of kind %T: %w", name, zero, btf.ErrMultipleMatches)
}

// TypeByID returns the type of ID id, whole.
func (s *Spec) TypeByID(id btf.TypeID) (btf.Type, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.decode(id)
	if err == nil {
		s.whole(t)
	}
	return t, err
}

// Names yields the ID and name of each of the spec's own named types (a
// module's without the kernel's), in ID order, decoding none: listings
// look at every name and decode the few that match.
func (s *Spec) Names() iter.Seq2[btf.TypeID, string] {
	return func(yield func(btf.TypeID, string) bool) {
		for id, off := range s.walk {
			if n := bo.Uint32(s.types[off:]); n != 0 && !yield(id, s.name(n)) {
				return
			}
		}
	}
}

// TypeID is the ID of a type the spec returned.
func (s *Spec) TypeID(t btf.Type) (btf.TypeID, error) {
	if _, ok := t.(*btf.Void); ok {
		return 0, nil
	}
	s.mu.Lock()
	id, ok := s.ids[t]
	s.mu.Unlock()
	if !ok {
		if s.base != nil {
			return s.base.TypeID(t)
		}
		return 0, fmt.Errorf("type %v is not from this spec: %w", t, btf.ErrNotFound)
	}
	return id, nil
}

// Members are the members of a struct or union the spec returned, decoded
// when first asked for (with the structs and unions they hold by value).
func (s *Spec) Members(t btf.Type) []btf.Member {
	s.mu.Lock()
	s.whole(t)
	s.mu.Unlock()
	switch t := t.(type) {
	case *btf.Struct:
		return t.Members
	case *btf.Union:
		return t.Members
	}
	return nil
}

// whole decodes the members of t, if it is a struct or union without
// them, and of the structs and unions they hold by value; those of a
// struct or union that has them already are. s.mu is held.
func (s *Spec) whole(t btf.Type) {
	t = held(t)
	switch t.(type) {
	case *btf.Struct, *btf.Union:
	default:
		return
	}
	id, ok := s.partial[t]
	if !ok {
		if s.base != nil {
			s.base.mu.Lock()
			s.base.whole(t)
			s.base.mu.Unlock()
		}
		return
	}
	delete(s.partial, t)
	members, err := s.members(id)
	if err != nil {
		// The blob was checked to hold each type's data: a member's type
		// ID beyond the types is the only way here.
		members = nil
	}
	switch t := t.(type) {
	case *btf.Struct:
		t.Members = members
	case *btf.Union:
		t.Members = members
	}
	for _, m := range members {
		s.whole(m.Type)
	}
}

// held is the type a value of type t holds, through arrays, typedefs and
// qualifiers.
func held(t btf.Type) btf.Type {
	for {
		t = btf.UnderlyingType(t)
		a, ok := t.(*btf.Array)
		if !ok {
			return t
		}
		t = a.Type
	}
}

// header is a type's first 12 bytes, decoded.
type header struct {
	name       uint32
	kind, vlen int
	kindFlag   bool
	sizeType   uint32 // its size or the ID of the type it refers to
	data       []byte // the bytes that follow
}

func (s *Spec) header(id btf.TypeID) (header, error) {
	if id < s.firstID && s.base != nil {
		return s.base.header(id)
	}
	if id < s.firstID || int(id-s.firstID) >= s.count {
		return header{}, fmt.Errorf("type ID %d: %w", id, btf.ErrNotFound)
	}
	return s.headerAt(s.offset(id)), nil
}

// headerAt is the header of the type at off in types.
func (s *Spec) headerAt(off int) header {
	b := s.types[off:]
	info := bo.Uint32(b[4:])
	h := header{
		name:     bo.Uint32(b),
		kind:     int(info >> 24 & 0x1f),
		vlen:     int(info & 0xffff),
		kindFlag: info>>31 == 1,
		sizeType: bo.Uint32(b[8:]),
	}
	h.data = b[12 : 12+extra(h.kind, h.vlen)]
	return h
}

// decode returns the type of ID id, decoding it and the types it refers
// to (structs and unions without their members) if it was not yet.
func (s *Spec) decode(id btf.TypeID) (btf.Type, error) {
	if id == 0 {
		return (*btf.Void)(nil), nil
	}
	if id < s.firstID && s.base != nil {
		s.base.mu.Lock()
		defer s.base.mu.Unlock()
		return s.base.decode(id)
	}
	if t, ok := s.decoded[id]; ok {
		return t, nil
	}
	h, err := s.header(id)
	if err != nil {
		return nil, err
	}
	// A type is kept before what it refers to is decoded: a pointer can
	// lead back to it.
	keep := func(t btf.Type) btf.Type {
		s.decoded[id] = t
		s.ids[t] = id
		return t
	}
	var ferr error
	ref := func(id uint32) btf.Type {
		t, err := s.decode(btf.TypeID(id))
		if err != nil && ferr == nil {
			ferr = err
		}
		return t
	}
	name := s.name(h.name)
	var t btf.Type
	switch h.kind {
	case kindInt:
		t = keep(&btf.Int{Name: name, Size: h.sizeType, Encoding: btf.IntEncoding(bo.Uint32(h.data) >> 24 & 0xf)})
	case kindPointer, kindTypedef, kindVolatile, kindConst, kindRestrict, kindTypeTag:
		q, target := reference(h.kind, name)
		t = keep(q)
		*target = ref(h.sizeType)
	case kindArray:
		a := &btf.Array{Nelems: bo.Uint32(h.data[8:])}
		t = keep(a)
		a.Type, a.Index = ref(bo.Uint32(h.data)), ref(bo.Uint32(h.data[4:]))
	case kindStruct:
		t = keep(&btf.Struct{Name: name, Size: h.sizeType})
		s.partial[t] = id
	case kindUnion:
		t = keep(&btf.Union{Name: name, Size: h.sizeType})
		s.partial[t] = id
	case kindEnum, kindEnum64:
		e := &btf.Enum{Name: name, Size: h.sizeType, Signed: h.kindFlag}
		t = keep(e)
		e.Values = s.enumValues(h)
	case kindFwd:
		kind := btf.FwdStruct
		if h.kindFlag {
			kind = btf.FwdUnion
		}
		t = keep(&btf.Fwd{Name: name, Kind: kind})
	case kindFunc:
		fn := &btf.Func{Name: name, Linkage: btf.FuncLinkage(h.vlen)}
		t = keep(fn)
		fn.Type = ref(h.sizeType)
	case kindFuncProto:
		fp := &btf.FuncProto{}
		t = keep(fp)
		fp.Params = make([]btf.FuncParam, h.vlen)
		for i := range fp.Params {
			p := h.data[8*i:]
			fp.Params[i] = btf.FuncParam{Name: s.name(bo.Uint32(p)), Type: ref(bo.Uint32(p[4:]))}
		}
		fp.Return = ref(h.sizeType)
	case kindVar:
		v := &btf.Var{Name: name, Linkage: btf.VarLinkage(bo.Uint32(h.data))}
		t = keep(v)
		v.Type = ref(h.sizeType)
	case kindDatasec:
		ds := &btf.Datasec{Name: name, Size: h.sizeType}
		t = keep(ds)
		ds.Vars = make([]btf.VarSecinfo, h.vlen)
		for i := range ds.Vars {
			v := h.data[12*i:]
			ds.Vars[i] = btf.VarSecinfo{Type: ref(bo.Uint32(v)), Offset: bo.Uint32(v[4:]), Size: bo.Uint32(v[8:])}
		}
	case kindFloat:
		t = keep(&btf.Float{Name: name, Size: h.sizeType})
	case kindDeclTag:
		// A tag on a declaration changes no type: it stands for the type
		// it tags.
		t = ref(h.sizeType)
		if ferr == nil {
			s.decoded[id] = t
		}
	default:
		return nil, fmt.Errorf("type ID %d: unknown kind %d", id, h.kind)
	}
	if ferr != nil {
		delete(s.decoded, id)
		delete(s.ids, t)
		delete(s.partial, t)
		return nil, ferr
	}
	return t, nil
}

// reference makes a type of a kind that only refers to another (a
// pointer, typedef or qualifier), and gives where that other goes.
func reference(kind int, name string) (btf.Type, *btf.Type) {
	switch kind {
	case kindPointer:
		p := &btf.Pointer{}
		return p, &p.Target
	case kindTypedef:
		td := &btf.Typedef{Name: name}
		return td, &td.Type
	case kindVolatile:
		v := &btf.Volatile{}
		return v, &v.Type
	case kindConst:
		c := &btf.Const{}
		return c, &c.Type
	case kindRestrict:
		r := &btf.Restrict{}
		return r, &r.Type
	}
	tt := &btf.TypeTag{Value: name}
	return tt, &tt.Type
}

// members decodes the members of the struct or union of ID id.
func (s *Spec) members(id btf.TypeID) ([]btf.Member, error) {
	h, err := s.header(id)
	if err != nil {
		return nil, err
	}
	members := make([]btf.Member, h.vlen)
	for i := range members {
		b := h.data[12*i:]
		tid, off := bo.Uint32(b[4:]), bo.Uint32(b[8:])
		t, err := s.decode(btf.TypeID(tid))
		if err != nil {
			return nil, err
		}
		m := btf.Member{Name: s.name(bo.Uint32(b)), Type: t, Offset: btf.Bits(off)}
		if h.kindFlag {
			m.Offset, m.BitfieldSize = btf.Bits(off&0xffffff), btf.Bits(off>>24)
		} else if th, err := s.header(btf.TypeID(tid)); err == nil && th.kind == kindInt {
			// Before kind_flag, a bitfield was an int of fewer bits than
			// its size, or at an offset within it.
			enc := bo.Uint32(th.data)
			if bits, at := enc&0xff, enc>>16&0xff; at > 0 || bits != 8*th.sizeType {
				m.Offset += btf.Bits(at)
				m.BitfieldSize = btf.Bits(bits)
			}
		}
		members[i] = m
	}
	return members, nil
}

// enumValues decodes the values of an enum (32 or 64 bits), sign-extended
// when the enum is signed.
func (s *Spec) enumValues(h header) []btf.EnumValue {
	values := make([]btf.EnumValue, h.vlen)
	for i := range values {
		if h.kind == kindEnum {
			b := h.data[8*i:]
			v := uint64(bo.Uint32(b[4:]))
			if h.kindFlag {
				v = uint64(int32(v))
			}
			values[i] = btf.EnumValue{Name: s.name(bo.Uint32(b)), Value: v}
			continue
		}
		b := h.data[12*i:]
		v := uint64(bo.Uint32(b[8:]))<<32 | uint64(bo.Uint32(b[4:]))
		values[i] = btf.EnumValue{Name: s.name(bo.Uint32(b)), Value: v}
	}
	return values
}

// EnumOf is the ID of the first enum that defines the constant name.
func (s *Spec) EnumOf(name string) (btf.TypeID, bool) {
	tab := s.enums()
	if len(tab) == 0 {
		if s.base != nil {
			return s.base.EnumOf(name)
		}
		return 0, false
	}
	mask := uint64(len(tab) - 1)
	best := btf.TypeID(0)
	for i := maphash.String(s.seed, name) & mask; tab[i] != 0; i = (i + 1) & mask {
		id, j := btf.TypeID(tab[i]>>16), int(tab[i]&0xffff)
		if best != 0 && id >= best {
			continue
		}
		h, _ := s.header(id)
		if string(s.nameBytes(bo.Uint32(h.data[j*extra(h.kind, 1):]))) == name {
			best = id
		}
	}
	if best == 0 && s.base != nil {
		return s.base.EnumOf(name)
	}
	return best, best != 0
}

// enumTable is an open-addressing hash table of the enum constants by
// name, each entry the enum's ID and the constant's index in it: found
// without a copy of any name (the kernel has tens of thousands).
func (s *Spec) enumTable() []uint64 {
	n := 0
	for _, e := range s.enumTypes {
		// The index checked that each type is within the section.
		n += s.headerAt(int(e.off)).vlen
	}
	tab := make([]uint64, tableSize(n))
	mask := uint64(len(tab) - 1)
	for _, e := range s.enumTypes {
		h := s.headerAt(int(e.off))
		size := extra(h.kind, 1)
		for j := range h.vlen {
			name := s.nameBytes(bo.Uint32(h.data[j*size:]))
			for k := maphash.Bytes(s.seed, name) & mask; ; k = (k + 1) & mask {
				if tab[k] == 0 {
					tab[k] = uint64(e.id)<<16 | uint64(j)
					break
				}
			}
		}
	}
	return tab
}
