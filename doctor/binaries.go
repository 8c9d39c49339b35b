package doctor

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"friday/elfdebug"
)

// libcPath finds the C library the host's processes use: the one init
// maps, else the usual install locations.
func libcPath() string {
	if maps, err := os.ReadFile("/proc/1/maps"); err == nil {
		for _, line := range strings.Split(string(maps), "\n") {
			if i := strings.IndexByte(line, '/'); i >= 0 && strings.HasPrefix(filepath.Base(line[i:]), "libc.so") {
				return line[i:]
			}
		}
	}
	for _, p := range []string{
		"/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6",
		"/usr/lib64/libc.so.6", "/lib64/libc.so.6", "/usr/lib/libc.so.6",
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// busyExecutables returns up to n distinct executables of the processes
// that used the most CPU time, as /proc/PID/exe paths (readable even in
// other mount namespaces) with their display names.
func busyExecutables(n int) [][2]string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	type proc struct {
		ticks uint64
		exe   string
		open  string
	}
	var procs []proc
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// The command name may contain spaces and parentheses; fields
		// after the last ')' start with the state (field 3).
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		exe, err := os.Readlink(d + "/exe")
		if err != nil {
			continue // kernel threads have no executable
		}
		procs = append(procs, proc{utime + stime, exe, d + "/exe"})
	}
	sort.SliceStable(procs, func(i, j int) bool { return procs[i].ticks > procs[j].ticks })
	seen := map[string]bool{}
	var out [][2]string
	for _, p := range procs {
		if len(out) == n {
			break
		}
		if seen[p.exe] {
			continue
		}
		seen[p.exe] = true
		name := strings.TrimSuffix(p.exe, " (deleted)")
		if strings.HasPrefix(name, "/memfd:") {
			// Programs run from memory (container runtimes do this) are
			// better known by their command name.
			if comm, err := readTrim(filepath.Join(filepath.Dir(p.open), "comm")); err == nil {
				name = comm
			}
		}
		out = append(out, [2]string{p.open, name})
	}
	return out
}

// fpVerdict is what the prologues of a binary's functions say about frame
// pointers.
type fpVerdict struct {
	goBinary        bool // Go keeps frame pointers on amd64 and arm64
	sampled, withFP int
}

func (v fpVerdict) ok() bool { return v.goBinary || v.sampled > 0 && v.withFP*2 >= v.sampled }

func (v fpVerdict) String() string {
	switch {
	case v.goBinary:
		return "yes (Go)"
	case v.sampled == 0:
		return "unknown (no symbols)"
	case v.ok():
		return fmt.Sprintf("yes (%d/%d)", v.withFP, v.sampled)
	}
	return fmt.Sprintf("no (%d/%d)", v.withFP, v.sampled)
}

const (
	fpSample     = 200
	fpMinFuncLen = 64 // small leaf functions legitimately skip the frame
)

// framePointers samples function prologues of an x86-64 ELF file looking
// for "push %rbp; mov %rsp,%rbp", the frame set-up that frame-pointer
// unwinding needs.
func framePointers(path string) (fpVerdict, error) {
	f, err := elf.Open(path)
	if err != nil {
		return fpVerdict{}, err
	}
	defer f.Close()
	if f.Section(".gopclntab") != nil {
		return fpVerdict{goBinary: true}, nil
	}
	syms, _ := f.Symbols()
	if len(syms) == 0 {
		syms, _ = f.DynamicSymbols()
	}
	var funcs []uint64
	seen := map[uint64]bool{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size >= fpMinFuncLen && s.Value != 0 && !seen[s.Value] {
			seen[s.Value] = true
			funcs = append(funcs, s.Value)
		}
	}
	sort.Slice(funcs, func(i, j int) bool { return funcs[i] < funcs[j] })
	var v fpVerdict
	step := max(1, len(funcs)/fpSample)
	for i := 0; i < len(funcs) && v.sampled < fpSample; i += step {
		code := readAt(f, funcs[i], 16)
		if code == nil {
			continue
		}
		v.sampled++
		if hasFramePrologue(code) {
			v.withFP++
		}
	}
	return v, nil
}

func readAt(f *elf.File, addr uint64, n int) []byte {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+uint64(n) <= p.Vaddr+p.Filesz {
			buf := make([]byte, n)
			if _, err := p.ReadAt(buf, int64(addr-p.Vaddr)); err == nil {
				return buf
			}
		}
	}
	return nil
}

var (
	endbr64  = []byte{0xf3, 0x0f, 0x1e, 0xfa}
	pushRBP  = byte(0x55)
	movRBP   = []byte{0x48, 0x89, 0xe5} // mov %rsp,%rbp
	movRBPv2 = []byte{0x48, 0x8b, 0xec} // the same move, other encoding
)

func hasFramePrologue(code []byte) bool {
	code = bytes.TrimPrefix(code, endbr64)
	if len(code) < 4 || code[0] != pushRBP {
		return false
	}
	return bytes.HasPrefix(code[1:], movRBP) || bytes.HasPrefix(code[1:], movRBPv2)
}

func checkFramePointers(e *env) Result {
	if runtime.GOARCH != "amd64" {
		return Result{Status: OK, Detail: "not checked on " + runtime.GOARCH}
	}
	type target struct{ open, name string }
	var targets []target
	if libc := libcPath(); libc != "" {
		targets = append(targets, target{libc, libc})
	}
	for _, b := range busyExecutables(3) {
		targets = append(targets, target{b[0], b[1]})
	}
	var parts, missing []string
	for _, t := range targets {
		v, err := framePointers(t.open)
		if err != nil {
			continue
		}
		parts = append(parts, filepath.Base(t.name)+": "+v.String())
		if !v.ok() && v.sampled > 0 {
			missing = append(missing, filepath.Base(t.name))
		}
	}
	if len(parts) == 0 {
		return Result{Status: Warn, Detail: "no binary to inspect"}
	}
	detail := strings.Join(parts, ", ")
	if len(missing) == 0 {
		return Result{Status: OK, Detail: detail}
	}
	return Result{Status: Warn,
		Detail: detail + ". Without frame pointers ustack loses or skips the callers of code in " +
			strings.Join(missing, ", ") + " (kernel stacks are not affected)",
		Fix: "rebuild with -fno-omit-frame-pointer, or use a distribution that builds with frame pointers"}
}

func checkDebugSymbols(e *env) Result {
	libc := libcPath()
	if libc == "" {
		return Result{Status: Warn, Detail: "no C library found"}
	}
	f, err := elf.Open(libc)
	if err != nil {
		return Result{Status: Warn, Detail: err.Error()}
	}
	defer f.Close()
	debugFiles := countDebugFiles()
	have := fmt.Sprintf("%d debug files under %s", debugFiles, elfdebug.Root)
	if _, err := f.Symbols(); err == nil && f.Section(".symtab") != nil {
		return Result{Status: OK, Detail: filepath.Base(libc) + " has a full symbol table; " + have}
	}
	if p := elfdebug.BuildIDPath(elfdebug.BuildID(f)); p != "" {
		if _, err := os.Stat(p); err == nil {
			return Result{Status: OK, Detail: filepath.Base(libc) + " is stripped, its debug file is installed; " + have}
		}
	}
	return Result{Status: Warn,
		Detail: filepath.Base(libc) + " is stripped and has no debug file (" + have + "): " +
			"ustack/usym show only exported functions of libc, internal ones appear as their neighbours",
		Fix: "install the C library's debug symbols (e.g. libc6-dbg, glibc-debuginfo)"}
}

// countDebugFiles counts build-id debug files, stopping early: the number
// only tells whether any are installed.
func countDebugFiles() int {
	dirs, _ := os.ReadDir(filepath.Join(elfdebug.Root, ".build-id"))
	n := 0
	for _, d := range dirs {
		if n >= 1000 {
			break
		}
		files, _ := os.ReadDir(filepath.Join(elfdebug.Root, ".build-id", d.Name()))
		for _, f := range files {
			if strings.HasSuffix(f.Name(), ".debug") {
				n++
			}
		}
	}
	return n
}
