package check

import (
	"fmt"
	"sort"

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
	msg := fmt.Sprintf(format, args...)
	key := fmt.Sprintf("%d:%d:%s", pos.Line, pos.Col, msg)
	if s.seen[key] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[key] = true
	s.list.Errors = append(s.list.Errors, &syntax.Error{Pos: pos, Msg: msg})
}

func (s *errorSink) err() error {
	if len(s.list.Errors) == 0 {
		return nil
	}
	errs := s.list.Errors
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].Pos, errs[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	if len(errs) > maxErrors {
		s.list.Errors = errs[:maxErrors]
	}
	l := s.list
	return &l
}
