package tools

import (
	"cmp"
	"embed"
	"slices"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed runqlen
var runqlenScripts embed.FS

var runqlen = &tool.Tool{
	Name:     "runqlen",
	Summary:  "Summarize scheduler run queue length as a histogram",
	Interval: true,
	Variants: tool.Ladder(runqlenScripts, "runqlen", "profile"),
	Examples: []string{
		"# summarize run queue length as a histogram",
		"1 10 # print 1 second summaries, 10 times",
		"-T 1 # 1s summaries and timestamps",
		"-O # report run queue occupancy",
		"-C # show each CPU separately",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &runqlenOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.BoolVarP(&o.runqocc, "runqocc", "O", false, "report run queue occupancy")
		fs.BoolVarP(&o.cpus, "cpus", "C", false, "print output for each CPU separately")
		return o
	},
}

type runqlenOpts struct {
	timestamp, runqocc, cpus bool
}

func (o *runqlenOpts) Setup(s *tool.Session) error {
	if o.cpus {
		s.Param("cpus", true)
	}
	s.Banner("Sampling run queue length... Hit Ctrl-C to end.")
	return nil
}

func (o *runqlenOpts) Summary(s *tool.Session) error {
	s.Heading(o.timestamp)
	name, label := "@all", ""
	var keyOf func([]any) any
	if o.cpus {
		name, label = "@cpus", "cpu"
		keyOf = func(k []any) any { return signed(k[0]) }
	}
	hs, err := s.HistMap(name, keyOf)
	if err != nil {
		return err
	}
	if !o.runqocc {
		return s.PrintHists("runqlen", label, hs)
	}
	// Occupancy: the share of samples that found tasks waiting.
	occ := func(h tool.Hist) float64 {
		var all, queued uint64
		for i, n := range h.Slots {
			all += n
			if i > 0 {
				queued += n
			}
		}
		if all == 0 {
			return 0
		}
		return 100 * float64(queued) / float64(all)
	}
	if !o.cpus {
		var p float64
		if len(hs) > 0 {
			p = occ(hs[0])
		}
		if s.JSON() {
			s.Set("runqocc", p)
			return nil
		}
		s.Printf("runqocc: %0.2f%%\n", p)
		return nil
	}
	slices.SortFunc(hs, func(a, b tool.Hist) int { return cmp.Compare(a.Key.(int64), b.Key.(int64)) })
	list := make([]map[string]any, len(hs))
	for i, h := range hs {
		list[i] = map[string]any{"cpu": h.Key, "runqocc": occ(h)}
		if !s.JSON() {
			s.Printf("runqocc, CPU %-3d %6.2f%%\n", h.Key, occ(h))
		}
	}
	if s.JSON() {
		s.Set("cpus", list)
	}
	return nil
}
