package output

// A small language for writing test values: types as bpftrace spells them
// and values as literals, encoded into the bytes the kernel side stores.

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"

	"friday/types"
)

type lexer struct {
	toks []string
	pos  int
}

func lex(s string) (*lexer, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string in %q", s)
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		case strings.IndexByte("()[]{},=:/", c) >= 0:
			toks = append(toks, s[i:i+1])
			i++
		default:
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || strings.IndexByte("_-.@$", s[j]) >= 0) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q in %q", c, s)
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return &lexer{toks: toks}, nil
}

func (l *lexer) peek() string {
	if l.pos < len(l.toks) {
		return l.toks[l.pos]
	}
	return ""
}

func (l *lexer) next() string {
	t := l.peek()
	l.pos++
	return t
}

func (l *lexer) expect(s string) error {
	if t := l.next(); t != s {
		return fmt.Errorf("expected %q, found %q", s, t)
	}
	return nil
}

func (l *lexer) int() (int64, error) {
	t := l.next()
	if strings.HasPrefix(t, "-") {
		n, err := strconv.ParseInt(t, 0, 64)
		return n, err
	}
	n, err := strconv.ParseUint(t, 0, 64)
	return int64(n), err
}

// parseType reads a type: int8..uint64, string[N], buf[N], [N]T, (T, ...),
// (name=T, ...), {name T, ...}, count, sum, usum, min, max, avg, stats,
// hist, hist(bits), lhist(min, max, step), tseries(interval, n[, agg]),
// utseries(...), ksym, usym, kstack,
// kstack(perf|raw), ustack, ustack(perf|build_id), inet, username, strerror, probe,
// macaddr, timestamp, cgroup_path, bool, ptr.
func (l *lexer) parseType() (*types.Type, error) {
	t := l.next()
	switch t {
	case "(":
		var names []string
		var elems []*types.Type
		for {
			if len(l.toks) > l.pos+1 && l.toks[l.pos+1] == "=" {
				names = append(names, l.next())
				l.next()
			}
			e, err := l.parseType()
			if err != nil {
				return nil, err
			}
			elems = append(elems, e)
			if l.peek() != "," {
				break
			}
			l.next()
		}
		if err := l.expect(")"); err != nil {
			return nil, err
		}
		if names != nil {
			return types.RecordOf(names, elems), nil
		}
		return types.TupleOf(elems...), nil
	case "{":
		st := &types.Type{Kind: types.Struct, Name: "struct test"}
		off := 0
		for l.peek() != "}" {
			name := l.next()
			e, err := l.parseType()
			if err != nil {
				return nil, err
			}
			off = (off + e.Align() - 1) / e.Align() * e.Align()
			st.Fields = append(st.Fields, types.Field{Name: name, Type: e, Offset: off})
			off += e.Size
			if l.peek() == "," {
				l.next()
			}
		}
		l.next()
		st.Size = (off + st.Align() - 1) / st.Align() * st.Align()
		return st, nil
	case "[":
		n, err := l.int()
		if err != nil {
			return nil, err
		}
		if err := l.expect("]"); err != nil {
			return nil, err
		}
		e, err := l.parseType()
		if err != nil {
			return nil, err
		}
		return types.ArrayOf(e, int(n)), nil
	case "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64":
		signed := t[0] == 'i'
		bits, _ := strconv.Atoi(strings.TrimLeft(t, "uint"))
		return types.IntOf(bits/8, signed), nil
	case "bool":
		return types.BoolT, nil
	case "ptr":
		return types.VoidP, nil
	case "string", "buf":
		if err := l.expect("["); err != nil {
			return nil, err
		}
		n, err := l.int()
		if err != nil {
			return nil, err
		}
		if err := l.expect("]"); err != nil {
			return nil, err
		}
		if t == "buf" {
			return types.BufferOf(int(n)), nil
		}
		return types.StringOf(int(n)), nil
	case "count":
		return &types.Type{Kind: types.Count, Size: 8}, nil
	case "sum", "min", "max", "avg", "stats":
		k := map[string]types.Kind{"sum": types.Sum, "min": types.Min, "max": types.Max, "avg": types.Avg, "stats": types.Stats}[t]
		return &types.Type{Kind: k, Size: 8, Signed: true}, nil
	case "usum", "uavg", "umax":
		k := map[string]types.Kind{"usum": types.Sum, "uavg": types.Avg, "umax": types.Max}[t]
		return &types.Type{Kind: k, Size: 8}, nil
	case "hist":
		h := &types.Type{Kind: types.Hist, Size: 8}
		if l.peek() == "(" {
			l.next()
			n, err := l.int()
			if err != nil {
				return nil, err
			}
			h.Bits = int(n)
			if err := l.expect(")"); err != nil {
				return nil, err
			}
		}
		return h, nil
	case "lhist":
		h := &types.Type{Kind: types.Lhist, Size: 8}
		var v [3]int64
		if err := l.expect("("); err != nil {
			return nil, err
		}
		for i := range v {
			n, err := l.int()
			if err != nil {
				return nil, err
			}
			v[i] = n
			if i < 2 {
				if err := l.expect(","); err != nil {
					return nil, err
				}
			}
		}
		h.Min, h.Max, h.Step = v[0], v[1], v[2]
		return h, l.expect(")")
	case "tseries", "utseries":
		// tseries(interval, intervals[, agg]); utseries of unsigned values.
		ts := &types.Type{Kind: types.Tseries, Size: 8, Signed: t == "tseries"}
		if err := l.expect("("); err != nil {
			return nil, err
		}
		var err error
		if ts.Step, err = l.int(); err != nil {
			return nil, err
		}
		if err := l.expect(","); err != nil {
			return nil, err
		}
		if ts.Max, err = l.int(); err != nil {
			return nil, err
		}
		if l.peek() == "," {
			l.next()
			ts.Agg = l.next()
		}
		return ts, l.expect(")")
	case "kstack", "ustack":
		k := types.KStack
		size := 8
		if t == "ustack" {
			k, size = types.UStack, 16
		}
		st := &types.Type{Kind: k, Size: size}
		if l.peek() == "(" {
			l.next()
			switch m := l.next(); m {
			case "perf":
				st.Stack = types.StackPerf
			case "raw":
				st.Stack = types.StackRaw
			case "build_id":
				st.Stack = types.StackBuildID
			default:
				n, err := strconv.Atoi(m)
				if err != nil {
					return nil, fmt.Errorf("bad stack argument %q", m)
				}
				st.StackDepth = n
			}
			if err := l.expect(")"); err != nil {
				return nil, err
			}
		}
		return st, nil
	}
	simple := map[string]*types.Type{
		"ksym":        types.KSymT,
		"usym":        {Kind: types.Usym, Size: 16},
		"inet":        {Kind: types.Inet, Size: 24},
		"username":    types.UserT,
		"strerror":    {Kind: types.Strerror, Size: 8},
		"syscall":     {Kind: types.Syscall, Size: 8},
		"probe":       types.ProbeT,
		"macaddr":     {Kind: types.MacAddr, Size: 6},
		"timestamp":   {Kind: types.Timestamp, Size: 16},
		"cgroup_path": {Kind: types.CgroupPath, Size: 16},
	}
	if st, ok := simple[t]; ok {
		return st, nil
	}
	return nil, fmt.Errorf("unknown type %q", t)
}

// parseValue reads a literal of type t into dst (t.Size bytes). Aggregate
// values are written as lists of samples: {3, 5} for avg(3); avg(5).
func (l *lexer) parseValue(t *types.Type, dst []byte) error {
	switch t.Kind {
	case types.Int, types.Bool, types.Pointer, types.Ksym, types.Username, types.Strerror, types.Syscall, types.Probe, types.KStack:
		n, err := l.int()
		if err != nil {
			return err
		}
		putInt(dst, t.Size, n)
	case types.Buffer:
		// "data" fills the whole capacity; "data"/N says the length is N.
		s, err := strconv.Unquote(l.next())
		if err != nil {
			return err
		}
		n := t.Size - BufferLenSize
		if l.peek() == "/" {
			l.next()
			k, err := l.int()
			if err != nil {
				return err
			}
			n = int(k)
		}
		if len(s) > t.Size-BufferLenSize {
			return fmt.Errorf("%q does not fit %s", s, t)
		}
		dst[0] = byte(n)
		copy(dst[BufferLenSize:], s)
	case types.String, types.MacAddr:
		s, err := strconv.Unquote(l.next())
		if err != nil {
			return err
		}
		if len(s) > t.Size {
			return fmt.Errorf("%q does not fit %s", s, t)
		}
		copy(dst, s)
	case types.Inet:
		s, err := strconv.Unquote(l.next())
		if err != nil {
			return err
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return err
		}
		if a.Is4() {
			ne.PutUint64(dst, AFInet)
			b := a.As4()
			copy(dst[InetAddrOff:], b[:])
		} else {
			ne.PutUint64(dst, AFInet6)
			b := a.As16()
			copy(dst[InetAddrOff:], b[:])
		}
	case types.Usym, types.UStack, types.Timestamp, types.CgroupPath:
		// (first u64, second number)
		var v [2]int64
		if err := l.expect("("); err != nil {
			return err
		}
		for i := range v {
			n, err := l.int()
			if err != nil {
				return err
			}
			v[i] = n
			if i == 0 {
				if err := l.expect(","); err != nil {
					return err
				}
			}
		}
		ne.PutUint64(dst, uint64(v[0]))
		if t.Kind == types.Timestamp || t.Kind == types.CgroupPath {
			ne.PutUint64(dst[8:], uint64(v[1]))
		} else {
			ne.PutUint32(dst[8:], uint32(v[1]))
		}
		return l.expect(")")
	case types.Tuple, types.Record:
		if err := l.expect("("); err != nil {
			return err
		}
		for i, f := range t.Fields {
			if i > 0 {
				if err := l.expect(","); err != nil {
					return err
				}
			}
			if err := l.parseValue(f.Type, dst[f.Offset:]); err != nil {
				return err
			}
		}
		return l.expect(")")
	case types.Struct, types.Array:
		open, close := "{", "}"
		if t.Kind == types.Array {
			open, close = "[", "]"
		}
		if err := l.expect(open); err != nil {
			return err
		}
		n := len(t.Fields)
		if t.Kind == types.Array {
			n = t.Len
		}
		for i := 0; i < n; i++ {
			if i > 0 {
				if err := l.expect(","); err != nil {
					return err
				}
			}
			if t.Kind == types.Array {
				if err := l.parseValue(t.Elem, dst[i*t.Elem.Size:]); err != nil {
					return err
				}
			} else if err := l.parseValue(t.Fields[i].Type, dst[t.Fields[i].Offset:]); err != nil {
				return err
			}
		}
		return l.expect(close)
	default:
		return fmt.Errorf("no literal for %s", t)
	}
	return nil
}

func putInt(dst []byte, size int, n int64) {
	switch size {
	case 1:
		dst[0] = byte(n)
	case 2:
		ne.PutUint16(dst, uint16(n))
	case 4:
		ne.PutUint32(dst, uint32(n))
	default:
		ne.PutUint64(dst, uint64(n))
	}
}

// samples reads {a, b, ...}.
func (l *lexer) samples() ([]int64, error) {
	if err := l.expect("{"); err != nil {
		return nil, err
	}
	var out []int64
	for l.peek() != "}" {
		n, err := l.int()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if l.peek() == "," {
			l.next()
		}
	}
	l.next()
	return out, nil
}
