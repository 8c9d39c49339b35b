package doctor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"friday/tracefs"
)

var (
	hostOnce   sync.Once
	hostReport *Report
)

// hostRun runs the checks once for all tests: they attach real probes.
func hostRun(t *testing.T) *Report {
	t.Helper()
	hostOnce.Do(func() { hostReport = Run(Options{}) })
	if !hostReport.Usable {
		var buf bytes.Buffer
		hostReport.WriteText(&buf)
		if os.Getenv("CI") == "true" {
			t.Fatalf("BPF is unusable here:\n%s", buf.String())
		}
		t.Skip("BPF is unusable here (needs root)")
	}
	return hostReport
}

func status(t *testing.T, r *Report, name string) Result {
	t.Helper()
	c, ok := r.Result(name)
	if !ok {
		t.Fatalf("no check %q", name)
	}
	return c
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestHostChecks(t *testing.T) {
	r := hostRun(t)
	want := map[string]Status{
		"privileges":     OK,
		"bpf":            OK,
		"tracepoint":     OK,
		"raw tracepoint": OK,
		"uprobe":         OK,
		"perf software":  OK,
		"kernel symbols": OK,
		"btf":            Fail,
		"kprobe":         OK,
	}
	if exists("/sys/kernel/btf/vmlinux") {
		want["btf"] = OK
	}
	// The kprobe verdict must agree with what the kernel offers to create
	// kprobes with. The test machine has neither; there fentry is refused
	// too, as it needs the same function-entry instrumentation.
	if !exists("/sys/bus/event_source/devices/kprobe") && !exists(filepath.Join(tracingDir(), "kprobe_events")) {
		want["kprobe"] = Fail
		want["fentry"] = Fail
	}
	for name, st := range want {
		if c := status(t, r, name); c.Status != st {
			t.Errorf("%s: %s (%s), want %s", name, c.Status, c.Detail, st)
		}
	}
	for _, c := range r.Checks {
		if c.Status == Fail && c.Fix == "" {
			t.Errorf("%s fails without saying what to do: %s", c.Name, c.Detail)
		}
	}
}

// TestNothingLeftBehind checks that the probes, programs and mounts the
// checks create are gone: the process holds no BPF or perf file
// descriptors afterwards, and without --fix no file system it mounted
// stays mounted. (Other programs may mount things meanwhile, so only
// tracefs, the one the checks mount, is compared.)
func TestNothingLeftBehind(t *testing.T) {
	hostRun(t)
	hadTracefs := tracingDir() != ""
	Run(Options{})
	if !hadTracefs && tracingDir() != "" {
		t.Error("tracefs was mounted for the checks and left mounted")
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if strings.Contains(target, "bpf") || strings.Contains(target, "perf_event") {
			t.Errorf("fd %s left open: %s", fd.Name(), target)
		}
	}
}

func TestJSON(t *testing.T) {
	r := hostRun(t)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Checks []map[string]any `json:"checks"`
		Usable *bool            `json:"usable"`
	}
	if err := json.Unmarshal(buf.Bytes(), &shape); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if shape.Usable == nil || !*shape.Usable || len(shape.Checks) != len(checks) {
		t.Fatalf("want usable and %d checks, got %s", len(checks), buf.String())
	}
	for i, c := range shape.Checks {
		if c["name"] != checks[i].name {
			t.Errorf("check %d is %v, want %s", i, c["name"], checks[i].name)
		}
		if s, _ := c["status"].(string); s != "OK" && s != "WARN" && s != "FAIL" {
			t.Errorf("%v: status %v", c["name"], c["status"])
		}
		if d, _ := c["detail"].(string); d == "" {
			t.Errorf("%v: no detail", c["name"])
		}
		for k := range c {
			if k != "name" && k != "status" && k != "detail" && k != "fix" {
				t.Errorf("%v: unexpected key %q", c["name"], k)
			}
		}
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("JSON does not round-trip:\n%+v\n%+v", back, *r)
	}
}

func TestText(t *testing.T) {
	r := hostRun(t)
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	next := 0
	for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		if len(line) >= 80 {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
		if next < len(r.Checks) && strings.HasPrefix(line, r.Checks[next].Name+" ") {
			if got := strings.Fields(line[nameWidth:])[0]; got != r.Checks[next].Status.String() {
				t.Errorf("%s: status column reads %q", r.Checks[next].Name, got)
			}
			next++
		}
	}
	if next != len(r.Checks) {
		t.Errorf("found %d of %d checks in:\n%s", next, len(r.Checks), buf.String())
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"one two three", 7, []string{"one two", "three"}},
		{"one two three", 13, []string{"one two three"}},
		{"averyveryverylongword x", 5, []string{"averyveryverylongword", "x"}},
		{"  spaced   out  ", 20, []string{"spaced out"}},
	} {
		if got := wrap(c.in, c.width); !reflect.DeepEqual(got, c.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}

// TestFix mounts what is missing and leaves it mounted; the test then
// restores the mounts it found.
func TestFix(t *testing.T) {
	hostRun(t)
	hadDebugfs := mounted("debugfs") != ""
	hadTracefs := tracingDir() != ""
	r := Run(Options{Fix: true})
	if !hadDebugfs && mounted("debugfs") != "" {
		defer unix.Unmount(debugfsDir, 0)
	}
	if !hadTracefs && tracingDir() != "" {
		defer unix.Unmount(tracefs.MountPoint, 0)
	}
	for _, name := range []string{"tracefs", "debugfs"} {
		if c := status(t, r, name); c.Status != OK {
			t.Errorf("%s after --fix: %s %s", name, c.Status, c.Detail)
		}
	}
	if mounted("debugfs") == "" || tracingDir() == "" {
		t.Error("--fix did not leave tracefs and debugfs mounted")
	}
}
