package syntax

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected outputs in testdata")

// A testdata file is a series of cases separated by lines "---". A case is
// a program, then either a line "===" and the expected Fprint output, or a
// line "### error" and the expected error report.
type testCase struct {
	file    string
	line    int
	input   string
	isError bool
	want    string
}

const (
	caseSep  = "\n---\n"
	dumpSep  = "\n===\n"
	errorSep = "\n### error\n"
)

func readCases(t testing.TB, path string) []*testCase {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*testCase
	line := 1
	for _, chunk := range strings.Split(string(data), caseSep) {
		c := &testCase{file: path, line: line}
		line += strings.Count(chunk, "\n") + 2
		if i := strings.Index(chunk, dumpSep); i >= 0 {
			c.input, c.want = chunk[:i], chunk[i+len(dumpSep):]
		} else if i := strings.Index(chunk, errorSep); i >= 0 {
			c.input, c.want, c.isError = chunk[:i], chunk[i+len(errorSep):], true
		} else {
			c.input = strings.TrimSuffix(chunk, "\n")
		}
		c.want = strings.TrimSuffix(c.want, "\n")
		cases = append(cases, c)
	}
	return cases
}

// run parses the input and returns the report and whether it failed.
func (c *testCase) run() (string, bool) {
	f, err := Parse("stdin", []byte(c.input))
	var b bytes.Buffer
	if err != nil {
		err.(*ErrorList).Format(&b)
		return strings.TrimSuffix(b.String(), "\n"), true
	}
	Fprint(&b, f)
	return strings.TrimSuffix(b.String(), "\n"), false
}

func testdataFiles(t testing.TB) []string {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return files
}

func TestParse(t *testing.T) {
	for _, path := range testdataFiles(t) {
		cases := readCases(t, path)
		var out []string
		for _, c := range cases {
			got, failed := c.run()
			if *update {
				sep := dumpSep
				if failed {
					sep = errorSep
				}
				out = append(out, c.input+sep+got)
				continue
			}
			if failed != c.isError || got != c.want {
				t.Errorf("%s:%d: input:\n%s\ngot (error=%v):\n%s\nwant (error=%v):\n%s",
					c.file, c.line, c.input, failed, got, c.isError, c.want)
			}
		}
		if *update {
			if err := os.WriteFile(path, []byte(strings.Join(out, caseSep)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestLayoutInsensitive checks that the tree does not depend on layout:
// extra blank lines, indentation, comments and an #include line give the
// same dump as the original program.
func TestLayoutInsensitive(t *testing.T) {
	for _, path := range testdataFiles(t) {
		for _, c := range readCases(t, path) {
			// Line continuations and verbatim C definitions are layout.
			if c.isError || strings.Contains(c.input, "\\\n") {
				continue
			}
			f1, err := Parse("stdin", []byte(c.input))
			if err != nil {
				t.Fatalf("%s:%d: %v", c.file, c.line, err)
			}
			if len(f1.CDefs) > 0 {
				continue
			}
			spaced := "#!/usr/bin/env bpftrace\n// a comment\n#include <linux/sched.h>\n/* block\n comment */\n" +
				strings.ReplaceAll(c.input, "\n", "\n\n   \t") + "\n"
			f2, err := Parse("stdin", []byte(spaced))
			if err != nil {
				t.Errorf("%s:%d: respaced program fails: %v\n%s", c.file, c.line, err, spaced)
				continue
			}
			var b1, b2 bytes.Buffer
			Fprint(&b1, f1)
			Fprint(&b2, f2)
			if b1.String() != b2.String() {
				t.Errorf("%s:%d: dump differs after respacing:\n%s\nvs\n%s", c.file, c.line, b1.String(), b2.String())
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, path := range testdataFiles(f) {
		for _, c := range readCases(f, path) {
			f.Add(c.input)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse("fuzz", []byte(src))
		if file == nil {
			t.Fatal("Parse returned no file")
		}
		var b bytes.Buffer
		if err != nil {
			err.(*ErrorList).Format(&b)
			return
		}
		Fprint(&b, file)
		checkPositions(t, file)
	})
}

// TestPositionsValid checks that every node of every parsed test program
// has a position, which the checker needs for its error messages.
func TestPositionsValid(t *testing.T) {
	for _, path := range testdataFiles(t) {
		for _, c := range readCases(t, path) {
			if f, err := Parse("stdin", []byte(c.input)); err == nil {
				checkPositions(t, f)
			}
		}
	}
}

var nodeType = reflect.TypeFor[Node]()

// checkPositions walks the tree by reflection so that node types added
// later are covered too.
func checkPositions(t *testing.T, f *File) {
	var walk func(v reflect.Value, where string)
	walk = func(v reflect.Value, where string) {
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer:
			if v.IsNil() {
				return
			}
			if v.Kind() == reflect.Pointer && v.Type().Implements(nodeType) {
				n := v.Interface().(Node)
				if !n.Pos().IsValid() {
					t.Errorf("%s: %T has no position", where, n)
				}
				where = fmt.Sprintf("%T", n)
			}
			walk(v.Elem(), where)
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).Name != "Src" {
					walk(v.Field(i), where)
				}
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), where)
			}
		}
	}
	walk(reflect.ValueOf(f), f.Name)
}
