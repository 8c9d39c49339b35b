package tools

import (
	"embed"
	"time"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed funclatency
var funclatencyScripts embed.FS

// funclatencyScript is funclatency's one script, whose attach points
// come from the pattern; the variants are the kinds of probe it may name.
var funclatencyScript = tool.Ladder(funclatencyScripts, "funclatency", "latency")[0]

var funclatency = &tool.Tool{
	Name:    "funclatency",
	Summary: "Time functions and print latency as a histogram",
	Args:    []tool.Arg{{Name: "pattern", Help: "search expression for functions", Required: true}},
	Variants: []*tool.Variant{
		funclatencyScript.With("uprobe", "uprobe:c:getpid", "uretprobe:c:getpid"),
		funclatencyScript.With("fentry", "fentry:vfs_read", "fexit:vfs_read"),
		funclatencyScript.With("kprobe", "kprobe:vfs_read", "kretprobe:vfs_read"),
	},
	Examples: []string{
		"do_sys_open # time the do_sys_open() kernel function",
		"c:read # time the read() C library function",
		"-u vfs_read # time vfs_read(), in microseconds",
		"-m do_nanosleep # time do_nanosleep(), in milliseconds",
		"-i 2 -d 10 c:open # output every 2 seconds, for duration 10s",
		"-mTi 5 vfs_read # output every 5 seconds, with timestamps",
		"-p 181 vfs_read # time process 181 only",
		"'vfs_fstat*' # time both vfs_fstat() and vfs_fstatat()",
		"'c:*printf' # time the *printf family of functions",
		"-F 'vfs_r*' # show one histogram per matched function",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &funclatencyOpts{}
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		fs.IntVarP(&o.interval, "interval", "i", 0, "summary `INTERVAL`, in seconds")
		fs.IntVarP(&o.duration, "duration", "d", 0, "total `DURATION` of trace, in seconds")
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.BoolVarP(&o.us, "microseconds", "u", false, "microsecond histogram")
		fs.BoolVarP(&o.ms, "milliseconds", "m", false, "millisecond histogram")
		fs.BoolVarP(&o.functions, "function", "F", false, "show a separate histogram per function")
		fs.BoolVarP(&o.regexp, "regexp", "r", false, "use regular expressions. Default is \"*\" wildcards only.")
		return o
	},
}

type funclatencyOpts struct {
	pid, interval, duration              int
	timestamp, us, ms, functions, regexp bool

	unit string
}

func (o *funclatencyOpts) Setup(s *tool.Session) error {
	if o.us && o.ms {
		return tool.Usage("can only use one of -u and -m")
	}
	p, err := setupPattern(s, funclatencyScript, o.regexp, true)
	if err != nil {
		return err
	}
	if p.kind == "tracepoint" || p.kind == "usdt" {
		return tool.Usage("pattern %q: funclatency times functions, not tracepoints or USDT probes", s.Args()[0])
	}
	setupPid(s, p, o.pid)
	o.unit = "nsecs"
	switch {
	case o.ms:
		s.Param("milliseconds", true)
		o.unit = "msecs"
	case o.us:
		s.Param("microseconds", true)
		o.unit = "usecs"
	}
	if o.functions {
		s.Param("functions", true)
	}
	s.Interval = time.Duration(o.interval) * time.Second
	s.Duration = time.Duration(o.duration) * time.Second
	s.Banner("Tracing functions for \"" + s.Args()[0] + "\"... Hit Ctrl-C to end.")
	return nil
}

func (o *funclatencyOpts) Summary(s *tool.Session) error {
	s.Heading(o.timestamp)
	name, label, keyOf := "@all", "", (func([]any) any)(nil)
	if o.functions {
		name, label = "@funcs", "Function"
		keyOf = func(k []any) any { return funcName(k[0].(string)) }
	}
	if err := s.PrintHistMap(name, o.unit, label, keyOf); err != nil {
		return err
	}
	return printExtension(s, o.unit)
}
