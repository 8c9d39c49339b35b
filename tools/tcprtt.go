package tools

import (
	"embed"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed tcprtt
var tcprttScripts embed.FS

var tcprtt = &tool.Tool{
	Name:     "tcprtt",
	Summary:  "Summarize TCP RTT as a histogram",
	Variants: tool.Ladder(tcprttScripts, "tcprtt", "tracepoint", "kprobe"),
	Examples: []string{
		"# summarize TCP RTT",
		"-i 1 -d 10 # print 1 second summaries, 10 times",
		"-mT -i 1 # 1s summaries, milliseconds, and timestamps",
		"-p 80 # filter for local port",
		"-P 80 # filter for remote port",
		"-a 127.0.0.1 # filter for local address",
		"-A 127.0.0.1 # filter for remote address",
		"-b # show sockets histogram by local address",
		"-B # show sockets histogram by remote address",
		"-e # show extension summary (average)",
		"-4 # trace IPv4 family only",
		"-6 # trace IPv6 family only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &tcprttOpts{}
		fs.IntVarP(&o.interval, "interval", "i", 0, "summary interval, `SECONDS`")
		fs.IntVarP(&o.duration, "duration", "d", 0, "total duration of trace, `SECONDS`")
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.BoolVarP(&o.ms, "milliseconds", "m", false, "millisecond histogram")
		fs.Uint16VarP(&o.lport, "lport", "p", 0, "filter for local `PORT`")
		fs.Uint16VarP(&o.rport, "rport", "P", 0, "filter for remote `PORT`")
		fs.StringVarP(&o.laddr, "laddr", "a", "", "filter for local `ADDRESS`")
		fs.StringVarP(&o.raddr, "raddr", "A", "", "filter for remote `ADDRESS`")
		fs.BoolVarP(&o.byLaddr, "byladdr", "b", false, "show sockets histogram by local address")
		fs.BoolVarP(&o.byRaddr, "byraddr", "B", false, "show sockets histogram by remote address")
		fs.BoolVarP(&o.extension, "extension", "e", false, "show extension summary(average)")
		o.family.declare(fs)
		return o
	},
}

type tcprttOpts struct {
	family
	interval, duration              int
	timestamp, ms, byLaddr, byRaddr bool
	extension                       bool
	lport, rport                    uint16
	laddr, raddr                    string
}

func (o *tcprttOpts) Setup(s *tool.Session) error {
	if err := o.family.setup(s); err != nil {
		return err
	}
	if o.byLaddr && o.byRaddr {
		return tool.Usage("can only use one of -b and -B")
	}
	if o.interval < 0 || o.duration < 0 {
		return tool.Usage("-i and -d take a positive number of seconds")
	}
	for _, a := range []struct{ flag, name, addr string }{{"-a", "laddr", o.laddr}, {"-A", "raddr", o.raddr}} {
		if a.addr == "" {
			continue
		}
		ip, err := netip.ParseAddr(a.addr)
		if err != nil || !ip.Is4() {
			return tool.Usage("%s: %q is not an IPv4 address", a.flag, a.addr)
		}
		// As the socket holds it: in network order, read as a native
		// integer.
		b := ip.As4()
		s.Param(a.name, binary.NativeEndian.Uint32(b[:]))
	}
	if o.lport != 0 {
		s.Param("lport", o.lport)
	}
	if o.rport != 0 {
		s.Param("rport", o.rport)
	}
	for name, on := range map[string]bool{"milliseconds": o.ms, "byladdr": o.byLaddr, "byraddr": o.byRaddr, "extension": o.extension} {
		if on {
			s.Param(name, true)
		}
	}
	s.Interval = time.Duration(o.interval) * time.Second
	s.Duration = time.Duration(o.duration) * time.Second
	s.Banner("Tracing TCP RTT... Hit Ctrl-C to end.")
	return nil
}

func (o *tcprttOpts) Summary(s *tool.Session) error {
	s.Heading(o.timestamp)
	name, label, keyOf := "@all", "", (func([]any) any)(nil)
	switch {
	case o.byLaddr:
		name, label, keyOf = "@addr", "Local Address", func(k []any) any { return k[0] }
	case o.byRaddr:
		name, label, keyOf = "@addr", "Remote Address", func(k []any) any { return k[0] }
	}
	unit := "usecs"
	if o.ms {
		unit = "msecs"
	}
	if err := s.PrintHistMap(name, unit, label, keyOf); err != nil {
		return err
	}
	if o.extension {
		return printExtension(s, unit)
	}
	return nil
}
