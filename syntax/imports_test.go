package syntax

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles creates files (name → text) under a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestResolveImports(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		script string
		probes string // the probes' first attach points, in order
		funcs  string
		err    string // the formatted error, when the imports fail
	}{{
		name: "files importing each other are read once",
		files: map[string]string{
			"a.bt": "import \"b.bt\"; fn fa(): int64 { return 1; } tracepoint:a:a { }",
			"b.bt": "import \"a.bt\"; fn fb(): int64 { return 2; } tracepoint:b:b { }",
		},
		script: `import "a.bt"; BEGIN { }`,
		probes: "tracepoint:b:b tracepoint:a:a BEGIN",
		funcs:  "fa fb",
	}, {
		name: "a directory's files in name order, relative to the importing file",
		files: map[string]string{
			"dir/z.bt":         "fn fz(): int64 { return 1; }",
			"dir/m.bt":         `import "sub/inner.bt"; fn fm(): int64 { return 2; }`,
			"dir/sub/inner.bt": "fn fi(): int64 { return 3; }",
			"dir/notes.txt":    "not a script",
		},
		script: `import "dir"; BEGIN { }`,
		probes: "BEGIN",
		funcs:  "fm fi fz",
	}, {
		name: "the standard library's modules, unless a file of the name is there",
		files: map[string]string{
			"stdlib/strings.bt": "fn mine(): int64 { return 1; }",
		},
		script: `import "stdlib"; import "stdlib/base.bt"; import "stdlib/strings.bt"; BEGIN { }`,
		probes: "BEGIN",
		funcs:  "mine",
	}, {
		name:   "a module the standard library does not have",
		script: `import "stdlib/nosuch.bt";`,
		err:    "stdin:1:1: ERROR: Cannot import \"stdlib/nosuch.bt\": no such file or directory\nimport \"stdlib/nosuch.bt\";\n^\n",
	}, {
		name:   "a directory without scripts",
		files:  map[string]string{"empty/notes.txt": "x"},
		script: "BEGIN { }\nimport \"empty\";",
		err:    "stdin:2:1: ERROR: Cannot import \"empty\": the directory has no .bt files\nimport \"empty\";\n^\n",
	}, {
		name:   "a syntax error in a nested import",
		files:  map[string]string{"outer.bt": `import "inner.bt";`, "inner.bt": "BEGIN { $x = ; }"},
		script: `import "outer.bt";`,
		err:    "{dir}/inner.bt:1:14: ERROR: syntax error, unexpected ;\nBEGIN { $x = ; }\n             ^\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			f, err := Parse("stdin", []byte(tt.script))
			if err != nil {
				t.Fatal(err)
			}
			err = ResolveImports(f, dir)
			if tt.err != "" {
				var b bytes.Buffer
				if list, ok := err.(*ErrorList); ok {
					list.Format(&b)
				}
				if want := strings.ReplaceAll(tt.err, "{dir}", dir); b.String() != want {
					t.Errorf("error %v, formatted:\n%s\nwant:\n%s", err, b.String(), want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var probes, funcs []string
			for _, p := range f.Probes {
				probes = append(probes, p.Points[0].Raw)
			}
			for _, fd := range f.Funcs {
				funcs = append(funcs, fd.Name)
			}
			if got := strings.Join(probes, " "); got != tt.probes {
				t.Errorf("probes %q, want %q", got, tt.probes)
			}
			if got := strings.Join(funcs, " "); got != tt.funcs {
				t.Errorf("functions %q, want %q", got, tt.funcs)
			}
		})
	}
}
