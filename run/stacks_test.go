package run_test

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"friday/internal/testenv"
)

// TestKernelStack checks kstack from a syscall tracepoint against what any
// x86-64 kernel has on that path, and the perf format of kernel and user
// stacks: their offsets and addresses depend on the kernel build, so the
// end-to-end cases cannot hold them.
func TestKernelStack(t *testing.T) {
	testenv.BPF(t)
	bin := friday(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// One thread of this process makes the syscalls the probe waits for;
	// the Go runtime's other threads call getpid too (to signal each
	// other), and two events at once would mix their output. The probe
	// fires once: the thread's calls come one after the other.
	stop := make(chan struct{})
	defer close(stop)
	tids := make(chan int)
	go func() {
		runtime.LockOSThread()
		tids <- syscall.Gettid()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				syscall.Getpid()
			}
		}
	}()
	prog := `t:syscalls:sys_enter_getpid /tid == ` + strconv.Itoa(<-tids) + ` && @fired == 0/ {
		@fired = 1; print(kstack); print(kstack(perf, 3)); print(ustack(perf, 1)); printf("%s|\n", kstack(2)); exit();
	}`
	out, err := exec.Command(bin, "trace", "-e", prog).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Each stack starts with a newline and print() ends it with one more.
	body, ok := strings.CutPrefix(string(out), "\n")
	parts := strings.Split(body, "\n\n\n")
	if !ok || len(parts) < 4 {
		t.Fatalf("unexpected output:\n%s", out)
	}
	frame := regexp.MustCompile(`^        [A-Za-z0-9_.]+\+[0-9]+$`)
	kstack := strings.Split(parts[0], "\n")
	for _, l := range kstack {
		if !frame.MatchString(l) {
			t.Errorf("kstack frame %q is not name+offset indented by 8", l)
		}
	}
	// The syscall entry path, innermost last.
	text := parts[0]
	i, j := strings.Index(text, " do_syscall_64+"), strings.Index(text, " entry_SYSCALL_64_after_hwframe+")
	if i < 0 || j < i {
		t.Errorf("kstack lacks do_syscall_64 then entry_SYSCALL_64_after_hwframe:\n%s", text)
	}
	perf := regexp.MustCompile(`^\t[0-9a-f]{16} [A-Za-z0-9_.]+\+[0-9]+$`)
	if lines := strings.Split(parts[1], "\n"); len(lines) != 3 {
		t.Errorf("kstack(perf, 3) has %d frames:\n%s", len(lines), parts[1])
	} else {
		for n, l := range lines {
			if !perf.MatchString(l) || !strings.HasSuffix(l, strings.TrimSpace(kstack[n])) {
				t.Errorf("kstack(perf) frame %q is not tab, address, %s", l, strings.TrimSpace(kstack[n]))
			}
		}
	}
	uperf := regexp.MustCompile(`^\t[0-9a-f]+ \S+\+[0-9]+ \((.*)\)$`)
	if m := uperf.FindStringSubmatch(parts[2]); m == nil || m[1] != self {
		t.Errorf("ustack(perf, 1) = %q, want tab, address, name+offset (%s)", parts[2], self)
	}
	if want := strings.Join(kstack[:2], "\n") + "\n|"; parts[3] != want {
		t.Errorf("printf of kstack(2) = %q, want %q", parts[3], want)
	}
}

// TestBuildIDStack checks ustack(build_id) of a program linked with a
// build id of our choosing: each frame is that build id and the file
// offset of the address ustack(raw) gives, which the test works out from
// the program's ELF headers.
func TestBuildIDStack(t *testing.T) {
	testenv.BPF(t)
	gcc := testenv.Tool(t, "gcc")
	bin := friday(t)
	dir := t.TempDir()
	src := `#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) int c(int x) { return x + 1; }
__attribute__((noinline)) int b(int x) { return c(x + 1) + 1; }
int main(void) {
	puts("ready");
	fflush(stdout);
	for (int n = 0;; n += b(1)) {
		usleep(10000);
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "prog.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	const buildID = "0123456789abcdef0123456789abcdef01234567"
	prog := filepath.Join(dir, "prog")
	testenv.Run(t, gcc, "-O0", "-fno-omit-frame-pointer", "-fcf-protection=none", "-no-pie",
		"-Wl,--build-id=0x"+buildID, "-o", prog, filepath.Join(dir, "prog.c"))
	cmd := exec.Command(prog)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}

	script := `uprobe:` + prog + `:c { printf("%s|%s|%s|\n", ustack(raw, 3), ustack(build_id, 3), ustack(build_id, 1)); exit(); }`
	out, err := exec.Command(bin, "trace", "-e", script).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	parts := strings.Split(string(out), "|")
	if len(parts) < 4 {
		t.Fatalf("unexpected output:\n%s", out)
	}
	f, err := elf.Open(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The file offset of a virtual address: in the loadable segment that
	// maps it, as far from the segment's start in the file.
	fileOff := func(addr uint64) uint64 {
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr < p.Vaddr+p.Memsz {
				return addr - p.Vaddr + p.Off
			}
		}
		t.Fatalf("address %#x is in no loadable segment of the program", addr)
		return 0
	}
	var want strings.Builder
	want.WriteString("\n")
	for _, a := range strings.Fields(parts[0]) {
		addr, err := strconv.ParseUint(a, 16, 64)
		if err != nil {
			t.Fatalf("ustack(raw) frame %q: %v", a, err)
		}
		fmt.Fprintf(&want, "%s 0x%02x\n", buildID, fileOff(addr))
	}
	if got := parts[1]; got != want.String() {
		t.Errorf("ustack(build_id, 3) = %q, want %q (ustack(raw, 3) = %q)", got, want.String(), parts[0])
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == "c" {
			if got, want := parts[2], fmt.Sprintf("\n%s 0x%02x\n", buildID, fileOff(s.Value)); got != want {
				t.Errorf("ustack(build_id, 1) = %q, want the file offset of c: %q", got, want)
			}
		}
	}
}
