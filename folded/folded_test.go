package folded_test

import (
	"bufio"
	"fmt"
	"strings"
	"testing"

	"friday/folded"
	"friday/internal/casetest"
)

// Each archive in testdata holds cases: NAME.in is read, NAME.want is what
// it reads as, one folded line a stack, then the count of skipped lines or
// the error.
func TestRead(t *testing.T) {
	casetest.Run(t, "testdata/*.txtar", read)
}

func read(in string) string {
	var b strings.Builder
	r := folded.NewReader(strings.NewReader(in), "in")
	w := bufio.NewWriter(&b)
	for r.Next() {
		s := r.Stack()
		frames := make([]string, len(s.Frames))
		for i, f := range s.Frames {
			frames[i] = string(f)
		}
		if s.Diff {
			folded.Write(w, frames, s.Before, s.Value)
		} else {
			folded.Write(w, frames, s.Value)
		}
	}
	if err := r.Err(); err != nil {
		fmt.Fprintf(w, "error: %v\n", err)
	}
	if n := r.Skipped(); n > 0 {
		fmt.Fprintf(w, "skipped: %d\n", n)
	}
	w.Flush()
	return b.String()
}

func TestTask(t *testing.T) {
	for _, c := range []struct {
		frame    string
		comm     string
		pid, tid int
		ok       bool
	}{
		{"bash-1234/1240", "bash", 1234, 1240, true},
		{"bash-1234", "bash", 1234, 0, true},
		{"swapper-0/0", "swapper", 0, 0, true},
		{"kworker/u8:2-481/481", "kworker/u8:2", 481, 481, true},
		{"my-app-77", "my-app", 77, 0, true},
		{"main", "", 0, 0, false},
		{"x-+5", "", 0, 0, false},
		{"-5", "", 0, 0, false},
		{"a-b/3", "", 0, 0, false},
	} {
		comm, pid, tid, ok := folded.Task(c.frame)
		if comm != c.comm || pid != c.pid || tid != c.tid || ok != c.ok {
			t.Errorf("Task(%q) = %q %d %d %v, want %q %d %d %v", c.frame, comm, pid, tid, ok, c.comm, c.pid, c.tid, c.ok)
		}
		if ok && folded.TaskFrame(comm, pid, tid) != c.frame && tid != 0 {
			t.Errorf("TaskFrame(%q, %d, %d) = %q", comm, pid, tid, folded.TaskFrame(comm, pid, tid))
		}
	}
}
