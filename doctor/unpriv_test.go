package doctor

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

const childEnv = "FRIDAY_DOCTOR_AS_CHILD"

// TestMain lets the test binary run the checks as another user and
// report them as JSON.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := Run(Options{}).WriteJSON(os.Stdout); err != nil {
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestUnprivileged runs the checks as an ordinary user: they must say
// that tracing is impossible and why, without failing in other ways.
func TestUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to another user")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The user must be able to reach and run a copy of the test binary.
	dir := t.TempDir()
	for d := dir; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	bin := filepath.Join(dir, "doctor.test")
	copyFile(t, self, bin)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var r Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Usable {
		t.Errorf("an ordinary user was told tracing works:\n%s", out)
	}
	for name, want := range map[string]Status{"privileges": Fail, "bpf": Fail, "tracepoint": Fail} {
		if c, ok := r.Result(name); !ok || c.Status != want {
			t.Errorf("%s: got %+v, want %s", name, c, want)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
