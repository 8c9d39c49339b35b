package uprobe

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"friday/internal/testenv"
)

// builds of prog.c: the offsets differ from the addresses only without PIE.
var cBuilds = []struct {
	name  string
	flags []string
}{
	{"pie", []string{"-fPIE", "-pie"}},
	{"nopie", []string{"-fno-PIE", "-no-pie"}},
}

func TestFuncOffsetsAgreeWithReadelf(t *testing.T) {
	for _, bld := range cBuilds {
		t.Run(bld.name, func(t *testing.T) {
			path := buildC(t, "prog.c", "prog", bld.flags...)
			want := readelf(t, path)
			b := openBinary(t, path)
			funcs, err := b.Funcs()
			must(t, err)
			got := map[string][]uint64{}
			for _, f := range funcs {
				got[f.Name] = append(got[f.Name], f.Addr)
				if wantOff := want.offset(t, f.Addr); f.Offset != wantOff {
					t.Errorf("%s at 0x%x: offset 0x%x, readelf says 0x%x", f.Name, f.Addr, f.Offset, wantOff)
				}
			}
			if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(sortedKeys(want.funcs)) {
				t.Errorf("functions:\n got %v\nwant %v", sortedKeys(got), sortedKeys(want.funcs))
			}
			if bld.name == "nopie" {
				f, err := b.Lookup("probe_a")
				must(t, err)
				if f.Addr == f.Offset {
					t.Errorf("non-PIE probe_a: address and offset both 0x%x, the conversion was not exercised", f.Addr)
				}
			}
		})
	}
}

func sortedKeys(m map[string][]uint64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Each file of cases resolves attach points in one test program.
var locateCases = []struct{ cases, src string }{
	{"locate.txt", "prog.c"},
	{"locate_cxx.txt", "prog.cpp"},
}

func TestLocateCases(t *testing.T) {
	for _, lc := range locateCases {
		data, err := os.ReadFile(filepath.Join("testdata", lc.cases))
		must(t, err)
		for _, bld := range cBuilds {
			t.Run(lc.cases+"/"+bld.name, func(t *testing.T) {
				path := buildC(t, lc.src, "prog", bld.flags...)
				ref := readelf(t, path)
				b := openBinary(t, path)
				// Each case is resolved again through one cache: its
				// table, read once, must give the same answers.
				cache := &Cache{}
				var spec string
				n := 0
				sc := bufio.NewScanner(strings.NewReader(string(data)))
				for line := 1; sc.Scan(); line++ {
					text := sc.Text()
					if text == "" || strings.HasPrefix(text, "#") {
						continue
					}
					want, isWant := strings.CutPrefix(text, "=> ")
					if !isWant {
						spec = text
						continue
					}
					n++
					checkLocateCase(t, line, b, ref, spec, want)
					checkCached(t, line, b, cache, spec)
				}
				if n == 0 {
					t.Fatalf("no cases in %s", lc.cases)
				}
				if len(cache.byFile) != 1 {
					t.Errorf("%d function tables cached for one binary", len(cache.byFile))
				}
			})
		}
	}
}

func checkLocateCase(t *testing.T, line int, b *Binary, ref readelfView, spec, want string) {
	t.Helper()
	kind, fn, _ := strings.Cut(spec, " ")
	opts := Options{Return: kind == "uretprobe", Unsafe: kind == "uprobe-unsafe"}
	locs, err := b.Locate(fn, opts)
	if wantErr, ok := strings.CutPrefix(want, "error: "); ok {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("line %d: %s: error %v, want one containing %q", line, spec, err, wantErr)
		}
		return
	}
	if err != nil {
		t.Errorf("line %d: %s: %v", line, spec, err)
		return
	}
	var names []string
	for _, l := range locs {
		names = append(names, l.Func)
		addrs := ref.funcs[l.Func]
		if len(addrs) != 1 || addrs[0] != l.Addr {
			t.Errorf("line %d: %s: %s at 0x%x, readelf says %x", line, spec, l.Func, l.Addr, addrs)
		}
		if off := ref.offset(t, l.Addr); l.Offset != off {
			t.Errorf("line %d: %s: %s offset 0x%x, readelf says 0x%x", line, spec, l.Func, l.Offset, off)
		}
		if l.Return != opts.Return || l.Path != b.Path {
			t.Errorf("line %d: %s: location %+v", line, spec, l)
		}
	}
	if got := strings.Join(names, " "); got != want {
		t.Errorf("line %d: %s: functions %q, want %q", line, spec, got, want)
	}
}

// checkCached resolves spec in b's file through cache, as probes do, and
// in a fresh copy of b (where an exported name is found without the whole
// table), and compares the answers with that of a copy that read its
// whole table first.
func checkCached(t *testing.T, line int, b *Binary, cache *Cache, spec string) {
	t.Helper()
	kind, fn, _ := strings.Cut(spec, " ")
	opts := Options{Return: kind == "uretprobe", Unsafe: kind == "uprobe-unsafe"}
	full := openBinary(t, b.Path)
	_, err := full.Funcs()
	must(t, err)
	want, wantErr := full.Locate(fn, opts)
	got, err := openBinary(t, b.Path).Locate(fn, opts)
	if (err == nil) != (wantErr == nil) || err == nil && !slices.Equal(got, want) {
		t.Errorf("line %d: %s: fresh %v, %v; with the whole table %v, %v", line, spec, got, err, want, wantErr)
	}
	opts.Cache = cache
	got, err = Resolve(b.Path, fn, opts)
	if (err == nil) != (wantErr == nil) || err == nil && !slices.Equal(got, want) {
		t.Errorf("line %d: %s: through the cache %v, %v; with the whole table %v, %v", line, spec, got, err, want, wantErr)
	}
}

// An offset into a function is accepted exactly at the instruction
// boundaries objdump shows.
func TestOffsetBoundaries(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("instruction boundaries are checked by decoding x86-64 only")
	}
	for _, bld := range cBuilds {
		t.Run(bld.name, func(t *testing.T) {
			path := buildC(t, "prog.c", "prog", bld.flags...)
			b := openBinary(t, path)
			fn := "main" // the longest function, with instructions of many lengths
			f, err := b.Lookup(fn)
			must(t, err)
			starts := map[uint64]bool{}
			for _, in := range objdumpFunc(t, path, fn) {
				starts[in.addr-f.Addr] = true
			}
			if len(starts) < 5 {
				t.Fatalf("only %d instructions in %s", len(starts), fn)
			}
			for off := uint64(1); off < f.Size; off++ {
				locs, err := b.Locate(fmt.Sprintf("%s+%d", fn, off), Options{})
				if starts[off] {
					if err != nil {
						t.Errorf("+%d starts an instruction: %v", off, err)
						continue
					}
					if len(locs) != 1 || locs[0].Addr != f.Addr+off || locs[0].Offset != f.Offset+off || locs[0].Spec != fmt.Sprintf("%s+%d", fn, off) {
						t.Errorf("+%d: %+v", off, locs)
					}
				} else if err == nil || !strings.Contains(err.Error(), "not at an instruction boundary") {
					t.Errorf("+%d is inside an instruction, got %v", off, err)
				}
			}
			// Unsafe takes any offset inside the function.
			if _, err := b.Locate(fn+"+1", Options{Unsafe: true}); err != nil {
				t.Errorf("unsafe +1: %v", err)
			}
		})
	}
}

func TestRawAddress(t *testing.T) {
	path := buildC(t, "prog.c", "prog", "-no-pie")
	ref := readelf(t, path)
	b := openBinary(t, path)
	addr := ref.funcs["probe_a"][0]
	locs, err := b.Locate(fmt.Sprintf("0x%x", addr), Options{})
	must(t, err)
	want := Location{Path: path, Func: "probe_a", Spec: fmt.Sprintf("0x%x", addr), Addr: addr, Offset: ref.offset(t, addr)}
	if len(locs) != 1 || locs[0] != want {
		t.Errorf("got %+v, want %+v", locs, want)
	}
	// Decimal works too.
	if locs, err := b.Locate(fmt.Sprint(addr), Options{}); err != nil || locs[0].Func != "probe_a" {
		t.Errorf("decimal address: %+v %v", locs, err)
	}
	_, err = b.Locate(fmt.Sprintf("0x%x", addr+1), Options{})
	if err == nil || !strings.Contains(err.Error(), "is not the start of a function (it is probe_a+1)") {
		t.Errorf("address inside a function: %v", err)
	}
	locs, err = b.Locate(fmt.Sprintf("0x%x", addr+1), Options{Unsafe: true})
	if err != nil || locs[0].Offset != ref.offset(t, addr)+1 {
		t.Errorf("unsafe address inside a function: %+v %v", locs, err)
	}
}

func TestList(t *testing.T) {
	path := buildC(t, "prog.c", "prog")
	got, err := List(path, "probe_*", 0)
	must(t, err)
	want := []string{"uprobe:" + path + ":probe_a", "uprobe:" + path + ":probe_b", "uprobe:" + path + ":probe_c"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List:\n got %q\nwant %q", got, want)
	}
	all, err := List(path, "*", 0)
	must(t, err)
	ref := readelf(t, path)
	if len(all) != len(ref.funcs) || !sort.StringsAreSorted(all) {
		t.Errorf("List *: %d lines, readelf has %d functions, sorted %v", len(all), len(ref.funcs), sort.StringsAreSorted(all))
	}
	// A wildcard in the path expands to every matching file.
	dir := filepath.Dir(path)
	data, err := os.ReadFile(path)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "prog2"), data, 0o755))
	got, err = List(dir+"/prog*", "probe_c", 0)
	must(t, err)
	want = []string{"uprobe:" + dir + "/prog2:probe_c", "uprobe:" + path + ":probe_c"} // sorted
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List with a path wildcard:\n got %q\nwant %q", got, want)
	}
}

// ldconfigLibs asks ldconfig, an independent reader of the loader's cache,
// which libraries our architecture resolves.
func ldconfigLibs(t *testing.T) map[string]string {
	t.Helper()
	testenv.Tool(t, "ldconfig")
	arch := map[string]string{"amd64": "x86-64", "arm64": "AArch64"}[runtime.GOARCH]
	if arch == "" {
		t.Skipf("no ldconfig architecture tag known for %s", runtime.GOARCH)
	}
	// "	libc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6"
	re := regexp.MustCompile(`^\s+(\S+) \(([^)]*)\) => (\S+)$`)
	libs := map[string]string{}
	for _, line := range strings.Split(testenv.Run(t, "ldconfig", "-p"), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil || !strings.Contains(m[2], arch) {
			continue
		}
		if _, ok := libs[m[1]]; !ok {
			libs[m[1]] = m[3]
		}
	}
	return libs
}

func TestLDCacheAgreesWithLdconfig(t *testing.T) {
	want := ldconfigLibs(t)
	entries, err := readLDCache(ldCachePath)
	must(t, err)
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Name+" "+e.Path] = true
	}
	for name, path := range want {
		if !got[name+" "+path] {
			t.Errorf("cache has no %s => %s", name, path)
		}
	}
	for _, bad := range [][]byte{nil, []byte("glibc-ld.so.cache1.1"), []byte("ld.so-1.7.0\x00\xff\xff\xff\x7f"), []byte("garbage")} {
		if _, err := parseLDCache(bad); err == nil {
			t.Errorf("parseLDCache(%q) accepted it", bad)
		}
	}
}

func TestResolveTarget(t *testing.T) {
	libc := ldconfigLibs(t)["libc.so.6"]
	if libc == "" {
		t.Skip("no libc.so.6 in the loader's cache")
	}
	prog := buildC(t, "prog.c", "prog")

	// The libc a running program really maps.
	cmd := exec.Command(prog, "0", "wait")
	stdin, err := cmd.StdinPipe()
	must(t, err)
	must(t, cmd.Start())
	defer func() { stdin.Close(); cmd.Wait() }()
	pid := cmd.Process.Pid
	mapped := waitForMapping(t, pid, "libc.so.6")
	mappedSt, err := os.Stat(mapped)
	must(t, err)

	for _, name := range []string{"libc", "c", "libc.so", "libc.so.6"} {
		for _, p := range []int{0, pid} {
			got, err := ResolveTarget(name, p)
			if err != nil {
				t.Errorf("ResolveTarget(%q, %d): %v", name, p, err)
				continue
			}
			st, err := os.Stat(got[0])
			if len(got) != 1 || err != nil || !os.SameFile(st, mappedSt) {
				t.Errorf("ResolveTarget(%q, %d) = %q, the program maps %s", name, p, got, mapped)
			}
			if p == 0 && got[0] != libc {
				t.Errorf("ResolveTarget(%q) = %q, ldconfig says %s", name, got, libc)
			}
		}
	}
	if got, err := ResolveTarget("", pid); err != nil || len(got) != 1 || got[0] != prog {
		t.Errorf("ResolveTarget(\"\", pid) = %q, %v; want %s", got, err, prog)
	}
	files, err := MappedFiles(pid)
	must(t, err)
	if len(files) < 2 || files[0] != prog {
		t.Errorf("MappedFiles = %q, want the program first, then its libraries", files)
	}
	lines, err := List("", "probe_c", pid)
	if err != nil || len(lines) != 1 || lines[0] != "uprobe:"+prog+":probe_c" {
		t.Errorf("List in a process = %q, %v", lines, err)
	}
	lines, err = List("", "mallo*", pid)
	if err != nil || len(lines) == 0 || !strings.HasPrefix(lines[0], "uprobe:"+mapped+":mallo") {
		t.Errorf("List in a process, libc's functions: %q, %v", lines, err)
	}

	t.Setenv("PATH", "/nonexistent-dir:"+filepath.Dir(prog))
	if got, err := ResolveTarget("prog", 0); err != nil || len(got) != 1 || got[0] != prog {
		t.Errorf("ResolveTarget(prog) through $PATH = %q, %v", got, err)
	}

	notELF := filepath.Join(t.TempDir(), "text")
	must(t, os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755))
	for _, c := range []struct{ target, err string }{
		{"/nonexistent/bin", "/nonexistent/bin: no such file"},
		{"libnosuchthing", "libnosuchthing: no such executable in $PATH and no such library"},
		{notELF, notELF + ": not an ELF file"},
		{filepath.Dir(notELF), ": not a regular file"},
		{"/nonexistent/*/x", "no ELF file matches"},
		{"", "missing binary path"},
	} {
		_, err := ResolveTarget(c.target, 0)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("ResolveTarget(%q): %v, want an error containing %q", c.target, err, c.err)
		}
	}
	if _, err := Resolve("libnosuchthing", "malloc", Options{}); err == nil {
		t.Error("Resolve on a missing library succeeded")
	}
	locs, err := Resolve("libc", "malloc", Options{PID: pid})
	if err != nil || len(locs) != 1 || locs[0].Func != "malloc" {
		t.Errorf("Resolve(libc, malloc) = %+v, %v", locs, err)
	}
}

// waitForMapping reads /proc/pid/maps until a file whose name contains
// name is mapped, and returns its path.
func waitForMapping(t *testing.T, pid int, name string) string {
	t.Helper()
	for i := 0; i < 500; i++ {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
		must(t, err)
		for _, line := range strings.Split(string(data), "\n") {
			if i := strings.Index(line, "/"); i >= 0 && strings.Contains(filepath.Base(line[i:]), name) {
				return line[i:]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d never mapped %s", pid, name)
	return ""
}

func TestMatchWildcard(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "anything", true},
		{"*", "", true},
		{"read", "read", true},
		{"read", "readline", false},
		{"read*", "readline", true},
		{"read*", "rea", false},
		{"*line", "readline", true},
		{"*line", "lines", false},
		{"r*d*e", "readline", true},
		{"r*d*e", "readlinex", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"*a*", "bab", true},
	} {
		if got := MatchWildcard(c.pattern, c.s); got != c.want {
			t.Errorf("MatchWildcard(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}

// For a symbol with several versions, the default one (name@@V) is what
// programs call and what a probe on the bare name must hit.
func TestVersionedSymbols(t *testing.T) {
	libc := ldconfigLibs(t)["libc.so.6"]
	if libc == "" {
		t.Skip("no libc.so.6 in the loader's cache")
	}
	testenv.Tool(t, "readelf")
	defaults := map[string]uint64{}
	olds := map[string]bool{}
	for _, line := range strings.Split(testenv.Run(t, "readelf", "-W", "--dyn-syms", libc), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || (f[3] != "FUNC" && f[3] != "IFUNC") || f[6] == "UND" {
			continue
		}
		addr, err := strconv.ParseUint(f[1], 16, 64)
		must(t, err)
		if name, _, ok := strings.Cut(f[7], "@@"); ok {
			defaults[name] = addr
		} else if name, _, ok := strings.Cut(f[7], "@"); ok {
			olds[name] = true
		}
	}
	b := openBinary(t, libc)
	checked := 0
	for name, addr := range defaults {
		if !olds[name] {
			continue
		}
		checked++
		f, err := b.Lookup(name)
		if err != nil || f.Addr != addr || f.Hidden {
			t.Errorf("Lookup(%s) = %+v, %v; the default version is at 0x%x", name, f, err, addr)
		}
	}
	if checked == 0 {
		t.Skip("this libc has no function with several versions")
	}
	t.Logf("%d functions with several versions", checked)
}

func TestSymbolAddr(t *testing.T) {
	path := buildC(t, "prog.c", "prog", "-no-pie")
	b := openBinary(t, path)
	testenv.Tool(t, "nm")
	want := map[string]uint64{}
	for _, line := range strings.Split(testenv.Run(t, "nm", path), "\n") {
		// "0000000000401136 T probe_a"
		f := strings.Fields(line)
		if len(f) == 3 {
			v, err := strconv.ParseUint(f[0], 16, 64)
			must(t, err)
			want[f[2]] = v
		}
	}
	for _, name := range []string{"probe_a", "probe_b", "main", "calls"} {
		got, err := b.SymbolAddr(name)
		if err != nil || got != want[name] || got == 0 {
			t.Errorf("SymbolAddr(%s) = 0x%x, %v; nm says 0x%x", name, got, err, want[name])
		}
	}
	if _, err := b.SymbolAddr("nosuch"); err == nil || !strings.Contains(err.Error(), "no symbol nosuch") {
		t.Errorf("SymbolAddr(nosuch): %v", err)
	}
}

// Libraries outside the loader's cache are found through
// $LD_LIBRARY_PATH, as the loader would find them.
func TestSharedLibrary(t *testing.T) {
	lib := buildC(t, "prog.c", "libfridaytest.so.1", "-shared", "-fPIC")
	t.Setenv("LD_LIBRARY_PATH", "/nonexistent:"+filepath.Dir(lib))
	for _, name := range []string{"fridaytest", "libfridaytest", "libfridaytest.so", "libfridaytest.so.1"} {
		got, err := ResolveTarget(name, 0)
		if err != nil || len(got) != 1 || got[0] != lib {
			t.Errorf("ResolveTarget(%q) = %q, %v; want %s", name, got, err, lib)
		}
	}
	ref := readelf(t, lib)
	locs, err := Resolve("fridaytest", "probe_*", Options{})
	must(t, err)
	if len(locs) != 3 {
		t.Fatalf("probe_* in the library: %+v", locs)
	}
	for _, l := range locs {
		if l.Path != lib || l.Offset != ref.offset(t, ref.funcs[l.Func][0]) {
			t.Errorf("%+v: readelf puts %s at file offset 0x%x", l, l.Func, ref.offset(t, ref.funcs[l.Func][0]))
		}
	}
}

// A stripped file's static functions come back from its separate debug
// information; how that file is found is the business of package elfdebug.
func TestSeparateDebugInfo(t *testing.T) {
	testenv.Tool(t, "objcopy")
	full := buildC(t, "prog.c", "prog", "-Wl,--build-id")
	ref := readelf(t, full)
	dir := filepath.Dir(full)
	debug := filepath.Join(dir, "prog.debug")
	stripped := filepath.Join(dir, "stripped")
	testenv.Run(t, "objcopy", "--only-keep-debug", full, debug)
	testenv.Run(t, "objcopy", "--strip-all", full, stripped)

	lookup := func() (Func, error) {
		b := openBinary(t, stripped)
		if b.ELF().Section(".symtab") != nil {
			t.Fatal("the stripped file still has .symtab")
		}
		return b.Lookup("probe_b")
	}
	// Without debug information, only exported functions are known.
	if _, err := lookup(); !errors.Is(err, ErrNoFunction) {
		t.Errorf("static function of a stripped file without debug information: %v", err)
	}
	testenv.Run(t, "objcopy", "--add-gnu-debuglink="+debug, stripped)
	f, err := lookup()
	if err != nil || f.Addr != ref.funcs["probe_b"][0] || f.Offset != ref.offset(t, f.Addr) {
		t.Errorf("static probe_b: %+v, %v; readelf says 0x%x", f, err, ref.funcs["probe_b"])
	}
}

// Every C++ function is found by the demangled name binutils gives it.
func TestCxxNamesAgreeWithNm(t *testing.T) {
	path := buildC(t, "prog.cpp", "prog")
	testenv.Tool(t, "nm")
	b := openBinary(t, path)
	n := 0
	for _, line := range strings.Split(testenv.Run(t, "nm", "-C", "--defined-only", path), "\n") {
		// "0000000000001157 T ns::operator+(ns::V, ns::V)"
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 || f[1] != "T" || !strings.Contains(f[2], "::") {
			continue
		}
		addr, err := strconv.ParseUint(f[0], 16, 64)
		must(t, err)
		n++
		locs, err := b.Locate(f[2], Options{})
		if err != nil || len(locs) != 1 || locs[0].Addr != addr {
			t.Errorf("Locate(%q) = %+v, %v; nm puts it at 0x%x", f[2], locs, err, addr)
		}
	}
	if n < 4 {
		t.Errorf("only %d C++ functions checked", n)
	}
	lines, err := List(path, "ns::foo", 0)
	must(t, err)
	if want := []string{"uprobe:" + path + ":_ZN2ns3fooEi", "uprobe:" + path + ":_ZN2ns3fooEv"}; fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("List ns::foo = %q, want %q", lines, want)
	}
}

// An exported name found in the C library's .dynsym alone is the function
// its whole table prefers, versioned names (memcpy, realpath, fopen)
// included.
func TestExportedAgreesWithTable(t *testing.T) {
	paths, err := ResolveTarget("libc", 0)
	must(t, err)
	full := openBinary(t, paths[0])
	_, err = full.Funcs()
	must(t, err)
	for _, name := range []string{"malloc", "getaddrinfo", "gethostbyname", "memcpy", "realpath", "fopen", "pthread_create"} {
		fresh := openBinary(t, paths[0])
		got, ok := fresh.exported(name)
		want, err := full.Lookup(name)
		if err != nil || !ok || got != want {
			t.Errorf("%s: from .dynsym %+v (%v), from the whole table %+v (%v)", name, got, ok, want, err)
		}
	}
}
