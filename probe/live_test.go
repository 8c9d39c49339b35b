package probe

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"friday/internal/testenv"
	"friday/syntax"
	"friday/tracefs"
	"friday/types"
)

// machine is the resolver of the machine the tests run on, shared by them
// as the commands share theirs among scripts.
var machine = NewResolver(nil)

// liveTracefs returns the machine's tracefs directory; tests that read it
// fail under CI when it is unusable and skip elsewhere.
func liveTracefs(t *testing.T) string {
	t.Helper()
	dir, err := tracefs.Dir()
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "available_events"))
	}
	if err != nil {
		testenv.Unavailable(t, "tracefs is unusable: %v", err)
	}
	return dir
}

// TestLiveExpandWildcard compares a wildcard's expansion with the
// event directories of the real tracefs.
func TestLiveExpandWildcard(t *testing.T) {
	dir := liveTracefs(t)
	ents, err := os.ReadDir(filepath.Join(dir, "events", "syscalls"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "sys_enter_") {
			want = append(want, "tracepoint:syscalls:"+e.Name())
		}
	}
	sort.Strings(want)
	if len(want) < 100 {
		t.Fatalf("only %d syscall tracepoints in %s", len(want), dir)
	}
	pts, err := machine.Expand(&syntax.AttachPoint{Raw: "t:syscalls:sys_enter_*"}, UserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pts {
		got = append(got, p.Name)
		if p.Args == nil || p.Format == nil || p.Format.ID == 0 {
			t.Errorf("%s has no args or format", p.Name)
		}
	}
	checkLines(t, "t:syscalls:sys_enter_*", got, want)

	pts, err = machine.Expand(&syntax.AttachPoint{Raw: "tracepoint:*:sched_switch"}, UserOptions{})
	if err != nil || len(pts) != 1 || pts[0].Name != "tracepoint:sched:sched_switch" {
		t.Errorf("tracepoint:*:sched_switch = %v, %v", pts, err)
	}
}

// TestLiveRawTracepoints expands raw tracepoints from the kernel's BTF.
func TestLiveRawTracepoints(t *testing.T) {
	pts, err := machine.Expand(&syntax.AttachPoint{Raw: "rt:sched_switch*"}, UserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) == 0 || pts[0].Name != "rawtracepoint:sched_switch" {
		t.Fatalf("rt:sched_switch* = %v", pts)
	}
	var args []string
	for _, a := range pts[0].Proto.Params {
		args = append(args, a.Name)
	}
	if got := strings.Join(args, ","); !strings.Contains(got, "prev,next") {
		t.Errorf("sched_switch arguments %s, want prev and next among them", got)
	}
}

var fieldLine = regexp.MustCompile(`field:([^;]*[^\w;\[\]])(\w+)(\[\d*\])?;\s*offset:(\d+);\s*size:(\d+);`)

// TestLiveFormats parses real format files and checks every field against
// a second, independent reading of the same text.
func TestLiveFormats(t *testing.T) {
	dir := liveTracefs(t)
	for _, ev := range []string{"syscalls:sys_enter_openat", "sched:sched_switch", "block:block_rq_issue"} {
		cat, name, _ := strings.Cut(ev, ":")
		text, err := os.ReadFile(filepath.Join(dir, "events", cat, name, "format"))
		if err != nil {
			t.Fatal(err)
		}
		p := expandOne(t, "tracepoint:"+ev)
		seen := 0
		for _, m := range fieldLine.FindAllStringSubmatch(string(text), -1) {
			fname := m[2]
			off, _ := strconv.Atoi(m[4])
			size, _ := strconv.Atoi(m[5])
			f, ok := p.Args.Field(fname)
			if IsCommonField(fname) {
				if ok {
					t.Errorf("%s: common field %s is in args", ev, fname)
				}
				continue
			}
			seen++
			switch {
			case !ok:
				t.Errorf("%s: field %s missing", ev, fname)
			case f.Offset != off:
				t.Errorf("%s: %s at offset %d, file says %d", ev, fname, f.Offset, off)
			case f.DataLoc != strings.HasPrefix(m[1], "__data_loc"):
				t.Errorf("%s: %s data_loc %v, file declares %q", ev, fname, f.DataLoc, m[1])
			case !f.DataLoc && f.Type.Size > size:
				t.Errorf("%s: %s is %s, larger than the file's %d bytes", ev, fname, f.Type, size)
			case strings.HasPrefix(m[1], "char") && m[3] != "" && (f.Type.Kind != types.String || f.Type.Size != size):
				t.Errorf("%s: %s is %s, want a string of %d bytes", ev, fname, f.Type, size)
			case strings.Contains(m[1], "*") && (f.Type.Kind != types.Pointer || f.Type.User != (cat == "syscalls")):
				t.Errorf("%s: %s is %s (user %v)", ev, fname, f.Type, f.Type.User)
			}
		}
		if seen == 0 || seen != len(p.Args.Fields) {
			t.Errorf("%s: file has %d fields, args %d", ev, seen, len(p.Args.Fields))
		}
	}
}

func TestLiveNearest(t *testing.T) {
	liveTracefs(t)
	_, err := machine.Expand(&syntax.AttachPoint{Raw: "t:syscalls:sys_enter_opnat"}, UserOptions{})
	want := "No matches for tracepoint syscalls:sys_enter_opnat. Did you mean tracepoint:syscalls:sys_enter_openat? (run 'friday trace -l' to list the tracepoints)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestLiveList compares listings with available_events and a format file.
func TestLiveList(t *testing.T) {
	dir := liveTracefs(t)
	b, err := os.ReadFile(filepath.Join(dir, "available_events"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Fields(string(b)) {
		if cat, name, _ := strings.Cut(l, ":"); cat == "syscalls" && strings.Contains(name, "open") {
			want = append(want, "tracepoint:"+l)
		}
	}
	sort.Strings(want)
	got, err := machine.List("tracepoint:syscalls:*open*", false, UserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, "-l tracepoint:syscalls:*open*", got, want)

	text, err := os.ReadFile(filepath.Join(dir, "events/sched/sched_switch/format"))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"tracepoint:sched:sched_switch"}
	for _, m := range fieldLine.FindAllStringSubmatch(string(text), -1) {
		if !IsCommonField(m[2]) {
			want = append(want, "    "+strings.TrimSpace(m[1])+" "+m[2]+m[3])
		}
	}
	got, err = machine.List("sched:sched_switch", true, UserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, "-lv sched:sched_switch", got, want)
}

// TestNotRoot runs the expansion as an unprivileged user in a child process
// and checks that the error says root is needed.
func TestNotRoot(t *testing.T) {
	if os.Getenv("PROBE_TEST_UNPRIVILEGED") == "1" {
		_, err := machine.Expand(&syntax.AttachPoint{Raw: "t:syscalls:sys_enter_getpid"}, UserOptions{})
		if err == nil {
			os.Stdout.WriteString("no error\n")
		} else {
			os.Stdout.WriteString(err.Error() + "\n")
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a child as another user")
	}
	liveTracefs(t)
	// The test binary's own directory is private to root: run a copy.
	dir, err := os.MkdirTemp("", "probe-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "probe.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestNotRoot$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PROBE_TEST_UNPRIVILEGED=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "reading tracefs needs root") {
		t.Errorf("unprivileged expansion said:\n%s", out)
	}
}
