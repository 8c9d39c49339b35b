package tools

import (
	"embed"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed runqslower
var runqslowerScripts embed.FS

var runqslower = &tool.Tool{
	Name:     "runqslower",
	Summary:  "Trace high run queue latency",
	Variants: tool.Ladder(runqslowerScripts, "runqslower", "tracepoint", "rawtracepoint"),
	Args:     []tool.Arg{{Name: "min_us", Help: "minimum run queue latency to trace, in us (default 10000)"}},
	Examples: []string{
		"# trace run queue latency higher than 10000 us (default)",
		"1000 # trace run queue latency higher than 1000 us",
		"-p 123 # trace pid 123",
		"-t 123 # trace tid 123 (use for threads only)",
		"-P # also show previous task comm and TID",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &runqslowerOpts{}
		fs.BoolVarP(&o.previous, "previous", "P", false, "also show previous task name and TID")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		fs.IntVarP(&o.tid, "tid", "t", 0, "trace this `TID` only")
		return o
	},
}

type runqslowerOpts struct {
	previous bool
	pid, tid int
}

func (o *runqslowerOpts) Setup(s *tool.Session) error {
	if o.pid != 0 && o.tid != 0 {
		return tool.Usage("argument -t/--tid: not allowed with argument -p/--pid")
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	if o.tid != 0 {
		s.Param("tid", o.tid)
	}
	minUS := 10000
	if args := s.Args(); len(args) > 0 {
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 {
			return tool.Usage("min_us must be a whole number of microseconds, got %q", args[0])
		}
		minUS = n
	}
	s.Param("min_us", minUS)
	s.Banner("Tracing run queue latency higher than " + strconv.Itoa(minUS) + " us")
	cols := []tool.Column{
		{Name: "TIME", Key: "time", Head: "%-8s ", Cell: "%-8s "},
		{Name: "COMM", Key: "comm", Head: "%-16s ", Cell: "%-16s "},
		{Name: "TID", Key: "tid", Head: "%-6s ", Cell: "%-6d "},
		{Name: "LAT(us)", Key: "lat_us", Head: "%14s ", Cell: "%14d "},
		{Name: "PREV COMM", Key: "prev_comm", Head: "%-16s ", Cell: "%-16s "},
		{Name: "PREV TID", Key: "prev_tid", Head: "%-6s", Cell: "%-6d"},
	}
	if !o.previous {
		// The previous task stays in JSON.
		cols[4].Head, cols[5].Head = "", ""
	}
	s.Table(cols...)
	return nil
}

func (o *runqslowerOpts) Event(s *tool.Session, e *script.Event) error {
	return s.RowOf(tool.Clock(s.Wall(e.Uint(5)), time.TimeOnly), tool.Bytes(e.Bytes(0)), tool.Uint(e.Uint(1)),
		tool.Uint(e.Uint(2)), tool.Bytes(e.Bytes(3)), tool.Uint(e.Uint(4)))
}
