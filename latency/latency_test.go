package latency_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"friday/heatmap"
	"friday/internal/testenv"
	"friday/internal/workload"
	"friday/latency"
	"friday/script"
)

// collect collects a source while work runs.
func collect(t *testing.T, o latency.Options, work func()) *heatmap.Latencies {
	t.Helper()
	testenv.BPF(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := latency.Start(ctx, script.NewHost(), o)
	if err != nil {
		t.Fatal(err)
	}
	work()
	cancel()
	lats, err := c.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return lats
}

// count is how many latencies fall between lo and hi, both included.
func count(l *heatmap.Latencies, lo, hi time.Duration) int64 {
	g := l.Grid(heatmap.LatencyOptions{Min: lo, Max: hi, Columns: 1, RowsPerDecade: 100})
	return g.Total()
}

// The blocked workload sleeps 100 ms five times, in nanosleep (a system
// call that glibc makes clock_nanosleep), and its reader waits 60 ms on
// a pipe five times: so many latencies of about that length are counted,
// within the width of a bucket (an eighth of a power of two).
func TestSleeps(t *testing.T) {
	bin := workload.Build(t, "blocked")
	for _, c := range []struct {
		source, syscall string
		lo, hi          time.Duration
	}{
		{"syscall", "clock_nanosleep", 95 * time.Millisecond, 115 * time.Millisecond},
		{"offcpu", "", 95 * time.Millisecond, 115 * time.Millisecond},
		{"offcpu", "", 55 * time.Millisecond, 70 * time.Millisecond},
	} {
		lats := collect(t, latency.Options{Source: c.source, Syscall: c.syscall}, func() {
			workload.Start(t, bin, "5").Run(t)
		})
		if n := count(lats, c.lo, c.hi); n < 5 {
			t.Errorf("%s %s: %d latencies in [%v, %v] of %d, want 5 or more", c.source, c.syscall, n, c.lo, c.hi, lats.Len())
		}
	}
}

// Four threads spinning on two CPUs wait in the run queue for one
// another: run queue latencies of a millisecond or more are counted.
func TestRunQueue(t *testing.T) {
	bin := workload.Build(t, "shape")
	lats := collect(t, latency.Options{Source: "runq"}, func() {
		workload.Start(t, bin, "4", "2").Run(t)
	})
	if n := count(lats, time.Millisecond, time.Minute); n < 10 {
		t.Errorf("%d run queue latencies of 1 ms or more, of %d", n, lats.Len())
	}
}

// Writes that bypass the page cache are block I/O: each is counted.
func TestBlockIO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "io")
	const writes = 64
	lats := collect(t, latency.Options{Source: "bio"}, func() {
		testenv.Run(t, "dd", "if=/dev/zero", "of="+path, "bs=4k", "count=64", "oflag=direct,sync")
	})
	os.Remove(path)
	if lats.Len() < writes {
		t.Errorf("%d block I/O latencies for %d direct writes", lats.Len(), writes)
	}
}
