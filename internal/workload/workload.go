// Package workload runs the C programs of known shape that the tests of
// profiles measure: c/shape.c spends known shares of its CPU time in two
// call chains, c/blocked.c blocks for known times in known calls. Each
// waits for SIGUSR1 to start and, once done, prints "name nanoseconds"
// lines of what it measured itself.
package workload

import (
	"bufio"
	_ "embed"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"friday/internal/testenv"
)

var (
	//go:embed c/shape.c
	shapeC []byte
	//go:embed c/blocked.c
	blockedC []byte
	//go:embed c/start.h
	startH []byte
)

var sources = map[string][]byte{"shape": shapeC, "blocked": blockedC}

// Build compiles the workload name ("shape" or "blocked") without
// optimizing: every function then keeps its frame pointer (gcc leaves it
// out of leaf functions when it optimizes, which hides their callers from
// the walk) and makes its calls as written. It returns the program's path.
func Build(t testing.TB, name string) string {
	t.Helper()
	testenv.Tool(t, "gcc")
	dir := t.TempDir()
	src, bin := filepath.Join(dir, name+".c"), filepath.Join(dir, name)
	if err := os.WriteFile(src, sources[name], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "start.h"), startH, 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, "gcc", "-O0", "-g", "-fno-omit-frame-pointer", "-pthread", "-o", bin, src)
	return bin
}

// Workload is a started workload, waiting for its signal.
type Workload struct {
	Pid int
	cmd *exec.Cmd
	out *bufio.Reader
}

// Start starts a built workload with its arguments and waits until it is
// ready.
func Start(t testing.TB, bin string, args ...string) *Workload {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	w := &Workload{Pid: cmd.Process.Pid, cmd: cmd, out: bufio.NewReader(stdout)}
	if l, err := w.out.ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("%s: %q, %v", bin, l, err)
	}
	return w
}

// Run lets the workload go and returns what it measured once it exits:
// nanoseconds by name.
func (w *Workload) Run(t testing.TB) map[string]float64 {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(w.out)
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	m := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(string(rest)), "\n") {
		name, v, _ := strings.Cut(l, " ")
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("workload printed %q", rest)
		}
		m[name] = n
	}
	return m
}
