package tools

import (
	"embed"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"friday/script"
	"friday/tool"
)

//go:embed killsnoop
var killsnoopScripts embed.FS

var killsnoop = &tool.Tool{
	Name:     "killsnoop",
	Summary:  "Trace signals issued by the kill() syscall",
	Variants: tool.Ladder(killsnoopScripts, "killsnoop", "tracepoint"),
	Examples: []string{
		"# trace all kill() signals",
		"-x # only show failed kills",
		"-p 181 # only trace PID 181",
		"-T 189 # only trace target PID 189",
		"-s 9 # only trace signal 9",
		"-s SIGTERM # only trace SIGTERM",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &killsnoopOpts{}
		fs.BoolVarP(&o.failed, "failed", "x", false, "only show failed kill syscalls")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only which is the sender of signal")
		fs.IntVarP(&o.tpid, "tpid", "T", 0, "trace this target `TPID` only which is the receiver of signal")
		fs.StringVarP(&o.signal, "signal", "s", "", "trace this `SIGNAL` only (a number or a name)")
		return o
	},
}

type killsnoopOpts struct {
	failed    bool
	pid, tpid int
	signal    string
}

func (o *killsnoopOpts) Setup(s *tool.Session) error {
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	if o.tpid != 0 {
		s.Param("tpid", o.tpid)
	}
	if o.signal != "" {
		n, err := signalNumber(o.signal)
		if err != nil {
			return err
		}
		s.Param("signal", n)
	}
	if o.failed {
		s.Param("failed", true)
	}
	// bcc sizes the PID columns to the largest PID the kernel hands out.
	w := pidWidth()
	s.Table(
		tool.Column{Name: "TIME", Key: "time", Head: "%-9s ", Cell: "%-9s "},
		tool.Column{Name: "PID", Key: "pid", Head: "%-" + w + "s ", Cell: "%-" + w + "d "},
		tool.Column{Name: "COMM", Key: "comm", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "SIG", Key: "sig", Head: "%-4s ", Cell: "%-4d "},
		tool.Column{Name: "TPID", Key: "tpid", Head: "%-" + w + "s ", Cell: "%-" + w + "d "},
		tool.Column{Name: "RESULT", Key: "result", Head: "%s", Cell: "%d"},
	)
	return nil
}

func (o *killsnoopOpts) Event(s *tool.Session, e *script.Event) error {
	return s.RowOf(tool.Clock(s.Wall(e.Uint(5)), time.TimeOnly), tool.Uint(e.Uint(0)), tool.Bytes(e.Bytes(1)),
		tool.Int(e.Int(2)), tool.Int(e.Int(3)), tool.Int(e.Int(4)))
}

// pidWidth is the width of a PID column, as bcc makes it: the digits of
// the kernel's pid_max and one more.
func pidWidth() string {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return "6"
	}
	return strconv.Itoa(len(strings.TrimSpace(string(b))) + 1)
}

// signalNumber reads a signal's number or name (9, KILL, SIGKILL).
func signalNumber(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 64 {
		return n, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if n := unix.SignalNum(name); n != 0 {
		return int(n), nil
	}
	return 0, tool.Usage("unknown signal %q for -s", s)
}
