package check

import (
	"fmt"
	"slices"
	"strings"

	"friday/syntax"
)

// maxErrors bounds the list: past it, later errors are mostly consequences.
const maxErrors = 20

// errorSink collects errors as a syntax.ErrorList, so that checker errors
// print exactly like parse errors.
type errorSink struct {
	list syntax.ErrorList
	seen map[string]bool
}

// tokenEnd finds where the text at pos ends when it is a name ($x, @m,
// pid) or a call (name(...)), so the error can underline it as bpftrace
// does. It returns the zero Pos for anything else: the tree does not
// record where other expressions end.
func tokenEnd(src []byte, pos syntax.Pos, call bool) syntax.Pos {
	line, ok := syntax.SourceLine(src, pos.Line)
	if !ok || pos.Col < 1 || pos.Col > len(line) {
		return syntax.Pos{}
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
		return syntax.Pos{}
	}
	if call && j < len(line) && line[j] == '(' {
		depth, inStr := 0, false
		for k := j; k < len(line); k++ {
			switch c := line[k]; {
			case inStr && c == '\\':
				k++
			case c == '"':
				inStr = !inStr
			case inStr:
			case c == '(':
				depth++
			case c == ')':
				depth--
				if depth == 0 {
					return syntax.Pos{Line: pos.Line, Col: k + 2}
				}
			}
		}
		return syntax.Pos{}
	}
	return syntax.Pos{Line: pos.Line, Col: j + 1}
}

func (s *errorSink) add(pos syntax.Pos, format string, args ...any) {
	s.addRange(pos, true, format, args...)
}

// addRange records an error; underline says whether the name or call at
// pos may be underlined (not when the error is about a larger expression
// that merely starts there).
func (s *errorSink) addRange(pos syntax.Pos, underline bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	// A call is underlined whole, except when its name is what is wrong.
	call := !strings.HasPrefix(msg, "Unknown function")
	var end syntax.Pos
	if underline {
		end = tokenEnd(s.list.Src, pos, call)
	}
	s.addSpan(pos, end, "%s", msg)
}

// addSpan records an error about the text from pos to end.
func (s *errorSink) addSpan(pos, end syntax.Pos, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	key := fmt.Sprintf("%d:%d:%s", pos.Line, pos.Col, msg)
	if s.seen[key] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[key] = true
	s.list.Errors = append(s.list.Errors, &syntax.Error{Pos: pos, End: end, Msg: msg})
}

func (s *errorSink) err() error {
	if len(s.list.Errors) == 0 {
		return nil
	}
	errs := s.list.Errors
	slices.SortStableFunc(errs, func(a, b *syntax.Error) int { return a.Pos.Compare(b.Pos) })
	if len(errs) > maxErrors {
		s.list.Errors = errs[:maxErrors]
	}
	l := s.list
	return &l
}
