package tools

import (
	"embed"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed tcpdrop
var tcpdropScripts embed.FS

var tcpdrop = &tool.Tool{
	Name:     "tcpdrop",
	Summary:  "Trace TCP drops by the kernel",
	Variants: tool.Ladder(tcpdropScripts, "tcpdrop", "tracepoint", "kprobe"),
	Examples: []string{
		"# trace kernel TCP drops",
		"-4 # trace IPv4 family only",
		"-6 # trace IPv6 family only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &tcpdropOpts{}
		o.family.declare(fs)
		return o
	},
}

type tcpdropOpts struct {
	family
	text texts
}

func (o *tcpdropOpts) Setup(s *tool.Session) error {
	if err := o.family.setup(s); err != nil {
		return err
	}
	s.Table(
		tool.Column{Name: "TIME", Key: "time", Head: "%-8s ", Cell: "%-8s "},
		tool.Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "IP", Key: "ip", Head: "%-2s ", Cell: "%-2d "},
		tool.Column{Name: "SADDR:SPORT", Head: "%-20s > ", Cell: "%-20s > "},
		tool.Column{Key: "saddr"}, tool.Column{Key: "sport"},
		tool.Column{Name: "DADDR:DPORT", Head: "%-20s ", Cell: "%-20s "},
		tool.Column{Key: "daddr"}, tool.Column{Key: "dport"},
		tool.Column{Name: "STATE", Key: "state", Head: "%s ", Cell: "%s "},
		tool.Column{Name: "(FLAGS)", Head: "%s", Cell: "(%s)"},
		tool.Column{Key: "flags"},
		// The reason and the stack follow the line (which keeps bcc's
		// columns, under 80), a line each.
		tool.Column{Key: "reason"},
		tool.Column{Name: "", Key: "stack", Head: "%s", Cell: "%s"},
	)
	return nil
}

func (o *tcpdropOpts) Event(s *tool.Session, e *script.Event) error {
	o.text.reset()
	flags := o.text.tcpFlags(e.Uint(8))
	reason := "-"
	if r := e.Uint(9); r != 0 {
		reason = dropReason(r)
	}
	n := len(o.text.b)
	var stack tool.Value
	if s.JSON() {
		o.text.b = appendFrames(o.text.b, e.Str(10), "", "\x00")
		stack = tool.Argv(o.text.b[n:])
	} else {
		// The reason and the frames a line each, and a blank line after
		// them, as bcc prints.
		o.text.b = append(append(o.text.b, "\n\treason: "...), reason...)
		o.text.b = append(appendFrames(o.text.b, e.Str(10), "\n\t", ""), '\n')
		stack = o.text.from(n)
	}
	return s.RowOf(tool.Clock(s.Wall(e.Uint(0)), time.TimeOnly), tool.Uint(e.Uint(1)), tool.Uint(e.Uint(2)),
		o.text.endpoint(e, 3, 4), o.text.arg(e, 3), tool.Uint(e.Uint(4)),
		o.text.endpoint(e, 5, 6), o.text.arg(e, 5), tool.Uint(e.Uint(6)),
		tool.Str(tcpState(e.Uint(7))), flags, flags, tool.Str(reason), stack)
}

// appendFrames appends the frames of a kstack's text as bcc prints them,
// a function and the offset in hex ("tcp_drop+0x1"), each between before
// and after.
func appendFrames(b []byte, stack, before, after string) []byte {
	for l := range strings.Lines(stack) {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		b = append(b, before...)
		fn, off, ok := strings.Cut(l, "+")
		if n, err := strconv.ParseUint(off, 10, 64); ok && err == nil {
			b = strconv.AppendUint(append(append(b, fn...), "+0x"...), n, 16)
		} else {
			b = append(b, l...)
		}
		b = append(b, after...)
	}
	return b
}
