package tools

import (
	"bytes"
	"embed"
	"os"
	"time"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed oomkill
var oomkillScripts embed.FS

var oomkill = &tool.Tool{
	Name:     "oomkill",
	Summary:  "Trace OOM kills",
	Variants: tool.Ladder(oomkillScripts, "oomkill", "tracepoint", "kprobe"),
	Examples: []string{
		"# trace OOM kills",
		"-f json # a JSON object per kill",
	},
	New: func(fs *pflag.FlagSet) tool.Handler { return &oomkillOpts{} },
}

type oomkillOpts struct{}

func (o *oomkillOpts) Setup(s *tool.Session) error {
	s.Banner("Tracing OOM kills... Ctrl-C to stop.")
	s.Table(
		tool.Column{Key: "time"},
		tool.Column{Key: "triggered_pid"},
		tool.Column{Key: "triggered_comm"},
		tool.Column{Key: "pid"},
		tool.Column{Key: "comm"},
		tool.Column{Key: "pages"},
		tool.Column{Key: "loadavg"},
	)
	return nil
}

func (o *oomkillOpts) Event(s *tool.Session, e *script.Event) error {
	pages := e.Uint(4)
	if s.Variant().Name == "tracepoint" {
		// The tracepoint tells the victim's resident memory in KiB.
		pages = pages * 1024 / uint64(os.Getpagesize())
	}
	// As bcc does, the load averages when the event is read.
	load, _ := os.ReadFile("/proc/loadavg")
	load = bytes.TrimSpace(load)
	at := s.Wall(e.Uint(5))
	if s.JSON() {
		return s.RowOf(tool.Clock(at, time.TimeOnly), tool.Uint(e.Uint(0)), tool.Bytes(e.Bytes(1)),
			tool.Uint(e.Uint(2)), tool.Bytes(e.Bytes(3)), tool.Uint(pages), tool.Bytes(load))
	}
	s.Printf("%s Triggered by PID %d (\"%s\"), OOM kill of PID %d (\"%s\"), %d pages, loadavg: %s\n",
		at.Format(time.TimeOnly), e.Uint(0), e.Bytes(1), e.Uint(2), e.Bytes(3), pages, load)
	return nil
}
