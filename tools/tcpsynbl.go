package tools

import (
	"embed"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed tcpsynbl
var tcpsynblScripts embed.FS

var tcpsynbl = &tool.Tool{
	Name:     "tcpsynbl",
	Summary:  "Show the TCP SYN backlog size",
	Variants: tool.Ladder(tcpsynblScripts, "tcpsynbl", "tracepoint", "kprobe"),
	Examples: []string{
		"# trace syn backlog size",
		"-4 # trace IPv4 family only",
		"-6 # trace IPv6 family only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &tcpsynblOpts{}
		o.family.declare(fs)
		return o
	},
}

type tcpsynblOpts struct{ family }

func (o *tcpsynblOpts) Setup(s *tool.Session) error {
	if err := o.family.setup(s); err != nil {
		return err
	}
	s.Banner("Tracing SYN backlog size. Ctrl-C to end.")
	return nil
}

// Summary prints a histogram of the backlog per listen() backlog, as bcc
// does: "backlog_max = 128".
func (o *tcpsynblOpts) Summary(s *tool.Session) error {
	s.Heading(false)
	return s.PrintHistMap("@backlog", "backlog", "backlog_max", func(k []any) any { return unsigned(k[0]) })
}
