package probe

import (
	"os"
	"strings"
	"testing"
)

// testCase is one case of a chunked test data file: a line "> input" (or
// ">FLAG input"), then the expected output lines up to the next case.
// Lines starting with '#' are comments.
type testCase struct {
	line  int
	flag  string
	input string
	want  []string
}

func readCases(t *testing.T, path string) []testCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	for i, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, ">"):
			flag, input, _ := strings.Cut(l[1:], " ")
			cases = append(cases, testCase{line: i + 1, flag: flag, input: input})
		case len(cases) == 0:
			if strings.TrimSpace(l) != "" {
				t.Fatalf("%s:%d: text before the first case", path, i+1)
			}
		case l != "":
			c := &cases[len(cases)-1]
			c.want = append(c.want, l)
		}
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return cases
}

// checkLines reports the difference between got and want line by line.
func checkLines(t *testing.T, where string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return
	}
	t.Errorf("%s:\n got:\n\t%s\nwant:\n\t%s", where, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
}

// testResolver reads testdata/tracefs and the BTF of btf_test.go, on a
// kernel without kprobes whatever the machine has.
func testResolver() *resolver {
	r := &resolver{Resolver: newResolver(func() (string, error) { return "testdata/tracefs", nil }, testBTF)}
	r.kernel.kprobes = func() error { return errNoKprobes }
	return r
}
