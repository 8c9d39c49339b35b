package tool

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Value is a value of a row (RowOf) or of a JSON record, held without
// boxing it in an interface.
type Value struct {
	kind valueKind
	n    uint64 // an integer; a float's bits; a clock's nanoseconds
	s    string // a string; a clock's layout
	b    []byte
	list []string
	x    any // what the other kinds do not hold
}

type valueKind uint8

const (
	otherValue valueKind = iota
	uintValue
	intValue
	floatValue
	stringValue
	bytesValue
	listValue
	argvValue
	boolValue
	clockValue
)

// Uint is an unsigned integer value.
func Uint(n uint64) Value { return Value{kind: uintValue, n: n} }

// Int is a signed integer value.
func Int(n int64) Value { return Value{kind: intValue, n: uint64(n)} }

// Float is a floating-point value.
func Float(f float64) Value { return Value{kind: floatValue, n: math.Float64bits(f)} }

// Str is a string value.
func Str(s string) Value { return Value{kind: stringValue, s: s} }

// Bytes is a string value held in b, which must not change until the
// row is printed.
func Bytes(b []byte) Value { return Value{kind: bytesValue, b: b} }

// Argv is a list of strings held in b, each ended by a NUL byte as a
// process's command line is: joined by spaces in text, an array in JSON.
// b must not change until the row is printed.
func Argv(b []byte) Value { return Value{kind: argvValue, b: b} }

// Bool is a boolean value.
func Bool(v bool) Value {
	var n uint64
	if v {
		n = 1
	}
	return Value{kind: boolValue, n: n}
}

// Clock is the time t as a string of layout (time.TimeOnly) in t's
// location (t.UTC() prints UTC), formatted when printed.
func Clock(t time.Time, layout string) Value {
	// A location is a pointer: the interface holds it without
	// allocating.
	return Value{kind: clockValue, n: uint64(t.UnixNano()), s: layout, x: t.Location()}
}

// valueOf is v as a Value: a []string prints as its elements joined by
// spaces in text, an array in JSON.
func valueOf(v any) Value {
	switch v := v.(type) {
	case uint64:
		return Uint(v)
	case uint32:
		return Uint(uint64(v))
	case int64:
		return Int(v)
	case int:
		return Int(int64(v))
	case float64:
		return Float(v)
	case bool:
		return Bool(v)
	case string:
		return Str(v)
	case []string:
		return Value{kind: listValue, list: v}
	}
	return Value{x: v}
}

// boxed is the value as an interface, for fmt.
func (v Value) boxed() any {
	switch v.kind {
	case uintValue:
		return v.n
	case intValue:
		return int64(v.n)
	case floatValue:
		return math.Float64frombits(v.n)
	case stringValue:
		return v.s
	case bytesValue:
		return string(v.b)
	case listValue:
		return strings.Join(v.list, " ")
	case boolValue:
		return v.n != 0
	case argvValue, clockValue:
		return string(v.appendText(nil))
	}
	return v.x
}

// appendText appends a value of the string kinds as text.
func (v Value) appendText(b []byte) []byte {
	switch v.kind {
	case stringValue:
		return append(b, v.s...)
	case bytesValue:
		return append(b, v.b...)
	case listValue:
		for i, s := range v.list {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, s...)
		}
		return b
	case argvValue:
		for rest := v.b; len(rest) > 0; {
			if len(rest) < len(v.b) {
				b = append(b, ' ')
			}
			var a []byte
			a, rest = nextArg(rest)
			b = append(b, a...)
		}
		return b
	case clockValue:
		return time.Unix(0, int64(v.n)).In(v.x.(*time.Location)).AppendFormat(b, v.s)
	}
	return b
}

// nextArg splits the first string of an Argv value's bytes from the
// rest.
func nextArg(b []byte) (arg, rest []byte) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// appendJSON appends the value as JSON.
func (v Value) appendJSON(b []byte) ([]byte, error) {
	switch v.kind {
	case uintValue:
		return strconv.AppendUint(b, v.n, 10), nil
	case intValue:
		return strconv.AppendInt(b, int64(v.n), 10), nil
	case floatValue:
		return appendFloat(b, math.Float64frombits(v.n)), nil
	case stringValue:
		return appendString(b, v.s), nil
	case bytesValue:
		return appendString(b, v.b), nil
	case listValue:
		return appendValue(b, v.list)
	case argvValue:
		b = append(b, '[')
		for rest := v.b; len(rest) > 0; {
			if len(rest) < len(v.b) {
				b = append(b, ", "...)
			}
			var a []byte
			a, rest = nextArg(rest)
			b = appendString(b, a)
		}
		return append(b, ']'), nil
	case boolValue:
		return strconv.AppendBool(b, v.n != 0), nil
	case clockValue:
		// The layouts are ASCII: nothing to escape.
		return append(v.appendText(append(b, '"')), '"'), nil
	}
	return appendValue(b, v.x)
}

// cell is a column's Cell format read once: literal text around one
// conversion that RowOf formats itself; any other format goes to fmt.
type cell struct {
	ok          bool
	pre, post   string
	minus, zero bool
	width, prec int // -1 when absent
	verb        byte
}

func parseCell(format string) cell {
	c := cell{width: -1, prec: -1}
	i := strings.IndexByte(format, '%')
	if i < 0 {
		return c
	}
	c.pre = format[:i]
	j := i + 1
	for ; j < len(format) && (format[j] == '-' || format[j] == '0'); j++ {
		c.minus = c.minus || format[j] == '-'
		c.zero = c.zero || format[j] == '0'
	}
	num := func() int {
		n := -1
		for ; j < len(format) && format[j] >= '0' && format[j] <= '9'; j++ {
			n = max(n, 0)*10 + int(format[j]-'0')
		}
		return n
	}
	c.width = num()
	if j < len(format) && format[j] == '.' {
		j++
		c.prec = max(num(), 0)
	}
	if j >= len(format) || strings.IndexByte("dsfox", format[j]) < 0 {
		return c
	}
	c.verb = format[j]
	c.post = format[j+1:]
	if strings.ContainsRune(c.pre, '%') || strings.ContainsRune(c.post, '%') {
		return c
	}
	c.ok = true
	return c
}

// append formats v as fmt would with the cell's format.
func (c *cell) append(b []byte, format string, v Value) []byte {
	if !c.ok {
		return fmt.Appendf(b, format, v.boxed())
	}
	b = append(b, c.pre...)
	start := len(b)
	switch {
	case c.verb == 'd' && v.kind == uintValue:
		b = strconv.AppendUint(b, v.n, 10)
	case c.verb == 'd' && v.kind == intValue:
		b = strconv.AppendInt(b, int64(v.n), 10)
	case c.verb == 'o' && v.kind == uintValue:
		b = strconv.AppendUint(b, v.n, 8)
	case c.verb == 'x' && v.kind == uintValue:
		b = strconv.AppendUint(b, v.n, 16)
	case c.verb == 'f' && v.kind == floatValue:
		f := math.Float64frombits(v.n)
		if math.IsInf(f, 0) || math.IsNaN(f) || c.zero && f < 0 {
			return fmt.Appendf(b[:start-len(c.pre)], format, f)
		}
		prec := c.prec
		if prec < 0 {
			prec = 6
		}
		b = strconv.AppendFloat(b, f, 'f', prec, 64)
	case c.verb == 's' && (v.kind == stringValue || v.kind == bytesValue || v.kind == listValue || v.kind == argvValue || v.kind == clockValue):
		b = v.appendText(b)
		if c.prec >= 0 {
			// fmt counts runes.
			n, k := 0, start
			for k < len(b) && n < c.prec {
				_, size := utf8.DecodeRune(b[k:])
				k += size
				n++
			}
			b = b[:k]
		}
	default:
		return fmt.Appendf(b[:start-len(c.pre)], format, v.boxed())
	}
	if c.zero && c.verb != 's' && v.kind == intValue && int64(v.n) < 0 {
		return fmt.Appendf(b[:start-len(c.pre)], format, v.boxed())
	}
	if n := utf8.RuneCount(b[start:]); n < c.width {
		pad := c.width - n
		switch {
		case c.minus:
			for range pad {
				b = append(b, ' ')
			}
		default:
			fill := byte(' ')
			if c.zero {
				fill = '0'
			}
			b = append(b, make([]byte, pad)...)
			copy(b[start+pad:], b[start:len(b)-pad])
			for k := start; k < start+pad; k++ {
				b[k] = fill
			}
		}
	}
	return append(b, c.post...)
}
