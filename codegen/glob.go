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

// globmatch(s, pat) is whether the whole string s matches the constant
// glob pattern pat. The first segment must match at the start; each
// following one matches at its first place after the previous one, the
// last one only where the string ends. Segments have a fixed length, so
// the first place is as good as any later one.
func (f *fn) globmatch(c *check.Call) value {
	pat, ok := f.constString(c.Args[1])
	if !ok {
		f.errorf(c.Args[1].Pos(), "the pattern of globmatch() must be a string literal")
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
	// No helper is called from here on: R0-R4 keep their values.
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
		for i, seg := range segs[1:] {
			last := i == len(segs)-2
			if len(seg) == 0 {
				// A trailing star takes what is left.
				continue
			}
			f.globFind(s.m, size, seg, last, no)
		}
	}
	f.b.ja(yes)
	f.b.mark(no)
	return f.zeroOrOne(yes, end, types.BoolT)
}

// globFind looks for the first place at or after R3 where seg matches
// the string at m (where the string ends, when atEnd), and moves R3 past
// it; it jumps to no when there is none.
func (f *fn) globFind(m mem, size int, seg []globElem, atEnd bool, no string) {
	n := len(seg)
	lastStart := size - n
	if lastStart < 0 {
		f.b.ja(no)
		return
	}
	loop, next, check, found := f.b.newLabel(), f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.emit(asm.Mov.Reg(asm.R1, asm.R3))
	f.b.mark(loop)
	// This bound also tells the verifier the loads stay in the string.
	f.b.jmpImm(asm.JSGT, asm.R1, int32(lastStart), no)
	f.addr(asm.R2, m)
	f.emit(asm.Add.Reg(asm.R2, asm.R1))
	if atEnd {
		f.b.jmpImm(asm.JEq, asm.R1, int32(lastStart), check)
		f.emit(asm.LoadMem(asm.R0, asm.R2, int16(n), asm.Byte))
		f.b.jmpImm(asm.JNE, asm.R0, 0, next)
	}
	f.b.mark(check)
	f.globSegment(seg, next)
	f.b.ja(found)
	f.b.mark(next)
	// Past the string's end, no later place can match.
	f.emit(asm.LoadMem(asm.R0, asm.R2, 0, asm.Byte))
	f.b.jmpImm(asm.JEq, asm.R0, 0, no)
	f.emit(asm.Add.Imm(asm.R1, 1))
	f.b.ja(loop)
	f.b.mark(found)
	f.emit(asm.Mov.Reg(asm.R3, asm.R1), asm.Add.Imm(asm.R3, int32(n)))
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
