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
		end = syntax.TokenEnd(s.list.Src, pos, call)
	}
	s.addSpan(pos, end, "%s", msg)
}

// addSpan records an error about the text from pos to end.
func (s *errorSink) addSpan(pos, end syntax.Pos, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	key := fmt.Sprintf("%p:%d:%d:%s", pos.File, pos.Line, pos.Col, msg)
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
