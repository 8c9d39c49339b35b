package codegen

import (
	"fmt"

	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/types"
)

// globElem is one element of a glob pattern: a byte it accepts from the
// string, given by ranges (a literal c is the range c-c) or any byte.
type globElem struct {
	any    bool
	negate bool
	ranges [][2]byte
}

// parseGlob splits a glob pattern at its stars into segments of
// elements; a pattern without stars is one segment. A pattern that ends
// with a star has an empty last segment.
func parseGlob(pat string) ([][]globElem, error) {
	segs := [][]globElem{nil}
	for i := 0; i < len(pat); i++ {
		cur := &segs[len(segs)-1]
		switch ch := pat[i]; ch {
		case '*':
			// Stars in a row match what one does.
			if len(*cur) > 0 || len(segs) == 1 {
				segs = append(segs, nil)
			}
		case '?':
			*cur = append(*cur, globElem{any: true})
		case '[':
			el, n, err := parseGlobClass(pat[i+1:])
			if err != nil {
				return nil, fmt.Errorf("%v in pattern %q", err, pat)
			}
			*cur = append(*cur, el)
			i += n
		default:
			*cur = append(*cur, globElem{ranges: [][2]byte{{ch, ch}}})
		}
	}
	return segs, nil
}

// parseGlobClass reads a character class after its '[': the element and
// the number of bytes it took, up to and with the ']'. A ']' right after
// the '[' or "[!" is a member, as in shell globs.
func parseGlobClass(s string) (globElem, int, error) {
	var el globElem
	j := 0
	if j < len(s) && s[j] == '!' {
		el.negate = true
		j++
	}
	for start := j; j < len(s); {
		c := s[j]
		if c == ']' && j > start {
			return el, j + 1, nil
		}
		if j+2 < len(s) && s[j+1] == '-' && s[j+2] != ']' {
			if s[j+2] < c {
				return el, 0, fmt.Errorf("empty range %c-%c", c, s[j+2])
			}
			el.ranges = append(el.ranges, [2]byte{c, s[j+2]})
			j += 3
			continue
		}
		el.ranges = append(el.ranges, [2]byte{c, c})
		j++
	}
	return el, 0, fmt.Errorf("unterminated character class")
}

// globmatch(s, pat) is whether the whole string s matches the glob
// pattern pat. A constant pattern is compiled into the program. The first
// segment must match at the start; each segment between stars matches at
// its first place after the previous one, and the last one only where the
// string ends. Segments have a fixed length, so the first place is as
// good as any later one.
func (f *fn) globmatch(c *check.Call) value {
	pat, ok := f.constString(c.Args[1])
	if !ok {
		return f.globmatchRuntime(c)
	}
	segs, err := parseGlob(pat)
	if err != nil {
		f.errorf(c.Args[1].Pos(), "globmatch(): %v", err)
		return value{}
	}
	s := f.strMem(c.Args[0])
	defer f.drop(s)
	size := s.t.Size
	first := segs[0]
	if len(first) > size {
		return constVal(0, types.BoolT)
	}
	yes, no, end := f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	// No helper is called from here on: R0-R5 keep their values.
	f.addr(asm.R2, s.m)
	f.globSegment(first, no)
	if len(segs) == 1 {
		if len(first) < size {
			f.emit(asm.LoadMem(asm.R0, asm.R2, int16(len(first)), asm.Byte))
			f.b.jmpImm(asm.JNE, asm.R0, 0, no)
		}
	} else {
		// R3 is where the part of the string left to match starts.
		f.emit(asm.Mov.Imm(asm.R3, int32(len(first))))
		if size > shortString {
			// Each search would otherwise be checked once for every
			// place the one before it may stop at.
			f.forget(asm.R3)
		}
		for _, seg := range segs[1 : len(segs)-1] {
			f.globFind(s.m, size, seg, no)
		}
		// A trailing star takes what is left.
		if last := segs[len(segs)-1]; len(last) > 0 {
			f.globEnd(s.m, size, last, no)
		}
	}
	f.b.ja(yes)
	f.b.mark(no)
	return f.zeroOrOne(yes, end, types.BoolT)
}

// globFind looks for the first place at or after R3 where seg matches
// the string at m, and moves R3 past it; it jumps to no when there is
// none. Each place takes one branch to the next: the verifier follows
// the branches it cannot decide one at a time and keeps the others
// waiting, so a loop that leaves several behind at each byte of a long
// string would be more than it keeps.
func (f *fn) globFind(m mem, size int, seg []globElem, no string) {
	n := len(seg)
	lastStart := size - n
	if lastStart < 0 {
		f.b.ja(no)
		return
	}
	loop, body, next, advance := f.b.newLabel(), f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.emit(asm.Mov.Reg(asm.R1, asm.R3))
	f.b.mark(loop)
	// This bound also tells the verifier the loads stay in the string.
	f.b.jmpImm(asm.JLE, asm.R1, int32(lastStart), body)
	f.b.ja(no)
	f.b.mark(body)
	f.addr(asm.R2, m)
	f.emit(asm.Add.Reg(asm.R2, asm.R1), asm.Mov.Imm(asm.R4, 0))
	for j, el := range seg {
		f.globMismatch(el, j)
	}
	f.b.jmpImm(asm.JNE, asm.R4, 0, next)
	f.emit(asm.Mov.Reg(asm.R3, asm.R1), asm.Add.Imm(asm.R3, int32(n)))
	found := f.b.newLabel()
	f.b.ja(found)
	f.b.mark(next)
	// Past the string's end, no later place can match.
	f.emit(asm.LoadMem(asm.R0, asm.R2, 0, asm.Byte))
	f.b.jmpImm(asm.JNE, asm.R0, 0, advance)
	f.b.ja(no)
	f.b.mark(advance)
	f.emit(asm.Add.Imm(asm.R1, 1))
	f.b.ja(loop)
	f.b.mark(found)
}

// globMismatch sets R4 unless byte j at R2 is one el accepts, without a
// branch; R0, R3 and R5 are its scratch registers.
func (f *fn) globMismatch(el globElem, j int) {
	load := func(r asm.Register) { f.emit(asm.LoadMem(r, asm.R2, int16(j), asm.Byte)) }
	load(asm.R0)
	switch {
	case el.any:
		// Any byte but the NUL that ends the string: byte-1 is negative
		// for it alone.
		f.emit(asm.Sub.Imm(asm.R0, 1), asm.RSh.Imm(asm.R0, 63), asm.Or.Reg(asm.R4, asm.R0))
		return
	case !el.negate && len(el.ranges) == 1 && el.ranges[0][0] == el.ranges[0][1]:
		f.emit(asm.Xor.Imm(asm.R0, int32(el.ranges[0][0])), asm.Or.Reg(asm.R4, asm.R0))
		return
	}
	// R3 stays 1 while the byte is in none of the ranges: outside lo-hi,
	// byte-lo or hi-byte is negative.
	f.emit(asm.Mov.Imm(asm.R3, 1))
	for _, r := range el.ranges {
		load(asm.R5)
		f.emit(asm.Mov.Imm(asm.R0, int32(r[1])), asm.Sub.Reg(asm.R0, asm.R5),
			asm.Sub.Imm(asm.R5, int32(r[0])), asm.Or.Reg(asm.R5, asm.R0),
			asm.RSh.Imm(asm.R5, 63), asm.And.Reg(asm.R3, asm.R5))
	}
	if el.negate {
		// A byte in a range, or the NUL, is a mismatch.
		load(asm.R0)
		f.emit(asm.Xor.Imm(asm.R3, 1), asm.Sub.Imm(asm.R0, 1), asm.RSh.Imm(asm.R0, 63), asm.Or.Reg(asm.R3, asm.R0))
	}
	f.emit(asm.Or.Reg(asm.R4, asm.R3))
}

// globEnd jumps to no unless seg matches where the string at m ends, at
// or after R3.
func (f *fn) globEnd(m mem, size int, seg []globElem, no string) {
	n := len(seg)
	if n > size {
		f.b.ja(no)
		return
	}
	f.stringLen(m, size)
	// R1 is where seg must start; before R3, it would overlap what the
	// segments before it matched.
	f.emit(asm.Sub.Imm(asm.R1, int32(n)))
	f.b.jmpImm(asm.JSLT, asm.R1, 0, no)
	f.b.jmpReg(asm.JSLT, asm.R1, asm.R3, no)
	f.addr(asm.R2, m)
	f.emit(asm.Add.Reg(asm.R2, asm.R1))
	f.globSegment(seg, no)
}

// globSegment jumps to fail unless the bytes at R2 match seg.
func (f *fn) globSegment(seg []globElem, fail string) {
	for j, el := range seg {
		f.emit(asm.LoadMem(asm.R0, asm.R2, int16(j), asm.Byte))
		f.globElement(el, fail)
	}
}

// globElement jumps to fail unless the byte in R0 is one el accepts; the
// NUL that ends the string is none.
func (f *fn) globElement(el globElem, fail string) {
	if el.any {
		f.b.jmpImm(asm.JEq, asm.R0, 0, fail)
		return
	}
	if !el.negate && len(el.ranges) == 1 && el.ranges[0][0] == el.ranges[0][1] {
		f.b.jmpImm(asm.JNE, asm.R0, int32(el.ranges[0][0]), fail)
		return
	}
	// A byte in a range goes to in, or for a negated class, to fail.
	in := f.b.newLabel()
	target := in
	if el.negate {
		f.b.jmpImm(asm.JEq, asm.R0, 0, fail)
		target = fail
	}
	for _, r := range el.ranges {
		if r[0] == r[1] {
			f.b.jmpImm(asm.JEq, asm.R0, int32(r[0]), target)
			continue
		}
		below := f.b.newLabel()
		f.b.jmpImm(asm.JLT, asm.R0, int32(r[0]), below)
		f.b.jmpImm(asm.JLE, asm.R0, int32(r[1]), target)
		f.b.mark(below)
	}
	if !el.negate {
		f.b.ja(fail)
	}
	f.b.mark(in)
}

// globmatchRuntime's step loop keeps as its state the index in the string
// and in the pattern, where the last star was met (the pattern index, -1
// before any star, and the string index its match ends at), the result,
// and while a character class is read, where in the pattern the reading
// is (0 otherwise), whether the byte was found in it and whether the
// class is negated.
const (
	globMap    = "glob_state"
	globI      = 0
	globJ      = 8
	globStarJ  = 16
	globStarI  = 24
	globResult = 32
	globK      = 40
	globHit    = 48
	globNeg    = 56
	globState  = 64
	// The callback's context: the string, the pattern, the state.
	globCtxStr   = 0
	globCtxPat   = 8
	globCtxState = 16
	maxLoops     = 1 << 23 // BPF_MAX_LOOPS
)

// globmatchRuntime matches a pattern known only at run time, in a
// bpf_loop callback that takes one step of the usual wildcard matching
// each time: it matches one element, or reads one member of a character
// class, or, on a mismatch, goes back to just after the last star and
// lets that star take one more byte. A '[' with no ']' after it is a
// literal. No step loops: a loop in the callback would be unrolled by the
// verifier for every byte the pattern may hold, each time the callback
// is checked.
func (f *fn) globmatchRuntime(c *check.Call) value {
	s := f.strMem(c.Args[0])
	p := f.strMem(c.Args[1])
	fail, end := f.b.newLabel(), f.b.newLabel()
	l := f.startStepLoop(globMap, globState, []mem{s.m, p.m}, fail)
	f.emit(storeImm(asm.R0, globI, 0, asm.DWord),
		storeImm(asm.R0, globJ, 0, asm.DWord),
		storeImm(asm.R0, globStarJ, -1, asm.DWord),
		storeImm(asm.R0, globStarI, 0, asm.DWord),
		storeImm(asm.R0, globResult, 0, asm.DWord),
		storeImm(asm.R0, globK, 0, asm.DWord))
	f.drop(s)
	f.drop(p)
	// Each element is tried at most once for each place a star can end
	// at, and a class takes a step for each of its members.
	steps := (s.t.Size + 2) * (p.t.Size + 2) * (p.t.Size + 2)
	f.runStepLoop(l, steps, func(sf *fn) { sf.globStep(s.t.Size, p.t.Size) })
	f.emit(asm.LoadMem(asm.R0, asm.R1, globResult, asm.DWord))
	f.b.ja(end)
	f.b.mark(fail)
	f.emit(asm.Mov.Imm(asm.R0, 0))
	f.b.mark(end)
	return value{kind: vReg, r: asm.R0, t: types.BoolT}
}

// globStep is the body of globmatchRuntime's callback, for a string of
// size bytes and a pattern of psize; R2 is the context. It returns 1 when
// the result is known.
func (f *fn) globStep(size, psize int) {
	const (
		st, str, pat, i, j = asm.R6, asm.R7, asm.R8, asm.R9, asm.R5
		ch, pc, k          = asm.R4, asm.R3, asm.R2 // the bytes at i and j; the class's reading place
	)
	load := func(r asm.Register, off int16) { f.emit(asm.LoadMem(r, st, off, asm.DWord)) }
	store := func(off int16, r asm.Register) { f.emit(asm.StoreMem(st, off, r, asm.DWord)) }
	// byteAt loads base[idx] into dst, or 0 from idx == limit on; R0 may
	// be dst.
	byteAt := func(dst, base, idx asm.Register, limit int) {
		end := f.b.newLabel()
		f.emit(asm.Mov.Imm(dst, 0))
		f.b.jmpImm(asm.JGE, idx, int32(limit), end)
		f.emit(asm.Mov.Reg(asm.R0, base), asm.Add.Reg(asm.R0, idx), asm.LoadMem(dst, asm.R0, 0, asm.Byte))
		f.b.mark(end)
	}
	yes, no, mismatch, matched, next := f.b.newLabel(), f.b.newLabel(), f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.emit(asm.LoadMem(str, asm.R2, globCtxStr, asm.DWord),
		asm.LoadMem(pat, asm.R2, globCtxPat, asm.DWord),
		asm.LoadMem(st, asm.R2, globCtxState, asm.DWord))
	load(i, globI)
	load(j, globJ)
	byteAt(ch, str, i, size)
	load(k, globK)
	inClass := f.b.newLabel()
	f.b.jmpImm(asm.JNE, k, 0, inClass)
	byteAt(pc, pat, j, psize)

	notStar := f.b.newLabel()
	f.b.jmpImm(asm.JNE, pc, '*', notStar)
	store(globStarJ, j)
	store(globStarI, i)
	f.emit(asm.Add.Imm(j, 1))
	store(globJ, j)
	f.b.ja(next)
	f.b.mark(notStar)

	// The pattern's end matches the string's; anything else needs a byte.
	endOfPat := f.b.newLabel()
	f.b.jmpImm(asm.JEq, pc, 0, endOfPat)
	f.b.jmpImm(asm.JEq, ch, 0, mismatch)
	// R1 is where the pattern goes on after this element.
	f.emit(asm.Mov.Reg(asm.R1, j), asm.Add.Imm(asm.R1, 1))
	literal := f.b.newLabel()
	f.b.jmpImm(asm.JEq, pc, '?', matched)
	f.b.jmpImm(asm.JNE, pc, '[', literal)
	f.globOpenClass(pat, ch, psize, byteAt)
	f.b.ja(next)
	f.b.mark(literal)
	f.b.jmpReg(asm.JNE, ch, pc, mismatch)
	f.b.mark(matched)
	f.emit(asm.Add.Imm(i, 1))
	store(globI, i)
	store(globJ, asm.R1)
	f.b.ja(next)

	f.b.mark(inClass)
	f.globClassStep(pat, ch, psize, byteAt, matched, mismatch, next)

	f.b.mark(endOfPat)
	f.b.jmpImm(asm.JEq, ch, 0, yes)
	f.b.mark(mismatch)
	// Back to the last star, which takes one more byte if there is one.
	load(asm.R1, globStarJ)
	f.b.jmpImm(asm.JSLT, asm.R1, 0, no)
	f.emit(asm.Add.Imm(asm.R1, 1))
	store(globJ, asm.R1)
	load(i, globStarI)
	byteAt(ch, str, i, size)
	f.b.jmpImm(asm.JEq, ch, 0, no)
	f.emit(asm.Add.Imm(i, 1))
	store(globStarI, i)
	store(globI, i)
	f.b.mark(next)
	f.emit(asm.Mov.Imm(asm.R0, 0))
	f.b.ja(f.exit)
	f.b.mark(yes)
	f.emit(storeImm(st, globResult, 1, asm.DWord))
	f.b.mark(no)
	f.emit(asm.Mov.Imm(asm.R0, 1))
}

// globOpenClass starts reading the class whose '[' is at R1-1, for the
// byte ch: a '!' first negates it, and a ']' first (after the '!') is a
// member, not its end.
func (f *fn) globOpenClass(pat, ch asm.Register, psize int, byteAt func(dst, base, idx asm.Register, limit int)) {
	const st, k, x = asm.R6, asm.R2, asm.R3
	noNeg, done := f.b.newLabel(), f.b.newLabel()
	f.emit(asm.Mov.Reg(k, asm.R1),
		storeImm(st, globNeg, 0, asm.DWord),
		storeImm(st, globHit, 0, asm.DWord))
	byteAt(x, pat, k, psize)
	f.b.jmpImm(asm.JNE, x, '!', noNeg)
	f.emit(storeImm(st, globNeg, 1, asm.DWord), asm.Add.Imm(k, 1))
	byteAt(x, pat, k, psize)
	f.b.mark(noNeg)
	f.b.jmpImm(asm.JNE, x, ']', done)
	f.emit(asm.Add.Imm(k, 1))
	f.b.jmpImm(asm.JNE, ch, ']', done)
	f.emit(storeImm(st, globHit, 1, asm.DWord))
	f.b.mark(done)
	f.emit(asm.StoreMem(st, globK, k, asm.DWord))
}

// globClassStep reads one member of the class being read (a byte, or a
// range x-y unless the '-' is last) at k, for the byte ch. At the class's
// end it jumps to matched, with R1 just past the class, or to mismatch;
// a class without an end makes its '[' (at j) a literal.
func (f *fn) globClassStep(pat, ch asm.Register, psize int, byteAt func(dst, base, idx asm.Register, limit int), matched, mismatch, next string) {
	const (
		st, j, k, x, y = asm.R6, asm.R5, asm.R2, asm.R3, asm.R1
	)
	single, end, unterminated, hit := f.b.newLabel(), f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	byteAt(x, pat, k, psize)
	f.b.jmpImm(asm.JEq, x, 0, unterminated)
	f.b.jmpImm(asm.JEq, x, ']', end)
	f.emit(asm.Mov.Reg(y, k), asm.Add.Imm(y, 1))
	byteAt(asm.R0, pat, y, psize)
	f.b.jmpImm(asm.JNE, asm.R0, '-', single)
	f.emit(asm.Add.Imm(y, 1))
	byteAt(asm.R0, pat, y, psize)
	f.emit(asm.Mov.Reg(y, asm.R0))
	f.b.jmpImm(asm.JEq, y, ']', single)
	f.b.jmpImm(asm.JEq, y, 0, single)
	f.emit(asm.Add.Imm(k, 3))
	f.emit(asm.StoreMem(st, globK, k, asm.DWord))
	f.b.jmpReg(asm.JLT, ch, x, next)
	f.b.jmpReg(asm.JGT, ch, y, next)
	f.b.ja(hit)
	f.b.mark(single)
	f.emit(asm.Add.Imm(k, 1))
	f.emit(asm.StoreMem(st, globK, k, asm.DWord))
	f.b.jmpReg(asm.JNE, ch, x, next)
	f.b.mark(hit)
	f.emit(storeImm(st, globHit, 1, asm.DWord))
	f.b.ja(next)

	f.b.mark(end)
	f.emit(storeImm(st, globK, 0, asm.DWord))
	// In a negated class, a hit is a mismatch.
	f.emit(asm.LoadMem(x, st, globHit, asm.DWord), asm.LoadMem(asm.R0, st, globNeg, asm.DWord))
	f.b.jmpReg(asm.JEq, x, asm.R0, mismatch)
	f.emit(asm.Mov.Reg(asm.R1, k), asm.Add.Imm(asm.R1, 1))
	f.b.ja(matched)
	f.b.mark(unterminated)
	f.emit(storeImm(st, globK, 0, asm.DWord))
	f.b.jmpImm(asm.JNE, ch, '[', mismatch)
	f.emit(asm.Mov.Reg(asm.R1, j), asm.Add.Imm(asm.R1, 1))
	f.b.ja(matched)
}
