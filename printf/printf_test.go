package printf

import (
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ format, err string }{
		{"%", "incomplete format specifier"},
		{"abc %-5", "incomplete format specifier"},
		{"%y", "unsupported format specifier: y"},
		{"%ly", "unsupported format specifier: ly"},
		{"%*d", "'*' width is not supported"},
	} {
		_, err := Parse(c.format)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Parse(%q) = %v, want an error with %q", c.format, err, c.err)
		}
	}
}

func TestParse(t *testing.T) {
	f, err := Parse("%-10s %%|%5.2lld %rx %p %c %-4gr")
	if err != nil {
		t.Fatal(err)
	}
	verbs := f.Verbs
	want := []Verb{
		{Start: 0, End: 5, Flags: "-", Width: 10, Prec: -1, Conv: "s", Class: ClassString},
		{Start: 9, End: 16, Width: 5, Prec: 2, Length: "ll", Conv: "d", Class: ClassInt},
		{Start: 17, End: 20, Width: -1, Prec: -1, Conv: "rx", Class: ClassBuffer},
		{Start: 21, End: 23, Width: -1, Prec: -1, Conv: "p", Class: ClassPointer},
		{Start: 24, End: 26, Width: -1, Prec: -1, Conv: "c", Class: ClassInt},
		{Start: 27, End: 32, Flags: "-", Width: 4, Prec: -1, Conv: "gr", Class: ClassInt},
	}
	if len(verbs) != len(want) {
		t.Fatalf("got %d verbs, want %d: %+v", len(verbs), len(want), verbs)
	}
	for i := range want {
		if verbs[i] != want[i] {
			t.Errorf("verb %d = %+v, want %+v", i, verbs[i], want[i])
		}
	}
	if got, want := strings.Join(f.Text, "|"), "| %|| | | | |"; got != want {
		t.Errorf("literal text %q, want %q", got, want)
	}
}
