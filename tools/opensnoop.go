package tools

import (
	"bytes"
	"embed"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"friday/script"
	"friday/tool"
)

//go:embed opensnoop
var opensnoopScripts embed.FS

var opensnoop = &tool.Tool{
	Name:     "opensnoop",
	Summary:  "Trace open() syscalls",
	Variants: tool.Ladder(opensnoopScripts, "opensnoop", "tracepoint"),
	Examples: []string{
		"# trace all open() syscalls",
		"-T # include timestamps",
		"-U # include UID",
		"-x # only show failed opens",
		"-p 181 # only trace PID 181",
		"-t 123 # only trace TID 123",
		"-u 1000 # only trace UID 1000",
		"-d 10 # trace for 10 seconds only",
		"-n main # only print process names containing \"main\"",
		"-e # show extended fields",
		"-f O_WRONLY -f O_RDWR # only print calls for writing",
		"-F # show full path for an open file with relative path",
		"-f json # a JSON object per open",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &opensnoopOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.BoolVarP(&o.printUID, "print-uid", "U", false, "print UID column")
		fs.BoolVarP(&o.failed, "failed", "x", false, "only show failed opens")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		fs.IntVarP(&o.tid, "tid", "t", 0, "trace this `TID` only")
		fs.IntVarP(&o.uid, "uid", "u", -1, "trace this `UID` only")
		fs.IntVarP(&o.duration, "duration", "d", 0, "total `DURATION` of trace in seconds")
		fs.StringVarP(&o.name, "name", "n", "", "only print process names containing this `NAME`")
		fs.BoolVarP(&o.extended, "extended_fields", "e", false, "show extended fields")
		fs.StringArrayVarP(&o.flags, "flag_filter", "f", nil, "filter on flags argument (e.g., O_WRONLY); json or text selects the output format")
		fs.BoolVarP(&o.fullPath, "full-path", "F", false, "show full path for an open file with relative path")
		return o
	},
}

type opensnoopOpts struct {
	timestamp, printUID, failed, extended, fullPath bool
	pid, tid, uid, duration                         int
	name                                            string
	flags                                           []string

	// dirs are the names of the directories relative paths are opened
	// in, innermost first, by thread, until the open's own event.
	dirs map[uint64][]string
}

// openFlags are the flags -f takes, by name.
var openFlags = map[string]int{
	"O_WRONLY": unix.O_WRONLY, "O_RDWR": unix.O_RDWR, "O_CREAT": unix.O_CREAT, "O_EXCL": unix.O_EXCL,
	"O_NOCTTY": unix.O_NOCTTY, "O_TRUNC": unix.O_TRUNC, "O_APPEND": unix.O_APPEND, "O_NONBLOCK": unix.O_NONBLOCK,
	"O_DSYNC": unix.O_DSYNC, "O_ASYNC": unix.O_ASYNC, "O_DIRECT": unix.O_DIRECT, "O_LARGEFILE": unix.O_LARGEFILE,
	"O_DIRECTORY": unix.O_DIRECTORY, "O_NOFOLLOW": unix.O_NOFOLLOW, "O_NOATIME": unix.O_NOATIME,
	"O_CLOEXEC": unix.O_CLOEXEC, "O_SYNC": unix.O_SYNC, "O_PATH": unix.O_PATH, "O_TMPFILE": unix.O_TMPFILE,
}

func (o *opensnoopOpts) Setup(s *tool.Session) error {
	mask := 0
	for _, f := range o.flags {
		// -f is both bcc's flag filter and the output format.
		if f == "json" || f == "text" {
			s.SetFormat(f)
			continue
		}
		name := strings.ToUpper(f)
		if !strings.HasPrefix(name, "O_") {
			name = "O_" + name
		}
		if name == "O_RDONLY" {
			s.Param("rdonly", true)
			continue
		}
		v, ok := openFlags[name]
		if !ok {
			return tool.Usage("unknown flag %q for -f", f)
		}
		mask |= v
	}
	if mask != 0 {
		s.Param("flags", mask)
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	if o.tid != 0 {
		s.Param("tid", o.tid)
	}
	if o.uid >= 0 {
		s.Param("uid", o.uid)
	}
	if o.failed {
		s.Param("failed", true)
	}
	if o.fullPath {
		s.Param("full_path", true)
		o.dirs = map[uint64][]string{}
	}
	s.Duration = time.Duration(o.duration) * time.Second
	var cols []tool.Column
	if o.timestamp {
		cols = append(cols, tool.Column{Name: "TIME(s)", Key: "time", Head: "%-14s", Cell: "%-14.9f"})
	}
	if o.printUID {
		cols = append(cols, tool.Column{Name: "UID", Key: "uid", Head: "%-6s", Cell: "%-6d"})
	}
	id := tool.Column{Name: "PID", Key: "pid", Head: "%-6s ", Cell: "%-6d "}
	if o.tid != 0 {
		id.Name, id.Key = "TID", "tid"
	}
	cols = append(cols, id,
		tool.Column{Name: "COMM", Key: "comm", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "FD", Key: "fd", Head: "%4s ", Cell: "%4d "},
		tool.Column{Name: "ERR", Key: "err", Head: "%3s ", Cell: "%3d "})
	if o.extended {
		cols = append(cols, tool.Column{Name: "FLAGS", Key: "flags", Head: "%-9s", Cell: "%08o "})
	}
	s.Table(append(cols, tool.Column{Name: "PATH", Key: "path", Head: "%s", Cell: "%s"})...)
	return nil
}

func (o *opensnoopOpts) Event(s *tool.Session, e *script.Event) error {
	if strings.HasPrefix(e.Format, "dir ") {
		tid := e.Uint(0)
		o.dirs[tid] = append(o.dirs[tid], e.Str(1))
		return nil
	}
	pid, tid, comm := e.Uint(1), e.Uint(2), e.Bytes(4)
	dirs := o.dirs[tid]
	if dirs != nil {
		delete(o.dirs, tid)
	}
	if o.name != "" && !bytes.Contains(comm, []byte(o.name)) {
		return nil
	}
	ret := e.Int(5)
	fd, errno := ret, int64(0)
	if ret < 0 {
		fd, errno = -1, -ret
	}
	path := tool.Bytes(e.Bytes(8))
	if o.fullPath && !bytes.HasPrefix(e.Bytes(8), []byte("/")) {
		path = tool.Str(fullPath(dirs, e.Str(8)))
	}
	var row [8]tool.Value
	n := 0
	add := func(v tool.Value) {
		row[n] = v
		n++
	}
	if o.timestamp {
		add(tool.Float(s.Since(e.Uint(0))))
	}
	if o.printUID {
		add(tool.Uint(e.Uint(3)))
	}
	id := pid
	if o.tid != 0 {
		id = tid
	}
	add(tool.Uint(id))
	add(tool.Bytes(comm))
	add(tool.Int(fd))
	add(tool.Int(errno))
	if o.extended {
		add(tool.Uint(e.Uint(6)))
	}
	add(path)
	return s.RowOf(row[:n]...)
}

// fullPath is a relative path preceded by the names of the directory it
// is relative to, innermost first.
func fullPath(dirs []string, path string) string {
	var b strings.Builder
	for i := len(dirs) - 1; i >= 0; i-- {
		b.WriteString("/" + dirs[i])
	}
	return b.String() + "/" + path
}
