package elfdebug

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"friday/internal/testenv"
)

// binaries compiles testdata/prog.c with the given flags and keeps its
// symbols only in a separate debug file: it returns the stripped program
// and that file.
func binaries(t *testing.T, flags ...string) (stripped, debug string) {
	t.Helper()
	gcc := testenv.Tool(t, "gcc")
	objcopy := testenv.Tool(t, "objcopy")
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	testenv.Run(t, gcc, append([]string{"-O1", "-g", "-o", full, "testdata/prog.c"}, flags...)...)
	stripped, debug = filepath.Join(dir, "prog"), filepath.Join(dir, "prog.debug")
	testenv.Run(t, objcopy, "--only-keep-debug", full, debug)
	testenv.Run(t, objcopy, "--strip-all", full, stripped)
	return stripped, debug
}

func open(t *testing.T, path string) *elf.File {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// hidden returns the address of the static function in the symbols of f
// with its separate debug file, 0 when they do not name it.
func hidden(t *testing.T, f, dbg *elf.File) uint64 {
	t.Helper()
	syms, err := Symbols(f, dbg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == "hidden_step" && IsFunc(s) {
			return s.Value
		}
	}
	return 0
}

func TestBuildIDAgreesWithReadelf(t *testing.T) {
	stripped, debug := binaries(t, "-Wl,--build-id")
	want := regexp.MustCompile(`Build ID: ([0-9a-f]+)`).FindStringSubmatch(testenv.Run(t, testenv.Tool(t, "readelf"), "-n", stripped))
	if want == nil {
		t.Fatal("readelf shows no build ID")
	}
	for _, p := range []string{stripped, debug} {
		if id := BuildID(open(t, p)); id != want[1] {
			t.Errorf("%s: build ID %q, readelf says %q", filepath.Base(p), id, want[1])
		}
	}
	none, _ := binaries(t, "-Wl,--build-id=none")
	if id := BuildID(open(t, none)); id != "" {
		t.Errorf("file linked without a build ID: %q", id)
	}
}

// A stripped file's static functions come back from its separate debug
// file, found by build ID or by debug link; a file that is not the right
// one is never used.
func TestOpenSeparate(t *testing.T) {
	objcopy := testenv.Tool(t, "objcopy")
	for _, c := range []struct {
		name  string
		flags []string
		setup func(t *testing.T, root, stripped, debug string)
		found bool
	}{
		{name: "none", flags: []string{"-Wl,--build-id"}},
		{name: "build-id", flags: []string{"-Wl,--build-id"}, found: true,
			setup: func(t *testing.T, root, stripped, debug string) {
				p := buildIDPath(root, BuildID(open(t, stripped)))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(debug, p); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "debuglink", flags: []string{"-Wl,--build-id"}, found: true,
			setup: func(t *testing.T, root, stripped, debug string) {
				testenv.Run(t, objcopy, "--add-gnu-debuglink="+debug, stripped)
			}},
		{name: "debuglink-in-.debug", flags: []string{"-Wl,--build-id"}, found: true,
			setup: func(t *testing.T, root, stripped, debug string) {
				testenv.Run(t, objcopy, "--add-gnu-debuglink="+debug, stripped)
				sub := filepath.Join(filepath.Dir(debug), ".debug")
				if err := os.Mkdir(sub, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(debug, filepath.Join(sub, filepath.Base(debug))); err != nil {
					t.Fatal(err)
				}
			}},
		// Without build IDs only the link's checksum tells the files apart.
		{name: "debuglink-crc", flags: []string{"-Wl,--build-id=none"}, found: true,
			setup: func(t *testing.T, root, stripped, debug string) {
				testenv.Run(t, objcopy, "--add-gnu-debuglink="+debug, stripped)
			}},
		{name: "debuglink-crc-mismatch", flags: []string{"-Wl,--build-id=none"},
			setup: func(t *testing.T, root, stripped, debug string) {
				testenv.Run(t, objcopy, "--add-gnu-debuglink="+debug, stripped)
				other, _ := binaries(t, "-Wl,--build-id=none", "-DOTHER")
				testenv.Run(t, objcopy, "--only-keep-debug", other, debug)
			}},
		{name: "debuglink-not-elf", flags: []string{"-Wl,--build-id"},
			setup: func(t *testing.T, root, stripped, debug string) {
				testenv.Run(t, objcopy, "--add-gnu-debuglink="+debug, stripped)
				if err := os.WriteFile(debug, []byte("not the debug file"), 0o644); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "build-id-mismatch", flags: []string{"-Wl,--build-id"},
			setup: func(t *testing.T, root, stripped, debug string) {
				other, _ := binaries(t, "-Wl,--build-id", "-DOTHER")
				p := buildIDPath(root, BuildID(open(t, stripped)))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				testenv.Run(t, objcopy, "--only-keep-debug", other, p)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// An empty debug directory of its own: what the host has
			// installed plays no part.
			root := t.TempDir()
			stripped, debug := binaries(t, c.flags...)
			want := hidden(t, open(t, debug), nil)
			if want == 0 {
				t.Fatal("the debug file does not name hidden_step")
			}
			if c.setup != nil {
				c.setup(t, root, stripped, debug)
			}
			f := open(t, stripped)
			if f.Section(".symtab") != nil {
				t.Fatal("the stripped file still has .symtab")
			}
			dbg := openSeparate(root, f, stripped)
			if dbg != nil {
				defer dbg.Close()
			}
			if got := hidden(t, f, dbg); got != want && c.found {
				t.Errorf("static function at 0x%x, want 0x%x (debug file found: %v)", got, want, dbg != nil)
			} else if !c.found && dbg != nil {
				t.Errorf("a debug file that does not belong was used (hidden_step at 0x%x)", got)
			}
		})
	}
}

// Notes come from files anyone can write: no bytes may crash the parser,
// and what it returns must lie inside the data.
func FuzzParseNotes(f *testing.F) {
	gnu := []byte{4, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0, 0xab, 0xcd, 0xef}
	f.Add(gnu, uint64(4))
	f.Add(gnu[:14], uint64(4))
	f.Add(append(gnu, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0), uint64(8))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, uint64(1<<63))
	f.Fuzz(func(t *testing.T, data []byte, align uint64) {
		notes, _ := parseNotes(data, binary.LittleEndian, align)
		total := 0
		for _, n := range notes {
			total += len(n.Name) + len(n.Desc)
		}
		if total > len(data) {
			t.Errorf("notes hold %d bytes of %d", total, len(data))
		}
	})
}

func TestParseNotes(t *testing.T) {
	data := []byte{4, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0, 0xab, 0xcd, 0xef, 0}
	notes, err := parseNotes(data, binary.LittleEndian, 4)
	if err != nil || len(notes) != 1 || notes[0].Name != "GNU" || notes[0].Type != 3 || string(notes[0].Desc) != "\xab\xcd\xef" {
		t.Errorf("parseNotes = %+v, %v", notes, err)
	}
	if id := gnuBuildID(notes); id != "abcdef" {
		t.Errorf("build ID %q", id)
	}
	if _, err := parseNotes(data[:17], binary.LittleEndian, 4); err == nil {
		t.Error("a note cut inside its descriptor was accepted")
	}
}

// TestFuncSymbols reads functions straight from the tables, as Symbols
// and IsFunc find them, from a program's own tables (its functions
// exported, so that .dynsym lists them), its separate debug file's, and
// both.
func TestFuncSymbols(t *testing.T) {
	stripped, debug := binaries(t, "-rdynamic")
	f, dbg := open(t, stripped), open(t, debug)
	for _, c := range []struct {
		name   string
		f, dbg *elf.File
	}{{"stripped", f, nil}, {"debug file", dbg, nil}, {"with debug file", f, dbg}} {
		syms, err := Symbols(c.f, c.dbg)
		if err != nil {
			t.Fatal(err)
		}
		type fn struct {
			name        string
			value, size uint64
			bind        elf.SymBind
		}
		var want []fn
		for _, s := range syms {
			if IsFunc(s) {
				want = append(want, fn{s.Name, s.Value, s.Size, elf.ST_BIND(s.Info)})
			}
		}
		table, err := FuncSymbols(c.f, c.dbg)
		if err != nil {
			t.Fatal(err)
		}
		var got []fn
		for _, s := range table.Syms {
			got = append(got, fn{string(table.Name(s)), s.Value, s.Size, s.Bind})
		}
		if len(want) < 2 || !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", c.name, got, want)
		}
	}
}
