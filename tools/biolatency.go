package tools

import (
	"embed"

	"github.com/spf13/pflag"

	"friday/blockdev"
	"friday/tool"
)

//go:embed biolatency
var biolatencyScripts embed.FS

var biolatency = &tool.Tool{
	Name:     "biolatency",
	Summary:  "Summarize block device I/O latency as a histogram",
	Interval: true,
	Variants: tool.Ladder(biolatencyScripts, "biolatency", "tracepoint", "rawtracepoint", "kprobe"),
	Examples: []string{
		"# summarize block I/O latency as a histogram",
		"1 10 # print 1 second summaries, 10 times",
		"-mT 1 # 1s summaries, milliseconds, and timestamps",
		"-Q # include OS queued time in I/O time",
		"-D # show each disk device separately",
		"-F # show I/O flags separately",
		"-e # show extension summary (total, average)",
		"-d sdc # trace sdc only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &biolatencyOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.BoolVarP(&o.queued, "queued", "Q", false, "include OS queued time in I/O time")
		fs.BoolVarP(&o.ms, "milliseconds", "m", false, "millisecond histogram")
		fs.BoolVarP(&o.disks, "disks", "D", false, "print a histogram per disk device")
		fs.BoolVarP(&o.flags, "flags", "F", false, "print a histogram per set of I/O flags")
		fs.BoolVarP(&o.extension, "extension", "e", false, "summarize average/total value")
		fs.StringVarP(&o.disk, "disk", "d", "", "trace this `DISK` only")
		return o
	},
}

type biolatencyOpts struct {
	timestamp, queued, ms, disks, flags, extension bool
	disk                                           string

	names blockdev.Names
	unit  string
}

func (o *biolatencyOpts) Setup(s *tool.Session) error {
	if o.disks && o.flags {
		return tool.Usage("can only use -D or -F")
	}
	if o.disk != "" {
		dev, err := blockdev.Lookup(o.disk)
		if err != nil {
			return err
		}
		s.Param("disk", uint32(dev))
	}
	for name, on := range map[string]bool{"queued": o.queued, "milliseconds": o.ms, "disks": o.disks, "flags": o.flags, "extension": o.extension} {
		if on {
			s.Param(name, true)
		}
	}
	o.unit = "usecs"
	if o.ms {
		o.unit = "msecs"
	}
	s.Banner("Tracing block device I/O... Hit Ctrl-C to end.")
	return nil
}

func (o *biolatencyOpts) Summary(s *tool.Session) error {
	s.Heading(o.timestamp)
	name, label, keyOf := "@all", "", (func([]any) any)(nil)
	switch {
	case o.disks:
		name, label = "@disks", "disk"
		keyOf = func(k []any) any { return o.names.Name(blockdev.Dev(unsigned(k[0]))) }
	case o.flags:
		name, label = "@flags", "flags"
		keyOf = func(k []any) any { return requestFlags(k[0]) }
	}
	if err := s.PrintHistMap(name, o.unit, label, keyOf); err != nil {
		return err
	}
	if !o.extension {
		return nil
	}
	return printExtension(s, o.unit)
}

// printExtension prints bcc's extension summary (-e) of the maps @total
// and @count, and empties them.
func printExtension(s *tool.Session, unit string) error {
	total, err := s.Map("@total")
	if err != nil {
		return err
	}
	count, err := s.Map("@count")
	if err != nil {
		return err
	}
	var t, n uint64
	if len(total) > 0 && len(count) > 0 {
		t, n = unsigned(total[0].Value), unsigned(count[0].Value)
	}
	if err := s.ClearMap("@total"); err != nil {
		return err
	}
	if err := s.ClearMap("@count"); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if s.JSON() {
		s.Set("extension", map[string]any{"unit": unit, "avg": t / n, "total": t, "count": n})
		return nil
	}
	s.Printf("\navg = %d %s, total: %d %s, count: %d\n\n", t/n, unit, t, unit, n)
	return nil
}

// unsigned is an integer decoded from a map, signed or not.
func unsigned(v any) uint64 {
	switch n := v.(type) {
	case uint64:
		return n
	case int64:
		return uint64(n)
	}
	return 0
}
