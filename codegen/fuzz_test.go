package codegen

import (
	"strings"
	"testing"

	"friday/check"
	"friday/syntax"
)

// FuzzGenerate feeds scripts the checker accepts to the code generator,
// which must compile them or refuse them with an error, never fail
// internally. Seeds are the scripts of the load and run tests.
func FuzzGenerate(f *testing.F) {
	for _, file := range []string{"testdata/load.txt", "testdata/run.txt"} {
		for _, c := range readCases(f, file) {
			f.Add(c.script)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := syntax.Parse("fuzz.bt", []byte(src))
		if err != nil {
			return
		}
		p, err := check.Check(file, check.Options{})
		if err != nil {
			return
		}
		if _, err := Generate(p, Options{Kernel: kernel}); err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("%q: %v", src, err)
		}
	})
}
