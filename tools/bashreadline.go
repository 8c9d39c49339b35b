package tools

import (
	"embed"
	"time"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
	"friday/uprobe"
)

//go:embed bashreadline
var bashreadlineScripts embed.FS

var bashreadlineScript = tool.Ladder(bashreadlineScripts, "bashreadline", "uretprobe")[0]

var bashreadline = &tool.Tool{
	Name:     "bashreadline",
	Summary:  "Print entered bash commands from all running shells",
	Variants: []*tool.Variant{bashreadlineScript.With("uretprobe", "uretprobe:c:getenv")},
	Examples: []string{
		"# trace the commands of every bash",
		"-s /lib/libreadline.so # with bash's readline() in this library",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &bashreadlineOpts{}
		fs.StringVarP(&o.shared, "shared", "s", "", "the `LIBRARY` of readline() bash links (default: bash's own, or libreadline)")
		return o
	},
}

type bashreadlineOpts struct{ shared string }

// bashPath is where bash is.
const bashPath = "/bin/bash"

func (o *bashreadlineOpts) Setup(s *tool.Session) error {
	bin := o.shared
	if bin == "" {
		// Distributions build bash with its own readline (Debian's),
		// or link the system's library.
		bin = bashPath
		if _, err := uprobe.Resolve(bin, "readline", uprobe.Options{Return: true}); err != nil {
			bin = "libreadline"
		}
	}
	s.Ladder(bashreadlineScript.With("uretprobe", "uretprobe:"+bin+":readline"))
	s.Table(
		tool.Column{Name: "TIME", Key: "time", Head: "%-9s ", Cell: "%-9s "},
		tool.Column{Name: "PID", Key: "pid", Head: "%-6s ", Cell: "%-6d "},
		tool.Column{Name: "COMMAND", Key: "command", Head: "%s", Cell: "%s"},
	)
	return nil
}

func (o *bashreadlineOpts) Event(s *tool.Session, e *script.Event) error {
	return s.RowOf(tool.Clock(s.Wall(e.Uint(1)), time.TimeOnly), tool.Uint(e.Uint(0)), tool.Bytes(e.Bytes(2)))
}
