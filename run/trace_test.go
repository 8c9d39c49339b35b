package run_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"friday/internal/testenv"
)

// The end-to-end cases live in testdata/trace/*.txt. A file holds one or
// more cases; a case starts with "=== name" and has sections, each
// starting with "--- section":
//
//	program   the script, passed with -e
//	file      the script, written to script.bt and passed as FILE
//	flags     friday trace's flags, one argument per line
//	args      positional parameters, one per line
//	env       NAME=value settings added to friday's environment, one per line
//	stdout    the exact expected standard output (empty when absent);
//	          {time} and {datetime} stand for a wall-clock time as
//	          tseries prints it, 15:04:05[.fraction] and
//	          2006-01-02 15:04:05.000000000
//	stderr    the exact expected standard error (empty when absent)
//	stderr-has lines standard error must hold, instead of all of it: for
//	          messages that quote what the kernel says, which kernels word
//	          differently
//	status    the expected exit status (0 when absent)
//	out.txt   the exact expected content of out.txt, for -o out.txt
//	stdin     what friday reads on standard input (empty when absent)
//	nobpf     (empty) the case runs without BPF, e.g. a syntax error
//
// Lines before the first case are comments. Cases may also build and start
// programs to trace: see prepareCase.
type traceCase struct {
	file, name string
	line       int
	sections   map[string]string
}

func parseCases(path string) ([]*traceCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cases []*traceCase
	var c *traceCase
	section := ""
	for i, line := range strings.SplitAfter(string(data), "\n") {
		trimmed := strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(trimmed, "=== "):
			c = &traceCase{file: filepath.Base(path), name: strings.TrimSpace(trimmed[4:]), line: i + 1, sections: map[string]string{}}
			cases = append(cases, c)
			section = ""
		case strings.HasPrefix(trimmed, "--- "):
			if c == nil {
				return nil, fmt.Errorf("%s:%d: section before the first case", path, i+1)
			}
			section = strings.TrimSpace(trimmed[4:])
			if _, dup := c.sections[section]; dup {
				return nil, fmt.Errorf("%s:%d: second %q section", path, i+1, section)
			}
			switch section {
			case "program", "file", "flags", "args", "env", "stdout", "stderr", "stderr-has", "status", "nobpf", "out.txt", "stdin":
			default:
				if isPrepareSection(section) {
					break
				}
				return nil, fmt.Errorf("%s:%d: unknown section %q", path, i+1, section)
			}
			c.sections[section] = ""
		case c != nil && section != "":
			c.sections[section] += line
		case c != nil && strings.TrimSpace(line) != "":
			return nil, fmt.Errorf("%s:%d: text outside a section", path, i+1)
		}
	}
	return cases, nil
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

var (
	buildOnce sync.Once
	fridayBin string
	buildErr  error
)

// friday builds the command once per test binary, as a user would.
func friday(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "friday-test-")
		if err != nil {
			buildErr = err
			return
		}
		fridayBin = filepath.Join(dir, "friday")
		cmd := exec.Command("go", "build", "-o", fridayBin, "friday/cmd/friday")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return fridayBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fridayBin != "" {
		os.RemoveAll(filepath.Dir(fridayBin))
	}
	os.Exit(code)
}

func TestTrace(t *testing.T) {
	files, err := filepath.Glob("testdata/trace/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no cases in testdata/trace")
	}
	for _, path := range files {
		cases, err := parseCases(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(strings.TrimSuffix(c.file, ".txt")+"/"+c.name, func(t *testing.T) {
				runCase(t, c)
			})
		}
	}
}

func runCase(t *testing.T, c *traceCase) {
	if _, ok := c.sections["nobpf"]; !ok {
		testenv.BPF(t)
	}
	bin := friday(t)
	dir := t.TempDir()
	expand := prepareCase(t, c, dir)
	argv := append([]string{"trace"}, lines(expand(c.sections["flags"]))...)
	prog, hasProg := c.sections["program"]
	file, hasFile := c.sections["file"]
	prog, file = expand(prog), expand(file)
	switch {
	case hasProg && hasFile:
		t.Fatalf("%s:%d: both program and file", c.file, c.line)
	case hasProg:
		argv = append(argv, "-e", strings.TrimSuffix(prog, "\n"))
	case hasFile:
		if err := os.WriteFile(filepath.Join(dir, "script.bt"), []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		argv = append(argv, "script.bt")
	}
	argv = append(argv, lines(expand(c.sections["args"]))...)
	wantStatus := 0
	if s, ok := c.sections["status"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("%s:%d: bad status: %v", c.file, c.line, err)
		}
		wantStatus = n
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), lines(c.sections["env"])...)
	cmd.Stdin = strings.NewReader(c.sections["stdin"])
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s:%d: friday %q did not finish within 30s\nstdout:\n%s\nstderr:\n%s", c.file, c.line, argv, &stdout, &stderr)
	}
	status := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if got, want := stdout.String(), expand(c.sections["stdout"]); !matchOutput(got, want) {
		t.Errorf("%s:%d: stdout differs\n--- got:\n%s--- want:\n%s", c.file, c.line, got, want)
	}
	if has, ok := c.sections["stderr-has"]; ok {
		got := lines(stderr.String())
		for _, want := range lines(expand(has)) {
			if !slices.Contains(got, want) {
				t.Errorf("%s:%d: stderr has no line %q\n--- got:\n%s", c.file, c.line, want, &stderr)
			}
		}
	} else if got, want := stderr.String(), expand(c.sections["stderr"]); got != want {
		t.Errorf("%s:%d: stderr differs\n--- got:\n%s--- want:\n%s", c.file, c.line, got, want)
	}
	if want, ok := c.sections["out.txt"]; ok {
		got, err := os.ReadFile(filepath.Join(dir, "out.txt"))
		if err != nil {
			t.Errorf("%s:%d: %v", c.file, c.line, err)
		} else if string(got) != want {
			t.Errorf("%s:%d: out.txt differs\n--- got:\n%s--- want:\n%s", c.file, c.line, got, want)
		}
	}
	if status != wantStatus {
		t.Errorf("%s:%d: exit status %d, want %d", c.file, c.line, status, wantStatus)
	}
}

// matchOutput compares output with the expected text, in which {time}
// and {datetime} match any wall-clock time.
func matchOutput(got, want string) bool {
	if !strings.Contains(want, "{time}") && !strings.Contains(want, "{datetime}") {
		return got == want
	}
	re := strings.NewReplacer(
		regexp.QuoteMeta("{time}"), `[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?`,
		regexp.QuoteMeta("{datetime}"), `[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}`,
	).Replace(regexp.QuoteMeta(want))
	return regexp.MustCompile(`\A` + re + `\z`).MatchString(got)
}

// TestNeedsRoot runs friday as an unprivileged user: one clear line, no
// kernel error codes.
func TestNeedsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user")
	}
	bin := friday(t)
	// The unprivileged user must be able to reach the binary.
	for dir := filepath.Dir(bin); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		if info, err := os.Stat(dir); err == nil && info.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, info.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(bin, "trace", "-e", "BEGIN { printf(\"hi\\n\"); exit(); }")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = "/"
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	if got, want := stderr.String(), "ERROR: friday trace needs root (CAP_BPF and CAP_PERFMON)\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", &stdout)
	}
}

// TestPid checks that -p PID ends the script when the process exits.
func TestPid(t *testing.T) {
	testenv.BPF(t)
	bin := friday(t)
	sleep := exec.Command("sleep", "0.5")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	// Reap it as soon as it exits, so that its pid is gone.
	go sleep.Wait()
	cmd := exec.Command(bin, "trace", "-p", strconv.Itoa(sleep.Process.Pid), "-e", `BEGIN { printf("start\n"); } END { printf("end\n"); }`)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		out, err = cmd.Output()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("friday -p did not end after the process exited")
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, &stderr)
	}
	if got, want := string(out), "start\nend\n\n\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	// A pid that names no process is refused before anything is loaded.
	out, err = exec.Command(bin, "trace", "-p", "4194303", "-e", "BEGIN { exit(); }").CombinedOutput()
	if got, want := string(out), "ERROR: no process with pid 4194303\n"; err == nil || got != want {
		t.Errorf("bad pid: %v, output %q, want %q", err, got, want)
	}
}

// In a pid namespace of its own, pid and tid count in friday's namespace,
// as cpid does, and pid(init) in the initial one; user-space symbols are
// found through the namespace's /proc.
func TestPidNamespace(t *testing.T) {
	testenv.BPF(t)
	testenv.Tool(t, "unshare")
	bin := friday(t)
	libc, err := filepath.EvalSymlinks("/lib/x86_64-linux-gnu/libc.so.6")
	if err != nil {
		t.Skip("no glibc at /lib/x86_64-linux-gnu to put a uprobe in")
	}
	// The command has a name of its own: other tests run /bin/true too.
	truePath := filepath.Join(t.TempDir(), "pidns_true")
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truePath, data, 0o755); err != nil {
		t.Fatal(err)
	}
	script := `BEGIN { printf("%d %d %d\n", pid, tid, pid(init) != pid); }
tracepoint:syscalls:sys_enter_exit_group /comm == "pidns_true"/ { printf("%d %d\n", pid == cpid, pid(init) != cpid); }
uprobe:` + libc + `:exit /pid == cpid/ { printf("%s|%s\n", usym(reg("ip")), ustack(1)); }`
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", bin, "trace", "-q", "-c", truePath, "-e", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got, want := string(out), "1 1 1\nexit|\n        exit+0\n\n1 1\n\n\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}
