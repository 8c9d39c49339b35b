package tools

import (
	"embed"

	"github.com/spf13/pflag"

	"friday/blockdev"
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
	s.Heading(o.timestamp)
	return s.PrintHistMap("@kbytes", "Kbytes", "Process Name", func(k []any) any { return k[0] })
}
