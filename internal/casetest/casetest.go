// Package casetest runs tests written as data: txtar archives in which
// each NAME.in file is an input and NAME.want what the test makes of it.
package casetest

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// Run calls f on every NAME.in of the archives pattern matches, as a
// subtest, and fails it when the result differs from NAME.want.
func Run(t *testing.T, pattern string, f func(in string) string) {
	t.Helper()
	files, _ := filepath.Glob(pattern)
	if len(files) == 0 {
		t.Fatalf("no test data matches %s", pattern)
	}
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, f := range ar.Files {
			if name, ok := strings.CutSuffix(f.Name, ".want"); ok {
				want[name] = string(f.Data)
			}
		}
		for _, af := range ar.Files {
			name, ok := strings.CutSuffix(af.Name, ".in")
			if !ok {
				continue
			}
			t.Run(filepath.Base(file)+"/"+name, func(t *testing.T) {
				w, ok := want[name]
				if !ok {
					t.Fatalf("no %s.want", name)
				}
				if got := f(string(af.Data)); got != w {
					t.Errorf("got:\n%s\nwant:\n%s", got, w)
				}
			})
		}
	}
}
