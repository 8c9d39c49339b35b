// Package printf parses bpftrace's printf formats. It stands apart so that
// the checker, which types a format's arguments, and the output package,
// which prints them, read a format the same way without one importing the
// other.
package printf

import (
	"fmt"
	"strings"
)

// Class is the kind of argument a printf conversion takes.
type Class uint8

const (
	ClassInt     Class = iota // d i u x X o c, gr (GFP flags by name)
	ClassPointer              // p
	ClassString               // s: any value, printed as print() shows it
	ClassBuffer               // r rx rh: buffers, strings, arrays
)

// Verb is one conversion of a printf format.
type Verb struct {
	Start, End int    // byte range of the conversion in the format ("%-10llx")
	Flags      string // any of "-+ #0"
	Width      int    // -1 when absent
	Prec       int    // -1 when absent
	Length     string // "", "hh", "h", "l", "ll", "j", "z", "t"
	Conv       string // "d", "i", "u", "x", "X", "o", "c", "s", "p", "r", "rx", "rh", "gr"
	Class      Class
}

// Format is a parsed printf format: literal text between conversions.
type Format struct {
	Text  []string // len(Verbs)+1 pieces of literal text, "%%" already undone
	Verbs []Verb   // one per argument, in order
}

var lengths = []string{"hh", "ll", "h", "l", "j", "z", "t"}

// Parse finds the conversions of a printf format, one per argument, and
// the literal text around them.
func Parse(s string) (*Format, error) {
	f := &Format{}
	var lit []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit = append(lit, s[i])
			continue
		}
		start := i
		i++
		if i < len(s) && s[i] == '%' {
			lit = append(lit, '%')
			continue
		}
		v := Verb{Start: start, Width: -1, Prec: -1}
		for i < len(s) && strings.IndexByte("-+ #0", s[i]) >= 0 {
			v.Flags += s[i : i+1]
			i++
		}
		if i < len(s) && s[i] == '*' {
			return nil, fmt.Errorf("'*' width is not supported in format string")
		}
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			v.Width = max(v.Width, 0)*10 + int(s[i]-'0')
		}
		if i < len(s) && s[i] == '.' {
			v.Prec = 0
			for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
				v.Prec = v.Prec*10 + int(s[i]-'0')
			}
		}
		for _, l := range lengths {
			if strings.HasPrefix(s[i:], l) {
				v.Length = l
				i += len(l)
				break
			}
		}
		if i >= len(s) {
			return nil, fmt.Errorf("incomplete format specifier at the end of the format string")
		}
		switch c := s[i]; {
		case strings.HasPrefix(s[i:], "rx"), strings.HasPrefix(s[i:], "rh"):
			v.Conv, v.Class = s[i:i+2], ClassBuffer
			i++
		case strings.HasPrefix(s[i:], "gr"):
			v.Conv, v.Class = "gr", ClassInt
			i++
		case c == 'r':
			v.Conv, v.Class = "r", ClassBuffer
		case c == 's':
			v.Conv, v.Class = "s", ClassString
		case c == 'p':
			v.Conv, v.Class = "p", ClassPointer
		case strings.IndexByte("diuxXoc", c) >= 0:
			v.Conv, v.Class = s[i:i+1], ClassInt
		default:
			// A control or non-ASCII byte would garble the message.
			spec := s[start:i]
			if c > ' ' && c < 0x7f {
				spec += string(c)
			}
			return nil, fmt.Errorf("unsupported format specifier: %s", strings.TrimPrefix(spec, "%"))
		}
		v.End = i + 1
		f.Text = append(f.Text, string(lit))
		lit = lit[:0]
		f.Verbs = append(f.Verbs, v)
	}
	f.Text = append(f.Text, string(lit))
	return f, nil
}
