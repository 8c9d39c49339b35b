package syntax

import (
	"bytes"
	"errors"
	"testing"
)

func TestFormatError(t *testing.T) {
	src := []byte("BEGIN {\n\t$x = foo;\n}\n")
	tests := []struct {
		pos, end Pos
		want     string
	}{
		{Pos{Line: 2, Col: 7}, Pos{}, "f.bt:2:7: ERROR: bad\n\t$x = foo;\n\t     ^\n"},
		{Pos{Line: 2, Col: 7}, Pos{Line: 2, Col: 10}, "f.bt:2:7-10: ERROR: bad\n\t$x = foo;\n\t     ^~~\n"},
		{Pos{Line: 2, Col: 7}, Pos{Line: 3, Col: 1}, "f.bt:2:7: ERROR: bad\n\t$x = foo;\n\t     ^\n"},
		{Pos{Line: 1, Col: 1}, Pos{Line: 1, Col: 2}, "f.bt:1:1: ERROR: bad\nBEGIN {\n^\n"},
		{Pos{}, Pos{}, "f.bt: ERROR: bad\n"},
		{Pos{Line: 9, Col: 1}, Pos{}, "f.bt:9:1: ERROR: bad\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		FormatRange(&b, "f.bt", src, tt.pos, tt.end, "bad")
		if b.String() != tt.want {
			t.Errorf("FormatRange(%v, %v):\n%q\nwant\n%q", tt.pos, tt.end, b.String(), tt.want)
		}
	}
	var b bytes.Buffer
	FormatError(&b, "f.bt", src, Pos{Line: 2, Col: 7}, "bad")
	if b.String() != tests[0].want {
		t.Errorf("FormatError: %q", b.String())
	}
}

func TestErrorList(t *testing.T) {
	f, err := Parse("x.bt", []byte("BEGIN { $a = ; }\nEND { $b = ) }\nkprobe:f { @c = 1 }"))
	var list *ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse error is %T, want *ErrorList", err)
	}
	want := "x.bt:1:14: ERROR: syntax error, unexpected ;\nx.bt:2:12: ERROR: syntax error, unexpected )"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if f == nil || len(f.Probes) != 3 {
		t.Fatalf("partial file should keep the 3 probes, got %+v", f)
	}
	if list.Errors[0].Pos != (Pos{Line: 1, Col: 14}) || list.Errors[0].End != (Pos{Line: 1, Col: 15}) {
		t.Errorf("first error at %v-%v", list.Errors[0].Pos, list.Errors[0].End)
	}
}

func TestErrorLimit(t *testing.T) {
	var src bytes.Buffer
	src.WriteString("BEGIN {\n")
	for range 100 {
		src.WriteString("$x = ;\n")
	}
	src.WriteString("}\n")
	_, err := Parse("stdin", src.Bytes())
	if n := len(err.(*ErrorList).Errors); n != maxErrors {
		t.Errorf("%d errors reported, want %d", n, maxErrors)
	}
}

func TestDeepNesting(t *testing.T) {
	for _, src := range []string{
		"BEGIN { $x = " + string(bytes.Repeat([]byte("("), 100000)) + " }",
		"BEGIN { $x = " + string(bytes.Repeat([]byte("-"), 100000)) + "1 }",
		"BEGIN " + string(bytes.Repeat([]byte("{ "), 100000)),
		"BEGIN { if (1) " + string(bytes.Repeat([]byte("{ if (1) "), 100000)),
	} {
		_, err := Parse("stdin", []byte(src))
		if err == nil {
			t.Errorf("deeply nested input parsed without error")
		}
	}
}

func TestPositions(t *testing.T) {
	f, err := Parse("stdin", []byte("kprobe:f,\n  uprobe:/bin/sh:main /pid/ {\n\t@x[tid] = 1 + 2;\n}"))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Probes[0]
	as := p.Body.Stmts[0].(*AssignStmt)
	bin := as.RHS.(*Binary)
	got := []Pos{p.Points[0].P, p.Points[1].P, p.Pred.Pos(), as.LHS.Pos(), as.Pos(), bin.X.Pos(), bin.Pos(), bin.Y.Pos()}
	want := []Pos{{Line: 1, Col: 1}, {Line: 2, Col: 3}, {Line: 2, Col: 24}, {Line: 3, Col: 2}, {Line: 3, Col: 10}, {Line: 3, Col: 12}, {Line: 3, Col: 14}, {Line: 3, Col: 16}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("position %d = %v, want %v", i, got[i], want[i])
		}
	}
}
