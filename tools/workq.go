package tools

import (
	"cmp"
	"embed"
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed workq
var workqScripts embed.FS

var workq = &tool.Tool{
	Name:     "workq",
	Summary:  "Summarize kernel work items per work function: wait and run times",
	Interval: true,
	Variants: tool.Ladder(workqScripts, "workq", "tracepoint"),
	Examples: []string{
		"# per work function: items, wait and run times",
		"1 10 # print 1 second summaries, 10 times",
		"-mT 1 # 1s summaries, milliseconds, and timestamps",
		"-W # per workqueue instead of per function",
		"-w writeback # work of the workqueue writeback only",
		"-d # histograms of the wait per work function",
		"-dW 1 # histograms of the wait per workqueue, each second",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &workqOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.BoolVarP(&o.ms, "milliseconds", "m", false, "output in milliseconds")
		fs.BoolVarP(&o.ns, "nanoseconds", "N", false, "output in nanoseconds")
		fs.BoolVarP(&o.dist, "dist", "d", false, "show the wait (queued to started) as histograms")
		fs.BoolVarP(&o.workqueues, "workqueues", "W", false, "summarize per workqueue, not per work function")
		fs.StringVarP(&o.wqname, "wqname", "w", "", "trace the work of this `WQNAME` workqueue only")
		return o
	},
}

type workqOpts struct {
	timestamp, ms, ns, dist, workqueues bool
	wqname                              string
	unit                                string
	div                                 uint64
}

func (o *workqOpts) Setup(s *tool.Session) error {
	if o.ms && o.ns {
		return tool.Usage("can only use one of -m and -N")
	}
	for name, on := range map[string]bool{"milliseconds": o.ms, "nanoseconds": o.ns, "dist": o.dist, "workqueues": o.workqueues} {
		if on {
			s.Param(name, true)
		}
	}
	if o.wqname != "" {
		s.Param("wqname", o.wqname)
	}
	o.unit, o.div = "usecs", 1000
	switch {
	case o.ms:
		o.unit, o.div = "msecs", 1000000
	case o.ns:
		o.unit, o.div = "nsecs", 1
	}
	s.Banner("Tracing work queue request latency time... Hit Ctrl-C to end.")
	return nil
}

// workqRow is a line of the summary: the work of a function or of a
// workqueue. Times are nanoseconds.
type workqRow struct {
	key                                      string
	count, waits, wait, waitMax, run, runMax uint64
}

func (o *workqOpts) Summary(s *tool.Session) error {
	s.Heading(o.timestamp)
	prefix, label := "@", "function"
	if o.workqueues {
		prefix, label = "@wq_", "wqname"
	}
	if o.dist {
		return s.PrintHistMap(prefix+"dist", o.unit, label, func(k []any) any { return k[0] })
	}
	rows := map[string]*workqRow{}
	for _, m := range []string{"wait", "waitmax", "run", "runmax"} {
		entries, err := s.Map(prefix + m)
		if err != nil {
			return err
		}
		if err := s.ClearMap(prefix + m); err != nil {
			return err
		}
		for _, e := range entries {
			k := fmt.Sprint(e.Key[0])
			r := rows[k]
			if r == nil {
				r = &workqRow{key: k}
				rows[k] = r
			}
			switch m {
			case "wait":
				st := e.Value.(script.Stats)
				r.waits, r.wait = st.Count, unsigned(st.Total)
			case "waitmax":
				r.waitMax = unsigned(e.Value)
			case "run":
				st := e.Value.(script.Stats)
				r.count, r.run = st.Count, unsigned(st.Total)
			case "runmax":
				r.runMax = unsigned(e.Value)
			}
		}
	}
	list := make([]*workqRow, 0, len(rows))
	for _, r := range rows {
		list = append(list, r)
	}
	// The longest waits first.
	slices.SortFunc(list, func(a, b *workqRow) int {
		return cmp.Or(cmp.Compare(b.wait, a.wait), cmp.Compare(b.run, a.run), cmp.Compare(a.key, b.key))
	})
	avg := func(total, n uint64) uint64 {
		if n == 0 {
			return 0
		}
		return total / n / o.div
	}
	if s.JSON() {
		out := make([]map[string]any, len(list))
		for i, r := range list {
			out[i] = map[string]any{label: r.key, "count": r.count, "waits": r.waits,
				"wait_avg": avg(r.wait, r.waits), "wait_max": r.waitMax / o.div,
				"run_avg": avg(r.run, r.count), "run_max": r.runMax / o.div}
		}
		s.Set("unit", o.unit)
		s.Set("rows", out)
		return nil
	}
	u := o.unit[:2]
	s.Printf("%8s %12s %12s %12s %12s  %s\n", "COUNT", "WAIT_AVG_"+u, "WAIT_MAX_"+u, "RUN_AVG_"+u, "RUN_MAX_"+u, map[bool]string{false: "FUNCTION", true: "WORKQUEUE"}[o.workqueues])
	for _, r := range list {
		s.Printf("%8d %12d %12d %12d %12d  %s\n", r.count, avg(r.wait, r.waits), r.waitMax/o.div, avg(r.run, r.count), r.runMax/o.div, r.key)
	}
	return nil
}
