package tools

import (
	"embed"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed statsnoop
var statsnoopScripts embed.FS

var statsnoop = &tool.Tool{
	Name:     "statsnoop",
	Summary:  "Trace stat() syscalls",
	Variants: tool.Ladder(statsnoopScripts, "statsnoop", "tracepoint"),
	Examples: []string{
		"# trace all stat() syscalls",
		"-t # include timestamps",
		"-x # only show failed stats",
		"-p 181 # only trace PID 181",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &statsnoopOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "t", false, "include timestamp on output")
		fs.BoolVarP(&o.failed, "failed", "x", false, "only show failed stats")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		return o
	},
}

type statsnoopOpts struct {
	timestamp, failed bool
	pid               int
}

func (o *statsnoopOpts) Setup(s *tool.Session) error {
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	if o.failed {
		s.Param("failed", true)
	}
	var cols []tool.Column
	if o.timestamp {
		cols = append(cols, tool.Column{Name: "TIME(s)", Key: "time", Head: "%-14s", Cell: "%-14.9f"})
	}
	s.Table(append(cols,
		tool.Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "COMM", Key: "comm", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "FD", Key: "fd", Head: "%4s ", Cell: "%4d "},
		tool.Column{Name: "ERR", Key: "err", Head: "%3s ", Cell: "%3d "},
		tool.Column{Name: "PATH", Key: "path", Head: "%s", Cell: "%s"})...)
	return nil
}

func (o *statsnoopOpts) Event(s *tool.Session, e *script.Event) error {
	fd, errno := e.Int(3), int64(0)
	if fd < 0 {
		fd, errno = -1, -fd
	}
	var row [6]tool.Value
	n := 0
	if o.timestamp {
		row[n] = tool.Float(s.Since(e.Uint(0)))
		n++
	}
	copy(row[n:], []tool.Value{tool.Uint(e.Uint(1)), tool.Bytes(e.Bytes(2)), tool.Int(fd), tool.Int(errno), tool.Bytes(e.Bytes(4))})
	return s.RowOf(row[:n+5]...)
}
