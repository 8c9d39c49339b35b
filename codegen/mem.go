package codegen

import (
	"encoding/binary"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"friday/internal/bpfint"
	"friday/syntax"
	"friday/types"
)

// evalInto computes e and stores it at dst as type t. pad asks for the
// bytes after a string's NUL and between tuple fields to be zero, as
// they must be in map keys (compared bytewise) and in values that may
// become keys; event records leave them as they are.
func (f *fn) evalInto(e syntax.Expr, dst mem, t *types.Type, pad bool) {
	defer f.computing(e)()
	if x, ok := e.(*syntax.Ternary); ok && x.Then != nil {
		if _, isConst := f.constOf(x.Cond); !isConst && !isVoid(f.typeOf(x)) {
			f.arms(x, func(y syntax.Expr) { f.evalInto(y, dst, t, pad) })
			return
		}
	}
	if isIntLike(t) {
		v := f.eval(e)
		if v.kind == vVoid || v.isStr || !isIntLike(v.t) && v.kind != vConst {
			f.errorf(e.Pos(), "cannot store %s as %s", v.t, t)
		}
		f.storeInt(dst, v, intSize(t))
		return
	}
	if v, ok := f.constOf(e); ok && v.isStr {
		f.writeStr(dst, v.s, t.Size, pad)
		return
	}
	switch x := e.(type) {
	case *syntax.StrLit:
		f.writeStr(dst, x.Value, t.Size, pad)
		return
	case *syntax.Tuple:
		f.tupleInto(x.Elems, dst, t, pad)
		return
	case *syntax.Record:
		f.tupleInto(x.Values, dst, t, pad)
		return

	case *syntax.Call, *syntax.Ident:
		if f.builtinInto(e, dst, t, pad) {
			return
		}
	case *syntax.Field:
		if fd, ok := f.tracepointField(x); ok && t.Size > 0 {
			f.recordFieldInto(fd, dst, t, pad)
			return
		}
	case *syntax.MapIndex, *syntax.MapRef:
		if ref, keys, ok := f.copiesElem(e, t); ok {
			f.mapReadInto(e, ref, keys, dst)
			return
		}
	}
	v := f.eval(e)
	f.valueInto(e, v, dst, t, pad)
}

// copiesElem says whether e, stored as type t, is a map element copied
// whole from the element, not through a buffer of its own.
func (f *fn) copiesElem(e syntax.Expr, t *types.Type) (*syntax.MapRef, []syntax.Expr, bool) {
	ref, keys := mapAccess(e)
	if ref == nil {
		return nil, nil, false
	}
	m := f.mapOf(ref)
	ok := !m.Value.IsAggregate() && !isIntLike(t) && types.Equal(f.typeOf(e), t)
	return ref, keys, ok
}

// valueInto stores an evaluated value at dst as type t.
func (f *fn) valueInto(e syntax.Expr, v value, dst mem, t *types.Type, pad bool) {
	if isIntLike(t) {
		f.storeInt(dst, v, intSize(t))
		return
	}
	if v.isStr {
		f.writeStr(dst, v.s, t.Size, pad)
		return
	}
	if v.kind != vMem {
		f.errorf(e.Pos(), "cannot store %s as %s", v.t, t)
	}
	if isTuple(t) && isTuple(v.t) && len(t.Fields) == len(v.t.Fields) && !types.Equal(t, v.t) {
		f.convertTuple(e, v.m, v.t, dst, t, pad)
		f.drop(v)
		return
	}
	// A longer string keeps its first bytes, without a NUL if they have
	// none: it was cut, as str() cuts.
	n := min(v.t.Size, t.Size)
	if v.m != dst {
		f.copyMem(dst, v.m, n)
	}
	switch {
	case pad && t.Size > n:
		f.zero(dst.at(n), t.Size-n)
	case t.Kind == types.String && t.Size > n:
		// A string that filled a shorter capacity ends here.
		f.emit(storeImm(dst.base, int16(dst.off+n), 0, asm.Byte))
	}
	f.drop(v)
}

func isTuple(t *types.Type) bool { return t.Kind == types.Tuple || t.Kind == types.Record }

// convertTuple stores the tuple or record at src, of type st, at dst as
// type dt, field by field: the two lay their fields out differently when
// integers of one are narrower or strings shorter.
func (f *fn) convertTuple(e syntax.Expr, src mem, st *types.Type, dst mem, dt *types.Type, pad bool) {
	if pad {
		f.zero(dst, dt.Size)
	}
	for i, df := range dt.Fields {
		sf := st.Fields[i]
		f.valueInto(e, value{kind: vMem, m: src.at(sf.Offset), t: sf.Type}, dst.at(df.Offset), df.Type, false)
	}
}

// writeStr writes a constant string with its NUL into a buffer of size
// bytes; with pad the whole buffer is written.
func (f *fn) writeStr(dst mem, s string, size int, pad bool) {
	b := []byte(s)
	if len(b) > size-1 {
		b = b[:max(size-1, 0)]
	}
	b = append(b, 0)
	if pad {
		b = append(b, make([]byte, size-len(b))...)
	}
	f.writeBytes(dst, b)
}

func (f *fn) writeBytes(dst mem, b []byte) {
	for i := 0; i < len(b); {
		off := dst.off + i
		n := len(b) - i
		switch {
		case n >= 8 && off%8 == 0 && fitsImm(int64(binary.LittleEndian.Uint64(b[i:]))):
			f.emit(storeImm(dst.base, int16(off), int64(binary.LittleEndian.Uint64(b[i:])), asm.DWord))
			i += 8
		case n >= 4 && off%4 == 0:
			f.emit(storeImm(dst.base, int16(off), int64(int32(binary.LittleEndian.Uint32(b[i:]))), asm.Word))
			i += 4
		case n >= 2 && off%2 == 0:
			f.emit(storeImm(dst.base, int16(off), int64(binary.LittleEndian.Uint16(b[i:])), asm.Half))
			i += 2
		default:
			f.emit(storeImm(dst.base, int16(off), int64(b[i]), asm.Byte))
			i++
		}
	}
}

func fitsImm(c int64) bool { return c == int64(int32(c)) }

// tupleInto lays out the elements of a tuple or record as t's fields.
func (f *fn) tupleInto(elems []syntax.Expr, dst mem, t *types.Type, pad bool) {
	if len(t.Fields) != len(elems) {
		f.errorf(syntax.Pos{}, "internal error: tuple of %d elements stored as %s", len(elems), t)
	}
	end := 0
	for i, el := range elems {
		fd := t.Fields[i]
		if pad && fd.Offset > end {
			f.zero(dst.at(end), fd.Offset-end)
		}
		f.evalInto(el, dst.at(fd.Offset), fd.Type, pad)
		end = fd.Offset + fd.Type.Size
	}
	if pad && t.Size > end {
		f.zero(dst.at(end), t.Size-end)
	}
}

// tuple builds a tuple or record value in a temporary buffer.
func (f *fn) tuple(e syntax.Expr, elems []syntax.Expr) value {
	t := f.typeOf(e)
	m := f.alloc(t.Size)
	f.tupleInto(elems, m, t, true)
	return value{kind: vMem, m: m, t: t}
}

// field reads X.name or X->name.
func (f *fn) field(e *syntax.Field) value {
	if id, ok := e.X.(*syntax.Ident); ok && f.isBuiltin(id, "args") {
		return f.tracepointArg(e)
	}
	tx := f.typeOf(e.X)
	t := f.typeOf(e)
	if tx.Kind == types.Pointer {
		st := tx
		if st.Kind == types.Pointer {
			st = st.Elem
		}
		fd, ok := st.Field(e.Name)
		if !ok {
			f.errorf(e.Pos(), "%s has no field %s", st, e.Name)
		}
		p := f.evalInt(e.X)
		return f.readRemote(p, fd.Offset, fd, t, f.addrSpace(tx))
	}
	if r, ok := f.remote(e.X); ok {
		fd, _ := tx.Field(e.Name)
		return f.readRemote(r.ptr, r.off+fd.Offset, fd, t, r.space)
	}
	v := f.eval(e.X)
	if v.kind != vMem {
		f.errorf(e.Pos(), "cannot take field %s of %s", e.Name, tx)
	}
	fd, ok := v.t.Field(e.Name)
	if !ok {
		f.errorf(e.Pos(), "%s has no field %s", v.t, e.Name)
	}
	out := value{kind: vMem, m: v.m.at(fd.Offset), t: t, own: v.own}
	if fd.BitSize > 0 {
		return f.bitfield(out, fd, t)
	}
	return out
}

// remoteRef is memory outside the program (kernel or user) at ptr+off.
type remoteRef struct {
	ptr   value
	off   int
	space space
}

// remote recognizes expressions that denote memory behind a pointer
// (*p, p->a.b, p[i]) so that nested field accesses read only the bytes
// they need.
func (f *fn) remote(e syntax.Expr) (remoteRef, bool) {
	switch x := e.(type) {
	case *syntax.Unary:
		if x.Op == "*" {
			t := f.typeOf(x.X)
			if t.Kind == types.Pointer && !isIntLike(f.typeOf(e)) {
				return remoteRef{ptr: f.evalInt(x.X), space: f.addrSpace(t)}, true
			}
		}
	case *syntax.Field:
		tx := f.typeOf(x.X)
		t := f.typeOf(e)
		if isIntLike(t) || t.Kind == types.String {
			return remoteRef{}, false
		}
		if tx.Kind == types.Pointer {
			st := tx.Elem
			fd, ok := st.Field(x.Name)
			if !ok {
				return remoteRef{}, false
			}
			return remoteRef{ptr: f.evalInt(x.X), off: fd.Offset, space: f.addrSpace(tx)}, true
		}
		if r, ok := f.remote(x.X); ok {
			fd, _ := tx.Field(x.Name)
			r.off += fd.Offset
			return r, true
		}
	}
	return remoteRef{}, false
}

// readRemote copies a value of type t from ptr+off into a temporary.
func (f *fn) readRemote(ptr value, off int, fd types.Field, t *types.Type, s space) value {
	size := t.Size
	if fd.Type != nil && fd.Type.Size > 0 {
		size = fd.Type.Size
	}
	if isIntLike(t) && size > 8 {
		size = 8
	}
	m := f.alloc(size)
	ptr = f.toReg(ptr, 0)
	if ptr.r != asm.R3 {
		f.emit(asm.Mov.Reg(asm.R3, ptr.r))
	}
	f.drop(ptr)
	if off != 0 {
		f.emit(asm.Add.Imm(asm.R3, int32(off)))
	}
	f.addr(asm.R1, m)
	f.emit(asm.Mov.Imm(asm.R2, int32(size)))
	f.call(f.readFn(s, false))
	out := value{kind: vMem, m: m, t: t}
	if isIntLike(t) && fd.Type != nil {
		out.t = fieldIntType(fd.Type, t)
	}
	if fd.BitSize > 0 {
		return f.bitfield(out, fd, t)
	}
	return out
}

// fieldIntType is the type to load an integer field with: its own width,
// and the signedness the checker gave the expression.
func fieldIntType(ft, t *types.Type) *types.Type {
	if ft.Kind == types.Int || ft.Kind == types.Enum || ft.Kind == types.Bool {
		return types.IntOf(intSize(ft), t.Signed)
	}
	return t
}

// bitfield extracts a bitfield from the bytes at v.
func (f *fn) bitfield(v value, fd types.Field, t *types.Type) value {
	r := f.writable(f.toReg(value{kind: vMem, m: v.m, t: types.IntOf(intSize(fd.Type), false)}, 0), value{})
	if fd.BitOffset > 0 {
		f.emit(asm.RSh.Imm(r.r, int32(fd.BitOffset)))
	}
	if fd.BitSize < 64 {
		if fd.BitSize < 32 {
			f.emit(asm.And.Imm(r.r, int32(1<<fd.BitSize-1)))
		} else {
			f.emit(asm.LSh.Imm(r.r, int32(64-fd.BitSize)), asm.RSh.Imm(r.r, int32(64-fd.BitSize)))
		}
	}
	r.t = t
	return r
}

// deref reads *p.
func (f *fn) deref(e *syntax.Unary) value {
	tp := f.typeOf(e.X)
	t := f.typeOf(e)
	p := f.evalInt(e.X)
	if tp.Kind == types.Int {
		// An integer address holds an int64, as bpftrace reads it.
		return f.readRemote(p, 0, types.Field{Type: t}, t, f.addrSpace(tp))
	}
	if tp.Kind != types.Pointer {
		f.errorf(e.Pos(), "cannot dereference %s", tp)
	}
	return f.readRemote(p, 0, types.Field{Type: tp.Elem}, t, f.addrSpace(tp))
}

// addressOf is &x for x in remote memory.
func (f *fn) addressOf(e *syntax.Unary) value {
	if r, ok := f.remote(e.X); ok {
		v := f.writable(f.toReg(r.ptr, 0), value{})
		if r.off != 0 {
			f.emit(asm.Add.Imm(v.r, int32(r.off)))
		}
		v.t = f.typeOf(e)
		return v
	}
	if fe, ok := e.X.(*syntax.Field); ok && f.typeOf(fe.X).Kind == types.Pointer {
		tx := f.typeOf(fe.X)
		fd, _ := tx.Elem.Field(fe.Name)
		v := f.writable(f.toReg(f.evalInt(fe.X), 0), value{})
		if fd.Offset != 0 {
			f.emit(asm.Add.Imm(v.r, int32(fd.Offset)))
		}
		v.t = f.typeOf(e)
		return v
	}
	if ref, ok := e.X.(*syntax.MapRef); ok {
		m := f.mapOf(ref)
		r := regAvoiding(value{})
		f.mapPtr(r, m.Spec.Name)
		return value{kind: vReg, r: r, t: f.typeOf(e)}
	}
	if x, ok := e.X.(*syntax.Var); ok {
		// The variable's own slot, on the stack or in scratch memory.
		r := regAvoiding(value{})
		f.addr(r, f.vars[f.info.Vars[x]])
		return value{kind: vReg, r: r, t: f.typeOf(e)}
	}
	f.errorf(e.Pos(), "cannot take the address of this expression")
	return value{}
}

// index reads X[i] from an array, a pointer or a string.
func (f *fn) index(e *syntax.Index) value {
	tx := f.typeOf(e.X)
	t := f.typeOf(e)
	esize := t.Size
	if tx.Kind == types.String {
		esize = 1
	}
	if tx.Kind == types.Pointer {
		p := f.evalInt(e.X)
		p = f.keep(p)
		i := f.evalInt(e.Index)
		off := f.scaleAdd(p, i, esize)
		return f.readRemote(off, 0, types.Field{Type: tx.Elem}, t, f.addrSpace(tx))
	}
	if r, ok := f.remote(e.X); ok {
		if c, isConst := f.constOf(e.Index); isConst {
			return f.readRemote(r.ptr, r.off+int(c.c)*esize, types.Field{Type: t}, t, r.space)
		}
		p := f.keep(r.ptr)
		p = f.scaleAdd(p, f.evalInt(e.Index), esize)
		return f.readRemote(p, r.off, types.Field{Type: t}, t, r.space)
	}
	v := f.eval(e.X)
	if v.kind != vMem {
		f.errorf(e.Pos(), "cannot index %s", tx)
	}
	c, isConst := f.constOf(e.Index)
	if tx.Kind == types.Tuple || tx.Kind == types.Record {
		if !isConst || c.c < 0 || int(c.c) >= len(tx.Fields) {
			f.errorf(e.Index.Pos(), "tuple index must be a constant within the tuple")
		}
		fd := tx.Fields[c.c]
		return value{kind: vMem, m: v.m.at(fd.Offset), t: fd.Type, own: v.own}
	}
	if !isConst {
		f.errorf(e.Index.Pos(), "index into %s must be a constant", tx)
	}
	n := tx.Len
	if tx.Kind == types.String {
		n = tx.Size
	}
	if c.c < 0 || int(c.c) >= n {
		f.errorf(e.Index.Pos(), "index %d out of bounds for %s", c.c, tx)
	}
	out := value{kind: vMem, m: v.m.at(int(c.c) * esize), t: t, own: v.own}
	if tx.Kind == types.String {
		out.t = types.IntOf(1, t.Signed)
	}
	return out
}

// scaleAdd computes p + i*size into a register.
func (f *fn) scaleAdd(p, i value, size int) value {
	if i.kind == vConst {
		d := f.writable(f.toReg(p, 0), value{})
		if c := i.c * int64(size); c != 0 {
			f.emit(asm.Add.Imm(d.r, int32(c)))
		}
		return d
	}
	i = f.writable(f.toReg(i, 0), p)
	if size > 1 {
		f.emit(asm.Mul.Imm(i.r, int32(size)))
	}
	f.alu(asm.Add, i.r, p)
	f.drop(p)
	return i
}

// tracepointArg reads args.name from the tracepoint's context.
func (f *fn) tracepointArg(e *syntax.Field) value {
	t := f.typeOf(e)
	if len(f.points) == 0 || f.points[0].Args == nil {
		f.errorf(e.Pos(), "args is not available in this probe")
	}
	at := f.points[0].Args
	fd, ok := at.Field(e.Name)
	if !ok {
		f.errorf(e.Pos(), "%s has no argument %s", f.points[0].Name, e.Name)
	}
	if f.ptype != ebpf.TracePoint {
		return f.argSlot(e, fd, t)
	}
	if isIntLike(t) && !fd.DataLoc {
		v := value{kind: vMem, m: mem{rCtx, fd.Offset}, t: fieldIntType(fd.Type, t)}
		if fd.BitSize > 0 {
			return f.bitfield(v, fd, t)
		}
		return v
	}
	if t.Kind == types.String && t.Size == 0 {
		t = types.StringOf(f.g.maxStrLen())
	}
	m := f.alloc(t.Size)
	// The value may become a map key: pad it.
	f.recordFieldInto(fd, m, t, true)
	return value{kind: vMem, m: m, t: t}
}

// tracepointField returns the field of args that e reads, when e is
// args.name in a tracepoint and the field is not a number.
func (f *fn) tracepointField(e syntax.Expr) (types.Field, bool) {
	x, ok := e.(*syntax.Field)
	if !ok || f.ptype != ebpf.TracePoint || len(f.points) == 0 || f.points[0].Args == nil {
		return types.Field{}, false
	}
	id, ok := x.X.(*syntax.Ident)
	if !ok || !f.isBuiltin(id, "args") {
		return types.Field{}, false
	}
	fd, ok := f.points[0].Args.Field(x.Name)
	if !ok || isIntLike(fd.Type) && !fd.DataLoc {
		return types.Field{}, false
	}
	return fd, true
}

// recordFieldInto copies an array, string or __data_loc field of the
// tracepoint record into dst as type t.
func (f *fn) recordFieldInto(fd types.Field, dst mem, t *types.Type, pad bool) {
	if fd.DataLoc {
		if pad && t.Kind == types.String {
			// The helper does not pad.
			f.zero(dst, t.Size)
		}
		f.dataLoc(fd, dst, t)
		return
	}
	n := min(t.Size, fd.Type.Size)
	if fd.Offset >= 8 && n <= 64 {
		// The verifier lets a tracepoint program load from its record
		// past the first 8 bytes: a few loads and stores cost less than
		// a helper call.
		f.copyMem(dst, mem{rCtx, fd.Offset}, n)
	} else {
		// The source first: up to here R1 may still hold the context,
		// and dropUnusedCtx can then spare the copy into R6.
		f.emit(asm.Mov.Reg(asm.R3, rCtx))
		f.emit(asm.Add.Imm(asm.R3, int32(fd.Offset)))
		f.addr(asm.R1, dst)
		f.emit(asm.Mov.Imm(asm.R2, int32(n)))
		f.call(asm.FnProbeReadKernel)
	}
	if t.Kind == types.String && n == t.Size {
		f.emit(storeImm(dst.base, int16(dst.off+t.Size-1), 0, asm.Byte))
	}
	if pad && t.Size > n {
		f.zero(dst.at(n), t.Size-n)
	}
}

// argsValue copies the whole args struct at of the probe's context.
func (f *fn) argsValue(at, t *types.Type) value {
	m := f.alloc(at.Size)
	if f.ptype == ebpf.TracePoint {
		f.addr(asm.R1, m)
		f.emit(asm.Mov.Imm(asm.R2, int32(at.Size)), asm.Mov.Reg(asm.R3, rCtx))
		f.call(asm.FnProbeReadKernel)
		return value{kind: vMem, m: m, t: t}
	}
	// The context of raw tracepoints, tp_btf, fentry and iterators is an
	// array of 8-byte slots, read by loads of each argument's size (what
	// the verifier checks against the BTF); the rest of a slot is zero.
	for _, fd := range at.Fields {
		n := 8
		if isIntLike(fd.Type) && fd.Type.Size < 8 {
			n = intSize(fd.Type)
			f.zero(m.at(fd.Offset+n), 8-n)
		}
		f.emit(asm.LoadMem(asm.R0, rCtx, int16(fd.Offset), bpfint.Size(n)),
			asm.StoreMem(m.base, int16(m.off+fd.Offset), asm.R0, bpfint.Size(n)))
	}
	return value{kind: vMem, m: m, t: t}
}

// argSlot reads a typed argument of a raw tracepoint or tp_btf program:
// the context is an array of u64.
func (f *fn) argSlot(e syntax.Expr, fd types.Field, t *types.Type) value {
	if !isIntLike(t) {
		f.errorf(e.Pos(), "argument of type %s is not supported here", t)
	}
	return value{kind: vMem, m: mem{rCtx, fd.Offset}, t: fieldIntType(fd.Type, t)}
}

// dataLoc reads a tracepoint __data_loc field into m: the u32 at the
// field's offset holds length<<16 | offset of the data from the start of
// the record.
func (f *fn) dataLoc(fd types.Field, m mem, t *types.Type) {
	f.dataLocAddr(asm.R3, fd)
	f.addr(asm.R1, m)
	f.emit(asm.Mov.Imm(asm.R2, int32(t.Size)))
	if t.Kind != types.String {
		f.call(asm.FnProbeReadKernel)
		return
	}
	f.call(asm.FnProbeReadKernelStr)
	f.strCut(func(r asm.Register) { f.addr(r, m) }, t.Size, spaceKernel, func(r asm.Register) { f.dataLocAddr(r, fd) })
}

// dataLocAddr puts in r the address of the data of __data_loc field fd.
func (f *fn) dataLocAddr(r asm.Register, fd types.Field) {
	f.emit(asm.LoadMem(r, rCtx, int16(fd.Offset), asm.Word),
		asm.And.Imm(r, 0xffff),
		asm.Add.Reg(r, rCtx))
}

func isVoid(t *types.Type) bool { return t == nil || t.Kind == types.Void }
