package tools

import (
	"embed"

	"github.com/spf13/pflag"

	"friday/blockdev"
	"friday/script"
	"friday/tool"
)

//go:embed biosnoop
var biosnoopScripts embed.FS

var biosnoop = &tool.Tool{
	Name:     "biosnoop",
	Summary:  "Trace block I/O",
	Variants: tool.Ladder(biosnoopScripts, "biosnoop", "tracepoint", "rawtracepoint", "kprobe"),
	Examples: []string{
		"# trace all block I/O",
		"-Q # include OS queued time",
		"-d sdc # trace sdc only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &biosnoopOpts{}
		fs.BoolVarP(&o.queue, "queue", "Q", false, "include OS queued time")
		fs.StringVarP(&o.disk, "disk", "d", "", "trace this `DISK` only")
		return o
	},
}

type biosnoopOpts struct {
	queue bool
	disk  string
	names blockdev.Names
}

func (o *biosnoopOpts) Setup(s *tool.Session) error {
	if o.disk != "" {
		dev, err := blockdev.Lookup(o.disk)
		if err != nil {
			return err
		}
		s.Param("disk", uint32(dev))
	}
	cols := []tool.Column{
		{Name: "TIME(s)", Key: "time", Head: "%-11s ", Cell: "%-11.6f "},
		{Name: "COMM", Key: "comm", Head: "%-14s ", Cell: "%-14.14s "},
		{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		{Name: "DISK", Key: "disk", Head: "%-9s ", Cell: "%-9s "},
		{Name: "T", Key: "t", Head: "%-1s ", Cell: "%-1s "},
		{Name: "SECTOR", Key: "sector", Head: "%-10s ", Cell: "%-10d "},
		{Name: "BYTES", Key: "bytes", Head: "%-7s", Cell: "%-7d"},
	}
	if o.queue {
		s.Param("queue", true)
		cols = append(cols, tool.Column{Name: "QUE(ms)", Key: "que_ms", Head: "%7s ", Cell: "%7.2f "})
	}
	s.Table(append(cols, tool.Column{Name: "LAT(ms)", Key: "lat_ms", Head: "%7s", Cell: "%7.2f"})...)
	return nil
}

func (o *biosnoopOpts) Event(s *tool.Session, e *script.Event) error {
	t := "R"
	if requestOp(e, 4) == "Write" {
		t = "W"
	}
	row := [9]tool.Value{tool.Float(s.Since(e.Uint(0))), tool.Bytes(e.Bytes(2)), tool.Uint(e.Uint(1)),
		tool.Str(o.names.Name(blockdev.Dev(e.Uint(3)))), tool.Str(t), tool.Uint(e.Uint(5)), tool.Uint(e.Uint(6))}
	n := 7
	if o.queue {
		row[n] = tool.Float(float64(e.Uint(7)) / 1e6)
		n++
	}
	row[n] = tool.Float(float64(e.Uint(8)) / 1e6)
	return s.RowOf(row[:n+1]...)
}
