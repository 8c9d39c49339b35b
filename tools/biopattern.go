package tools

import (
	"cmp"
	"embed"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"friday/blockdev"
	"friday/tool"
)

//go:embed biopattern
var biopatternScripts embed.FS

var biopattern = &tool.Tool{
	Name:     "biopattern",
	Summary:  "Show block device I/O pattern.",
	Interval: true,
	Variants: tool.Ladder(biopatternScripts, "biopattern", "tracepoint"),
	Examples: []string{
		"# show block device I/O pattern.",
		"1 10 # print 1 second summaries, 10 times",
		"-d sdb # show sdb only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &biopatternOpts{last: map[blockdev.Dev]biopatternCounts{}}
		fs.StringVarP(&o.disk, "disk", "d", "", "Trace this `DISK` only")
		return o
	},
}

type biopatternOpts struct {
	disk   string
	names  blockdev.Names
	headed bool
	// last holds each disk's counts at the summary before: the script
	// counts from the start, and a summary prints what was added since.
	last map[blockdev.Dev]biopatternCounts
}

// biopatternCounts are a disk's counts in the script's map.
type biopatternCounts struct{ sequential, random, bytes uint64 }

func (o *biopatternOpts) Setup(s *tool.Session) error {
	if o.disk != "" {
		dev, err := blockdev.Lookup(o.disk)
		if err != nil {
			return err
		}
		s.Param("disk", uint32(dev))
	}
	return nil
}

// biopatternRow is a disk's line of a summary.
type biopatternRow struct {
	Disk       string `json:"disk"`
	RandomPct  uint64 `json:"random_pct"`
	SeqPct     uint64 `json:"seq_pct"`
	Count      uint64 `json:"count"`
	Kbytes     uint64 `json:"kbytes"`
	Random     uint64 `json:"random"`
	Sequential uint64 `json:"sequential"`
	dev        blockdev.Dev
	bytes      uint64
}

func (o *biopatternOpts) Summary(s *tool.Session) error {
	// The map is read, not cleared: clearing would lose where each disk's
	// last I/O ended, and the counts of I/O done between the read and the
	// clearing.
	entries, err := s.Map("@disk")
	if err != nil {
		return err
	}
	var rows []*biopatternRow
	for _, e := range entries {
		dev := blockdev.Dev(unsigned(e.Key[0]))
		v := e.Value.([]any)
		now := biopatternCounts{unsigned(v[1]), unsigned(v[2]), unsigned(v[3])}
		was := o.last[dev]
		o.last[dev] = now
		r := &biopatternRow{
			dev:        dev,
			Disk:       o.names.Name(dev),
			Sequential: now.sequential - was.sequential,
			Random:     now.random - was.random,
			bytes:      now.bytes - was.bytes,
		}
		if r.Sequential+r.Random > 0 {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b *biopatternRow) int { return cmp.Compare(a.dev, b.dev) })
	if !s.JSON() && !o.headed {
		s.Printf("%-9s %-7s %5s %5s %8s %10s\n", "TIME", "DISK", "%RND", "%SEQ", "COUNT", "KBYTES")
		o.headed = true
	}
	now := time.Now().Format("15:04:05")
	for _, r := range rows {
		r.Count = r.Random + r.Sequential
		r.RandomPct, r.SeqPct, r.Kbytes = r.Random*100/r.Count, r.Sequential*100/r.Count, r.bytes/1024
		if !s.JSON() {
			s.Printf("%-9s %-7s %5d %5d %8d %10d\n", now, r.Disk, r.RandomPct, r.SeqPct, r.Count, r.Kbytes)
		}
	}
	if s.JSON() {
		s.Set("disks", rows)
	}
	return nil
}
