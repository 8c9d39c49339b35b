package tools

import (
	"cmp"
	"embed"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed funccount
var funccountScripts embed.FS

// funccountScript is funccount's one script, whose attach point comes
// from the pattern; the variants are the kinds of probe it may name.
var funccountScript = tool.Ladder(funccountScripts, "funccount", "count")[0]

var funccount = &tool.Tool{
	Name:    "funccount",
	Summary: "Count functions, tracepoints, and USDT probes",
	Args:    []tool.Arg{{Name: "pattern", Help: "search expression for events", Required: true}},
	Variants: []*tool.Variant{
		funccountScript.With("tracepoint", "tracepoint:syscalls:sys_enter_getpid"),
		funccountScript.With("uprobe", "uprobe:c:getpid"),
		funccountScript.With("usdt", "usdt:c:setjmp"),
		funccountScript.With("fentry", "fentry:vfs_read"),
		funccountScript.With("kprobe", "kprobe:vfs_read"),
	},
	Examples: []string{
		"'vfs_*' # count kernel fns starting with \"vfs\"",
		"-r '^vfs.*' # same as above, using regular expressions",
		"-Ti 5 'vfs_*' # output every 5 seconds, with timestamps",
		"-d 10 'vfs_*' # trace for 10 seconds only",
		"-p 185 'vfs_*' # count vfs calls for PID 185 only",
		"t:sched:sched_fork # count calls to the sched_fork tracepoint",
		"-p 185 u:node:gc* # count all GC USDT probes in node, PID 185",
		"c:malloc # count all malloc() calls in libc",
		"./test:read* # count \"read*\" calls in the ./test binary",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &funccountOpts{}
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		fs.IntVarP(&o.interval, "interval", "i", 0, "summary `INTERVAL`, seconds")
		fs.IntVarP(&o.duration, "duration", "d", 0, "total `DURATION` of trace, seconds")
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.BoolVarP(&o.regexp, "regexp", "r", false, "use regular expressions. Default is \"*\" wildcards only.")
		return o
	},
}

type funccountOpts struct {
	pid, interval, duration int
	timestamp, regexp       bool
}

// setupPattern reads the pattern argument of funccount and funclatency:
// it sets the run's ladder, one variant of script per rung that serves
// the pattern's kind of probe, with its entry points (and its return
// points with ret), and returns the pattern parsed.
func setupPattern(s *tool.Session, script *tool.Variant, regexp, ret bool) (probePattern, error) {
	p, err := parsePattern(s.Args()[0])
	if err != nil {
		return p, err
	}
	if regexp {
		re, err := p.regexp()
		if err != nil {
			return p, err
		}
		s.Filter(re)
	}
	var vs []*tool.Variant
	exits := p.points(true)
	for i, e := range p.points(false) {
		params := []string{e[1]}
		if ret {
			params = append(params, exits[i][1])
		}
		vs = append(vs, script.With(e[0], params...))
	}
	s.Ladder(vs...)
	return p, nil
}

// setupPid limits funccount and funclatency to process pid (0: all). As
// bcc's, user-space probes are attached in that process only, which the
// kernel filters (the tool ends when it exits); kernel probes fire
// everywhere, and the scripts keep the process's calls.
func setupPid(s *tool.Session, p probePattern, pid int) {
	switch {
	case pid == 0:
	case p.kind == "user" || p.kind == "usdt":
		s.Pid(pid)
	default:
		s.Param("pid", pid)
	}
}

func (o *funccountOpts) Setup(s *tool.Session) error {
	p, err := setupPattern(s, funccountScript, o.regexp, false)
	if err != nil {
		return err
	}
	setupPid(s, p, o.pid)
	s.Interval = time.Duration(o.interval) * time.Second
	s.Duration = time.Duration(o.duration) * time.Second
	s.Banner("Tracing functions for \"" + s.Args()[0] + "\"... Hit Ctrl-C to end.")
	return nil
}

// funccountRow is one line of the summary.
type funccountRow struct {
	Func  string `json:"func"`
	Count uint64 `json:"count"`
}

func (o *funccountOpts) Summary(s *tool.Session) error {
	entries, err := s.Map("@counts")
	if err != nil {
		return err
	}
	if err := s.ClearMap("@counts"); err != nil {
		return err
	}
	rows := make([]funccountRow, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, funccountRow{funcName(e.Key[0].(string)), unsigned(e.Value)})
	}
	// Fewest first, as bcc's: the busiest end the list, above the prompt.
	slices.SortFunc(rows, func(a, b funccountRow) int {
		return cmp.Or(cmp.Compare(a.Count, b.Count), cmp.Compare(a.Func, b.Func))
	})
	if s.JSON() {
		s.Set("funcs", rows)
		return nil
	}
	s.Heading(o.timestamp)
	s.Printf("%-36s %8s\n", "FUNC", "COUNT")
	for _, r := range rows {
		s.Printf("%-36s %8d\n", r.Func, r.Count)
	}
	return nil
}
