package check

import (
	"fmt"
	"strings"

	"friday/types"
)

// Format is a parsed printf-style format string.
type Format struct {
	Text  string
	Verbs []Verb // one per argument, in order
}

// Verb is one conversion of a format string.
type Verb struct {
	Start, End int    // byte range of the whole spec in Text ("%-10llx")
	Flags      string // any of "-+ #0"
	Width      int    // -1 when absent
	Prec       int    // -1 when absent
	Length     string // "", "hh", "h", "l", "ll", "j", "z", "t"
	Conv       string // "d", "i", "u", "x", "X", "o", "c", "s", "p", "r", "rx", "rh"
	Arg        *types.Type
}

// parseFormat splits a format string into its conversions. It accepts the
// conversions package output prints (which cannot be imported here: it
// depends on codegen, which depends on this package).
func parseFormat(s string) (*Format, error) {
	f := &Format{Text: s}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		start := i
		i++
		if i < len(s) && s[i] == '%' {
			continue
		}
		v := Verb{Start: start, Width: -1, Prec: -1}
		for i < len(s) && strings.IndexByte("-+ #0", s[i]) >= 0 {
			v.Flags += string(s[i])
			i++
		}
		if i < len(s) && s[i] == '*' {
			return nil, fmt.Errorf("'*' width is not supported in format string")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if v.Width < 0 {
				v.Width = 0
			}
			v.Width = v.Width*10 + int(s[i]-'0')
			i++
		}
		if i < len(s) && s[i] == '.' {
			i++
			v.Prec = 0
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				v.Prec = v.Prec*10 + int(s[i]-'0')
				i++
			}
		}
		for _, l := range []string{"hh", "ll", "h", "l", "j", "z", "t"} {
			if strings.HasPrefix(s[i:], l) {
				v.Length = l
				i += len(l)
				break
			}
		}
		if i >= len(s) {
			return nil, fmt.Errorf("Incomplete format specifier at the end of the format string")
		}
		switch {
		case strings.HasPrefix(s[i:], "rx"), strings.HasPrefix(s[i:], "rh"):
			v.Conv = s[i : i+2]
			i++
		case strings.IndexByte("diuxXocsp", s[i]) >= 0, s[i] == 'r':
			v.Conv = s[i : i+1]
		default:
			spec := s[start:i]
			if c := s[i]; c > ' ' && c < 0x7f {
				spec += string(c)
			}
			return nil, fmt.Errorf("Invalid format specifier '%s' in format string", spec)
		}
		v.End = i + 1
		f.Verbs = append(f.Verbs, v)
	}
	return f, nil
}

// typeClass names a type the way format errors do.
func typeClass(t *types.Type) string {
	switch t.Kind {
	case types.Int, types.Bool, types.Enum, types.Count, types.Sum, types.Min, types.Max, types.Avg:
		return "integer"
	case types.String:
		return "string"
	case types.Buffer:
		return "buffer"
	case types.Pointer:
		return "pointer"
	}
	return t.String()
}

// verbAccepts reports whether conversion conv can print a value of type t,
// and names the expected type class otherwise.
func verbAccepts(conv string, t *types.Type) (bool, string) {
	switch conv {
	case "d", "i", "u", "x", "X", "o", "c":
		return isIntegral(t) || isPtr(t), "integer"
	case "p":
		return isIntegral(t) || isPtr(t), "pointer"
	case "r", "rx", "rh":
		switch t.Kind {
		case types.Buffer, types.String, types.Array:
			return true, "buffer"
		}
		return false, "buffer"
	case "s":
		switch t.Kind {
		case types.Int, types.Bool, types.Count, types.Sum, types.Min, types.Max, types.Avg,
			types.Pointer, types.Hist, types.Lhist, types.Stats, types.Tseries, types.Void:
			return false, "string"
		}
		return true, "string"
	}
	return false, conv
}
