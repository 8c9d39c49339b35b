package tools

import (
	"embed"
	"fmt"
	"strconv"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
	"friday/usdt"
)

//go:embed mysqld_qslower
var mysqldQslowerScripts embed.FS

// mysqldQslowerScript attaches to the probes of the server's process
// ($1 and $2); the tool's variant tries the library functions of every
// process instead, where Choose has no server to try.
var mysqldQslowerScript = tool.Ladder(mysqldQslowerScripts, "mysqld_qslower", "usdt")[0]

var mysqldQslower = &tool.Tool{
	Name:    "mysqld_qslower",
	Summary: "Trace MySQL queries slower than a threshold",
	Args: []tool.Arg{
		{Name: "PID", Help: "the mysqld process", Required: true},
		{Name: "min_ms", Help: "the threshold, in milliseconds (default 1)"},
	},
	Variants: []*tool.Variant{mysqldQslowerScript.With("usdt", "uprobe:c:getpid", "uretprobe:c:getpid")},
	Examples: []string{
		"$(pgrep -n mysqld) # queries slower than 1 ms",
		"$(pgrep -n mysqld) 0.1 # queries slower than 0.1 ms",
		"$(pgrep -n mysqld) 0 # all queries",
	},
	New: func(fs *pflag.FlagSet) tool.Handler { return &mysqldQslowerOpts{} },
}

type mysqldQslowerOpts struct{}

func (o *mysqldQslowerOpts) Setup(s *tool.Session) error {
	args := s.Args()
	pid, err := strconv.Atoi(args[0])
	if err != nil || pid <= 0 {
		return tool.Usage("PID must be a process id, got %q", args[0])
	}
	minMs := "1"
	if len(args) == 2 {
		minMs = args[1]
	}
	ms, err := strconv.ParseFloat(minMs, 64)
	if err != nil || ms < 0 {
		return tool.Usage("min_ms must be a number of milliseconds, got %q", minMs)
	}
	// A process without the probes would fail in the script's attach
	// points: say what they are instead.
	sites, err := usdt.Find("", "mysql", "query__start", pid)
	if err != nil {
		return err
	}
	if len(sites) == 0 {
		return fmt.Errorf("process %d has no USDT probe mysql:query__start, which a mysqld\nbuilt with DTrace probes has; friday trace -l -p %d 'usdt:*' lists its probes", pid, pid)
	}
	s.Pid(pid)
	s.Param("min_ns", int64(ms*1e6))
	s.Ladder(mysqldQslowerScript.With("usdt", "usdt:mysql:query__start", "usdt:mysql:query__done"))
	s.Banner("Tracing MySQL server queries for PID " + args[0] + " slower than " + minMs + " ms...")
	s.Table(
		tool.Column{Name: "TIME(s)", Key: "time", Head: "%-14s ", Cell: "%-14.6f "},
		tool.Column{Name: "PID", Key: "pid", Head: "%-6s ", Cell: "%-6d "},
		tool.Column{Name: "MS", Key: "ms", Head: "%8s ", Cell: "%8.3f "},
		tool.Column{Name: "QUERY", Key: "query", Head: "%s", Cell: "%s"},
	)
	return nil
}

func (o *mysqldQslowerOpts) Event(s *tool.Session, e *script.Event) error {
	return s.RowOf(tool.Float(s.Since(e.Uint(1))), tool.Uint(e.Uint(0)), tool.Float(float64(e.Uint(2))/1e6), tool.Bytes(e.Bytes(3)))
}
