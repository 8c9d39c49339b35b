package tool

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Column is a column of a tool's table, printed in bcc's formats. A
// column without Key is left out of JSON, one without Head out of text.
type Column struct {
	Name string // its header: "PCOMM"
	Key  string // its key in JSON: "pcomm"
	// Head and Cell are the printf formats of the header and of a value,
	// each with what separates it from the next column: "%-16s ". An
	// Argv value prints as its strings joined by spaces.
	Head, Cell string
}

// Table says that the tool prints a row per event, with these columns
// (see RowOf); the header is printed once the probes are attached. A tool
// that prints its own lines in text (Printf) declares columns without
// Head for its JSON rows.
func (s *Session) Table(cols ...Column) {
	s.cols = cols
	s.cells = make([]cell, len(cols))
	for i, c := range cols {
		s.cells[i] = parseCell(c.Cell)
	}
}

func (s *Session) header() {
	s.line.Reset()
	for _, c := range s.cols {
		if c.Head != "" {
			fmt.Fprintf(&s.line, c.Head, c.Name)
		}
	}
	// A tool whose lines are prose (oomkill's) has columns for JSON
	// only, and no header.
	if s.line.Len() > 0 {
		s.endLine(s.line.Bytes())
	}
}

// endLine writes the line b, without trailing blanks.
func (s *Session) endLine(b []byte) {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	s.out.Write(b)
	s.out.WriteByte('\n')
}

// RowOf prints one row of the table: a value per column, made by Uint,
// Int, Float, Str, Bytes, Argv, Bool or Clock, formatted with the
// column's Cell in text, under the column's Key in JSON. It is for the
// Event method of a handler: a tool printing many lines a second
// allocates nothing per line.
func (s *Session) RowOf(vals ...Value) error {
	if len(vals) != len(s.cols) {
		return fmt.Errorf("internal error: a row of %d values for %d columns", len(vals), len(s.cols))
	}
	if s.JSON() {
		s.row = s.row[:0]
		for i, v := range vals {
			if s.cols[i].Key != "" {
				s.row = append(s.row, field{s.cols[i].Key, v})
			}
		}
		return s.writeJSON(s.row)
	}
	b := s.buf[:0]
	for i, c := range s.cols {
		if c.Head != "" {
			b = s.cells[i].append(b, c.Cell, vals[i])
		}
	}
	s.buf = b
	s.endLine(b)
	return nil
}

// writeJSON writes an object of the fields, in their order, on a line.
func (s *Session) writeJSON(rec []field) error {
	b := s.buf[:0]
	b = append(b, '{')
	for i, f := range rec {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendString(b, f.key)
		b = append(b, ": "...)
		var err error
		if b, err = f.val.appendJSON(b); err != nil {
			return err
		}
	}
	b = append(b, "}\n"...)
	s.buf = b
	_, err := s.out.Write(b)
	return err
}

// appendValue appends v as JSON: the values of events without reflection.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case float64:
		return appendFloat(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, s)
		}
		return append(b, ']'), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// appendFloat appends f as JSON: null when it is not a number.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// appendString appends s as a JSON string; bytes that are not UTF-8
// become U+FFFD.
func appendString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\t':
				b = append(b, `\t`...)
			case c < 0x20 || c == 0x7f:
				b = fmt.Appendf(b, `\u%04x`, c)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune([]byte(s[i:min(i+utf8.UTFMax, len(s))]))
		b = utf8.AppendRune(b, r)
		i += n
	}
	return append(b, '"')
}
