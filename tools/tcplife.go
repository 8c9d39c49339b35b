package tools

import (
	"embed"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed tcplife
var tcplifeScripts embed.FS

var tcplife = &tool.Tool{
	Name:     "tcplife",
	Summary:  "Trace the lifespan of TCP sessions and summarize",
	Variants: tool.Ladder(tcplifeScripts, "tcplife", "tracepoint", "kprobe"),
	Examples: []string{
		"# trace all TCP connect()s",
		"-T # include time column (HH:MM:SS)",
		"-w # wider columns (fit IPv6)",
		"-stT # csv output, with times & timestamps",
		"-p 181 # only trace PID 181",
		"-L 80 # only trace local port 80",
		"-L 80,81 # only trace local ports 80 and 81",
		"-D 80 # only trace remote port 80",
		"-4 # only trace IPv4 family",
		"-6 # only trace IPv6 family",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &tcplifeOpts{}
		o.clock.declare(fs)
		o.lines.declare(fs)
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		o.lines.declarePorts(fs)
		o.family.declare(fs)
		return o
	},
}

type tcplifeOpts struct {
	clock
	family
	lines
	pid  int
	text texts
}

// tcplifeLayout are the columns after the time, plain, wide and CSV; the
// bytes are JSON's alone, the columns count KiB.
var tcplifeLayout = []layout{
	{"PID", "pid", [2]string{"%-5s ", "%-5d "}, [2]string{"%-5s ", "%-5d "}, [2]string{"%s,", "%d,"}},
	{"COMM", "comm", [2]string{"%-10.10s ", "%-10.10s "}, [2]string{"%-16.16s ", "%-16.16s "}, [2]string{"%s,", "%s,"}},
	{"IP", "ip", [2]string{}, [2]string{"%-2s ", "%-2d "}, [2]string{"%s,", "%d,"}},
	{"LADDR", "laddr", [2]string{"%-15s ", "%-15s "}, [2]string{"%-26s ", "%-26s "}, [2]string{"%s,", "%s,"}},
	{"LPORT", "lport", [2]string{"%-5s ", "%-5d "}, [2]string{"%-5s ", "%-5d "}, [2]string{"%s,", "%d,"}},
	{"RADDR", "raddr", [2]string{"%-15s ", "%-15s "}, [2]string{"%-26s ", "%-26s "}, [2]string{"%s,", "%s,"}},
	{"RPORT", "rport", [2]string{"%-5s ", "%-5d "}, [2]string{"%-5s ", "%-5d "}, [2]string{"%s,", "%d,"}},
	{"TX_KB", "tx_kb", [2]string{"%5s ", "%5d "}, [2]string{"%6s ", "%6d "}, [2]string{"%s,", "%d,"}},
	{"RX_KB", "rx_kb", [2]string{"%5s ", "%5d "}, [2]string{"%6s ", "%6d "}, [2]string{"%s,", "%d,"}},
	{"MS", "ms", [2]string{"%s", "%.2f"}, [2]string{"%s", "%.2f"}, [2]string{"%s", "%.2f"}},
	{"", "tx_bytes", [2]string{}, [2]string{}, [2]string{}},
	{"", "rx_bytes", [2]string{}, [2]string{}, [2]string{}},
}

func (o *tcplifeOpts) Setup(s *tool.Session) error {
	if err := o.family.setup(s); err != nil {
		return err
	}
	if err := o.lines.setup(s); err != nil {
		return err
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	s.Table(append(o.clock.columns(o.csv), pick(tcplifeLayout, o.wide, o.csv)...)...)
	return nil
}

func (o *tcplifeOpts) Event(s *tool.Session, e *script.Event) error {
	tx, rx := e.Uint(8), e.Uint(9)
	o.text.reset()
	row := o.clock.values(make([]tool.Value, 0, 14), s, e.Uint(0))
	return s.RowOf(append(row, tool.Uint(e.Uint(1)), tool.Bytes(e.Bytes(2)), tool.Uint(e.Uint(3)),
		o.text.arg(e, 4), tool.Uint(e.Uint(5)), o.text.arg(e, 6), tool.Uint(e.Uint(7)),
		tool.Uint(tx/1024), tool.Uint(rx/1024), tool.Float(float64(e.Uint(10))/1e6), tool.Uint(tx), tool.Uint(rx))...)
}
