package tools

import (
	"embed"
	"fmt"
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

type tcpdropOpts struct{ family }

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
	saddr, sport, daddr, dport := e.Str(3), e.Uint(4), e.Str(5), e.Uint(6)
	flags := tcpFlags(e.Uint(8))
	reason := "-"
	if r := e.Uint(9); r != 0 {
		reason = dropReason(r)
	}
	frames := stackFrames(e.Str(10))
	stack := frames
	if !s.JSON() {
		var b strings.Builder
		b.WriteString("\n\treason: " + reason)
		for _, f := range frames {
			b.WriteString("\n\t" + f)
		}
		// A blank line after each stack, as bcc prints.
		stack = []string{b.String() + "\n"}
	}
	return s.Row(s.Wall(e.Uint(0)).Format(time.TimeOnly), e.Uint(1), e.Uint(2),
		fmt.Sprintf("%s:%d", saddr, sport), saddr, sport, fmt.Sprintf("%s:%d", daddr, dport), daddr, dport,
		tcpState(e.Uint(7)), flags, flags, reason, stack)
}

// stackFrames are the frames of a kstack's text, as bcc prints them: a
// function and the offset in hex ("tcp_drop+0x1").
func stackFrames(text string) []string {
	var frames []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if fn, off, ok := strings.Cut(l, "+"); ok {
			if n, err := strconv.ParseUint(off, 10, 64); err == nil {
				l = fmt.Sprintf("%s+0x%x", fn, n)
			}
		}
		frames = append(frames, l)
	}
	return frames
}
