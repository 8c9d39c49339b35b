package tools

import (
	"cmp"
	"embed"
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed tcpconnect
var tcpconnectScripts embed.FS

var tcpconnect = &tool.Tool{
	Name:     "tcpconnect",
	Summary:  "Trace TCP connects",
	Variants: tool.Ladder(tcpconnectScripts, "tcpconnect", "tracepoint", "kprobe"),
	Examples: []string{
		"# trace all TCP connect()s",
		"-t # include timestamps",
		"-p 181 # only trace PID 181",
		"-P 80 # only trace port 80",
		"-P 80,81 # only trace port 80 and 81",
		"-4 # only trace IPv4 family",
		"-6 # only trace IPv6 family",
		"-U # include UID",
		"-u 1000 # only trace UID 1000",
		"-c # count connects per src ip and dest ip/port",
		"-L # include LPORT while printing outputs",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &tcpconnectOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "t", false, "include timestamp on output")
		o.connFilter.declare(fs, "comma-separated list of destination ports to trace.")
		fs.BoolVarP(&o.lport, "lport", "L", false, "include LPORT on output")
		fs.BoolVarP(&o.printUID, "print-uid", "U", false, "include UID on output")
		fs.IntVarP(&o.uid, "uid", "u", -1, "trace this `UID` only")
		fs.BoolVarP(&o.count, "count", "c", false, "count connects per src ip and dest ip/port")
		return o
	},
}

type tcpconnectOpts struct {
	connFilter
	timestamp, lport, printUID, count bool
	uid                               int
	text                              texts
}

func (o *tcpconnectOpts) Setup(s *tool.Session) error {
	if err := o.connFilter.setup(s); err != nil {
		return err
	}
	if o.uid >= 0 {
		s.Param("uid", o.uid)
	}
	if o.count {
		s.Param("count", true)
		s.Banner("Tracing connect ... Hit Ctrl-C to end")
		return nil
	}
	if o.lport {
		s.Param("lport", true)
	}
	var cols []tool.Column
	if o.timestamp {
		cols = append(cols, tool.Column{Name: "TIME(s)", Key: "timestamp", Head: "%-9s", Cell: "%-9.3f"})
	}
	uid := tool.Column{Key: "uid"}
	if o.printUID {
		uid = tool.Column{Name: "UID", Key: "uid", Head: "%-6s", Cell: "%-6d"}
	}
	cols = append(cols, uid,
		tool.Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "COMM", Key: "comm", Head: "%-12s ", Cell: "%-12.12s "},
		tool.Column{Name: "IP", Key: "ip", Head: "%-2s ", Cell: "%-2d "},
		tool.Column{Name: "SADDR", Key: "saddr", Head: "%-16s ", Cell: "%-16s "})
	if o.lport {
		cols = append(cols, tool.Column{Name: "LPORT", Key: "lport", Head: "%-6s ", Cell: "%-6d "})
	}
	s.Table(append(cols,
		tool.Column{Name: "DADDR", Key: "daddr", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "DPORT", Key: "dport", Head: "%-6s", Cell: "%-6d"})...)
	s.Banner("Tracing connect ... Hit Ctrl-C to end")
	return nil
}

func (o *tcpconnectOpts) Event(s *tool.Session, e *script.Event) error {
	o.text.reset()
	row := make([]tool.Value, 0, 10)
	if o.timestamp {
		row = append(row, tool.Float(s.Since(e.Uint(0))))
	}
	row = append(row, tool.Uint(e.Uint(2)), tool.Uint(e.Uint(1)), tool.Bytes(e.Bytes(3)), tool.Uint(e.Uint(4)), o.text.arg(e, 5))
	if o.lport {
		row = append(row, tool.Uint(e.Uint(6)))
	}
	return s.RowOf(append(row, o.text.arg(e, 7), tool.Uint(e.Uint(8)))...)
}

// Summary prints the counts of -c, the most first, at the end.
func (o *tcpconnectOpts) Summary(s *tool.Session) error {
	if !o.count {
		return nil
	}
	entries, err := s.Map("@connects")
	if err != nil {
		return err
	}
	slices.SortStableFunc(entries, func(a, b script.Entry) int {
		return cmp.Or(cmp.Compare(unsigned(b.Value), unsigned(a.Value)),
			cmp.Compare(fmt.Sprint(a.Key...), fmt.Sprint(b.Key...)))
	})
	if s.JSON() {
		list := make([]map[string]any, len(entries))
		for i, e := range entries {
			list[i] = map[string]any{"laddr": e.Key[0], "raddr": e.Key[1], "rport": unsigned(e.Key[2]), "connects": unsigned(e.Value)}
		}
		s.Set("connects", list)
		return nil
	}
	s.Printf("\n%-25s %-25s %-20s %s\n", "LADDR", "RADDR", "RPORT", "CONNECTS")
	for _, e := range entries {
		s.Printf("%-25s %-25s %-20d %d\n", e.Key[0], e.Key[1], unsigned(e.Key[2]), unsigned(e.Value))
	}
	return nil
}
