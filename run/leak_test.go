package run_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"friday/internal/testenv"
)

// bpfKinds are the kinds of BPF object the kernel numbers, with the bpf(2)
// command that walks their ids and the fdinfo field naming a held one.
var bpfKinds = []struct {
	name   string
	next   uintptr
	fdinfo string
}{
	{"program", unix.BPF_PROG_GET_NEXT_ID, "prog_id:"},
	{"map", unix.BPF_MAP_GET_NEXT_ID, "map_id:"},
	{"link", unix.BPF_LINK_GET_NEXT_ID, "link_id:"},
}

// bpfIDs lists the ids of the BPF objects the bpf(2) command cmd walks.
func bpfIDs(t *testing.T, cmd uintptr) map[uint32]bool {
	ids := map[uint32]bool{}
	var attr struct{ start, next, flags uint32 }
	for {
		_, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		if errno == unix.ENOENT {
			return ids
		}
		if errno != 0 {
			t.Fatalf("bpf(GET_NEXT_ID): %v", errno)
		}
		ids[attr.next] = true
		attr.start = attr.next
	}
}

// tracefsFiles hold probes made through tracefs rather than perf_event_open;
// they outlive the process that made them unless it removes them.
var tracefsFiles = []string{"kprobe_events", "uprobe_events", "dynamic_events"}

type kernelState struct {
	ids     [3]map[uint32]bool
	tracefs map[string]string
}

func snapshot(t *testing.T) kernelState {
	var s kernelState
	for i, k := range bpfKinds {
		s.ids[i] = bpfIDs(t, k.next)
	}
	s.tracefs = map[string]string{}
	for _, f := range tracefsFiles {
		data, _ := os.ReadFile(filepath.Join("/sys/kernel/tracing", f))
		s.tracefs[f] = string(data)
	}
	return s
}

// heldIDs returns, per kind, the ids of BPF objects some live process
// holds a file descriptor to. Other tests may run at the same time as this
// one; what they hold is theirs, not a leak.
func heldIDs() [3]map[uint32]bool {
	var held [3]map[uint32]bool
	for i := range held {
		held[i] = map[uint32]bool{}
	}
	infos, _ := filepath.Glob("/proc/[0-9]*/fdinfo/*")
	for _, path := range infos {
		data, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(data, []byte("_id:")) {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			for i, k := range bpfKinds {
				if v, ok := strings.CutPrefix(sc.Text(), k.fdinfo); ok {
					if id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
						held[i][uint32(id)] = true
					}
				}
			}
		}
	}
	return held
}

// leaks lists the objects made after before that still exist and that no
// process holds. The kernel frees closed objects asynchronously, so it
// waits for them to go.
func leaks(t *testing.T, before kernelState) []string {
	var found []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		found = nil
		after := snapshot(t)
		held := heldIDs()
		for i, k := range bpfKinds {
			for id := range after.ids[i] {
				if !before.ids[i][id] && !held[i][id] {
					found = append(found, fmt.Sprintf("%s %d", k.name, id))
				}
			}
		}
		for _, f := range tracefsFiles {
			if after.tracefs[f] != before.tracefs[f] {
				found = append(found, fmt.Sprintf("tracefs %s changed:\n%s", f, after.tracefs[f]))
			}
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return found
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	var kids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// The command name may hold spaces; fields after it are fixed.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			p, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			kids = append(kids, p)
		}
	}
	return kids
}

// TestNoLeaks runs friday to its end in the ways a run can end and checks
// that it leaves no BPF program, map or link, no tracefs probe and no
// process behind.
func TestNoLeaks(t *testing.T) {
	testenv.BPF(t)
	bin := friday(t)
	// Two tracepoints and an interval: one perf event per CPU, a ring
	// buffer, maps of several kinds.
	const script = `tracepoint:syscalls:sys_enter_getppid { @calls[comm] = count(); printf("getppid\n"); }
tracepoint:sched:sched_process_exit { @exits = count(); }
interval:ms:20 { @ticks = count(); @h = hist(@ticks); }
`
	cases := []leakCase{
		{name: "exit", args: []string{"-e", script + "interval:ms:200 { exit(); }"}, wantOut: "@ticks:"},
		{name: "sigint", args: []string{"-e", script}, signal: syscall.SIGINT, wantOut: "@ticks:"},
		{name: "sigterm", args: []string{"-e", script}, signal: syscall.SIGTERM, wantOut: "@ticks:"},
		{name: "command", args: []string{"-c", "/bin/sleep 30", "-e", script}, signal: syscall.SIGTERM, wantOut: "@ticks:"},
		// The hardware event fails to attach after the tracepoints were
		// attached; where it attaches, the run ends with exit() instead.
		{name: "error after load", args: []string{"-e", script + "hardware:cpu-cycles:1000000 { exit(); } interval:ms:200 { exit(); }"}, wantStatus: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runToEnd(t, bin, c) })
	}
}

// leakCase is one way of running friday to its end.
type leakCase struct {
	name string
	args []string
	// signal is sent once the probes are attached; 0 lets the run end
	// by itself.
	signal     syscall.Signal
	wantStatus int    // -1: any
	wantOut    string // a piece the output must have, if any
	// attached, if set, checks the traced processes while the probes are
	// in place, just before the signal.
	attached func(t *testing.T)
}

// runToEnd runs friday as c says and checks that it ends cleanly and
// leaves nothing behind in the kernel; it returns friday's output.
func runToEnd(t *testing.T, bin string, c leakCase) string {
	before := snapshot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"trace"}, c.args...)...)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var kids []int
	if c.signal != 0 {
		waitFor(t, &stderr, "Attached")
		// Let the probes fire a while.
		time.Sleep(300 * time.Millisecond)
		if c.attached != nil {
			c.attached(t)
		}
		kids = children(pid)
		if err := cmd.Process.Signal(c.signal); err != nil {
			t.Fatal(err)
		}
	}
	err := cmd.Wait()
	status := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("friday did not end\nstdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	}
	if c.wantStatus >= 0 && status != c.wantStatus {
		t.Errorf("exit status %d, want %d\nstderr:\n%s", status, c.wantStatus, &stderr)
	}
	if !strings.Contains(stdout.String(), c.wantOut) {
		t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", c.wantOut, &stdout, &stderr)
	}
	if strings.Contains(stderr.String(), "goroutine ") || strings.Contains(stderr.String(), "panic") {
		t.Errorf("stack trace on stderr:\n%s", &stderr)
	}
	for _, k := range kids {
		if err := syscall.Kill(k, 0); err == nil {
			t.Errorf("child process %d of friday still runs", k)
			syscall.Kill(k, syscall.SIGKILL)
		}
	}
	for _, l := range leaks(t, before) {
		t.Errorf("left in the kernel: %s", l)
	}
	return stdout.String()
}

// lockedBuffer is written by a running process and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until buf, written by a running process, holds s.
func waitFor(t *testing.T, buf *lockedBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(buf.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the output within 20s:\n%s", s, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
