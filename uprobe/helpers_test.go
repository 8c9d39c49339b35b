package uprobe

import (
	"bufio"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"friday/internal/testenv"
)

// buildC compiles testdata/<src>, C or C++, into a program in a temporary
// directory.
func buildC(t *testing.T, src, out string, flags ...string) string {
	t.Helper()
	cc := "gcc"
	if strings.HasSuffix(src, ".cpp") {
		cc = "g++"
	}
	testenv.Tool(t, cc)
	path := filepath.Join(t.TempDir(), out)
	args := append([]string{"-O1", "-g0", "-o", path, filepath.Join("testdata", src)}, flags...)
	testenv.Run(t, cc, args...)
	return path
}

// buildGo builds the Go program in testdata/<dir>.
func buildGo(t *testing.T, dir, out string, flags ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), out)
	testenv.GoBuild(t, "./testdata/"+dir, path, flags...)
	return path
}

// openBinary opens the file at path for the rest of the test.
func openBinary(t *testing.T, path string) *Binary {
	t.Helper()
	b, err := Open(path)
	must(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type section struct {
	name            string
	addr, off, size uint64
}

// readelfView is what binutils says about a file: function symbols and
// section headers. Tests compare against it because it reaches file
// offsets through sections, not segments as the package does.
type readelfView struct {
	funcs    map[string][]uint64 // name → addresses
	sections []section
}

func readelf(t *testing.T, path string) readelfView {
	t.Helper()
	testenv.Tool(t, "readelf")
	v := readelfView{funcs: map[string][]uint64{}}
	sc := bufio.NewScanner(strings.NewReader(testenv.Run(t, "readelf", "-sW", path)))
	for sc.Scan() {
		// Num: Value Size Type Bind Vis Ndx Name
		f := strings.Fields(sc.Text())
		if len(f) < 8 || (f[3] != "FUNC" && f[3] != "IFUNC") || f[6] == "UND" {
			continue
		}
		addr, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil || addr == 0 {
			continue
		}
		name, _, _ := strings.Cut(f[7], "@")
		if !contains(v.funcs[name], addr) {
			v.funcs[name] = append(v.funcs[name], addr)
		}
	}
	sc = bufio.NewScanner(strings.NewReader(testenv.Run(t, "readelf", "-SW", path)))
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "]")
		if !strings.HasPrefix(strings.TrimSpace(line), "[") || i < 0 {
			continue
		}
		// Name Type Address Off Size ...
		f := strings.Fields(line[i+1:])
		if len(f) < 5 {
			continue
		}
		addr, err1 := strconv.ParseUint(f[2], 16, 64)
		off, err2 := strconv.ParseUint(f[3], 16, 64)
		size, err3 := strconv.ParseUint(f[4], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil || addr == 0 || f[1] == "NOBITS" {
			continue
		}
		v.sections = append(v.sections, section{f[0], addr, off, size})
	}
	if len(v.sections) == 0 {
		t.Fatalf("no sections parsed from readelf -SW %s", path)
	}
	return v
}

func contains(s []uint64, x uint64) bool {
	for _, y := range s {
		if x == y {
			return true
		}
	}
	return false
}

func (v readelfView) offset(t *testing.T, addr uint64) uint64 {
	t.Helper()
	for _, s := range v.sections {
		if addr >= s.addr && addr < s.addr+s.size {
			return addr - s.addr + s.off
		}
	}
	t.Fatalf("address 0x%x is in no section", addr)
	return 0
}

type insn struct {
	addr uint64
	text string
}

// objdumpFunc disassembles one function with binutils.
func objdumpFunc(t *testing.T, path, fn string) []insn {
	t.Helper()
	testenv.Tool(t, "objdump")
	out := testenv.Run(t, "objdump", "-d", "--no-show-raw-insn", "--disassemble="+fn, path)
	var insns []insn
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasSuffix(line, "<"+fn+">:") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.TrimSpace(line) == "" {
			break
		}
		a, text, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		addr, err := strconv.ParseUint(a, 16, 64)
		if err != nil {
			continue
		}
		insns = append(insns, insn{addr, strings.TrimSpace(text)})
	}
	if len(insns) == 0 {
		t.Fatalf("objdump found no instructions of %s in %s", fn, path)
	}
	return insns
}
