package usdt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"friday/internal/testenv"
	"friday/uprobe"
)

// builds of prog.c: -O0 keeps arguments in stack slots, -O2 in registers
// and rip-relative globals; without PIE the file offsets differ from the
// addresses.
var builds = []struct {
	name  string
	flags []string
}{
	{"O0-pie", []string{"-O0", "-fPIE", "-pie"}},
	{"O2-pie", []string{"-O2", "-fPIE", "-pie"}},
	{"O2-nopie", []string{"-O2", "-fno-PIE", "-no-pie"}},
}

// buildProg compiles testdata/prog.c and guarded.c; sys/sdt.h comes from
// SystemTap's SDT development package.
func buildProg(t *testing.T, flags ...string) string {
	t.Helper()
	testenv.Tool(t, "gcc")
	path := filepath.Join(t.TempDir(), "prog")
	args := append([]string{"-g0", "-o", path, "testdata/prog.c", "testdata/guarded.c"}, flags...)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("sys/sdt.h")) {
			testenv.Unavailable(t, "sys/sdt.h is not installed (systemtap-sdt-dev)")
		}
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return path
}

type readelfNote struct {
	provider, name, args  string
	location, base, semap uint64
}

// readelfNotes is binutils' reading of the SDT notes.
func readelfNotes(t *testing.T, path string) []readelfNote {
	t.Helper()
	testenv.Tool(t, "readelf")
	out, err := exec.Command("readelf", "-n", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	hex := func(s string) uint64 {
		v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
		if err != nil {
			t.Fatalf("readelf number %q: %v", s, err)
		}
		return v
	}
	loc := regexp.MustCompile(`Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)`)
	var notes []readelfNote
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Provider: "):
			notes = append(notes, readelfNote{provider: strings.TrimPrefix(line, "Provider: ")})
		case strings.HasPrefix(line, "Name: ") && len(notes) > 0:
			notes[len(notes)-1].name = strings.TrimPrefix(line, "Name: ")
		case strings.HasPrefix(line, "Arguments:") && len(notes) > 0:
			notes[len(notes)-1].args = strings.TrimSpace(strings.TrimPrefix(line, "Arguments:"))
		case loc.MatchString(line) && len(notes) > 0:
			m := loc.FindStringSubmatch(line)
			n := &notes[len(notes)-1]
			n.location, n.base, n.semap = hex(m[1]), hex(m[2]), hex(m[3])
		}
	}
	return notes
}

var wantProbes = []string{"pair", "constant", "global", "small", "indexed", "table", "guarded"}

func TestNotesAgreeWithReadelf(t *testing.T) {
	for _, bld := range builds {
		t.Run(bld.name, func(t *testing.T) {
			path := buildProg(t, bld.flags...)
			want := readelfNotes(t, path)
			got, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || len(got) != len(wantProbes) {
				t.Fatalf("%d probes, readelf shows %d, the program has %d", len(got), len(want), len(wantProbes))
			}
			b, err := uprobe.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for i, p := range got {
				w := want[i]
				if p.Path != path || p.Provider != w.provider || p.Name != w.name || p.PC != w.location ||
					p.Base != w.base || p.Semaphore != w.semap || p.ArgsText != w.args {
					t.Errorf("probe %d: %+v\nreadelf: %+v", i, p, w)
				}
				if p.Provider != "friday" || p.Name != wantProbes[i] {
					t.Errorf("probe %d is %s:%s, want friday:%s", i, p.Provider, p.Name, wantProbes[i])
				}
				if p.ArgsErr != nil || len(p.Args) != len(strings.Fields(w.args)) {
					t.Errorf("%s: args %+v, error %v", p.Name, p.Args, p.ArgsErr)
				}
				if (p.Semaphore != 0) != (p.Name == "guarded") {
					t.Errorf("%s: semaphore 0x%x", p.Name, p.Semaphore)
				}
				off, err := b.AddrToOffset(p.PC)
				if err != nil || off != p.Offset {
					t.Errorf("%s: offset 0x%x, want 0x%x (%v)", p.Name, p.Offset, off, err)
				}
			}
		})
	}
}

// A prelinked file's sections moved after the notes were written: the
// note's base no longer matches .stapsdt.base, and every address moves by
// the difference.
func TestPrelinkAdjust(t *testing.T) {
	path := buildProg(t, "-O2")
	orig, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// Moved down, so that the last probe stays inside its segment.
	down := uint64(0x10)
	shift := -down
	// Section header i's address field: e_shoff + i*e_shentsize + 16.
	shoff := binary.LittleEndian.Uint64(data[0x28:])
	shentsize := uint64(binary.LittleEndian.Uint16(data[0x3a:]))
	moved := false
	for i, s := range f.Sections {
		if s.Name == ".stapsdt.base" {
			at := shoff + uint64(i)*shentsize + 16
			binary.LittleEndian.PutUint64(data[at:], s.Addr+shift)
			moved = true
		}
	}
	if !moved {
		t.Fatal("no .stapsdt.base section")
	}
	patched := filepath.Join(t.TempDir(), "prelinked")
	if err := os.WriteFile(patched, data, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Read(patched)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range got {
		o := orig[i]
		wantSem := o.Semaphore
		if wantSem != 0 {
			wantSem += shift
		}
		if p.PC != o.PC+shift || p.Offset != o.Offset+shift || p.Semaphore != wantSem || p.Base != o.Base {
			t.Errorf("%s: pc 0x%x offset 0x%x sem 0x%x, want pc 0x%x offset 0x%x sem 0x%x",
				p.Name, p.PC, p.Offset, p.Semaphore, o.PC+shift, o.Offset+shift, wantSem)
		}
	}
}

func TestFindAndList(t *testing.T) {
	path := buildProg(t, "-O2")
	lines, err := List(path, "friday", "*", 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range []string{"constant", "global", "guarded", "indexed", "pair", "small", "table"} {
		want = append(want, "usdt:"+path+":friday:"+n)
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("List:\n got %q\nwant %q", lines, want)
	}
	for _, c := range []struct {
		provider, name string
		want           []string
	}{
		{"", "", wantProbes},
		{"fri*", "g*", []string{"global", "guarded"}},
		{"*", "*a*", []string{"pair", "constant", "global", "small", "table", "guarded"}},
		{"friday", "pair", []string{"pair"}},
		{"other", "pair", nil},
		{"friday", "nosuch", nil},
	} {
		probes, err := Find(path, c.provider, c.name, 0)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range probes {
			names = append(names, p.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(c.want) {
			t.Errorf("Find(%q, %q) = %v, want %v", c.provider, c.name, names, c.want)
		}
	}

	// With a process and no path, the files it maps are searched.
	cmd := exec.Command(path, "0", "wait")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	var probes []Probe
	for i := 0; i < 500 && len(probes) == 0; i++ {
		probes, err = Find("", "friday", "pair", cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(probes) != 1 || probes[0].Path != path {
		t.Errorf("Find in process: %+v", probes)
	}

	if _, err := Find("/nonexistent", "a", "b", 0); err == nil || !strings.Contains(err.Error(), "/nonexistent: no such file") {
		t.Errorf("missing file: %v", err)
	}
	noNotes, err := Read("/proc/self/exe")
	if err != nil || len(noNotes) != 0 {
		t.Errorf("file without notes: %v, %v", noNotes, err)
	}
}
