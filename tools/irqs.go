package tools

import (
	"cmp"
	"embed"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed softirqs hardirqs
var irqScripts embed.FS

var softirqs = &tool.Tool{
	Name:     "softirqs",
	Summary:  "Summarize soft irq event time as histograms.",
	Interval: true,
	Variants: tool.Ladder(irqScripts, "softirqs", "tracepoint"),
	Examples: []string{
		"# sum soft irq event time",
		"-C # show the number of soft irq events",
		"-d # show soft irq event time as histograms",
		"1 10 # print 1 second summaries, 10 times",
		"-NT 1 # 1s summaries, nanoseconds, and timestamps",
		"-c 1 # sum soft irq event time on CPU 1 only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		return newIrqOpts(fs, irqKind{
			name: "softirq", width: 16,
			count: "events", countHelp: "show the number of soft irq events",
			key: softirqName,
		})
	},
}

var hardirqs = &tool.Tool{
	Name:     "hardirqs",
	Summary:  "Summarize hard irq event time as histograms",
	Interval: true,
	Variants: tool.Ladder(irqScripts, "hardirqs", "tracepoint"),
	Examples: []string{
		"# sum hard irq event time",
		"-d # show hard irq event time as histograms",
		"1 10 # print 1 second summaries, 10 times",
		"-NT 1 # 1s summaries, nanoseconds, and timestamps",
		"-C # count hard irq events",
		"-c 1 # sum hard irq event time on CPU 1 only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		return newIrqOpts(fs, irqKind{
			name: "hardirq", width: 26,
			count: "count", countHelp: "show event counts instead of timing",
			key: func(k any) string { return k.(string) },
		})
	},
}

// softirqNames are the kernel's names of the soft interrupt vectors
// (softirq_to_name), lower-cased as bcc prints them.
var softirqNames = []string{"hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"}

func softirqName(k any) string {
	if v := unsigned(k); v < uint64(len(softirqNames)) {
		return softirqNames[v]
	}
	return fmt.Sprint(k)
}

// irqKind is what tells softirqs and hardirqs apart.
type irqKind struct {
	name  string // "softirq": the row's key in JSON and the histograms'
	width int    // of the name column
	// count is the long name of -C, countHelp its help.
	count, countHelp string
	// key names a key of the scripts' maps.
	key func(any) string
}

type irqOpts struct {
	kind                       irqKind
	timestamp, ns, count, dist bool
	cpu                        int
	unit                       string
}

func newIrqOpts(fs *pflag.FlagSet, k irqKind) *irqOpts {
	o := &irqOpts{kind: k}
	fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
	fs.BoolVarP(&o.ns, "nanoseconds", "N", false, "output in nanoseconds")
	fs.BoolVarP(&o.count, k.count, "C", false, k.countHelp)
	fs.BoolVarP(&o.dist, "dist", "d", false, "show distributions as histograms")
	fs.IntVarP(&o.cpu, "cpu", "c", -1, "trace this `CPU` only")
	return o
}

func (o *irqOpts) Setup(s *tool.Session) error {
	if o.count && (o.dist || o.ns) {
		return tool.Usage("the --%s option can't be used with time-based options", o.kind.count)
	}
	if o.cpu >= 0 {
		s.Param("cpu", o.cpu)
	}
	for name, on := range map[string]bool{"events": o.count, "nanoseconds": o.ns, "dist": o.dist} {
		if on {
			s.Param(name, true)
		}
	}
	o.unit = "usecs"
	what := strings.Replace(o.kind.name, "irq", " irq", 1) + " event"
	switch {
	case o.count:
		o.unit = "count"
		what += "s"
	case o.ns:
		o.unit = "nsecs"
		fallthrough
	default:
		what += " time"
	}
	s.Banner("Tracing " + what + "... Hit Ctrl-C to end.")
	return nil
}

// irqRow is a line of the totals.
type irqRow struct {
	name  string
	total uint64
}

func (o *irqOpts) Summary(s *tool.Session) error {
	s.Heading(o.timestamp)
	if o.dist {
		return s.PrintHistMap("@dist", o.unit, o.kind.name, func(k []any) any { return o.kind.key(k[0]) })
	}
	name := "@total"
	if o.count {
		name = "@events"
	}
	entries, err := s.Map(name)
	if err != nil {
		return err
	}
	if err := s.ClearMap(name); err != nil {
		return err
	}
	var rows []irqRow
	for _, e := range entries {
		// The slots of an array are there whether they counted or not.
		n := unsigned(e.Value)
		if n == 0 {
			continue
		}
		if o.unit == "usecs" {
			n /= 1000
		}
		rows = append(rows, irqRow{o.kind.key(e.Key[0]), n})
	}
	// Smallest first, as bcc prints them.
	slices.SortStableFunc(rows, func(a, b irqRow) int {
		return cmp.Or(cmp.Compare(a.total, b.total), strings.Compare(a.name, b.name))
	})
	if s.JSON() {
		list := make([]map[string]any, len(rows))
		for i, r := range rows {
			list[i] = map[string]any{o.kind.name: r.name, "total": r.total}
		}
		s.Set("unit", o.unit)
		s.Set("rows", list)
		return nil
	}
	s.Printf("%-*s %11s\n", o.kind.width, strings.ToUpper(o.kind.name), "TOTAL_"+o.unit)
	for _, r := range rows {
		s.Printf("%-*s %11d\n", o.kind.width, r.name, r.total)
	}
	return nil
}
