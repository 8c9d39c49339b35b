package check

import (
	"friday/printf"
	"friday/types"
)

// Format is a parsed printf-style format string.
type Format struct {
	Text  string
	Verbs []Verb // one per argument, in order
}

// Verb is one conversion of a format string and the type of the argument
// it prints.
type Verb struct {
	printf.Verb
	Arg *types.Type
}

// parseFormat splits a format string into its conversions.
func parseFormat(s string) (*Format, error) {
	p, err := printf.Parse(s)
	if err != nil {
		return nil, err
	}
	f := &Format{Text: s, Verbs: make([]Verb, len(p.Verbs))}
	for i, v := range p.Verbs {
		f.Verbs[i].Verb = v
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
	case "d", "i", "u", "x", "X", "o", "c", "gr":
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
		// As bpftrace, %s prints any value as print() would; values
		// of no one value cannot be.
		switch t.Kind {
		case types.Hist, types.Lhist, types.Stats, types.Tseries, types.Void:
			return false, ""
		}
		return true, ""
	}
	return false, conv
}
