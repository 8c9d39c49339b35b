package output

import (
	"fmt"
	"strconv"
	"strings"

	"friday/printf"
	"friday/tracefs"
	"friday/types"
)

// Arg is one printf argument: its bytes laid out as its type says.
type Arg struct {
	Type *types.Type
	Data []byte
}

// Sprintf formats args with f as bpftrace's printf does: integer
// conversions follow C, so without a length modifier %d and %x see the
// low 32 bits of the 64-bit value.
func (p *Printer) Sprintf(f *printf.Format, args []Arg) (string, error) {
	b, err := p.appendf(nil, f, args)
	return string(b), err
}

func (p *Printer) appendf(dst []byte, f *printf.Format, args []Arg) ([]byte, error) {
	if len(args) != len(f.Verbs) {
		return dst, fmt.Errorf("internal error: format has %d conversions, %d arguments given", len(f.Verbs), len(args))
	}
	for i, v := range f.Verbs {
		dst = append(dst, f.Text[i]...)
		dst = p.appendVerb(dst, v, args[i])
	}
	return append(dst, f.Text[len(f.Verbs)]...), nil
}

func (p *Printer) appendVerb(dst []byte, v printf.Verb, a Arg) []byte {
	switch v.Conv {
	case "s":
		if v.Width < 0 && v.Prec < 0 {
			return p.appendText(dst, a.Type, a.Data)
		}
		p.tmp = p.appendText(p.tmp[:0], a.Type, a.Data)
		s := p.tmp
		if v.Prec >= 0 && v.Prec < len(s) {
			s = s[:v.Prec]
		}
		return pad(dst, v, s)
	case "r", "rx", "rh":
		data := a.Data
		switch a.Type.Kind {
		case types.String:
			data = cString(data)
		case types.Buffer:
			data = bufferData(a.Type, data)
		}
		s := p.tmp[:0]
		switch v.Conv {
		case "r":
			s = appendBuffer(s, data)
		case "rx":
			for _, c := range data {
				s = append(s, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			}
		default:
			for i, c := range data {
				if i > 0 {
					s = append(s, ' ')
				}
				s = append(s, hexDigits[c>>4], hexDigits[c&15])
			}
		}
		p.tmp = s
		return pad(dst, v, s)
	}
	n := argInt(a)
	switch v.Conv {
	case "gr":
		p.tmp = tracefs.FormatFlags(p.tmp[:0], n, p.gfpNames())
		return pad(dst, v, p.tmp)
	case "c":
		return pad(dst, v, []byte{byte(n)})
	case "p":
		if n == 0 {
			return pad(dst, v, []byte("(nil)"))
		}
		v.Flags += "#"
		return appendCInt(dst, v, n, false, 16, false)
	}
	var signed bool
	switch v.Length {
	case "":
		n, signed = uint64(uint32(n)), v.Conv == "d" || v.Conv == "i"
		if signed {
			n = uint64(int32(n))
		}
	case "hh":
		n, signed = uint64(uint8(n)), v.Conv == "d" || v.Conv == "i"
		if signed {
			n = uint64(int8(n))
		}
	case "h":
		n, signed = uint64(uint16(n)), v.Conv == "d" || v.Conv == "i"
		if signed {
			n = uint64(int16(n))
		}
	default:
		signed = v.Conv == "d" || v.Conv == "i"
	}
	switch v.Conv {
	case "x":
		return appendCInt(dst, v, n, false, 16, false)
	case "X":
		return appendCInt(dst, v, n, false, 16, true)
	case "o":
		return appendCInt(dst, v, n, false, 8, false)
	}
	return appendCInt(dst, v, n, signed, 10, false)
}

// argInt is an integer argument as 64 bits, sign-extended from its type.
func argInt(a Arg) uint64 {
	t := a.Type
	switch t.Kind {
	case types.Count, types.Sum, types.Min, types.Max, types.Avg, types.Stats:
		return aggValue(t, a.Data)
	}
	size := t.Size
	if size > 8 || size == 0 {
		size = 8
	}
	if len(a.Data) < size {
		return 0
	}
	return intBits(a.Data, size, t.Signed)
}

// appendCInt formats an integer as C's printf does with v's flags, width
// and precision.
func appendCInt(dst []byte, v printf.Verb, n uint64, signed bool, base int, upper bool) []byte {
	neg := signed && int64(n) < 0
	mag := n
	if neg {
		mag = -n
	}
	if v.Flags == "" && v.Width < 0 && v.Prec < 0 && !upper {
		if neg {
			dst = append(dst, '-')
		}
		return strconv.AppendUint(dst, mag, base)
	}
	var buf [96]byte
	digits := strconv.AppendUint(buf[:0], mag, base)
	if upper {
		for i, c := range digits {
			if c >= 'a' {
				digits[i] = c - 'a' + 'A'
			}
		}
	}
	if v.Prec == 0 && mag == 0 {
		digits = digits[:0]
	}
	zeros := max(v.Prec-len(digits), 0)
	var prefix string
	switch {
	case neg:
		prefix = "-"
	case signed && strings.Contains(v.Flags, "+"):
		prefix = "+"
	case signed && strings.Contains(v.Flags, " "):
		prefix = " "
	}
	if strings.Contains(v.Flags, "#") {
		switch {
		case base == 8 && zeros == 0 && (len(digits) == 0 || digits[0] != '0'):
			zeros = 1
		case base == 16 && mag != 0 && upper:
			prefix = "0X"
		case base == 16 && mag != 0:
			prefix = "0x"
		}
	}
	left := strings.Contains(v.Flags, "-")
	if w := len(prefix) + zeros + len(digits); !left && v.Prec < 0 && strings.Contains(v.Flags, "0") && v.Width > w {
		zeros += v.Width - w
	}
	out := append(buf[len(digits):len(digits)], prefix...)
	for range zeros {
		out = append(out, '0')
	}
	out = append(out, digits...)
	return pad(dst, v, out)
}

// pad writes s padded with spaces to v's width.
func pad(dst []byte, v printf.Verb, s []byte) []byte {
	n := v.Width - len(s)
	left := n > 0 && strings.Contains(v.Flags, "-")
	if left {
		dst = append(dst, s...)
	}
	for ; n > 0; n-- {
		dst = append(dst, ' ')
	}
	if left {
		return dst
	}
	return append(dst, s...)
}
