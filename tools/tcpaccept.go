package tools

import (
	"embed"
	"time"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed tcpaccept
var tcpacceptScripts embed.FS

var tcpaccept = &tool.Tool{
	Name:     "tcpaccept",
	Summary:  "Trace TCP accepts",
	Variants: tool.Ladder(tcpacceptScripts, "tcpaccept", "tracepoint", "kprobe"),
	Examples: []string{
		"# trace all TCP accept()s",
		"-t # include timestamps",
		"-P 80,81 # only trace port 80 and 81",
		"-p 181 # only trace PID 181",
		"-4 # trace IPv4 family",
		"-6 # trace IPv6 family",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &tcpacceptOpts{}
		fs.BoolVarP(&o.time, "time", "T", false, "include time column on output (HH:MM:SS)")
		fs.BoolVarP(&o.timestamp, "timestamp", "t", false, "include timestamp on output")
		o.connFilter.declare(fs, "comma-separated list of local ports to trace")
		return o
	},
}

type tcpacceptOpts struct {
	connFilter
	time, timestamp bool
	text            texts
}

func (o *tcpacceptOpts) Setup(s *tool.Session) error {
	if err := o.connFilter.setup(s); err != nil {
		return err
	}
	var cols []tool.Column
	if o.time {
		cols = append(cols, tool.Column{Name: "TIME", Key: "time", Head: "%-9s", Cell: "%-9s"})
	}
	if o.timestamp {
		cols = append(cols, tool.Column{Name: "TIME(s)", Key: "timestamp", Head: "%-9s", Cell: "%-9.3f"})
	}
	s.Table(append(cols,
		tool.Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "COMM", Key: "comm", Head: "%-12s ", Cell: "%-12.12s "},
		tool.Column{Name: "IP", Key: "ip", Head: "%-2s ", Cell: "%-2d "},
		tool.Column{Name: "RADDR", Key: "raddr", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "RPORT", Key: "rport", Head: "%-5s ", Cell: "%-5d "},
		tool.Column{Name: "LADDR", Key: "laddr", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "LPORT", Key: "lport", Head: "%-5s", Cell: "%-5d"})...)
	return nil
}

func (o *tcpacceptOpts) Event(s *tool.Session, e *script.Event) error {
	ns := e.Uint(0)
	o.text.reset()
	row := make([]tool.Value, 0, 9)
	if o.time {
		row = append(row, tool.Clock(s.Wall(ns), time.TimeOnly))
	}
	if o.timestamp {
		row = append(row, tool.Float(s.Since(ns)))
	}
	return s.RowOf(append(row, tool.Uint(e.Uint(1)), tool.Bytes(e.Bytes(2)), tool.Uint(e.Uint(3)), o.text.arg(e, 4),
		tool.Uint(e.Uint(5)), o.text.arg(e, 6), tool.Uint(e.Uint(7)))...)
}
