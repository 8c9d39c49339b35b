package usdt

import (
	"fmt"
	"strconv"
	"strings"
)

// ArgKind says where an argument's value is.
type ArgKind int

const (
	// ArgConst is a constant: Const.
	ArgConst ArgKind = iota
	// ArgReg is in a register: Reg.
	ArgReg
	// ArgMem is in memory at Base + Offset + Index*Scale.
	ArgMem
)

func (k ArgKind) String() string {
	switch k {
	case ArgConst:
		return "const"
	case ArgReg:
		return "reg"
	case ArgMem:
		return "mem"
	}
	return fmt.Sprintf("ArgKind(%d)", int(k))
}

// Register is a (part of a) register saved in struct pt_regs when a uprobe
// fires.
type Register struct {
	Name   string // as written, without '%': "eax", "r8w", "ah"
	Offset int    // byte offset of its bytes in struct pt_regs
	Size   int    // 1, 2, 4 or 8 bytes
}

// Arg is one parsed argument of a probe, from specs such as "-4@%eax",
// "8@-8(%rbp)", "4@$5" or "8@16(%rax,%rbx,8)".
type Arg struct {
	Text   string // the spec as written in the note
	Size   int    // 1, 2, 4 or 8 bytes
	Signed bool   // sign-extend to 64 bits, else zero-extend

	Kind  ArgKind
	Const int64     // ArgConst
	Reg   *Register // ArgReg

	// ArgMem: the address is Base + Offset + Index*Scale, where Base and
	// Index are registers' values (nil when absent). For an address
	// relative to the instruction pointer, Base is the instruction
	// pointer and Offset already accounts for the probe's own address, so
	// the same formula gives the run-time address of the symbol.
	Base   *Register
	Index  *Register
	Scale  int
	Offset int64
	Symbol string // symbol named in the displacement, "" for none
}

// parseArgs splits a note's argument string and parses each argument.
func parseArgs(text string, regs map[string]Register) ([]Arg, error) {
	var out []Arg
	for _, spec := range strings.Fields(text) {
		a, err := parseArg(spec, regs)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// parseArg parses one "[-]size@operand" spec, the operand in AT&T syntax.
// Notes of the oldest format have no size; their values are 8 bytes.
func parseArg(spec string, regs map[string]Register) (Arg, error) {
	a := Arg{Text: spec, Size: 8}
	op := spec
	if sizeText, rest, ok := strings.Cut(spec, "@"); ok {
		n, err := strconv.Atoi(sizeText)
		if err != nil {
			return Arg{}, fmt.Errorf("argument %q: bad size %q", spec, sizeText)
		}
		if n < 0 {
			a.Signed, n = true, -n
		}
		if n != 1 && n != 2 && n != 4 && n != 8 {
			return Arg{}, fmt.Errorf("argument %q: unsupported size %d", spec, n)
		}
		a.Size, op = n, rest
	}
	if op == "" {
		return Arg{}, fmt.Errorf("argument %q: missing operand", spec)
	}
	fail := func(why string) (Arg, error) {
		return Arg{}, fmt.Errorf("argument %q: %s", spec, why)
	}
	switch {
	case strings.Contains(op, ":"):
		return fail("segment-relative memory is not supported")
	case op[0] == '$':
		v, err := parseInt(op[1:])
		if err != nil {
			return fail("constant is not a number")
		}
		a.Kind, a.Const = ArgConst, v
	case op[0] == '%':
		r, ok := regs[op[1:]]
		if !ok {
			return fail("unknown register " + op)
		}
		a.Kind, a.Reg = ArgReg, &r
	default:
		disp, inner, hasParen := strings.Cut(op, "(")
		a.Kind = ArgMem
		var err error
		a.Symbol, a.Offset, err = parseDisplacement(disp)
		if err != nil {
			return fail(err.Error())
		}
		if hasParen {
			if !strings.HasSuffix(inner, ")") {
				return fail("unbalanced parenthesis")
			}
			if err := parseAddressRegs(&a, strings.TrimSuffix(inner, ")"), regs); err != nil {
				return fail(err.Error())
			}
		} else if disp == "" {
			return fail("empty operand")
		}
	}
	return a, nil
}

// parseDisplacement reads "", "-8", "0x10", "sym", "sym+8", "sym-8" or
// "8+sym".
func parseDisplacement(s string) (sym string, off int64, err error) {
	if s == "" {
		return "", 0, nil
	}
	if v, err := parseInt(s); err == nil {
		return "", v, nil
	}
	// Split at the last sign that is not the first character.
	i := strings.LastIndexAny(s[1:], "+-") + 1
	if i == 0 {
		if !isSymbol(s) {
			return "", 0, fmt.Errorf("bad displacement %q", s)
		}
		return s, 0, nil
	}
	left, right := s[:i], s[i:]
	if v, err := parseInt(right); err == nil && isSymbol(left) {
		return left, v, nil
	}
	if v, err := parseInt(left); err == nil && right[0] == '+' && isSymbol(right[1:]) {
		return right[1:], v, nil
	}
	return "", 0, fmt.Errorf("bad displacement %q", s)
}

func isSymbol(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		ok := c == '_' || c == '.' || c == '$' || c == '@' ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func parseInt(s string) (int64, error) {
	if s == "" {
		return 0, strconv.ErrSyntax
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	u, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, err
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// parseAddressRegs reads the "base,index,scale" inside the parentheses of
// a memory operand; base and index may be empty.
func parseAddressRegs(a *Arg, s string, regs map[string]Register) error {
	parts := strings.Split(s, ",")
	if len(parts) > 3 {
		return fmt.Errorf("bad address %q", s)
	}
	reg := func(t string) (*Register, error) {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, nil
		}
		r, ok := regs[strings.TrimPrefix(t, "%")]
		if !strings.HasPrefix(t, "%") || !ok {
			return nil, fmt.Errorf("unknown register %s", t)
		}
		if r.Size != 8 {
			return nil, fmt.Errorf("register %s cannot form an address", t)
		}
		return &r, nil
	}
	var err error
	if a.Base, err = reg(parts[0]); err != nil {
		return err
	}
	if len(parts) >= 2 {
		if a.Index, err = reg(parts[1]); err != nil {
			return err
		}
		if a.Index == nil {
			return fmt.Errorf("missing index register in %q", s)
		}
		a.Scale = 1
	}
	if len(parts) == 3 {
		sc, err := strconv.Atoi(strings.TrimSpace(parts[2]))
		if err != nil || (sc != 1 && sc != 2 && sc != 4 && sc != 8) {
			return fmt.Errorf("bad scale %q", parts[2])
		}
		a.Scale = sc
	}
	if a.Base == nil && a.Index == nil && a.Symbol == "" && a.Offset == 0 {
		return fmt.Errorf("empty address %q", s)
	}
	return nil
}
