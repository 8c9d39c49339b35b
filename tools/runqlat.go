package tools

import (
	"embed"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed runqlat
var runqlatScripts embed.FS

var runqlat = &tool.Tool{
	Name:     "runqlat",
	Summary:  "Summarize run queue (scheduler) latency as a histogram",
	Interval: true,
	Variants: tool.Ladder(runqlatScripts, "runqlat", "tracepoint", "rawtracepoint"),
	Examples: []string{
		"# summarize run queue latency as a histogram",
		"1 10 # print 1 second summaries, 10 times",
		"-mT 1 # 1s summaries, milliseconds, and timestamps",
		"-P # show each PID separately",
		"-p 185 # trace PID 185 only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &runqlatOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.BoolVarP(&o.ms, "milliseconds", "m", false, "millisecond histogram")
		fs.BoolVarP(&o.pids, "pids", "P", false, "print a histogram per process ID")
		fs.BoolVar(&o.pidnss, "pidnss", false, "print a histogram per PID namespace")
		fs.BoolVarP(&o.tids, "tids", "L", false, "print a histogram per thread ID")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		return o
	},
}

type runqlatOpts struct {
	timestamp, ms, pids, pidnss, tids bool
	pid                               int
}

func (o *runqlatOpts) Setup(s *tool.Session) error {
	n := 0
	for name, on := range map[string]bool{"pids": o.pids, "pidnss": o.pidnss, "tids": o.tids, "milliseconds": o.ms} {
		if on {
			s.Param(name, true)
			if name != "milliseconds" {
				n++
			}
		}
	}
	if n > 1 {
		return tool.Usage("can only use one of -P, -L and --pidnss")
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	s.Banner("Tracing run queue latency... Hit Ctrl-C to end.")
	return nil
}

func (o *runqlatOpts) Summary(s *tool.Session) error {
	s.Heading(o.timestamp)
	name, label := taskHist(o.pids, o.tids)
	if label == "" && o.pidnss {
		name, label = "@pidnss", "pidns"
	}
	var keyOf func([]any) any
	if label != "" {
		keyOf = func(k []any) any { return signed(k[0]) }
	}
	unit := "usecs"
	if o.ms {
		unit = "msecs"
	}
	return s.PrintHistMap(name, unit, label, keyOf)
}

// taskHist names the histogram map of the scripts of runqlat and cpudist
// (-P a histogram per process, -L per thread) and the label of its keys.
func taskHist(pids, tids bool) (name, label string) {
	switch {
	case pids:
		return "@pids", "pid"
	case tids:
		return "@tids", "tid"
	}
	return "@all", ""
}
