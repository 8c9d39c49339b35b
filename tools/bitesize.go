package tools

import (
	"embed"
	"time"

	"github.com/spf13/pflag"

	"friday/blockdev"
	"friday/script"
	"friday/tool"
)

//go:embed bitesize
var bitesizeScripts embed.FS

var bitesize = &tool.Tool{
	Name:     "bitesize",
	Summary:  "Summarize block device I/O size as a histogram",
	Interval: true,
	Variants: tool.Ladder(bitesizeScripts, "bitesize", "tracepoint", "rawtracepoint", "kprobe"),
	Examples: []string{
		"# summarize block I/O size as a histogram",
		"1 10 # print 1 second summaries, 10 times",
		"-T 1 # 1s summaries with timestamps",
		"-c fio # trace fio only",
		"-d sdc # trace sdc only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &bitesizeOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.StringVarP(&o.comm, "comm", "c", "", "trace this `COMM` only")
		fs.StringVarP(&o.disk, "disk", "d", "", "trace this `DISK` only")
		return o
	},
}

type bitesizeOpts struct {
	timestamp  bool
	comm, disk string
}

func (o *bitesizeOpts) Setup(s *tool.Session) error {
	if o.disk != "" {
		dev, err := blockdev.Lookup(o.disk)
		if err != nil {
			return err
		}
		s.Param("disk", uint32(dev))
	}
	if o.comm != "" {
		s.Param("comm", o.comm)
	}
	s.Banner("Tracing block I/O... Hit Ctrl-C to end.")
	return nil
}

func (o *bitesizeOpts) Summary(s *tool.Session) error {
	if !s.JSON() {
		s.Printf("\n")
		if o.timestamp {
			s.Printf("%-8s\n", time.Now().Format("15:04:05"))
		}
	}
	entries, err := s.Map("@kbytes")
	if err != nil {
		return err
	}
	if err := s.ClearMap("@kbytes"); err != nil {
		return err
	}
	hs := make([]tool.Hist, len(entries))
	for i, e := range entries {
		hs[i] = tool.Hist{Key: e.Key[0], Slots: tool.Log2(e.Value.([]script.Bucket))}
	}
	return s.PrintHists("Kbytes", "Process Name", hs)
}
