package tools

import (
	"embed"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed tcpstates
var tcpstatesScripts embed.FS

var tcpstates = &tool.Tool{
	Name:     "tcpstates",
	Summary:  "Trace TCP session state changes and durations",
	Variants: tool.Ladder(tcpstatesScripts, "tcpstates", "tracepoint", "kprobe"),
	Examples: []string{
		"# trace all TCP state changes",
		"-t # include timestamp column",
		"-T # include time column (HH:MM:SS)",
		"-w # wider columns (fit IPv6)",
		"-stT # csv output, with times & timestamps",
		"-L 80 # only trace local port 80",
		"-L 80,81 # only trace local ports 80 and 81",
		"-D 80 # only trace remote port 80",
		"-4 # trace IPv4 family only",
		"-6 # trace IPv6 family only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &tcpstatesOpts{}
		o.clock.declare(fs)
		o.lines.declare(fs)
		o.lines.declarePorts(fs)
		o.family.declare(fs)
		return o
	},
}

type tcpstatesOpts struct {
	clock
	family
	lines
	text texts
}

// tcpstatesLayout are the columns after the time, plain, wide and CSV.
var tcpstatesLayout = []layout{
	{"SKADDR", "skaddr", [2]string{"%-16s ", "%-16s "}, [2]string{"%-16s ", "%-16s "}, [2]string{"%s,", "%s,"}},
	{"C-PID", "pid", [2]string{"%-5s ", "%-5d "}, [2]string{"%-5s ", "%-5d "}, [2]string{"%s,", "%d,"}},
	{"C-COMM", "comm", [2]string{"%-10.10s ", "%-10.10s "}, [2]string{"%-16.16s ", "%-16.16s "}, [2]string{"%s,", "%s,"}},
	{"IP", "ip", [2]string{}, [2]string{"%-2s ", "%-2d "}, [2]string{"%s,", "%d,"}},
	{"LADDR", "laddr", [2]string{"%-15s ", "%-15s "}, [2]string{"%-26s ", "%-26s "}, [2]string{"%s,", "%s,"}},
	{"LPORT", "lport", [2]string{"%-5s ", "%-5d "}, [2]string{"%-5s ", "%-5d "}, [2]string{"%s,", "%d,"}},
	{"RADDR", "raddr", [2]string{"%-15s ", "%-15s "}, [2]string{"%-26s ", "%-26s "}, [2]string{"%s,", "%s,"}},
	{"RPORT", "rport", [2]string{"%-5s ", "%-5d "}, [2]string{"%-5s ", "%-5d "}, [2]string{"%s,", "%d,"}},
	{"OLDSTATE", "oldstate", [2]string{"%-11s -> ", "%-11s -> "}, [2]string{"%-11s -> ", "%-11s -> "}, [2]string{"%s,", "%s,"}},
	{"NEWSTATE", "newstate", [2]string{"%-11s ", "%-11s "}, [2]string{"%-11s ", "%-11s "}, [2]string{"%s,", "%s,"}},
	{"MS", "ms", [2]string{"%s", "%.3f"}, [2]string{"%s", "%.3f"}, [2]string{"%s", "%.3f"}},
}

func (o *tcpstatesOpts) Setup(s *tool.Session) error {
	if err := o.family.setup(s); err != nil {
		return err
	}
	if err := o.lines.setup(s); err != nil {
		return err
	}
	s.Table(append(o.clock.columns(o.csv), pick(tcpstatesLayout, o.wide, o.csv)...)...)
	return nil
}

func (o *tcpstatesOpts) Event(s *tool.Session, e *script.Event) error {
	o.text.reset()
	row := o.clock.values(make([]tool.Value, 0, 13), s, e.Uint(0))
	// The address is text in JSON: a double cannot hold it.
	return s.RowOf(append(row, o.text.hex(e.Uint(3)), tool.Uint(e.Uint(1)), tool.Bytes(e.Bytes(2)), tool.Int(e.Int(11)),
		o.text.arg(e, 4), tool.Uint(e.Uint(5)), o.text.arg(e, 6), tool.Uint(e.Uint(7)),
		tool.Str(tcpState(e.Uint(8))), tool.Str(tcpState(e.Uint(9))), tool.Float(float64(e.Uint(10))/1e6))...)
}
