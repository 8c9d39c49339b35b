package run_test

import (
	"os"
	"os/exec"
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
