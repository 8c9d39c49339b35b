package tools

import (
	"cmp"
	"embed"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed tcptop
var tcptopScripts embed.FS

var tcptop = &tool.Tool{
	Name:     "tcptop",
	Summary:  "Summarize TCP send/recv throughput by host",
	Interval: true,
	Variants: tool.Ladder(tcptopScripts, "tcptop", "tracepoint", "kprobe"),
	Examples: []string{
		"# trace TCP send/recv by host, 1 second summaries",
		"-C # don't clear the screen",
		"-p 181 # only trace PID 181",
		"5 10 # 5 second summaries, 10 times only",
		"-4 # trace IPv4 family only",
		"-6 # trace IPv6 family only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &tcptopOpts{}
		fs.BoolVarP(&o.noclear, "noclear", "C", false, "don't clear the screen")
		fs.BoolVarP(&o.nosummary, "nosummary", "S", false, "skip system summary line")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		o.family.declare(fs)
		return o
	},
}

type tcptopOpts struct {
	family
	noclear, nosummary bool
	pid                int
}

func (o *tcptopOpts) Setup(s *tool.Session) error {
	if err := o.family.setup(s); err != nil {
		return err
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	topInterval(s)
	return nil
}

// tcpFlow is a process's traffic on one connection.
type tcpFlow struct {
	pid          uint64
	comm         string
	laddr, raddr string
	lport, rport uint64
	rx, tx       uint64
}

// Summary prints the interval's traffic per process and connection, the
// most first, IPv4 then IPv6, as bcc does, and empties the maps.
func (o *tcptopOpts) Summary(s *tool.Session) error {
	flows := map[string]*tcpFlow{}
	for _, m := range []string{"@rx", "@tx"} {
		entries, err := s.Map(m)
		if err != nil {
			return err
		}
		if err := s.ClearMap(m); err != nil {
			return err
		}
		for _, e := range entries {
			k := e.Key
			id := fmt.Sprint(k...)
			f := flows[id]
			if f == nil {
				f = &tcpFlow{pid: unsigned(k[0]), comm: k[1].(string), laddr: k[2].(string),
					lport: unsigned(k[3]), raddr: k[4].(string), rport: unsigned(k[5])}
				flows[id] = f
			}
			if m == "@rx" {
				f.rx += unsigned(e.Value)
			} else {
				f.tx += unsigned(e.Value)
			}
		}
	}
	list := make([]*tcpFlow, 0, len(flows))
	for _, f := range flows {
		list = append(list, f)
	}
	slices.SortFunc(list, func(a, b *tcpFlow) int {
		return cmp.Or(cmp.Compare(b.rx+b.tx, a.rx+a.tx), cmp.Compare(a.pid, b.pid),
			cmp.Compare(a.lport, b.lport), cmp.Compare(a.rport, b.rport))
	})
	if s.JSON() {
		js := make([]map[string]any, len(list))
		for i, f := range list {
			js[i] = map[string]any{"pid": f.pid, "comm": f.comm, "laddr": f.laddr, "lport": f.lport,
				"raddr": f.raddr, "rport": f.rport, "rx_kb": f.rx / 1024, "tx_kb": f.tx / 1024,
				"rx_bytes": f.rx, "tx_bytes": f.tx}
		}
		if !o.nosummary {
			loadavg, _ := os.ReadFile("/proc/loadavg")
			s.Set("loadavg", strings.TrimSpace(string(loadavg)))
		}
		s.Set("connections", js)
		return nil
	}
	s.TopHeading(!o.noclear, !o.nosummary)
	for _, v6 := range []bool{false, true} {
		head, cell := "%-6s %-12s %-21s %-21s %6s %6s\n", "%-6d %-12.12s %-21s %-21s %6d %6d\n"
		laddr, raddr := "LADDR", "RADDR"
		if v6 {
			head, cell = "%-6s %-12s %-32s %-32s %6s %6s\n", "%-6d %-12.12s %-32s %-32s %6d %6d\n"
			laddr, raddr = "LADDR6", "RADDR6"
		}
		first := true
		for _, f := range list {
			if strings.Contains(f.laddr, ":") != v6 {
				continue
			}
			if first {
				if v6 {
					s.Printf("\n")
				}
				s.Printf(head, "PID", "COMM", laddr, raddr, "RX_KB", "TX_KB")
				first = false
			}
			s.Printf(cell, f.pid, f.comm, fmt.Sprintf("%s:%d", f.laddr, f.lport),
				fmt.Sprintf("%s:%d", f.raddr, f.rport), f.rx/1024, f.tx/1024)
		}
	}
	return nil
}
