package run_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"friday/internal/testenv"
)

// Cases that trace programs of their own bring them as source and build
// them before friday runs, all in the case's directory:
//
//	src NAME  a file written as NAME (a path in the case's directory)
//	build     commands run with sh -c, one per line
//	start     a command started before friday and killed after it; friday
//	          runs once the command has printed its first line, and {pid}
//	          stands for its pid in flags, args and program
//
// {dir}, the case's directory, may appear in flags, args, program,
// stdout and stderr.

// isPrepareSection reports whether a section name is one of those.
func isPrepareSection(name string) bool {
	return name == "build" || name == "start" || strings.HasPrefix(name, "src ")
}

// prepareCase writes, builds and starts what c needs in dir and returns
// the expansion of {pid} and {dir}.
func prepareCase(t *testing.T, c *traceCase, dir string) func(string) string {
	t.Helper()
	for name, text := range c.sections {
		if file, ok := strings.CutPrefix(name, "src "); ok {
			path := filepath.Join(dir, file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, line := range lines(c.sections["build"]) {
		tool := strings.Fields(line)[0]
		testenv.Tool(t, tool)
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s:%d: %s: %v\n%s", c.file, c.line, line, err, out)
		}
	}
	pid := ""
	if line := strings.TrimSpace(c.sections["start"]); line != "" {
		pid = strconv.Itoa(startCommand(t, c, dir, line))
	}
	return strings.NewReplacer("{pid}", pid, "{dir}", dir).Replace
}

// startCommand starts line in dir, waits for its first line of output and
// returns its pid; the command is killed when the test ends.
func startCommand(t *testing.T, c *traceCase, dir, line string) int {
	t.Helper()
	argv := strings.Fields(line)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s:%d: start %s: %v", c.file, c.line, line, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		r := bufio.NewReader(out)
		_, err := r.ReadString('\n')
		ready <- err
		io.Copy(io.Discard, r)
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("%s:%d: %s printed no line: %v", c.file, c.line, line, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s:%d: %s printed nothing within 10s", c.file, c.line, line)
	}
	if cmd.ProcessState != nil {
		t.Fatalf("%s:%d: %s exited early", c.file, c.line, line)
	}
	return cmd.Process.Pid
}
