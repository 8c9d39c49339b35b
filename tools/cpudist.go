package tools

import (
	"embed"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed cpudist
var cpudistScripts embed.FS

var cpudist = &tool.Tool{
	Name:     "cpudist",
	Summary:  "Summarize on- and off-CPU time per task as a histogram.",
	Interval: true,
	Variants: tool.Ladder(cpudistScripts, "cpudist", "tracepoint"),
	Examples: []string{
		"# summarize on-CPU time as a histogram",
		"-O # summarize off-CPU time as a histogram",
		"1 10 # print 1 second summaries, 10 times",
		"-mT 1 # 1s summaries, milliseconds, and timestamps",
		"-P # show each PID separately",
		"-p 185 # trace PID 185 only",
		"-I # include CPU idle time",
		"-e # show extension summary (average/total/count)",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &cpudistOpts{}
		fs.BoolVarP(&o.offcpu, "offcpu", "O", false, "measure off-CPU time")
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.BoolVarP(&o.ms, "milliseconds", "m", false, "millisecond histogram")
		fs.BoolVarP(&o.pids, "pids", "P", false, "print a histogram per process ID")
		fs.BoolVarP(&o.tids, "tids", "L", false, "print a histogram per thread ID")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		fs.BoolVarP(&o.idle, "include-idle", "I", false, "include CPU idle time")
		fs.BoolVarP(&o.extension, "extension", "e", false, "show extension summary (average/total/count)")
		return o
	},
}

type cpudistOpts struct {
	offcpu, timestamp, ms, pids, tids, idle, extension bool
	pid                                                int
	unit                                               string
}

func (o *cpudistOpts) Setup(s *tool.Session) error {
	if o.pids && o.tids {
		return tool.Usage("can only use one of -P and -L")
	}
	for name, on := range map[string]bool{"offcpu": o.offcpu, "milliseconds": o.ms, "pids": o.pids,
		"tids": o.tids, "include_idle": o.idle, "extension": o.extension} {
		if on {
			s.Param(name, true)
		}
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	o.unit = "usecs"
	if o.ms {
		o.unit = "msecs"
	}
	what := "on"
	if o.offcpu {
		what = "off"
	}
	s.Banner("Tracing " + what + "-CPU time... Hit Ctrl-C to end.")
	return nil
}

func (o *cpudistOpts) Summary(s *tool.Session) error {
	s.Heading(o.timestamp)
	name, label := taskHist(o.pids, o.tids)
	var keyOf func([]any) any
	if label != "" {
		keyOf = func(k []any) any { return tool.Task{ID: signed(k[0]), Comm: k[1].(string)} }
	}
	if err := s.PrintHistMap(name, o.unit, label, keyOf); err != nil {
		return err
	}
	if !o.extension {
		return nil
	}
	return printExtension(s, o.unit)
}
