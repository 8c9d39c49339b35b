package tracefs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"friday/internal/testenv"
	"friday/mounts"
)

func TestFindInMounts(t *testing.T) {
	b, err := os.ReadFile("testdata/mounts.txt")
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		line   int
		want   string
		mounts string
	}
	var cases []tc
	for i, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "#") || l == "" && len(cases) == 0:
		case strings.HasPrefix(l, ">"):
			cases = append(cases, tc{line: i + 1, want: strings.TrimSpace(l[1:])})
		case len(cases) > 0:
			cases[len(cases)-1].mounts += l + "\n"
		}
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		if got := FindInMounts(mounts.Parse(c.mounts)); got != c.want {
			t.Errorf("mounts.txt:%d: got %q, want %q", c.line, got, c.want)
		}
	}
}

func TestDir(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		testenv.Unavailable(t, "tracefs is unusable: %v", err)
	}
	evs, err := Events(dir)
	if err != nil {
		testenv.Unavailable(t, "tracefs is unusable: %v", err)
	}
	found := false
	for _, ev := range evs {
		if ev == (Event{"sched", "sched_switch"}) {
			found = true
		}
	}
	if !found {
		t.Fatalf("%s lists %d events, without sched:sched_switch", dir, len(evs))
	}
	text, err := Format(dir, Event{"sched", "sched_switch"})
	if err != nil || !strings.Contains(text, "name: sched_switch") {
		t.Fatalf("format of sched:sched_switch: %v\n%s", err, text)
	}
}

// TestMount checks, in child processes with a mount namespace of their
// own, that Dir mounts tracefs when nothing has, and says why it cannot
// when it runs without privilege.
func TestMount(t *testing.T) {
	switch os.Getenv("TRACEFS_TEST_CHILD") {
	case "root":
		unmountTracing(t)
		dir, err := Dir()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "available_events")); err != nil {
			t.Fatal(err)
		}
		ms, _ := mounts.Read(mounts.Table)
		if FindInMounts(ms) != MountPoint {
			t.Fatalf("tracefs not mounted at %s: %q", MountPoint, ms)
		}
		return
	case "nobody":
		unmountTracing(t)
		if err := syscall.Setgid(65534); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Setuid(65534); err != nil {
			t.Fatal(err)
		}
		_, err := Dir()
		want := "tracefs is not mounted and mounting it at " + MountPoint + " needs root"
		if err == nil || err.Error() != want {
			t.Fatalf("Dir() error %v, want %q", err, want)
		}
		return
	}
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "mounting needs root")
	}
	for _, mode := range []string{"root", "nobody"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMount$", "-test.v")
		cmd.Env = append(os.Environ(), "TRACEFS_TEST_CHILD="+mode)
		// Go makes the new namespace's mounts private, so nothing the
		// child unmounts or mounts is seen outside it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child as %s: %v\n%s", mode, err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestMount") {
			t.Fatalf("child as %s did not pass:\n%s", mode, out)
		}
	}
}

// unmountTracing removes every tracing mount of this mount namespace;
// mounts may be stacked, so each is unmounted until nothing is left.
func unmountTracing(t *testing.T) {
	for _, m := range []string{MountPoint, "/sys/kernel/debug"} {
		for unix.Unmount(m, unix.MNT_DETACH) == nil {
		}
	}
	ms, _ := mounts.Read(mounts.Table)
	if d := FindInMounts(ms); d != "" {
		t.Fatalf("tracing still mounted at %s", d)
	}
}
