package tools

import (
	"embed"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"friday/script"
	"friday/tool"
)

//go:embed exitsnoop
var exitsnoopScripts embed.FS

var exitsnoop = &tool.Tool{
	Name:     "exitsnoop",
	Summary:  "Trace all process termination (exit, fatal signal)",
	Variants: tool.Ladder(exitsnoopScripts, "exitsnoop", "tracepoint", "rawtracepoint"),
	Examples: []string{
		"# trace all process termination",
		"-x # trace only fails, exclude exit(0)",
		"-t # include timestamps (local time)",
		"--utc # include timestamps (UTC)",
		"-p 181 # only trace PID 181",
		"--label=exit # label each output line with 'exit'",
		"--per-thread # trace per thread termination",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &exitsnoopOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "t", false, "include timestamp (local time default)")
		fs.BoolVar(&o.utc, "utc", false, "include timestamp in UTC (-t implied)")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		fs.StringVar(&o.label, "label", "", "label each line")
		fs.BoolVarP(&o.failed, "failed", "x", false, "trace only fails, exclude exit(0)")
		fs.BoolVar(&o.perThread, "per-thread", false, "trace per thread termination")
		return o
	},
}

type exitsnoopOpts struct {
	timestamp, utc, failed, perThread bool
	pid                               int
	label                             string
	how                               []byte // the exit code's text, reused
}

func (o *exitsnoopOpts) Setup(s *tool.Session) error {
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	if o.failed {
		s.Param("failed", true)
	}
	if o.perThread {
		s.Param("per_thread", true)
	}
	var cols []tool.Column
	if o.timestamp || o.utc {
		zone := "UTC"
		if !o.utc {
			zone, _ = time.Now().Zone()
		}
		cols = append(cols, tool.Column{Name: "TIME-" + zone, Key: "time", Head: "%-13s", Cell: "%-13s"})
	}
	if s.Flag("label") {
		cols = append(cols, tool.Column{Name: "LABEL", Key: "label", Head: "%-6s", Cell: "%-6s"})
	}
	s.Table(append(cols,
		tool.Column{Name: "PCOMM", Key: "pcomm", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "PPID", Key: "ppid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "TID", Key: "tid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "AGE(s)", Key: "age", Head: "%-7s ", Cell: "%-7.2f "},
		tool.Column{Name: "EXIT_CODE", Head: "%-10s", Cell: "%s"},
		tool.Column{Key: "exit_code"},
		tool.Column{Key: "signal"},
		tool.Column{Key: "core_dumped"},
	)...)
	return nil
}

func (o *exitsnoopOpts) Event(s *tool.Session, e *script.Event) error {
	status := e.Uint(5)
	code, sig, core := status>>8&0xff, status&0x7f, status&0x80 != 0
	b := o.how[:0]
	switch {
	case sig == 0 && code == 0:
		b = append(b, '0')
	case sig == 0:
		b = strconv.AppendUint(append(b, "code "...), code, 10)
	default:
		b = strconv.AppendUint(append(b, "signal "...), sig, 10)
		b = append(append(append(b, " ("...), strings.TrimPrefix(unix.SignalName(syscall.Signal(sig)), "SIG")...), ')')
		if core {
			b = append(b, ", core dumped"...)
		}
	}
	o.how = b
	row := make([]tool.Value, 0, 11)
	if o.timestamp || o.utc {
		now := s.Wall(e.Uint(6))
		if o.utc {
			now = now.UTC()
		}
		row = append(row, tool.Clock(now, "15:04:05.000"))
	}
	if s.Flag("label") {
		label := o.label
		if label == "" {
			label = "exit"
		}
		row = append(row, tool.Str(label))
	}
	return s.RowOf(append(row, tool.Bytes(e.Bytes(3)), tool.Uint(e.Uint(0)), tool.Uint(e.Uint(2)), tool.Uint(e.Uint(1)),
		tool.Float(float64(e.Uint(4))/1e9), tool.Bytes(b), tool.Uint(code), tool.Uint(sig), tool.Bool(core))...)
}
