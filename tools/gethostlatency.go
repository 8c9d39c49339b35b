package tools

import (
	"embed"
	"time"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed gethostlatency
var gethostlatencyScripts embed.FS

var gethostlatency = &tool.Tool{
	Name:     "gethostlatency",
	Summary:  "Show latency for getaddrinfo/gethostbyname[2] calls",
	Variants: tool.Ladder(gethostlatencyScripts, "gethostlatency", "uprobe"),
	Examples: []string{
		"# time getaddrinfo/gethostbyname[2] calls",
		"-p 181 # only trace PID 181",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &gethostlatencyOpts{}
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		return o
	},
}

type gethostlatencyOpts struct{ pid int }

func (o *gethostlatencyOpts) Setup(s *tool.Session) error {
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	s.Table(
		tool.Column{Name: "TIME", Key: "time", Head: "%-9s ", Cell: "%-9s "},
		tool.Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "COMM", Key: "comm", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "LATms", Key: "ms", Head: "%10s ", Cell: "%10.2f "},
		tool.Column{Name: "HOST", Key: "host", Head: "%s", Cell: "%s"},
	)
	return nil
}

func (o *gethostlatencyOpts) Event(s *tool.Session, e *script.Event) error {
	return s.RowOf(tool.Clock(s.Wall(e.Uint(0)), time.TimeOnly), tool.Uint(e.Uint(1)), tool.Bytes(e.Bytes(2)),
		tool.Float(float64(e.Uint(3))/1e6), tool.Bytes(e.Bytes(4)))
}
