package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"friday/profiler"
	"friday/script"
)

// blockedTool is one of the tools of blocked time: offcputime, wakeuptime,
// offwaketime.
type blockedTool struct {
	name    string
	blocked profiler.Blocked
	usage   string
	layout  profiler.Layout
	title   string
}

var blockedTools = map[string]*blockedTool{
	"offcputime": {"offcputime", profiler.OffCPU, offcputimeUsage, profiler.StackLayout, "Off-CPU Time Flame Graph"},
	"wakeuptime": {"wakeuptime", profiler.Wakeup, wakeuptimeUsage, profiler.WakeupLayout, "Wakeup Time Flame Graph"},
	"offwaketime": {"offwaketime", profiler.OffWake, offwaketimeUsage, profiler.OffWakeLayout,
		"Off-Wake Time Flame Graph"},
}

const blockedOutput = `-o FILE writes the profile in the format its extension names (or
--format): .svg (a flame graph), .html (a viewer with a heat map of the
time by second and offset within it: drag across it for the flame graph
of a time range), .pb.gz (pprof), .folded, .json (friday's profile).
`

const offcputimeUsage = `Usage:
  friday offcputime [flags] [duration]

Summarizes the time threads spend blocked (off a CPU) by the stacks they
block in, as bcc's offcputime does, with its flags: the time from a
thread leaving a CPU to its return, in microseconds, from the scheduler's
tracepoints, until Ctrl-C or for duration seconds. It prints each stack
(innermost frame first) with its thread and the time, the largest last;
-f prints folded lines instead, for flame graphs.

` + blockedOutput + `
Examples:
  friday offcputime               # all threads until Ctrl-C
  friday offcputime 5             # for 5 seconds
  friday offcputime -df 5 > out.folded  # folded, for a flame graph
  friday offcputime -m 1000       # blocks of 1 ms or more only
  friday offcputime -p 185        # process 185 only
  friday offcputime -u --state 2  # user threads in TASK_UNINTERRUPTIBLE
  friday offcputime -o off.svg 10 # an off-CPU flame graph of 10 seconds

Flags:
`

const wakeuptimeUsage = `Usage:
  friday wakeuptime [flags] [duration]

Summarizes the time threads spend blocked by the kernel stack of the
thread that wakes them, as bcc's wakeuptime does, with its flags: the time
from a thread blocking to another waking it, in microseconds, until
Ctrl-C or for duration seconds. It prints each woken command, the waker's
stack (outermost frame first) and the waker, the largest time last; -f
prints folded lines instead, for flame graphs.

` + blockedOutput + `
Examples:
  friday wakeuptime               # all threads until Ctrl-C
  friday wakeuptime 5             # for 5 seconds
  friday wakeuptime -f 5 > out.folded  # folded, for a flame graph
  friday wakeuptime -p 185        # threads of process 185 woken only
  friday wakeuptime -u            # user threads only

Flags:
`

const offwaketimeUsage = `Usage:
  friday offwaketime [flags] [duration]

Summarizes the time threads spend blocked by the stacks they block in
joined with the stacks of the threads that wake them, as bcc's offwaketime
does, with its flags: the waker's stacks (outermost frame first), then the
blocked thread's (innermost first), in microseconds, until Ctrl-C or for
duration seconds, the largest time last. -f prints folded lines instead,
for the off-wake flame graph, in which the waker's stacks stand on the
blocked thread's, innermost frames meeting. A thread preempted, which
nothing wakes, has its own stacks alone.

` + blockedOutput + `
Examples:
  friday offwaketime              # all threads until Ctrl-C
  friday offwaketime 5            # for 5 seconds
  friday offwaketime -f 5 > out.folded  # folded, for a flame graph
  friday offwaketime -p 185,190   # processes 185 and 190 only
  friday offwaketime -m 1000      # blocks of 1 ms or more only

Flags:
`

type blockedOpts struct {
	stackOpts
	userThreads, kernelThreads bool
	state                      string
	minUs, maxUs               uint64
	verbose                    bool
}

func newBlockedFlags(t *blockedTool) (*pflag.FlagSet, *blockedOpts) {
	o := &blockedOpts{}
	fs := pflag.NewFlagSet("friday "+t.name, pflag.ContinueOnError)
	fs.SortFlags = false
	wakeup := t.blocked == profiler.Wakeup
	fs.StringVarP(&o.pids, "pid", "p", "", "these `PIDS` only, comma-separated")
	if !wakeup {
		fs.StringVarP(&o.tids, "tid", "t", "", "these `TIDS` only, comma-separated")
	}
	fs.BoolVarP(&o.userThreads, "user-threads-only", "u", false, "user threads only")
	if !wakeup {
		fs.BoolVarP(&o.kernelThreads, "kernel-threads-only", "k", false, "kernel threads only")
		o.declareStacks(fs)
	} else {
		fs.BoolVarP(&o.verbose, "verbose", "v", false, "raw addresses (always shown)")
	}
	fs.BoolVarP(&o.folded, "folded", "f", false, "folded stacks, one a line")
	fs.IntVar(&o.stackStorage, "stack-storage-size", 16384, "`N` stacks kept")
	fs.Uint64VarP(&o.minUs, "min-block-time", "m", 1, "blocks of `US` us or more")
	fs.Uint64VarP(&o.maxUs, "max-block-time", "M", 0, "blocks of `US` us or less")
	if !wakeup {
		fs.StringVar(&o.state, "state", "", "task state `MASK`; 0: runnable")
	}
	o.declareOutput(fs)
	return fs, o
}

func (a *app) blockedTime(t *blockedTool, args []string) int {
	fs, o := newBlockedFlags(t)
	return a.runCollector(t.name, t.usage, fs, &o.stackOpts, args, func(ctx context.Context, host *script.Host, dur time.Duration) error {
		filter, err := o.filter()
		if err != nil {
			return err
		}
		filter.UserThreads, filter.KernelThreads = o.userThreads, o.kernelThreads
		if o.userThreads && o.kernelThreads || (o.userThreads || o.kernelThreads) && (o.pids != "" || o.tids != "") {
			return usageError{msg: "only one of -p, -t, -u and -k may be given"}
		}
		if o.kernelThreads && o.userStacks {
			return usageError{msg: "user stacks of kernel threads make no sense: -k with -U"}
		}
		if o.maxUs > 0 && o.minUs > o.maxUs {
			return usageError{msg: "-m is above -M"}
		}
		state := -1
		if o.state != "" {
			n, err := strconv.ParseUint(o.state, 0, 31)
			if err != nil {
				return usageError{msg: fmt.Sprintf("bad --state %q: want a mask of task states", o.state)}
			}
			state = int(n)
		}
		bo := profiler.OffCPUOptions{
			Blocked: t.blocked, Filter: filter, Stacks: o.stacks(), State: state,
			MinBlock:         usToDuration(o.minUs),
			StackStorageSize: o.stackStorage, Log: a.stderr, OnMainThread: a.onMainThread,
			Stats: o.stats,
		}
		if o.maxUs > 0 {
			bo.MaxBlock = usToDuration(o.maxUs)
		}
		if (o.format == "html" || o.format == "json") && o.rows > 0 {
			bo.Slot = time.Second / time.Duration(o.rows)
		}
		b, err := profiler.StartOffCPU(ctx, host, bo)
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stderr, blockedBanner(t, o)+durationText(dur))
		res, err := b.Wait()
		if err != nil {
			return err
		}
		to := profiler.TextOptions{Layout: t.layout, Delimit: o.delimited, ByThread: true}
		return o.write(a, res, to, cmp.Or(o.title, t.title), o.rows)
	})
}

// usToDuration is a number of microseconds as a Duration, the largest one
// for more than it holds.
func usToDuration(us uint64) time.Duration {
	if us > math.MaxInt64/uint64(time.Microsecond) {
		return math.MaxInt64
	}
	return time.Duration(us) * time.Microsecond
}

// blockedBanner is what a tool of blocked time says as it starts, as bcc's
// does.
func blockedBanner(t *blockedTool, o *blockedOpts) string {
	switch t.blocked {
	case profiler.Wakeup:
		return "Tracing blocked time (us) by kernel stack"
	case profiler.OffWake:
		return fmt.Sprintf("Tracing blocked time (us) by %s off-CPU and waker stack", o.stackContext())
	}
	others := "all threads"
	switch {
	case o.userThreads:
		others = "user threads"
	case o.kernelThreads:
		others = "kernel threads"
	}
	return fmt.Sprintf("Tracing off-CPU time (us) of %s by %s stack", o.threadContext(others), o.stackContext())
}

func blockedFlags(name string) *pflag.FlagSet {
	fs, _ := newBlockedFlags(blockedTools[name])
	return fs
}
