package syntax

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Error is a problem found at a place in the source. End, when valid and on
// the same line as Pos, is the exclusive end of the offending text.
type Error struct {
	Pos Pos
	End Pos
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: ERROR: %s", RangeString(e.Pos, e.End), e.Msg)
}

// ErrorList is the set of errors found in one file, in source order. Its
// Error method gives only the first line of each; Format gives the full
// bpftrace-style report.
type ErrorList struct {
	File   string
	Src    []byte
	Errors []*Error
}

func (l *ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l.Errors {
		if i > 0 {
			b.WriteByte('\n')
		}
		name := l.File
		if e.Pos.File != nil {
			name = e.Pos.File.Name
		}
		b.WriteString(name + ":" + e.Error())
	}
	return b.String()
}

// Format writes every error as FormatError does.
func (l *ErrorList) Format(w io.Writer) {
	for _, e := range l.Errors {
		FormatRange(w, l.File, l.Src, e.Pos, e.End, e.Msg)
	}
}

// String formats a position as line:col, the way error messages show it.
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// RangeString formats the text from pos to end as line:col-endcol, or
// line:col when it is one character or spans lines.
func RangeString(pos, end Pos) string {
	s := fmt.Sprintf("%d:%d", pos.Line, pos.Col)
	if end.Line == pos.Line && end.Col > pos.Col+1 {
		s += fmt.Sprintf("-%d", end.Col)
	}
	return s
}

// FormatError writes an error the way bpftrace reports it:
//
//	file:line:col: ERROR: message
//	the source line
//	      ^
func FormatError(w io.Writer, file string, src []byte, pos Pos, msg string) {
	FormatRange(w, file, src, pos, Pos{}, msg)
}

// FormatRange is FormatError for an error that covers the text from pos to
// end (exclusive, same line): the caret is followed by '~' under the rest of
// the range, and the first line shows it as line:col-endcol like bpftrace.
// A position in an imported file is shown in that file.
func FormatRange(w io.Writer, file string, src []byte, pos, end Pos, msg string) {
	formatLevel(w, "ERROR", file, src, pos, end, msg)
}

// FormatWarning is FormatRange for a warning.
func FormatWarning(w io.Writer, file string, src []byte, pos, end Pos, msg string) {
	formatLevel(w, "WARNING", file, src, pos, end, msg)
}

func formatLevel(w io.Writer, level, file string, src []byte, pos, end Pos, msg string) {
	if pos.File != nil {
		file = pos.File.Name
	}
	if !pos.IsValid() {
		fmt.Fprintf(w, "%s: %s: %s\n", file, level, msg)
		return
	}
	fmt.Fprintf(w, "%s:%s: %s: %s\n", file, RangeString(pos, end), level, msg)
	io.WriteString(w, SourceContext(src, pos, end))
}

// SourceContext is what follows the first line of a message about the text
// from pos to end: the source line, and under it a caret at pos and '~'
// under the rest of the range; "" when src has no such line. src is
// ignored for a position in an imported file.
func SourceContext(src []byte, pos, end Pos) string {
	line, ok := SourceLine(pos.source(src), pos.Line)
	if !ok {
		return ""
	}
	// Columns count bytes; the marker line counts characters, and keeps
	// tabs, so that it lines up under the text whatever the terminal does.
	var b strings.Builder
	b.WriteString(line)
	b.WriteByte('\n')
	start := min(pos.Col-1, len(line))
	for _, r := range line[:start] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteByte('^')
	if end.Line == pos.Line && end.Col-1 > start {
		under := []rune(line[start:min(end.Col-1, len(line))])
		for range max(len(under)-1, 0) {
			b.WriteByte('~')
		}
	}
	b.WriteByte('\n')
	return b.String()
}

// TokenEnd finds where the text at pos ends when it is a name ($x, @m,
// pid) or a call (name(...)), so that a message can underline it as
// bpftrace does. It returns the zero Pos for anything else: the tree does not
// record where other expressions end. src is ignored for a position in an
// imported file.
func TokenEnd(src []byte, pos Pos, call bool) Pos {
	return tokenEnd(src, pos, call, false)
}

func tokenEnd(src []byte, pos Pos, call, index bool) Pos {
	line, ok := SourceLine(pos.source(src), pos.Line)
	if !ok || pos.Col < 1 || pos.Col > len(line) {
		return Pos{}
	}
	i := pos.Col - 1
	j := i
	if line[j] == '$' || line[j] == '@' {
		j++
	}
	for j < len(line) && (line[j] == '_' || line[j] >= 'a' && line[j] <= 'z' || line[j] >= 'A' && line[j] <= 'Z' || line[j] >= '0' && line[j] <= '9') {
		j++
	}
	switch word := line[i:j]; word {
	case "", "$", "struct", "union", "enum":
		// Not a name, or the start of a type name that goes on.
		return Pos{}
	}
	switch {
	case call && j < len(line) && line[j] == '(':
		return closing(line, j, '(', ')', pos)
	case index && j < len(line) && line[j] == '[' && line[i] == '@':
		return closing(line, j, '[', ']', pos)
	}
	return Pos{Line: pos.Line, Col: j + 1, File: pos.File}
}

// IndexEnd is TokenEnd for a map element, @m[keys]: the end of its "]".
func IndexEnd(src []byte, pos Pos) Pos {
	return tokenEnd(src, pos, false, true)
}

// closing is the position after the bracket that closes the one at
// line[j], on the line of pos; the zero Pos when the line does not close it.
func closing(line string, j int, open, close byte, pos Pos) Pos {
	depth, inStr := 0, false
	for k := j; k < len(line); k++ {
		switch c := line[k]; {
		case inStr && c == '\\':
			k++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == open:
			depth++
		case c == close:
			depth--
			if depth == 0 {
				return Pos{Line: pos.Line, Col: k + 2, File: pos.File}
			}
		}
	}
	return Pos{}
}

// source is the text p is in: that of its imported file, or else script.
func (p Pos) source(script []byte) []byte {
	if p.File != nil {
		return p.File.Src
	}
	return script
}

// SourceOf is the name and text of the file pos is in.
func (f *File) SourceOf(pos Pos) (name string, src []byte) {
	if pos.File != nil {
		return pos.File.Name, pos.File.Src
	}
	return f.Name, f.Src
}

// SourceLine is line n (from 1) of src without its line ending; false when
// src has fewer lines.
func SourceLine(src []byte, n int) (string, bool) {
	for i := 1; i < n; i++ {
		k := bytes.IndexByte(src, '\n')
		if k < 0 {
			return "", false
		}
		src = src[k+1:]
	}
	if k := bytes.IndexByte(src, '\n'); k >= 0 {
		src = src[:k]
	}
	return string(bytes.TrimRight(src, "\r")), true
}
