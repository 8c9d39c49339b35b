package tool

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Column is a column of a tool's table, printed in bcc's formats. A
// column without Key is left out of JSON, one without Head out of text.
type Column struct {
	Name string // its header: "PCOMM"
	Key  string // its key in JSON: "pcomm"
	// Head and Cell are the printf formats of the header and of a value,
	// each with what separates it from the next column: "%-16s ". A
	// []string value prints as its elements joined by spaces.
	Head, Cell string
}

// Table says that the tool prints a row per event, with these columns
// (see Row); the header is printed once the probes are attached. A tool
// that prints its own lines in text (Printf) declares columns without
// Head for its JSON rows.
func (s *Session) Table(cols ...Column) { s.cols = cols }

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
		s.endLine()
	}
}

// endLine writes the line built, without trailing blanks.
func (s *Session) endLine() {
	b := s.line.Bytes()
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	s.out.Write(b)
	s.out.WriteByte('\n')
}

// Row prints one row of the table: a value per column, formatted with
// the column's Cell in text, under the column's Key in JSON. It is for
// the Event method of a handler.
func (s *Session) Row(vals ...any) error {
	if len(vals) != len(s.cols) {
		return fmt.Errorf("internal error: a row of %d values for %d columns", len(vals), len(s.cols))
	}
	if s.JSON() {
		rec := make([]field, 0, len(vals))
		for i, v := range vals {
			if s.cols[i].Key != "" {
				rec = append(rec, field{s.cols[i].Key, v})
			}
		}
		return s.writeJSON(rec)
	}
	s.line.Reset()
	for i, c := range s.cols {
		if c.Head == "" {
			continue
		}
		v := vals[i]
		if l, ok := v.([]string); ok {
			v = strings.Join(l, " ")
		}
		fmt.Fprintf(&s.line, c.Cell, v)
	}
	s.endLine()
	return nil
}

// writeJSON writes an object of the fields, in their order, on a line.
func (s *Session) writeJSON(rec []field) error {
	b := s.line.AvailableBuffer()[:0]
	b = append(b, '{')
	for i, f := range rec {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendString(b, f.key)
		b = append(b, ": "...)
		var err error
		if b, err = appendValue(b, f.val); err != nil {
			return err
		}
	}
	b = append(b, "}\n"...)
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
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return append(b, "null"...), nil
		}
		return strconv.AppendFloat(b, v, 'f', -1, 64), nil
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

// appendString appends s as a JSON string; bytes that are not UTF-8
// become U+FFFD.
func appendString(b []byte, s string) []byte {
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
		r, n := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r)
		i += n
	}
	return append(b, '"')
}
