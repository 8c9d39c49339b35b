package tools

import (
	"embed"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"friday/blockdev"
	"friday/script"
	"friday/tool"
)

//go:embed mdflush
var mdflushScripts embed.FS

var mdflush = &tool.Tool{
	Name:     "mdflush",
	Summary:  "Trace md flush events",
	Variants: tool.Ladder(mdflushScripts, "mdflush", "tracepoint", "rawtracepoint", "kprobe"),
	Examples: []string{
		"# trace md flush events",
		"-a # trace the flushes sent to any block device",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &mdflushOpts{}
		fs.BoolVarP(&o.all, "all_disks", "a", false, "trace flushes to every block device, not only md")
		return o
	},
}

type mdflushOpts struct {
	all   bool
	names blockdev.Names
}

func (o *mdflushOpts) Setup(s *tool.Session) error {
	if o.all {
		s.Param("all_disks", true)
	}
	s.Banner("Tracing md flush requests... Hit Ctrl-C to end.")
	s.Table(
		tool.Column{Name: "TIME", Key: "time", Head: "%-8s ", Cell: "%-8s "},
		tool.Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "COMM", Key: "comm", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "DEVICE", Key: "device", Head: "%s", Cell: "%s"},
	)
	return nil
}

func (o *mdflushOpts) Event(s *tool.Session, e *script.Event) error {
	var name string
	if e.Len() > 4 {
		name = e.Str(4)
	} else {
		// The tracepoint tells the device's number only.
		name = o.names.Name(blockdev.Dev(e.Uint(2)))
		if !o.all && !strings.HasPrefix(name, "md") {
			return nil
		}
	}
	return s.RowOf(tool.Clock(s.Wall(e.Uint(3)), time.TimeOnly), tool.Uint(e.Uint(0)), tool.Bytes(e.Bytes(1)), tool.Str(name))
}
