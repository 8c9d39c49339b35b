package tools

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf/btf"
	"github.com/spf13/pflag"

	"friday/lazybtf"
	"friday/tool"
)

// What the TCP tools share: the names of TCP states and header flags, the
// filters on address families and port lists their scripts read, and the
// time columns and layouts (plain, wide, CSV) of tcplife and tcpstates.

// tcpStateNames are the kernel's TCP states (include/net/tcp_states.h), by
// number, as bcc names them.
var tcpStateNames = [...]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
	6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
	11: "CLOSING", 12: "NEW_SYN_RECV",
}

// tcpState names state n; a number the table lacks prints as itself.
func tcpState(n uint64) string {
	if n < uint64(len(tcpStateNames)) && tcpStateNames[n] != "" {
		return tcpStateNames[n]
	}
	return strconv.FormatUint(n, 10)
}

// tcpFlagNames are the flags of a TCP header's 14th byte, from its
// lowest bit.
var tcpFlagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// tcpFlags names the flags of a TCP header's 14th byte as bcc does:
// "SYN|ACK".
func (t *texts) tcpFlags(flags uint64) tool.Value {
	n := len(t.b)
	for i, name := range tcpFlagNames {
		if flags&(1<<i) != 0 {
			if len(t.b) > n {
				t.b = append(t.b, '|')
			}
			t.b = append(t.b, name...)
		}
	}
	return t.from(n)
}

// family declares -4 and -6, bcc's filters on the address family.
type family struct{ v4, v6 bool }

func (f *family) declare(fs *pflag.FlagSet) {
	fs.BoolVarP(&f.v4, "ipv4", "4", false, "trace IPv4 family only")
	fs.BoolVarP(&f.v6, "ipv6", "6", false, "trace IPv6 family only")
}

// setup gives the scripts the family asked for: getopt("ipv4"),
// getopt("ipv6").
func (f *family) setup(s *tool.Session) error {
	if f.v4 && f.v6 {
		return tool.Usage("argument -6/--ipv6: not allowed with argument -4/--ipv4")
	}
	if f.v4 {
		s.Param("ipv4", true)
	}
	if f.v6 {
		s.Param("ipv6", true)
	}
	return nil
}

// connFilter is the filters of the connection snoopers: -p PID, -P with
// a list of ports, -4 and -6, as getopt("pid"), getopt("port"...) and
// the family's.
type connFilter struct {
	family
	pid   int
	ports string
}

func (c *connFilter) declare(fs *pflag.FlagSet, portsHelp string) {
	fs.IntVarP(&c.pid, "pid", "p", 0, "trace this `PID` only")
	fs.StringVarP(&c.ports, "port", "P", "", portsHelp)
	c.family.declare(fs)
}

func (c *connFilter) setup(s *tool.Session) error {
	if err := c.family.setup(s); err != nil {
		return err
	}
	if err := portList(s, "-P", "port", c.ports); err != nil {
		return err
	}
	if c.pid != 0 {
		s.Param("pid", c.pid)
	}
	return nil
}

// maxPorts is how many ports a list option may name: the scripts compare
// a port with each, getopt("NAME0") to getopt("NAME7").
const maxPorts = 8

// portList gives the scripts a comma-separated list of ports (-L 80,81) as
// the parameters NAME (true) and NAME0, NAME1, ...
func portList(s *tool.Session, flag, name, list string) error {
	if list == "" {
		return nil
	}
	parts := strings.Split(list, ",")
	if len(parts) > maxPorts {
		return tool.Usage("%s: at most %d ports", flag, maxPorts)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
		if err != nil || n == 0 {
			return tool.Usage("%s: %q is not a port", flag, p)
		}
		s.Param(fmt.Sprintf("%s%d", name, i), n)
	}
	s.Param(name, true)
	return nil
}

// lines are the output and port options tcplife and tcpstates share:
// -w, -s, -L and -D.
type lines struct {
	wide, csv      bool
	lports, rports string
}

func (l *lines) declare(fs *pflag.FlagSet) {
	fs.BoolVarP(&l.wide, "wide", "w", false, "wide column output (fits IPv6 addresses)")
	fs.BoolVarP(&l.csv, "csv", "s", false, "comma separated values output")
}

func (l *lines) declarePorts(fs *pflag.FlagSet) {
	fs.StringVarP(&l.lports, "localport", "L", "", "comma-separated list of local ports to trace.")
	fs.StringVarP(&l.rports, "remoteport", "D", "", "comma-separated list of remote ports to trace.")
}

// setup gives the scripts the ports of -L and -D.
func (l *lines) setup(s *tool.Session) error {
	if err := portList(s, "-L", "lport", l.lports); err != nil {
		return err
	}
	return portList(s, "-D", "rport", l.rports)
}

// clock is the optional time columns of tcplife and tcpstates: -T's
// TIME (HH:MM:SS) and -t's TIME(s), seconds since the first event.
type clock struct{ time, stamp bool }

func (c *clock) declare(fs *pflag.FlagSet) {
	fs.BoolVarP(&c.time, "time", "T", false, "include time column on output (HH:MM:SS)")
	fs.BoolVarP(&c.stamp, "timestamp", "t", false, "include timestamp on output (seconds)")
}

// columns are the time columns asked for, as text (csv: comma-separated
// values) and JSON show them.
func (c *clock) columns(csv bool) []tool.Column {
	var cols []tool.Column
	if c.time {
		col := tool.Column{Name: "TIME", Key: "time", Head: "%-8s ", Cell: "%-8s "}
		if csv {
			col.Head, col.Cell = "%s,", "%s,"
		}
		cols = append(cols, col)
	}
	if c.stamp {
		col := tool.Column{Name: "TIME(s)", Key: "timestamp", Head: "%-9s ", Cell: "%-9.6f "}
		if csv {
			col.Head, col.Cell = "%s,", "%.6f,"
		}
		cols = append(cols, col)
	}
	return cols
}

// values appends the time columns' values for an event at kernel time ns
// to row.
func (c *clock) values(row []tool.Value, s *tool.Session, ns uint64) []tool.Value {
	if c.time {
		row = append(row, tool.Clock(s.Wall(ns), time.TimeOnly))
	}
	if c.stamp {
		row = append(row, tool.Float(s.Since(ns)))
	}
	return row
}

// layout is a column of tcplife or tcpstates in its three layouts: plain,
// wide (-w) and comma-separated (-s). A layout without Head leaves the
// column out of text; the last column has no separator.
type layout struct {
	name, key            string
	plain, wide, csvHead [2]string // head, cell
}

// pick makes the columns of one layout.
func pick(ls []layout, wide, csv bool) []tool.Column {
	cols := make([]tool.Column, len(ls))
	for i, l := range ls {
		f := l.plain
		switch {
		case csv:
			f = l.csvHead
		case wide:
			f = l.wide
		}
		cols[i] = tool.Column{Name: l.name, Key: l.key, Head: f[0], Cell: f[1]}
	}
	return cols
}

// dropReasons are the names of the kernel's enum skb_drop_reason, by
// value, without their SKB_DROP_REASON_ prefix, read from its BTF once.
var dropReasons = sync.OnceValue(func() map[uint64]string {
	m := map[uint64]string{}
	spec, err := lazybtf.LoadKernel()
	if err != nil {
		return m
	}
	e, err := lazybtf.TypeByName[*btf.Enum](spec, "skb_drop_reason")
	if err != nil {
		return m
	}
	for _, v := range e.Values {
		m[v.Value] = strings.TrimPrefix(strings.TrimPrefix(v.Name, "SKB_DROP_REASON_"), "SKB_")
	}
	return m
})

// dropReason names a drop reason; one the kernel does not name prints as
// its number.
func dropReason(v uint64) string {
	if n, ok := dropReasons()[v]; ok {
		return n
	}
	return strconv.FormatUint(v, 10)
}
