package run_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"friday/internal/testenv"
)

// leakTarget calls a function and passes a USDT probe behind a semaphore
// a thousand times a second until it is killed. Built without PIE, its
// symbols' values are the addresses in the running process.
const leakTarget = `#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <unistd.h>

unsigned short leak_tick_semaphore __attribute__((section(".probes")));
volatile int sink;

__attribute__((noinline)) int work(int i) { return i * 3; }

int main(void) {
	for (int i = 0;; i++) {
		sink = work(i);
		if (leak_tick_semaphore)
			DTRACE_PROBE1(leak, tick, i);
		usleep(1000);
	}
}
`

// tracedProcess is a running leakTarget whose memory shows what the
// kernel put in for friday: a uprobe replaces the instruction at the
// function with a breakpoint, and a USDT probe with a semaphore raises
// the semaphore.
type tracedProcess struct {
	path    string
	pid     int
	mem     *os.File
	fn, sem uint64 // addresses of work and the semaphore
	fnOrig  []byte // work's first bytes, untraced
}

func startLeakTarget(t *testing.T) *tracedProcess {
	t.Helper()
	gcc := testenv.Tool(t, "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "target.c")
	if err := os.WriteFile(src, []byte(leakTarget), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &tracedProcess{path: filepath.Join(dir, "target")}
	if out, err := exec.Command(gcc, "-O2", "-no-pie", "-o", p.path, src).CombinedOutput(); err != nil {
		testenv.Unavailable(t, "gcc cannot build a USDT program (sys/sdt.h is in systemtap-sdt-dev): %v\n%s", err, out)
	}
	f, err := elf.Open(p.path)
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		switch s.Name {
		case "work":
			p.fn = s.Value
		case "leak_tick_semaphore":
			p.sem = s.Value
		}
	}
	if p.fn == 0 || p.sem == 0 {
		t.Fatal("the target has no work or leak_tick_semaphore symbol")
	}
	cmd := exec.Command(p.path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	p.pid = cmd.Process.Pid
	// /proc/PID/mem opened before the exec would show the forked image,
	// where the target's addresses are not mapped; /proc/PID/exe names the
	// target a moment before its code is mapped, so wait for the code.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if exe, _ := os.Readlink("/proc/" + strconv.Itoa(p.pid) + "/exe"); exe == p.path {
			if p.mem, err = os.Open("/proc/" + strconv.Itoa(p.pid) + "/mem"); err != nil {
				t.Fatal(err)
			}
			if _, err := p.mem.ReadAt(make([]byte, 1), int64(p.fn)); err == nil {
				break
			}
			p.mem.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("the target did not start")
		}
	}
	t.Cleanup(func() { p.mem.Close() })
	p.fnOrig = p.read(t, p.fn, 16)
	if n := p.semaphoreValue(t); n != 0 {
		t.Fatalf("semaphore is %d before any tracing", n)
	}
	return p
}

func (p *tracedProcess) read(t *testing.T, addr uint64, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	if _, err := p.mem.ReadAt(buf, int64(addr)); err != nil {
		t.Fatalf("reading the target's memory at %#x: %v", addr, err)
	}
	return buf
}

func (p *tracedProcess) semaphoreValue(t *testing.T) uint16 {
	return binary.NativeEndian.Uint16(p.read(t, p.sem, 2))
}

// probed checks that friday's probes are in the target's memory.
func (p *tracedProcess) probed(t *testing.T) {
	if bytes.Equal(p.read(t, p.fn, len(p.fnOrig)), p.fnOrig) {
		t.Error("no uprobe breakpoint in work while friday runs: the check below proves nothing")
	}
	if p.semaphoreValue(t) == 0 {
		t.Error("the USDT semaphore is 0 while friday runs")
	}
}

// unprobed checks that friday took its probes out of the target.
func (p *tracedProcess) unprobed(t *testing.T) {
	if got := p.read(t, p.fn, len(p.fnOrig)); !bytes.Equal(got, p.fnOrig) {
		t.Errorf("work still holds a uprobe breakpoint: % x, untraced % x", got, p.fnOrig)
	}
	if n := p.semaphoreValue(t); n != 0 {
		t.Errorf("the USDT semaphore is %d after friday ended", n)
	}
}

// TestNoLeaksUserAndPerf is TestNoLeaks for the probes made through
// perf_event_open rather than tracefs: uprobes, uretprobes and USDT
// probes (with a semaphore) in a running process, and profile and
// software events on every CPU. A perf event lives as long as a file
// descriptor or BPF link holds it and keeps its program alive, so a
// leaked one shows as a leaked program, link or child process; the
// uprobes and the semaphore are also checked in the traced process's
// memory.
func TestNoLeaksUserAndPerf(t *testing.T) {
	testenv.BPF(t)
	bin := friday(t)
	p := startLeakTarget(t)
	script := strings.NewReplacer("PROG", p.path).Replace(`uprobe:PROG:work { @u = count(); }
uretprobe:PROG:work { @r = count(); }
usdt:PROG:leak:tick { @t = count(); }
profile:hz:99 { @p = count(); }
software:cpu-clock:1000000 { @s = count(); }
`)
	fired := []string{"@u:", "@r:", "@t:", "@p:", "@s:"}
	pid := strconv.Itoa(p.pid)
	cases := []leakCase{
		{name: "exit", args: []string{"-e", script + "interval:ms:500 { exit(); }"}},
		{name: "sigint", args: []string{"-e", script}, signal: syscall.SIGINT},
		{name: "sigterm", args: []string{"-e", script}, signal: syscall.SIGTERM},
		{name: "pid", args: []string{"-p", pid, "-e", script}, signal: syscall.SIGTERM},
		// The hardware event fails to attach after the others were
		// attached; where it attaches, the run ends with exit() instead.
		{name: "error after load", args: []string{"-e", script + "hardware:cpu-cycles:1000000 { exit(); } interval:ms:300 { exit(); }"}, wantStatus: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.signal != 0 {
				c.attached = p.probed
			}
			out := runToEnd(t, bin, c)
			if c.wantStatus == 0 {
				for _, w := range fired {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q: a probe never fired\n%s", w, out)
					}
				}
			}
			// The kernel takes a uprobe out when its last perf event goes.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) && !bytes.Equal(p.read(t, p.fn, len(p.fnOrig)), p.fnOrig) {
				time.Sleep(50 * time.Millisecond)
			}
			p.unprobed(t)
		})
	}
}
