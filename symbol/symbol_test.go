package symbol

import (
	"bufio"
	"bytes"
	"debug/elf"
	"debug/gosym"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"friday/elfdebug"
	"friday/internal/testenv"
)

// program is a running test program that printed "name address" lines
// and then "ready"; it exits when its stdin is closed.
type program struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	addrs map[string]uint64
	lines []string // every line before "ready"
}

func start(t *testing.T, path string, args ...string) *program {
	t.Helper()
	cmd := exec.Command(path, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &program{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() { p.stop() })
	p.waitReady(t)
	return p
}

// waitReady reads what the program prints up to its next "ready".
func (p *program) waitReady(t *testing.T) {
	t.Helper()
	p.addrs, p.lines = map[string]uint64{}, nil
	for p.out.Scan() {
		line := p.out.Text()
		if line == "ready" {
			return
		}
		p.lines = append(p.lines, line)
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			if a, err := strconv.ParseUint(strings.TrimPrefix(line[i+1:], "0x"), 16, 64); err == nil {
				p.addrs[line[:i]] = a
			}
		}
	}
	t.Fatalf("%s exited before it was ready: %v", p.cmd.Path, p.out.Err())
}

func (p *program) stop() {
	if p.stdin != nil {
		p.stdin.Close()
		p.stdin = nil
		p.cmd.Wait()
	}
}

// namesAt lists the dynamic symbols of lib defined at the address of sym,
// according to nm: a function and its aliases.
func namesAt(t *testing.T, lib, sym string) map[string]bool {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, "nm"), "-D", "--defined-only", lib).Output()
	if err != nil {
		t.Fatalf("nm %s: %v", lib, err)
	}
	byAddr := map[string][]string{}
	var want string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		name, _, _ := strings.Cut(f[2], "@")
		byAddr[f[0]] = append(byAddr[f[0]], name)
		if name == sym {
			want = f[0]
		}
	}
	set := map[string]bool{}
	for _, n := range byAddr[want] {
		set[n] = true
	}
	if len(set) == 0 {
		t.Fatalf("nm: %s has no %s", lib, sym)
	}
	return set
}

// addr2line asks binutils for the source position of sym in bin.
func addr2line(t *testing.T, bin, sym string) string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, "nm"), bin).Output()
	if err != nil {
		t.Fatalf("nm %s: %v", bin, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[2] == sym {
			pos, err := exec.Command(testenv.Tool(t, "addr2line"), "-e", bin, "0x"+f[0]).Output()
			if err != nil {
				t.Fatalf("addr2line: %v", err)
			}
			return strings.TrimSpace(string(pos))
		}
	}
	t.Fatalf("nm: no %s in %s", sym, bin)
	return ""
}

func TestCProgram(t *testing.T) {
	gcc := testenv.Tool(t, "gcc")
	src, _ := filepath.Abs("testdata/prog.c")
	for _, v := range []struct {
		name   string
		flags  []string
		strip  bool // move all symbols to a separate debug file
		nosyms bool // strip without keeping a debug file
		lines  bool // expect file:line
	}{
		{name: "nopie", flags: []string{"-no-pie", "-fno-pie"}},
		{name: "pie", flags: []string{"-pie", "-fpie"}},
		{name: "pie-g", flags: []string{"-pie", "-fpie", "-g"}, lines: true},
		{name: "nopie-g", flags: []string{"-no-pie", "-fno-pie", "-g"}, lines: true},
		{name: "pie-debuglink", flags: []string{"-pie", "-fpie", "-g"}, strip: true, lines: true},
		{name: "nopie-debuglink", flags: []string{"-no-pie", "-fno-pie", "-g"}, strip: true, lines: true},
		// Without a build-id the debug file is matched by its CRC.
		{name: "debuglink-crc", flags: []string{"-pie", "-fpie", "-g", "-Wl,--build-id=none"}, strip: true, lines: true},
		{name: "stripped", flags: []string{"-pie", "-fpie"}, nosyms: true},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin := filepath.Join(dir, "prog")
			testenv.Run(t, gcc, append(append([]string{"-O1", "-o", bin}, v.flags...), src)...)
			var wantLine string
			if v.lines {
				wantLine = addr2line(t, bin, "friday_alpha")
			}
			if v.strip || v.nosyms {
				if v.strip {
					testenv.Run(t, testenv.Tool(t, "objcopy"), "--only-keep-debug", bin, bin+".debug")
				}
				testenv.Run(t, testenv.Tool(t, "strip"), "--strip-all", bin)
				if v.strip {
					testenv.Run(t, "objcopy", "--add-gnu-debuglink="+bin+".debug", bin)
				}
			}
			p := start(t, bin)
			r := NewResolver()
			pid := p.cmd.Process.Pid
			if err := r.Snapshot(pid); err != nil {
				t.Fatal(err)
			}
			libc := libcPath(t, pid)
			getpidNames := namesAt(t, libc, "getpid")
			check := func(when string) {
				alpha := r.User(pid, p.addrs["friday_alpha"])
				if v.nosyms {
					if alpha.Name != "" {
						t.Errorf("%s: stripped friday_alpha resolved to %q", when, alpha.Name)
					}
				} else {
					if alpha.Name != "friday_alpha" || alpha.Offset != 0 || alpha.Module != bin {
						t.Errorf("%s: friday_alpha resolved to %+v", when, alpha)
					}
					if got := fmt.Sprintf("%s:%d", alpha.File, alpha.Line); v.lines && got != wantLine {
						t.Errorf("%s: friday_alpha at %s, want %s", when, got, wantLine)
					}
					if f := r.User(pid, p.addrs["friday_alpha"]+3); f.Name != "friday_alpha" || f.Offset != 3 {
						t.Errorf("%s: friday_alpha+3 resolved to %s", when, FormatStackFrame(f))
					}
					if f := r.User(pid, p.addrs["friday_beta"]); f.Name != "friday_beta" {
						t.Errorf("%s: static friday_beta resolved to %+v", when, f)
					}
				}
				g := r.User(pid, p.addrs["getpid"])
				if !getpidNames[g.Name] || g.Offset != 0 || g.Module != libc {
					t.Errorf("%s: getpid resolved to %+v, want one of %v in %s", when, g, getpidNames, libc)
				}
			}
			check("running")
			p.stop()
			check("after exit")
		})
	}
}

func libcPath(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "/"); i > 0 && strings.Contains(line[i:], "/libc.so") {
			return line[i:]
		}
	}
	t.Fatal("no libc in maps")
	return ""
}

// TestDemangle runs programs whose "want: key => name" comments say what
// the address the program prints under key must resolve to.
func TestDemangle(t *testing.T) {
	for _, c := range []struct{ compiler, src string }{
		{"g++", "testdata/demangle.cc"},
		{"gcc", "testdata/demangle_rust.c"},
	} {
		t.Run(filepath.Base(c.src), func(t *testing.T) {
			cc := testenv.Tool(t, c.compiler)
			data, err := os.ReadFile(c.src)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, line := range strings.Split(string(data), "\n") {
				if _, rest, ok := strings.Cut(line, "want: "); ok {
					key, name, _ := strings.Cut(strings.TrimSuffix(strings.TrimSpace(rest), " */"), " => ")
					want[key] = name
				}
			}
			bin := filepath.Join(t.TempDir(), "prog")
			testenv.Run(t, cc, "-O1", "-o", bin, c.src)
			p := start(t, bin)
			r := NewResolver()
			if len(want) == 0 || len(p.addrs) != len(want) {
				t.Fatalf("program printed %v, comments expect %v", p.addrs, want)
			}
			for key, name := range want {
				if got := r.User(p.cmd.Process.Pid, p.addrs[key]); got.Name != name {
					t.Errorf("%s at %#x: got %q, want %q", key, p.addrs[key], got.Name, name)
				}
			}
		})
	}
}

var (
	goBuildMu  sync.Mutex
	goBuildDir string
	goBuilds   = map[string]string{}
)

// TestMain removes the Go test programs that the tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	if goBuildDir != "" {
		os.RemoveAll(goBuildDir)
	}
	os.Exit(code)
}

// buildGo builds testdata/goinline with flags and returns the binary's
// path. Tests share builds: they only read the binaries.
func buildGo(t *testing.T, flags ...string) string {
	t.Helper()
	goBuildMu.Lock()
	defer goBuildMu.Unlock()
	key := strings.Join(flags, " ")
	if p, ok := goBuilds[key]; ok {
		return p
	}
	if goBuildDir == "" {
		dir, err := os.MkdirTemp("", "symbol-test-")
		if err != nil {
			t.Fatal(err)
		}
		goBuildDir = dir
	}
	out := filepath.Join(goBuildDir, fmt.Sprintf("goinline%d", len(goBuilds)))
	testenv.GoBuild(t, "./testdata/goinline", out, flags...)
	goBuilds[key] = out
	return out
}

func TestGoInlined(t *testing.T) {
	for _, v := range []struct {
		name  string
		flags []string
	}{
		{"exe", nil},
		{"pie", []string{"-buildmode=pie"}},
		// Without a symbol table the inline trees are found through
		// the runtime's module data.
		{"stripped", []string{"-ldflags=-s -w"}},
		{"stripped-pie", []string{"-buildmode=pie", "-ldflags=-s -w"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			bin := buildGo(t, v.flags...)
			p := start(t, bin)
			pid := p.cmd.Process.Pid
			r := NewResolver()
			if err := r.Snapshot(pid); err != nil {
				t.Fatal(err)
			}
			p.stop()

			// The runtime's own expansion, innermost first, is the truth.
			var want []Frame
			for _, l := range p.lines {
				f := strings.Fields(l)
				if f[0] == "frame" {
					n, _ := strconv.Atoi(f[3])
					want = append(want, Frame{Name: f[1], File: f[2], Line: n})
				}
			}
			if len(want) < 4 || want[0].Name != "main.inner" || want[len(want)-1].Name != "main.main" {
				t.Fatalf("the compiler did not inline the chain: %v", want)
			}
			got := r.User(pid, p.addrs["pc"])
			var flat []Frame
			for _, in := range got.Inlined {
				flat = append(flat, Frame{Name: in.Name, File: in.File, Line: in.Line})
			}
			flat = append(flat, Frame{Name: got.Name, File: got.File, Line: got.Line})
			if fmt.Sprint(flat) != fmt.Sprint(want) {
				t.Errorf("frames:\n got %v\nwant %v", flat, want)
			}
		})
	}
}

func TestKernel(t *testing.T) {
	k, err := ReadKallsyms()
	if err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	data, err := os.ReadFile("/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	// Pick global functions whose address no other name shares.
	count := map[string]int{}
	var cands [][2]string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		count[f[0]]++
		if f[1] == "T" && len(f) == 3 && !strings.HasPrefix(f[2], "_") {
			cands = append(cands, [2]string{f[0], f[2]})
		}
	}
	r := NewResolver()
	checked := 0
	for _, c := range cands {
		if count[c[0]] != 1 || checked == 50 {
			continue
		}
		checked++
		addr, _ := strconv.ParseUint(c[0], 16, 64)
		if f := r.Kernel(addr + 1); f.Name != c[1] || f.Offset != 1 || f.Module != "" {
			t.Errorf("%#x+1: got %s, want %s+1", addr, FormatStackFrame(f), c[1])
		}
		if a, ok := k.Addr(c[1]); !ok || a != addr {
			t.Errorf("Addr(%s) = %#x, %v; want %#x", c[1], a, ok, addr)
		}
		if checked <= 3 {
			if a, ok, err := KallsymsAddr(c[1]); !ok || err != nil || a != addr {
				t.Errorf("KallsymsAddr(%s) = %#x, %v, %v; want %#x", c[1], a, ok, err, addr)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no kernel function to check")
	}
}

// FindKallsyms finds a name's first address in one pass, as Kernel.Addr
// does from the table.
func TestFindKallsyms(t *testing.T) {
	const text = `ffffffff81000000 T _stext
ffffffff81000100 T tcp_sendmsg_locked
ffffffff81000200 t tcp_sendmsg
0000000000001000 A fixed_percpu_data
ffffffff81000300 t tcp_sendmsg
ffffffffc0000000 t helper	[loop]
`
	k, err := ParseKallsyms(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tcp_sendmsg", "tcp_sendmsg_locked", "helper", "fixed_percpu_data", "tcp", "missing"} {
		want, wantOK := k.Addr(name)
		got, ok, err := FindKallsyms(strings.NewReader(text), name)
		if err != nil || got != want || ok != wantOK {
			t.Errorf("%s: %#x, %v, %v; want %#x, %v", name, got, ok, err, want, wantOK)
		}
	}
	if _, _, err := FindKallsyms(strings.NewReader("0000000000000000 T tcp_sendmsg\n"), "tcp_sendmsg"); err != errHiddenAddrs {
		t.Errorf("hidden addresses: %v", err)
	}
}

// TestParseKallsyms runs the cases in testdata/kallsyms: each lookup
// from the table (ParseKallsyms), and all of them at once in one pass
// (LookupKallsyms).
func TestParseKallsyms(t *testing.T) {
	files, _ := filepath.Glob("testdata/kallsyms/*.txt")
	if len(files) == 0 {
		t.Fatal("no test cases")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var in strings.Builder
			var queries []string
			seenSep := false
			for _, line := range strings.Split(string(data), "\n") {
				switch {
				case strings.HasPrefix(line, "#") || line == "":
				case line == "---":
					seenSep = true
				case seenSep:
					queries = append(queries, line)
				default:
					in.WriteString(line + "\n")
				}
			}
			k, err := ParseKallsyms(strings.NewReader(in.String()))
			var addrs []uint64
			var wants []string
			for _, q := range queries {
				if msg, ok := strings.CutPrefix(q, "error: "); ok {
					if err == nil || err.Error() != msg {
						t.Errorf("error %v, want %s", err, msg)
					}
					if _, err := LookupKallsyms(strings.NewReader(in.String()), nil); err == nil || err.Error() != msg {
						t.Errorf("LookupKallsyms: error %v, want %s", err, msg)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				addrText, want, _ := strings.Cut(q, " ")
				addr, perr := strconv.ParseUint(addrText, 16, 64)
				if perr != nil {
					t.Fatalf("bad query %q", q)
				}
				name, off, mod, _ := k.Lookup(addr)
				if got := symText(name, off, mod); got != want {
					t.Errorf("Lookup(%#x) = %s, want %s", addr, got, want)
				}
				addrs, wants = append(addrs, addr), append(wants, want)
			}
			if addrs == nil {
				return
			}
			frames, err := LookupKallsyms(strings.NewReader(in.String()), addrs)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range frames {
				if f.Addr != addrs[i] {
					t.Errorf("LookupKallsyms: frame %d is of %#x, want %#x", i, f.Addr, addrs[i])
				}
				if got := symText(f.Name, f.Offset, f.Module); got != wants[i] {
					t.Errorf("LookupKallsyms(%#x) = %s, want %s", addrs[i], got, wants[i])
				}
			}
		})
	}
}

// symText is a kernel symbol as testdata/kallsyms writes it:
// "name+offset [module]", or "?" for none.
func symText(name string, off uint64, mod string) string {
	if name == "" {
		return "?"
	}
	s := fmt.Sprintf("%s+%d", name, off)
	if mod != "" {
		s += " [" + mod + "]"
	}
	return s
}

// TestPerfMap resolves JIT code through the map file a runtime writes,
// for addresses outside any mapped file.
func TestPerfMap(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "prog")
	testenv.Run(t, testenv.Tool(t, "gcc"), "-o", bin, "testdata/prog.c")
	p := start(t, bin)
	pid := p.cmd.Process.Pid
	mapFile := fmt.Sprintf("/tmp/perf-%d.map", pid)
	// A later line for the same start replaces the earlier one, as JITs
	// reuse code space; names may contain spaces.
	content := "7f0000001000 100 LazyCompile:~first\n" +
		"7f0000002000 40 Interpreted ignored\n" +
		"not a line\n" +
		"7f0000002000 80 Function:main loop\n"
	if err := os.WriteFile(mapFile, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(mapFile)
	r := NewResolver()
	for _, c := range []struct {
		addr uint64
		want string
	}{
		{0x7f0000001000, "LazyCompile:~first+0"},
		{0x7f00000010ff, "LazyCompile:~first+255"},
		{0x7f0000001100, "0x7f0000001100"},
		{0x7f0000002050, "Function:main loop+80"},
	} {
		if got := FormatStackFrame(r.User(pid, c.addr)); got != c.want {
			t.Errorf("%#x: got %q, want %q", c.addr, got, c.want)
		}
	}
	if got := r.User(pid, p.addrs["friday_alpha"]); got.Name != "friday_alpha" {
		t.Errorf("file-backed code resolved to %+v", got)
	}
}

func TestFormat(t *testing.T) {
	known := Frame{Addr: 0xffffffff81234567, Name: "vfs_read", Offset: 23}
	unknown := Frame{Addr: 0x7f12, Module: "/usr/bin/x"}
	for _, c := range []struct{ got, want string }{
		{FormatKsym(known), "vfs_read"},
		{FormatKsym(unknown), "0x7f12"},
		{FormatStackFrame(known), "vfs_read+23"},
		{FormatStackFrame(unknown), "0x7f12"},
		{FormatPerf(known), "ffffffff81234567 vfs_read+23 ([kernel.kallsyms])"},
		{FormatPerf(unknown), "7f12 [unknown] (/usr/bin/x)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestUnknownProcess(t *testing.T) {
	r := NewResolver()
	if err := r.Snapshot(-5); err == nil {
		t.Error("Snapshot of a nonexistent process succeeded")
	}
	if f := r.User(-5, 0x1234); f.Name != "" || f.Addr != 0x1234 {
		t.Errorf("got %+v", f)
	}
}

// TestGoTableAgreesWithGosym looks up pclntab in place at the start,
// middle and end of every function of Go binaries, and compares with
// debug/gosym's table of them all, which knows no inlined calls: its
// position is that of the innermost.
func TestGoTableAgreesWithGosym(t *testing.T) {
	for _, flags := range [][]string{nil, {"-buildmode=pie"}, {"-ldflags=-s -w"}} {
		bin := buildGo(t, flags...)
		ef, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer ef.Close()
		data, err := ef.Section(".gopclntab").Data()
		if err != nil {
			t.Fatal(err)
		}
		text, _ := goModule(ef, 8)
		want, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		g := openGoTable(ef, f)
		if g == nil {
			t.Fatal("no pclntab")
		}
		bad := 0
		for _, fn := range want.Funcs {
			for _, pc := range []uint64{fn.Entry, (fn.Entry + fn.End) / 2, fn.End - 1} {
				file, line, _ := want.PCToLine(pc)
				if line < 0 {
					// Where a function has no line table, gosym reads
					// one at offset 0 (the runtime does not).
					line = 0
				}
				got, ok := g.lookup(pc)
				if len(got.Inlined) > 0 {
					// gosym gives the innermost inlined call's position.
					got.File, got.Line = got.Inlined[0].File, got.Inlined[0].Line
				}
				if !ok || got.Name != fn.Name || got.Offset != pc-fn.Entry || got.File != file || got.Line != line {
					if bad++; bad <= 5 {
						t.Errorf("%v: %#x: got %s+%d %s:%d (%v), want %s+%d %s:%d",
							flags, pc, got.Name, got.Offset, got.File, got.Line, ok, fn.Name, pc-fn.Entry, file, line)
					}
				}
			}
		}
		if _, ok := g.lookup(want.Funcs[len(want.Funcs)-1].End); ok {
			t.Errorf("%v: the end of the text resolved", flags)
		}
	}
}

// TestGoModule checks the moduledata layout against the symbol table of
// binaries that have both.
func TestGoModule(t *testing.T) {
	for _, flags := range [][]string{nil, {"-buildmode=pie"}} {
		bin := buildGo(t, flags...)
		ef, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		want := elfdebug.SymbolValues(ef, "runtime.text", "go:func.*")
		text, gofunc := goModule(ef, 8)
		if want["runtime.text"] == 0 || text != want["runtime.text"] {
			t.Errorf("%v: moduledata says runtime.text is at %#x, the symbol table %#x", flags, text, want["runtime.text"])
		}
		if want["go:func.*"] == 0 || gofunc != want["go:func.*"] {
			t.Errorf("%v: moduledata says go:func.* is at %#x, the symbol table %#x", flags, gofunc, want["go:func.*"])
		}
		ef.Close()
	}
}

// TestVDSO resolves code in the vDSO, which is no file but an ELF image
// the kernel maps into every process.
func TestVDSO(t *testing.T) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	var start, end uint64
	for _, line := range strings.Split(string(maps), "\n") {
		if strings.HasSuffix(line, "[vdso]") {
			fmt.Sscanf(line, "%x-%x", &start, &end)
		}
	}
	if start == 0 {
		t.Skip("no vDSO mapped")
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	img := make([]byte, end-start)
	if _, err := mem.ReadAt(img, int64(start)); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	syms, err := ef.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	var base uint64
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			base = p.Vaddr - p.Off
			break
		}
	}
	r := NewResolver()
	checked := 0
	for _, s := range syms {
		if s.Name != "__vdso_clock_gettime" {
			continue
		}
		checked++
		addr := start + s.Value - base + 2
		got := r.User(os.Getpid(), addr)
		if (got.Name != "__vdso_clock_gettime" && got.Name != "clock_gettime") || got.Offset != 2 || got.Module != "[vdso]" {
			t.Errorf("%#x: got %+v", addr, got)
		}
	}
	if checked == 0 {
		t.Skip("vDSO has no __vdso_clock_gettime")
	}
}

// TestExec resolves the addresses of a process that replaced its program
// after it was first seen, as a traced command does. Both programs have
// the same layout, only the names differ.
func TestExec(t *testing.T) {
	gcc := testenv.Tool(t, "gcc")
	dir := t.TempDir()
	before, after := filepath.Join(dir, "before"), filepath.Join(dir, "after")
	flags := []string{"-O1", "-no-pie", "-fno-pie", "testdata/prog.c"}
	testenv.Run(t, gcc, append([]string{"-o", before, "-Dfriday_alpha=other_alpha", "-Dfriday_beta=other_beta"}, flags...)...)
	testenv.Run(t, gcc, append([]string{"-o", after}, flags...)...)
	p := start(t, before, after)
	pid := p.cmd.Process.Pid
	r := NewResolver()
	if got := r.User(pid, p.addrs["friday_alpha"]).Name; got != "other_alpha" {
		t.Fatalf("before exec: got %q", got)
	}
	if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	p.waitReady(t)
	time.Sleep(refreshAfter + 100*time.Millisecond)
	if got := r.User(pid, p.addrs["friday_alpha"]).Name; got != "friday_alpha" {
		t.Errorf("after exec: got %q, want friday_alpha", got)
	}
}

// TestCInlined compares the inlined calls found through DWARF with what
// binutils' addr2line says about the same address.
func TestCInlined(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "inline")
	testenv.Run(t, testenv.Tool(t, "gcc"), "-O2", "-g", "-no-pie", "-fno-pie", "-o", bin, "testdata/inline.c")
	p := start(t, bin)
	pc := p.addrs["pc"]
	out, err := exec.Command(testenv.Tool(t, "addr2line"), "-f", "-i", "-e", bin, fmt.Sprintf("%#x", pc)).Output()
	if err != nil {
		t.Fatalf("addr2line: %v", err)
	}
	// Pairs of lines: function, then file:line; innermost first.
	var want []string
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		want = append(want, lines[i]+" "+lines[i+1])
	}
	if len(want) < 3 {
		t.Fatalf("gcc did not inline the chain: %q", out)
	}
	f := NewResolver().User(p.cmd.Process.Pid, pc)
	var got []string
	for _, in := range f.Inlined {
		got = append(got, fmt.Sprintf("%s %s:%d", in.Name, in.File, in.Line))
	}
	got = append(got, fmt.Sprintf("%s %s:%d", f.Name, f.File, f.Line))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frames:\n got %q\nwant %q", got, want)
	}
}

// TestPerfMapGrows resolves JIT code that the runtime described only
// after the process was first seen.
func TestPerfMapGrows(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "jit")
	testenv.Run(t, testenv.Tool(t, "gcc"), "-o", bin, "testdata/jit.c")
	p := start(t, bin)
	pid := p.cmd.Process.Pid
	code := p.addrs["code"]
	r := NewResolver()
	if f := r.User(pid, code+4); f.Name != "" {
		t.Fatalf("JIT code resolved before it was described: %+v", f)
	}
	mapFile := fmt.Sprintf("/tmp/perf-%d.map", pid)
	if err := os.WriteFile(mapFile, []byte(fmt.Sprintf("%x 40 jitted_loop\n", code)), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(mapFile)
	time.Sleep(refreshAfter + 100*time.Millisecond)
	if got := FormatStackFrame(r.User(pid, code+4)); got != "jitted_loop+4" {
		t.Errorf("got %q, want jitted_loop+4", got)
	}
}

func TestParseMapsLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want mapsLine
		bad  bool
	}{
		{line: "55d0c1a00000-55d0c1a28000 r-xp 00028000 08:01 1234   /usr/bin/my prog (deleted)",
			want: mapsLine{0x55d0c1a00000, 0x55d0c1a28000, 0x28000, "r-xp", "/usr/bin/my prog (deleted)", "08:01 1234"}},
		{line: "7ffd1e5f0000-7ffd1e5f2000 r-xp 00000000 00:00 0                          [vdso]",
			want: mapsLine{0x7ffd1e5f0000, 0x7ffd1e5f2000, 0, "r-xp", "[vdso]", ""}},
		{line: "7f0000000000-7f0000001000 rwxp 00000000 00:00 0",
			want: mapsLine{0x7f0000000000, 0x7f0000001000, 0, "rwxp", "", ""}},
		{line: "7f0000000000 r-xp 0 00:00 0", bad: true},
		{line: "zz-7f r-xp 0 00:00 0", bad: true},
		{line: "", bad: true},
	} {
		got, err := parseMapsLine(c.line)
		if c.bad != (err != nil) || !c.bad && got != c.want {
			t.Errorf("%q: got %+v, %v", c.line, got, err)
		}
	}
}

// TestCorruptBinary looks addresses up in damaged copies of a Go binary:
// names may go, but nothing may panic.
func TestCorruptBinary(t *testing.T) {
	bin := buildGo(t)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	pcln, text := ef.Section(".gopclntab"), ef.Section(".text")
	for seed := uint64(1); seed <= 20; seed++ {
		bad := bytes.Clone(data)
		// A small xorshift generator keeps the damage reproducible.
		x := seed * 0x9e3779b97f4a7c15
		next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
		for range 200 {
			bad[pcln.Offset+next()%pcln.Size] = byte(next())
		}
		b, err := newBinary(bin, bytes.NewReader(bad), nil)
		if err != nil {
			continue
		}
		for range 500 {
			b.Lookup(text.Addr + next()%text.Size)
		}
	}
}

// TestTruncatedBinary looks addresses up in a Go binary cut short after
// its tables were mapped, as a rebuild writing over it in place does: the
// names go, and the process does not fault.
func TestTruncatedBinary(t *testing.T) {
	data, err := os.ReadFile(buildGo(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	text := ef.Section(".text")
	b, err := OpenBinary(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, ok := b.Lookup(text.Addr + 16); !ok {
		t.Fatal("nothing resolved before the truncation")
	}
	if err := os.Truncate(bin, 4096); err != nil {
		t.Fatal(err)
	}
	for a := text.Addr + 17; a < text.Addr+text.Size; a += 997 {
		b.Lookup(a)
	}
}

// TestWatch resolves the addresses of a command that exec'd and exited
// before anything was looked up, as with a traced command. The shell
// stands for a tracer's child, held while probes are attached.
func TestWatch(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "short")
	testenv.Run(t, testenv.Tool(t, "gcc"), "-O1", "-o", bin, "testdata/short.c")
	cmd := exec.Command(testenv.Tool(t, "sh"), "-c", "sleep 1.5; exec "+bin)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := NewResolver()
	stop := r.Watch(cmd.Process.Pid)
	defer stop()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	addrs := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var name string
		var addr uint64
		if _, err := fmt.Sscanf(line, "%s %v", &name, &addr); err == nil {
			addrs[name] = addr
		}
	}
	pid := cmd.Process.Pid
	if got := r.User(pid, addrs["friday_short"]); got.Name != "friday_short" {
		t.Errorf("friday_short: got %+v", got)
	}
	if got := r.User(pid, addrs["getpid"]); got.Name == "" || !strings.Contains(got.Module, "libc") {
		t.Errorf("getpid: got %+v", got)
	}
}

// A program that starts and exits while the mappings of processes are
// recorded resolves from the records alone, never snapshotted.
func TestRecord(t *testing.T) {
	testenv.BPF(t) // perf events, as root
	bin := filepath.Join(t.TempDir(), "short")
	testenv.Run(t, testenv.Tool(t, "gcc"), "-O1", "-o", bin, "testdata/short.c")
	r := NewResolver()
	rec, err := r.Record()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	cmd := exec.Command(bin)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !rec.Known(pid) {
		t.Fatalf("process %d, which exec'd while recording, is not known", pid)
	}
	rec.Sync()
	addrs := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var name string
		var addr uint64
		if _, err := fmt.Sscanf(line, "%s %v", &name, &addr); err == nil {
			addrs[name] = addr
		}
	}
	if got := r.User(pid, addrs["friday_short"]); got.Name != "friday_short" {
		t.Errorf("friday_short: got %+v", got)
	}
	if got := r.User(pid, addrs["getpid"]); got.Name == "" || !strings.Contains(got.Module, "libc") {
		t.Errorf("getpid: got %+v", got)
	}
	if n := rec.Lost(); n != 0 {
		t.Logf("%d records lost", n)
	}
}
