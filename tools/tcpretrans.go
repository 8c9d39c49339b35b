package tools

import (
	"cmp"
	"embed"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed tcpretrans
var tcpretransScripts embed.FS

var tcpretrans = &tool.Tool{
	Name:     "tcpretrans",
	Summary:  "Trace TCP retransmits",
	Variants: tool.Ladder(tcpretransScripts, "tcpretrans", "tracepoint", "kprobe"),
	Examples: []string{
		"# trace TCP retransmits",
		"-l # include TLP attempts",
		"-c # count retransmits per flow",
		"-4 # trace IPv4 family only",
		"-6 # trace IPv6 family only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &tcpretransOpts{}
		fs.BoolVarP(&o.sequence, "sequence", "s", false, "display TCP sequence numbers")
		fs.BoolVarP(&o.lossprobe, "lossprobe", "l", false, "include tail loss probe attempts")
		fs.BoolVarP(&o.count, "count", "c", false, "count occurred retransmits per flow")
		o.family.declare(fs)
		return o
	},
}

type tcpretransOpts struct {
	family
	sequence, lossprobe, count bool
	text                       texts
}

func (o *tcpretransOpts) Setup(s *tool.Session) error {
	if err := o.family.setup(s); err != nil {
		return err
	}
	for name, on := range map[string]bool{"sequence": o.sequence, "lossprobe": o.lossprobe, "count": o.count} {
		if on {
			s.Param(name, true)
		}
	}
	s.Banner("Tracing retransmits ... Hit Ctrl-C to end")
	if o.count {
		return nil
	}
	cols := []tool.Column{
		{Name: "TIME", Key: "time", Head: "%-8s ", Cell: "%-8s "},
		{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		{Name: "IP", Key: "ip", Head: "%-2s ", Cell: "%-2d "},
		{Name: "LADDR:LPORT", Head: "%-20s ", Cell: "%-20s "},
		{Key: "laddr"}, {Key: "lport"},
		{Name: "T", Key: "type", Head: "%1s> ", Cell: "%1s> "},
		{Name: "RADDR:RPORT", Head: "%-20s ", Cell: "%-20s "},
		{Key: "raddr"}, {Key: "rport"},
	}
	if o.sequence {
		cols = append(cols, tool.Column{Name: "STATE", Key: "state", Head: "%-12s ", Cell: "%-12s "},
			tool.Column{Name: "SEQ", Key: "seq", Head: "%-10s", Cell: "%d"})
	} else {
		cols = append(cols, tool.Column{Name: "STATE", Key: "state", Head: "%-4s", Cell: "%s"})
	}
	s.Table(cols...)
	return nil
}

func (o *tcpretransOpts) Event(s *tool.Session, e *script.Event) error {
	kind := "R"
	if e.Uint(9) == 2 {
		kind = "L"
	}
	o.text.reset()
	row := append(make([]tool.Value, 0, 12), tool.Clock(s.Wall(e.Uint(0)), time.TimeOnly), tool.Uint(e.Uint(1)), tool.Uint(e.Uint(2)),
		o.text.endpoint(e, 3, 4), o.text.arg(e, 3), tool.Uint(e.Uint(4)), tool.Str(kind),
		o.text.endpoint(e, 5, 6), o.text.arg(e, 5), tool.Uint(e.Uint(6)), tool.Str(tcpState(e.Uint(7))))
	if o.sequence {
		row = append(row, tool.Uint(e.Uint(8)))
	}
	return s.RowOf(row...)
}

// Summary prints the counts of -c, the fewest first, as bcc does, at the
// end.
func (o *tcpretransOpts) Summary(s *tool.Session) error {
	if !o.count {
		return nil
	}
	entries, err := s.Map("@retrans")
	if err != nil {
		return err
	}
	slices.SortStableFunc(entries, func(a, b script.Entry) int {
		return cmp.Or(cmp.Compare(unsigned(a.Value), unsigned(b.Value)),
			cmp.Compare(fmt.Sprint(a.Key...), fmt.Sprint(b.Key...)))
	})
	if s.JSON() {
		list := make([]map[string]any, len(entries))
		for i, e := range entries {
			k := e.Key
			list[i] = map[string]any{"ip": unsigned(k[0]), "laddr": k[1], "lport": unsigned(k[2]),
				"raddr": k[3], "rport": unsigned(k[4]), "retransmits": unsigned(e.Value)}
		}
		s.Set("flows", list)
		return nil
	}
	s.Printf("\n%-25s %-25s %s\n", "LADDR:LPORT", "RADDR:RPORT", "RETRANSMITS")
	for _, e := range entries {
		k := e.Key
		s.Printf("%-20s <-> %-20s %10d\n", fmt.Sprintf("[%s]#%d", k[1], unsigned(k[2])),
			fmt.Sprintf("[%s]#%d", k[3], unsigned(k[4])), unsigned(e.Value))
	}
	return nil
}
