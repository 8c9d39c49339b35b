package tools

import (
	"embed"
	"fmt"
	"os/user"
	"regexp"
	"strconv"
	"strings"

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
	// thread; more says which have more than --max-args.
	pending map[uint64][]string
	more    map[uint64]bool
}

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
	o.pending, o.more = map[uint64][]string{}, map[uint64]bool{}
	return nil
}

func (o *execsnoopOpts) Event(s *tool.Session, e *script.Event) error {
	tid := e.Uint(0)
	if strings.HasPrefix(e.Format, "more ") {
		o.more[tid] = true
		return nil
	}
	if strings.HasPrefix(e.Format, "arg ") {
		if e.Uint(1) == 0 {
			// Arguments of an exec() that never returned (a failed
			// one, without -x) are forgotten here.
			if len(o.pending) > 10000 {
				clear(o.pending)
				clear(o.more)
			}
			o.pending[tid] = nil
			delete(o.more, tid)
		}
		o.pending[tid] = append(o.pending[tid], e.Str(2))
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
	comm := e.Str(4)
	if o.nameRe != nil && !o.nameRe.MatchString(comm) {
		return nil
	}
	if o.lineRe != nil && !anyMatch(o.lineRe, args) {
		return nil
	}
	if o.quote {
		for i, arg := range args {
			args[i] = `"` + strings.ReplaceAll(arg, `"`, `\"`) + `"`
		}
	}
	if more {
		args = append(args, "...")
	}
	var row []any
	at := s.Wall(e.Uint(6))
	if o.time {
		row = append(row, at.Format("15:04:05"))
	}
	if o.timestamp {
		row = append(row, at.Sub(s.Started()).Seconds())
	}
	if o.printUID {
		row = append(row, e.Uint(3))
	}
	return s.Row(append(row, comm, e.Uint(1), e.Uint(2), e.Int(5), args)...)
}

func anyMatch(re *regexp.Regexp, args []string) bool {
	for _, a := range args {
		if re.MatchString(a) {
			return true
		}
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
