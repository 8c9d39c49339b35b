package profiler_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"friday/internal/testenv"
	"friday/internal/workload"
	"friday/profile"
	"friday/profiler"
	"friday/script"
)

func has(frames []profile.Frame, name string) bool {
	return slices.ContainsFunc(frames, func(f profile.Frame) bool { return f.Name == name })
}

// hasSuffix tells whether a frame's name ends in suffix: kernel functions
// get prefixes from one version to the next (pipe_read, anon_pipe_read).
func hasSuffix(frames []profile.Frame, suffix string) bool {
	return slices.ContainsFunc(frames, func(f profile.Frame) bool { return strings.HasSuffix(f.Name, suffix) })
}

func names(frames []profile.Frame) string {
	var s []string
	for _, f := range frames {
		s = append(s, f.Name)
	}
	return strings.Join(s, ";")
}

// A program that spends known shares of its CPU time in two call chains
// on two threads is profiled at 99 Hz for 6 seconds of its CPU time
// (about 600 samples, within 2 points of the shares two times in three):
// each chain's share of the samples is its share of the CPU time the
// program measured, within 5 points. The program has exited when the
// profile is symbolized.
func TestCPUShares(t *testing.T) {
	testenv.BPF(t)
	w := workload.Start(t, workload.Build(t, "shape"), "2", "6")
	p, err := profiler.StartCPU(context.Background(), script.NewHost(), profiler.CPUOptions{
		Hz: 99, CPU: -1, Filter: profiler.Filter{Pids: []int{w.Pid}},
	})
	if err != nil {
		t.Fatal(err)
	}
	measured := w.Run(t)
	p.Stop()
	res, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var total, hot, cold int64
	for _, r := range res.Records {
		if r.Task.Pid != w.Pid {
			t.Errorf("a sample of process %d (%s): only %d's were asked for", r.Task.Pid, r.Task.Comm, w.Pid)
			continue
		}
		total += r.Value
		switch {
		case has(r.User, "hot_chain"):
			hot += r.Value
			// A sample in hot_middle's own instructions, or before
			// hot_leaf has set up its frame, ends at hot_middle.
			if s := names(r.User); !strings.HasSuffix(s, "worker;hot_chain;hot_middle;hot_leaf") && !strings.HasSuffix(s, "worker;hot_chain;hot_middle") {
				t.Errorf("hot stack %s", names(r.User))
			}
		case has(r.User, "cold_chain"):
			cold += r.Value
		}
	}
	if total < 400 {
		t.Fatalf("%d samples in 6 s of CPU time at 99 Hz", total)
	}
	for _, c := range []struct {
		name    string
		samples int64
	}{{"hot_chain", hot}, {"cold_chain", cold}} {
		got := float64(c.samples) / float64(total)
		want := measured[c.name] / measured["process"]
		t.Logf("%s: %.1f%% of %d samples, %.1f%% of the CPU time", c.name, 100*got, total, 100*want)
		if math.Abs(got-want) > 0.05 {
			t.Errorf("%s: %.1f%% of the samples, %.1f%% of the CPU time", c.name, 100*got, 100*want)
		}
	}
	// Every sample keeps its time, within the profile.
	prof := res.Profile
	var n int64
	for _, s := range prof.Samples {
		n += s.Value
		if s.Time < 0 || s.Time > int64(prof.Duration) {
			t.Errorf("sample at %v of a %v profile", time.Duration(s.Time), prof.Duration)
			break
		}
	}
	if n != total || prof.Frequency != 99 {
		t.Errorf("profile of %d samples at %d Hz, records of %d", n, prof.Frequency, total)
	}
}

// blockedRun measures the blocked time of the blocked workload.
func blockedRun(t *testing.T, o profiler.OffCPUOptions) (*profiler.Result, map[string]float64, int) {
	t.Helper()
	testenv.BPF(t)
	w := workload.Start(t, workload.Build(t, "blocked"), "5")
	o.Filter.Pids = []int{w.Pid}
	// Blocked in nanosleep and pipe reads: asleep, interruptibly. A busy
	// machine also preempts the threads, runnable, which is no blocking.
	o.State = 1
	b, err := profiler.StartOffCPU(context.Background(), script.NewHost(), o)
	if err != nil {
		t.Fatal(err)
	}
	measured := w.Run(t)
	b.Stop()
	res, err := b.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return res, measured, w.Pid
}

// within checks that a time in microseconds is the workload's measure,
// in nanoseconds, within 10%.
func within(t *testing.T, what string, us int64, ns float64) {
	t.Helper()
	t.Logf("%s: %d us blocked, %.0f us measured", what, us, ns/1000)
	if math.Abs(float64(us)*1000-ns) > 0.1*ns {
		t.Errorf("%s: %d us blocked, %.0f us measured", what, us, ns/1000)
	}
}

// Threads blocked in nanosleep and in read() of a pipe for known times:
// offcputime gives each stack that time.
func TestOffCPU(t *testing.T) {
	res, measured, pid := blockedRun(t, profiler.OffCPUOptions{Blocked: profiler.OffCPU})
	var sleep, read int64
	for _, r := range res.Records {
		switch {
		case r.Task.Pid != pid:
			t.Errorf("blocked time of process %d (%s): only %d's was asked for", r.Task.Pid, r.Task.Comm, pid)
		case has(r.User, "sleeper_wait"):
			sleep += r.Value
			if !has(r.Kernel, "do_nanosleep") {
				t.Errorf("sleeper_wait blocked in %s", names(r.Kernel))
			}
		case has(r.User, "reader_wait"):
			read += r.Value
			if !hasSuffix(r.Kernel, "pipe_read") {
				t.Errorf("reader_wait blocked in %s", names(r.Kernel))
			}
		}
	}
	within(t, "sleeper_wait", sleep, measured["sleeper_wait"])
	within(t, "reader_wait", read, measured["reader_wait"])
}

// The reader of the pipe is woken by the writer: offwaketime joins their
// stacks under the time the reader waited.
func TestOffWake(t *testing.T) {
	res, measured, pid := blockedRun(t, profiler.OffCPUOptions{Blocked: profiler.OffWake})
	var read int64
	for _, r := range res.Records {
		if r.Task.Pid == pid && has(r.User, "reader_wait") {
			if r.Waker == nil || !has(r.Waker.User, "writer_wake") || !hasSuffix(r.Waker.Kernel, "pipe_write") {
				t.Errorf("reader_wait woken by %+v", r.Waker)
				continue
			}
			read += r.Value
		}
	}
	within(t, "reader_wait", read, measured["reader_wait"])
	// The profile's stacks: the blocked thread's, root first, then "--"
	// and the waker's, innermost first, then the waker's thread.
	p := res.Profile
	found := false
	for _, st := range p.Stacks {
		frames := make([]profile.Frame, len(st))
		for i, id := range st {
			frames[i] = p.Frames[id]
		}
		sep := slices.IndexFunc(frames, func(f profile.Frame) bool { return f.Name == "--" })
		if sep < 0 || !has(frames[:sep], "reader_wait") {
			continue
		}
		waker := frames[sep+1:]
		pw := slices.IndexFunc(waker, func(f profile.Frame) bool { return strings.HasSuffix(f.Name, "pipe_write") })
		ww := slices.IndexFunc(waker, func(f profile.Frame) bool { return f.Name == "writer_wake" })
		if pw < 0 || ww < pw || !strings.Contains(waker[len(waker)-1].Name, fmt.Sprintf("-%d/", pid)) {
			t.Errorf("stack of reader_wait woken: %s", names(frames))
		}
		found = true
	}
	if !found {
		t.Error("no stack of reader_wait woken in the profile")
	}
}

// wakeuptime gives the reader's time to the kernel stack that wrote to
// the pipe.
func TestWakeup(t *testing.T) {
	res, measured, pid := blockedRun(t, profiler.OffCPUOptions{Blocked: profiler.Wakeup})
	var read int64
	for _, r := range res.Records {
		if r.Task.Pid == pid && r.Waker != nil && hasSuffix(r.Waker.Kernel, "pipe_write") {
			read += r.Value
		}
	}
	within(t, "woken by pipe_write", read, measured["reader_wait"])
}

// Processes that start after the profile and exit before it ends, each
// within a few tens of milliseconds (before friday reads its first sample
// of them, a tenth of a second at most after it is taken), have their
// stacks symbolized: from the records of what they mapped.
func TestShortLived(t *testing.T) {
	testenv.BPF(t)
	bin := workload.Build(t, "shape")
	p, err := profiler.StartCPU(context.Background(), script.NewHost(), profiler.CPUOptions{Hz: 99, CPU: -1})
	if err != nil {
		t.Fatal(err)
	}
	pids := map[int]bool{}
	for range 20 {
		w := workload.Start(t, bin, "2", "0.03")
		pids[w.Pid] = true
		w.Run(t)
	}
	p.Stop()
	res, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var n, resolved, work int64
	for _, r := range res.Records {
		if !pids[r.Task.Pid] || len(r.User) == 0 {
			continue
		}
		n += r.Value
		// Samples taken as the dynamic loader starts a process have no
		// worker, and an unknown root: the loader keeps no frame
		// pointer.
		if slices.ContainsFunc(r.User, func(f profile.Frame) bool { return f.Name != "[unknown]" }) {
			resolved += r.Value
		}
		if has(r.User, "worker") {
			work += r.Value
		}
	}
	if n < 20 || float64(resolved) < 0.9*float64(n) || float64(work) < 0.5*float64(n) {
		t.Errorf("of %d samples of the short processes, %d resolved, %d in worker", n, resolved, work)
	}
}
