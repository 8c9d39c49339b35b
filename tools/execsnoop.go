package tools

import (
	"bytes"
	"embed"
	"fmt"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed execsnoop
var execsnoopScripts embed.FS

var execsnoop = &tool.Tool{
	Name:     "execsnoop",
	Summary:  "Trace exec() syscalls",
	Variants: tool.Ladder(execsnoopScripts, "execsnoop", "tracepoint"),
	Examples: []string{
		"# trace all exec() syscalls",
		"-x # include failed exec()s",
		"-T # include time (HH:MM:SS)",
		"-U # include UID",
		"-u 1000 # only trace UID 1000",
		"-u user # get user UID and trace only them",
		"-t # include timestamps",
		"-q # add \"quotemarks\" around arguments",
		"-n main # only print command lines containing \"main\"",
		"-l tpkg # only print command where arguments contains \"tpkg\"",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &execsnoopOpts{}
		fs.BoolVarP(&o.time, "time", "T", false, "include time column on output (HH:MM:SS)")
		fs.BoolVarP(&o.timestamp, "timestamp", "t", false, "include timestamp on output")
		fs.BoolVarP(&o.fails, "fails", "x", false, "include failed exec()s")
		fs.StringVarP(&o.user, "uid", "u", "", "trace this `USER` (a name or UID) only")
		fs.BoolVarP(&o.quote, "quote", "q", false, "add quotemarks (\") around arguments")
		fs.StringVarP(&o.name, "name", "n", "", "only print commands matching this `NAME` (regex), any arg")
		fs.StringVarP(&o.line, "line", "l", "", "only print commands where arg contains this `LINE` (regex)")
		fs.BoolVarP(&o.printUID, "print-uid", "U", false, "print UID column")
		fs.IntVar(&o.maxArgs, "max-args", 20, "maximum number of arguments parsed and displayed, defaults to 20")
		return o
	},
}

type execsnoopOpts struct {
	time, timestamp, fails, quote, printUID bool
	user, name, line                        string
	maxArgs                                 int

	nameRe, lineRe *regexp.Regexp
	// pending are the arguments of the exec()s not returned yet, by
	// thread, each ended by a NUL byte (tool.Argv); more says which have
	// more than --max-args. free are buffers of exec()s printed, for the
	// next ones: an exec() allocates nothing once there are enough.
	pending map[uint64][]byte
	more    map[uint64]bool
	free    [][]byte
	quoted  []byte
}

// maxFree bounds the buffers kept for later exec()s.
const maxFree = 64

func (o *execsnoopOpts) Setup(s *tool.Session) error {
	if o.user != "" {
		uid, err := strconv.Atoi(o.user)
		if err != nil {
			u, lerr := user.Lookup(o.user)
			if lerr != nil {
				return tool.Usage("no user %q", o.user)
			}
			uid, _ = strconv.Atoi(u.Uid)
		}
		s.Param("uid", uid)
	}
	if o.maxArgs < 1 || o.maxArgs > 200 {
		return tool.Usage("--max-args must be from 1 to 200")
	}
	if s.Flag("max-args") {
		s.Param("max_args", o.maxArgs)
	}
	if o.fails {
		s.Param("fails", true)
	}
	var err error
	if o.name != "" {
		if o.nameRe, err = regexp.Compile(o.name); err != nil {
			return tool.Usage("-n: %v", err)
		}
	}
	if o.line != "" {
		if o.lineRe, err = regexp.Compile(o.line); err != nil {
			return tool.Usage("-l: %v", err)
		}
	}
	var cols []tool.Column
	if o.time {
		cols = append(cols, tool.Column{Name: "TIME", Key: "time", Head: "%-9s", Cell: "%-9s"})
	}
	if o.timestamp {
		cols = append(cols, tool.Column{Name: "TIME(s)", Key: "timestamp", Head: "%-8s", Cell: "%-8.3f"})
	}
	if o.printUID {
		cols = append(cols, tool.Column{Name: "UID", Key: "uid", Head: "%-6s", Cell: "%-6d"})
	}
	s.Table(append(cols,
		tool.Column{Name: "PCOMM", Key: "pcomm", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "PPID", Key: "ppid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "RET", Key: "ret", Head: "%3s ", Cell: "%3d "},
		tool.Column{Name: "ARGS", Key: "args", Head: "%s", Cell: "%s"},
	)...)
	o.pending, o.more = map[uint64][]byte{}, map[uint64]bool{}
	return nil
}

func (o *execsnoopOpts) Event(s *tool.Session, e *script.Event) error {
	tid := e.Uint(0)
	if strings.HasPrefix(e.Format, "more ") {
		o.more[tid] = true
		return nil
	}
	if strings.HasPrefix(e.Format, "arg ") {
		args, ok := o.pending[tid]
		if e.Uint(1) == 0 {
			// Arguments of an exec() that never returned (a failed
			// one, without -x) are forgotten here.
			if len(o.pending) > 10000 {
				clear(o.pending)
				clear(o.more)
			}
			switch {
			case ok:
				args = args[:0]
			case len(o.free) > 0:
				args = o.free[len(o.free)-1]
				o.free = o.free[:len(o.free)-1]
			}
			delete(o.more, tid)
		}
		o.pending[tid] = append(append(args, e.Bytes(2)...), 0)
		return nil
	}
	args, ok := o.pending[tid]
	if !ok {
		// The exec() was called before the tool started.
		return nil
	}
	delete(o.pending, tid)
	more := o.more[tid]
	delete(o.more, tid)
	err := o.print(s, e, args, more)
	if len(o.free) < maxFree {
		o.free = append(o.free, args[:0])
	}
	return err
}

// print prints the line of an exec() that returned with its arguments.
func (o *execsnoopOpts) print(s *tool.Session, e *script.Event, args []byte, more bool) error {
	comm := e.Bytes(4)
	if o.nameRe != nil && !o.nameRe.Match(comm) {
		return nil
	}
	if o.lineRe != nil && !anyMatch(o.lineRe, args) {
		return nil
	}
	if o.quote {
		q := o.quoted[:0]
		for rest := args; len(rest) > 0; {
			end := bytes.IndexByte(rest, 0)
			q = append(q, '"')
			for _, c := range rest[:end] {
				if c == '"' {
					q = append(q, '\\')
				}
				q = append(q, c)
			}
			q = append(q, '"', 0)
			rest = rest[end+1:]
		}
		o.quoted, args = q, q
	}
	if more {
		args = append(args, "...\x00"...)
	}
	row := make([]tool.Value, 0, 8)
	at := s.Wall(e.Uint(6))
	if o.time {
		row = append(row, tool.Clock(at, time.TimeOnly))
	}
	if o.timestamp {
		row = append(row, tool.Float(at.Sub(s.Started()).Seconds()))
	}
	if o.printUID {
		row = append(row, tool.Uint(e.Uint(3)))
	}
	return s.RowOf(append(row, tool.Bytes(comm), tool.Uint(e.Uint(1)), tool.Uint(e.Uint(2)), tool.Int(e.Int(5)), tool.Argv(args))...)
}

// anyMatch says whether re matches one of the NUL-ended arguments.
func anyMatch(re *regexp.Regexp, args []byte) bool {
	for rest := args; len(rest) > 0; {
		end := bytes.IndexByte(rest, 0)
		if re.Match(rest[:end]) {
			return true
		}
		rest = rest[end+1:]
	}
	return false
}

// signed is an integer decoded from an event or a map, signed or not.
func signed(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case uint64:
		return int64(n)
	}
	panic(fmt.Sprintf("not an integer: %T", v))
}
