package codegen

import (
	"encoding/binary"

	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/internal/bpfint"
	"friday/syntax"
	"friday/types"
)

// strCompare jumps to label when the strings X and Y compare as op (==
// or !=).
func (f *fn) strCompare(x *syntax.Binary, op string, label string) {
	if op != "==" && op != "!=" {
		f.errorf(x.Pos(), "strings can only be compared with == and !=")
	}
	a, b := x.X, x.Y
	if _, ok := f.constString(a); ok {
		a, b = b, a
	}
	// The comparisons jump to ne on a difference, to eq (or fall
	// through) on equality.
	eq, ne := label, f.b.newLabel()
	if op == "!=" {
		eq, ne = f.b.newLabel(), label
	}
	if lit, ok := f.constString(b); ok {
		v := f.eval(a)
		f.strEqConst(v, lit, -1, ne)
		f.drop(v)
	} else {
		va := f.eval(a)
		vb := f.eval(b)
		f.strEq(va, vb, -1, eq, ne)
		f.drop(va)
		f.drop(vb)
	}
	if op == "==" {
		f.b.ja(eq)
		f.b.mark(ne)
	} else {
		f.b.mark(eq)
	}
}

// strEqConst jumps to ne unless the string at v equals lit (in its first
// n bytes when n >= 0): it compares the bytes of lit and its NUL, four at
// a time.
func (f *fn) strEqConst(v value, lit string, n int, ne string) {
	b := append([]byte(lit), 0)
	if n >= 0 && n < len(b) {
		b = b[:n]
	}
	if v.isStr {
		s := append([]byte(v.s), 0)
		if n >= 0 && n < len(s) {
			s = s[:n]
		}
		if string(s) != string(b) {
			f.b.ja(ne)
		}
		return
	}
	if v.kind != vMem {
		f.errorf(syntax.Pos{}, "internal error: string not in memory")
	}
	if len(b) > v.t.Size {
		f.b.ja(ne)
		return
	}
	m := v.m
	for i := 0; i < len(b); {
		w := 4
		for w > len(b)-i || (m.off+i)%w != 0 {
			w /= 2
		}
		var c int64
		switch w {
		case 4:
			c = int64(binary.LittleEndian.Uint32(b[i:]))
		case 2:
			c = int64(binary.LittleEndian.Uint16(b[i:]))
		default:
			c = int64(b[i])
		}
		f.emit(asm.LoadMem(asm.R0, m.base, int16(m.off+i), bpfint.Size(w)))
		if c > 1<<31-1 {
			f.emit(asm.LoadImm(asm.R1, c, asm.DWord))
			f.b.jmpReg(asm.JNE, asm.R0, asm.R1, ne)
		} else {
			f.b.jmpImm(asm.JNE, asm.R0, int32(c), ne)
		}
		i += w
	}
}

// strEq compares two strings in memory byte by byte up to n bytes (-1:
// up to the shorter capacity) and jumps to eq or ne.
func (f *fn) strEq(a, b value, n int, eq, ne string) {
	if a.kind != vMem || b.kind != vMem {
		if a.isStr {
			a, b = b, a
		}
		if b.isStr {
			f.strEqConst(a, b.s, n, ne)
			return
		}
		f.errorf(syntax.Pos{}, "internal error: strings not in memory")
	}
	size := min(a.t.Size, b.t.Size)
	if n >= 0 && n < size {
		size = n
	}
	if size > shortString {
		f.strEqLoop(a.m, b.m, size, eq, ne)
	} else {
		for i := 0; i < size; i++ {
			f.emit(asm.LoadMem(asm.R0, a.m.base, int16(a.m.off+i), asm.Byte),
				asm.LoadMem(asm.R1, b.m.base, int16(b.m.off+i), asm.Byte))
			f.b.jmpReg(asm.JNE, asm.R0, asm.R1, ne)
			f.b.jmpImm(asm.JEq, asm.R0, 0, eq)
		}
	}
	if a.t.Size != b.t.Size && (n < 0 || n > size) {
		// The longer string must end where the shorter one's room does.
		long := a
		if b.t.Size > a.t.Size {
			long = b
		}
		f.emit(asm.LoadMem(asm.R0, long.m.base, int16(long.m.off+size), asm.Byte))
		f.b.jmpImm(asm.JNE, asm.R0, 0, ne)
	}
}

// strEqLoop is strEq's comparison of size bytes as a loop, for strings
// too long to compare byte by byte in straight code; it falls through
// when the size bytes are equal and none is the NUL. As in stringLen, the
// loop goes on by the one branch it takes at each byte.
func (f *fn) strEqLoop(a, b mem, size int, eq, ne string) {
	loop, more, differ := f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.emit(asm.Mov.Imm(asm.R1, 0))
	f.b.mark(loop)
	f.byteAt(asm.R0, a)
	f.byteAt(asm.R3, b)
	// R4 is nonzero when the bytes differ or are the NUL.
	f.emit(asm.Mov.Reg(asm.R4, asm.R0), asm.Xor.Reg(asm.R4, asm.R3),
		asm.Mov.Reg(asm.R5, asm.R0), asm.Sub.Imm(asm.R5, 1), asm.RSh.Imm(asm.R5, 63),
		asm.Or.Reg(asm.R4, asm.R5))
	f.b.jmpImm(asm.JEq, asm.R4, 0, more)
	f.b.ja(differ)
	f.b.mark(more)
	f.emit(asm.Add.Imm(asm.R1, 1))
	f.b.jmpImm(asm.JLT, asm.R1, int32(size), loop)
	end := f.b.newLabel()
	f.b.ja(end)
	f.b.mark(differ)
	f.b.jmpReg(asm.JNE, asm.R0, asm.R3, ne)
	f.b.ja(eq)
	f.b.mark(end)
}

// byteAt loads into r the byte at m plus R1; it uses R2.
func (f *fn) byteAt(r asm.Register, m mem) {
	f.addr(asm.R2, m)
	f.emit(asm.Add.Reg(asm.R2, asm.R1), asm.LoadMem(r, asm.R2, 0, asm.Byte))
}

// strncmp(a, b, n) is 0 when the first n bytes of a and b are equal.
func (f *fn) strncmp(e syntax.Expr, c *check.Call) value {
	if len(c.Args) != 3 {
		f.errorf(e.Pos(), "strncmp() needs 3 arguments")
	}
	n, ok := f.constOf(c.Args[2])
	if !ok {
		f.errorf(c.Args[2].Pos(), "the length of strncmp() must be a constant")
	}
	va := f.eval(c.Args[0])
	vb := f.eval(c.Args[1])
	eq, ne, end := f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.strEq(va, vb, int(n.c), eq, ne)
	f.drop(va)
	f.drop(vb)
	f.b.mark(eq)
	return f.zeroOrOne(ne, end, types.I64)
}

// evalMem evaluates e, writing a string literal to the stack (zero-padded
// when pad is set) so that it is in memory like other strings.
func (f *fn) evalMem(e syntax.Expr, pad bool) value {
	v := f.eval(e)
	if v.isStr {
		m := f.alloc(v.t.Size)
		f.writeStr(m, v.s, v.t.Size, pad)
		return value{kind: vMem, m: m, t: v.t}
	}
	return v
}

// strMem evaluates a string argument into memory.
func (f *fn) strMem(e syntax.Expr) value {
	if f.typeOf(e).Kind == types.Pointer {
		// What a char pointer points to is read as str() reads it. The
		// functions reading it stop at its NUL: what follows is left as
		// it is.
		n := f.g.maxStrLen()
		m := f.alloc(n)
		f.strInto(e, &check.Call{Name: "str", Args: []syntax.Expr{e}}, m, n, false)
		return value{kind: vMem, m: m, t: types.StringOf(n)}
	}
	v := f.evalMem(e, false)
	if v.kind == vMem && v.t.Kind == types.Array && v.t.Elem.Size == 1 {
		// A char array is a string as long as the array, or shorter.
		v.t = types.StringOf(v.t.Size)
	}
	if v.kind != vMem || v.t.Kind != types.String {
		f.errorf(e.Pos(), "expected a string")
	}
	return v
}

// strlen counts the bytes before the NUL.
func (f *fn) strlen(c *check.Call) value {
	v := f.strMem(c.Args[0])
	f.stringLen(v.m, v.t.Size)
	f.drop(v)
	return value{kind: vReg, r: asm.R1, t: types.U64}
}

// stringLen leaves in R1 the length of the string of capacity size at m,
// with a bounded loop; it uses R0 and R2. The loop goes on by taking a
// branch and leaves by falling through, so that the verifier, which
// follows the branches it cannot decide one at a time, finishes each way
// out before the next byte.
func (f *fn) stringLen(m mem, size int) {
	loop, more, end := f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.emit(asm.Mov.Imm(asm.R1, 0))
	f.b.mark(loop)
	f.addr(asm.R2, m)
	f.emit(asm.Add.Reg(asm.R2, asm.R1), asm.LoadMem(asm.R0, asm.R2, 0, asm.Byte))
	f.b.jmpImm(asm.JNE, asm.R0, 0, more)
	f.b.ja(end)
	f.b.mark(more)
	f.emit(asm.Add.Imm(asm.R1, 1))
	f.b.jmpImm(asm.JLT, asm.R1, int32(size), loop)
	f.b.mark(end)
}

// strcontains(h, n) is whether n occurs in h.
func (f *fn) strcontains(e syntax.Expr, c *check.Call) value {
	v := f.search(c)
	if v.kind == vConst {
		return constVal(b2i(v.c >= 0), types.BoolT)
	}
	// R0 is the index or -1.
	f.emit(asm.ArSh.Imm(asm.R0, 63), asm.Add.Imm(asm.R0, 1))
	return value{kind: vReg, r: asm.R0, t: types.BoolT}
}

// strstr(h, n) is the index of n in h, or -1.
func (f *fn) strstr(e syntax.Expr, c *check.Call) value {
	v := f.search(c)
	v.t = types.I64
	return v
}

// search looks for the second argument at every position of the first
// and gives the first index where it occurs, or -1. A constant second
// argument is compared byte by byte without a loop.
func (f *fn) search(c *check.Call) value {
	needle, ok := f.constString(c.Args[1])
	if !ok {
		return f.searchValue(c)
	}
	h := f.strMem(c.Args[0])
	if needle == "" {
		f.drop(h)
		return constVal(0, types.I64)
	}
	last := h.t.Size - len(needle)
	if last < 0 {
		f.drop(h)
		return constVal(-1, types.I64)
	}
	// Each place takes one branch to the next (see stringLen): the
	// needle's bytes are compared without one.
	found, notFound, end := f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	loop, next, advance := f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.emit(asm.Mov.Imm(asm.R1, 0))
	f.b.mark(loop)
	f.addr(asm.R2, h.m)
	f.emit(asm.Add.Reg(asm.R2, asm.R1), asm.Mov.Imm(asm.R4, 0))
	for j := 0; j < len(needle); j++ {
		f.emit(asm.LoadMem(asm.R0, asm.R2, int16(j), asm.Byte),
			asm.Xor.Imm(asm.R0, int32(needle[j])), asm.Or.Reg(asm.R4, asm.R0))
	}
	f.b.jmpImm(asm.JNE, asm.R4, 0, next)
	f.b.ja(found)
	f.b.mark(next)
	f.emit(asm.LoadMem(asm.R0, asm.R2, 0, asm.Byte))
	f.b.jmpImm(asm.JNE, asm.R0, 0, advance)
	f.b.ja(notFound)
	f.b.mark(advance)
	f.emit(asm.Add.Imm(asm.R1, 1))
	f.b.jmpImm(asm.JLE, asm.R1, int32(last), loop)
	f.b.mark(notFound)
	f.emit(asm.Mov.Imm(asm.R0, -1))
	f.b.ja(end)
	f.b.mark(found)
	f.emit(asm.Mov.Reg(asm.R0, asm.R1))
	f.b.mark(end)
	f.drop(h)
	return value{kind: vReg, r: asm.R0, t: types.I64}
}

// searchValue is search for a second argument known only at run time, a
// step loop that compares one byte each step. Its state is the haystack
// position, the needle position and the result. The needle ends at its
// NUL or its capacity; an empty one is found at 0.
const (
	searchMap    = "strstr_state"
	searchI      = 0
	searchJ      = 8
	searchResult = 16
	searchState  = 24
	// The callback's context: the haystack, the needle, the state.
	searchCtxH     = 0
	searchCtxN     = 8
	searchCtxState = 16
)

func (f *fn) searchValue(c *check.Call) value {
	h := f.strMem(c.Args[0])
	n := f.strMem(c.Args[1])
	fail, end := f.b.newLabel(), f.b.newLabel()
	// An empty needle needs no loop.
	f.emit(asm.LoadMem(asm.R0, n.m.base, int16(n.m.off), asm.Byte))
	f.b.jmpImm(asm.JEq, asm.R0, 0, end)
	l := f.startStepLoop(searchMap, searchState, []mem{h.m, n.m}, fail)
	f.emit(storeImm(asm.R0, searchI, 0, asm.DWord),
		storeImm(asm.R0, searchJ, 0, asm.DWord),
		storeImm(asm.R0, searchResult, -1, asm.DWord))
	f.drop(h)
	f.drop(n)
	f.runStepLoop(l, h.t.Size*(n.t.Size+1)+1, func(sf *fn) { sf.searchStep(h.t.Size, n.t.Size) })
	f.emit(asm.LoadMem(asm.R0, asm.R1, searchResult, asm.DWord))
	f.b.ja(end)
	f.b.mark(fail)
	f.emit(asm.Mov.Imm(asm.R0, -1))
	f.b.mark(end)
	return value{kind: vReg, r: asm.R0, t: types.I64}
}

// searchStep is the body of searchValue's callback, for a haystack of
// hsize bytes and a needle of nsize; R2 is the context. At the needle's
// start it stops at the haystack's end; past the needle's end it has
// found it; else it compares the next byte, moving on to the next
// haystack position on a mismatch.
func (f *fn) searchStep(hsize, nsize int) {
	const (
		st, hay, ndl, i, j = asm.R6, asm.R7, asm.R8, asm.R9, asm.R5
		hc, nc             = asm.R4, asm.R3
	)
	stop, found, mismatch, next := f.b.newLabel(), f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.emit(asm.LoadMem(hay, asm.R2, searchCtxH, asm.DWord),
		asm.LoadMem(ndl, asm.R2, searchCtxN, asm.DWord),
		asm.LoadMem(st, asm.R2, searchCtxState, asm.DWord),
		asm.LoadMem(i, st, searchI, asm.DWord),
		asm.LoadMem(j, st, searchJ, asm.DWord))
	// The needle's next byte, or the end of it.
	f.b.jmpImm(asm.JGE, j, int32(nsize), found)
	f.emit(asm.Mov.Reg(asm.R0, ndl), asm.Add.Reg(asm.R0, j), asm.LoadMem(nc, asm.R0, 0, asm.Byte))
	f.b.jmpImm(asm.JEq, nc, 0, found)
	// The haystack's byte it is compared with; the haystack's end stops
	// the search at a new position and is a mismatch inside one.
	endOfHay := f.b.newLabel()
	f.emit(asm.Mov.Reg(asm.R1, i), asm.Add.Reg(asm.R1, j))
	f.b.jmpImm(asm.JGE, asm.R1, int32(hsize), endOfHay)
	f.emit(asm.Add.Reg(asm.R1, hay), asm.LoadMem(hc, asm.R1, 0, asm.Byte))
	f.b.jmpImm(asm.JEq, hc, 0, endOfHay)
	f.b.jmpReg(asm.JNE, hc, nc, mismatch)
	f.emit(asm.Add.Imm(j, 1), asm.StoreMem(st, searchJ, j, asm.DWord))
	f.b.ja(next)
	f.b.mark(endOfHay)
	f.b.jmpImm(asm.JEq, j, 0, stop)
	f.b.mark(mismatch)
	f.emit(asm.Add.Imm(i, 1), asm.StoreMem(st, searchI, i, asm.DWord),
		storeImm(st, searchJ, 0, asm.DWord))
	f.b.mark(next)
	f.emit(asm.Mov.Imm(asm.R0, 0))
	f.b.ja(f.exit)
	f.b.mark(found)
	f.emit(asm.StoreMem(st, searchResult, i, asm.DWord))
	f.b.mark(stop)
	f.emit(asm.Mov.Imm(asm.R0, 1))
}

// memcmp(a, b, n) is 0 when the first n bytes of a and b are equal, else
// negative or positive as a's first differing byte is lower or higher.
func (f *fn) memcmp(e syntax.Expr, c *check.Call) value {
	n, ok := f.constOf(c.Args[2])
	if !ok || n.c < 0 {
		f.errorf(c.Args[2].Pos(), "the length of memcmp() must be a constant")
	}
	a := f.memArg(c.Args[0])
	b := f.memArg(c.Args[1])
	size := min(int(n.c), a.t.Size, b.t.Size)
	ne, end := f.b.newLabel(), f.b.newLabel()
	if size > shortString {
		// A loop, going on by its taken branch (see stringLen).
		loop, more := f.b.newLabel(), f.b.newLabel()
		f.emit(asm.Mov.Imm(asm.R1, 0))
		f.b.mark(loop)
		f.byteAt(asm.R0, a.m)
		f.byteAt(asm.R3, b.m)
		f.b.jmpReg(asm.JEq, asm.R0, asm.R3, more)
		f.b.ja(ne)
		f.b.mark(more)
		f.emit(asm.Add.Imm(asm.R1, 1))
		f.b.jmpImm(asm.JLT, asm.R1, int32(size), loop)
	} else {
		for i := 0; i < size; i++ {
			f.emit(asm.LoadMem(asm.R0, a.m.base, int16(a.m.off+i), asm.Byte),
				asm.LoadMem(asm.R3, b.m.base, int16(b.m.off+i), asm.Byte))
			f.b.jmpReg(asm.JNE, asm.R0, asm.R3, ne)
		}
	}
	f.drop(a)
	f.drop(b)
	// As C's memcmp: the difference of the first bytes that differ,
	// compared as unsigned.
	f.emit(asm.Mov.Imm(asm.R0, 0))
	f.b.ja(end)
	f.b.mark(ne)
	f.emit(asm.Sub.Reg(asm.R0, asm.R3))
	f.b.mark(end)
	return value{kind: vReg, r: asm.R0, t: types.I64}
}

// memArg evaluates a memory argument (string, array, tuple).
func (f *fn) memArg(e syntax.Expr) value {
	v := f.evalMem(e, true)
	if v.kind != vMem {
		f.errorf(e.Pos(), "memcmp() needs values in memory, not %s", v.t)
	}
	return v
}

// memCompare jumps to label when the arrays or tuples X and Y compare as
// op (== or !=): all their bytes are compared.
func (f *fn) memCompare(x *syntax.Binary, op string, label string) {
	if op != "==" && op != "!=" {
		f.errorf(x.Pos(), "%s values can only be compared with == and !=", f.typeOf(x.X))
	}
	a := f.eval(x.X)
	b := f.eval(x.Y)
	n := a.t.Size
	if a.t.Kind == types.Buffer && b.t.Kind == types.Buffer {
		// The length byte comes first: buffers of two sizes are equal
		// only when their lengths are, and then the data fits both.
		n = min(a.t.Size, b.t.Size)
	}
	if a.kind != vMem || b.kind != vMem || a.t.Size != b.t.Size && a.t.Kind != types.Buffer {
		f.errorf(x.Pos(), "cannot compare %s with %s", a.t, b.t)
	}
	ne := label
	eq := f.b.newLabel()
	if op == "==" {
		ne = f.b.newLabel()
	}
	for i := 0; i < n; {
		w := 8
		for w > n-i || (a.m.off+i)%w != 0 || (b.m.off+i)%w != 0 {
			w /= 2
		}
		f.emit(asm.LoadMem(asm.R0, a.m.base, int16(a.m.off+i), bpfint.Size(w)),
			asm.LoadMem(asm.R1, b.m.base, int16(b.m.off+i), bpfint.Size(w)))
		f.b.jmpReg(asm.JNE, asm.R0, asm.R1, ne)
		i += w
	}
	f.drop(a)
	f.drop(b)
	if op == "==" {
		f.b.ja(label)
		f.b.mark(ne)
	}
	f.b.mark(eq)
}
