// Package testenv holds the one rule tests follow for what the machine
// lacks: under CI=true the machine is expected to have every tool and BPF,
// so a missing one fails the test; elsewhere the test is skipped with the
// reason.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
)

// Unavailable stops the test because the machine lacks what it needs.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Tool returns the path of the program name, stopping the test when it is
// not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s not installed", name)
	}
	return p
}

// BPF stops the test when BPF is unusable here, after lifting the
// memlock limit older kernels charge maps to. It creates a ring buffer,
// the map every friday program sends its events through.
func BPF(t testing.TB) {
	t.Helper()
	err := rlimit.RemoveMemlock()
	if err == nil {
		var m *ebpf.Map
		m, err = ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096})
		if err == nil {
			m.Close()
		}
	}
	if err != nil {
		Unavailable(t, "BPF is unusable: %v", err)
	}
}

// Run runs a command the test needs and returns its standard output; a
// failure ends the test with the command's error output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// GoBuild builds the main package in dir, a path like "./testdata/prog"
// inside this module, into the file out, without cgo so that the program
// is the same on every machine.
func GoBuild(t testing.TB, dir, out string, flags ...string) {
	t.Helper()
	args := append(append([]string{"build", "-o", out}, flags...), dir)
	cmd := exec.Command(Tool(t, "go"), args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, b)
	}
}
