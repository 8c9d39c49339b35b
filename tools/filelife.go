package tools

import (
	"embed"
	"path"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"friday/blockdev"
	"friday/script"
	"friday/tool"
)

//go:embed filelife
var filelifeScripts embed.FS

var filelife = &tool.Tool{
	Name:     "filelife",
	Summary:  "Trace lifecycle of file",
	Variants: tool.Ladder(filelifeScripts, "filelife", "tracepoint"),
	Notes: map[string]string{
		"tracepoint": `files made by open(), openat(), openat2() and creat()
(not mknod()), deleted by unlink() and unlinkat()`,
	},
	Examples: []string{
		"# trace lifecycle of file(create->remove)",
		"-p 181 # only trace PID 181",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &filelifeOpts{}
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		return o
	},
}

type filelifeOpts struct {
	pid int
	// born are the files made while the tool traces, by their directory
	// and name, and when; dirs the names of the directory a relative
	// path is deleted in, innermost first, by thread.
	born map[fileName]uint64
	dirs map[uint64][]string
}

// fileName is a file by its directory (its device and inode) and name.
type fileName struct {
	dev  blockdev.Dev
	ino  uint64
	name string
}

// maxBorn bounds the files remembered: a file made and never deleted
// is remembered until this many are.
const maxBorn = 1 << 16

func (o *filelifeOpts) Setup(s *tool.Session) error {
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	o.born, o.dirs = map[fileName]uint64{}, map[uint64][]string{}
	s.Table(
		tool.Column{Name: "TIME", Key: "time", Head: "%-8s ", Cell: "%-8s "},
		tool.Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		tool.Column{Name: "COMM", Key: "comm", Head: "%-16s ", Cell: "%-16s "},
		tool.Column{Name: "AGE(s)", Key: "age_s", Head: "%-7s ", Cell: "%-7.2f "},
		tool.Column{Name: "FILE", Key: "file", Head: "%s", Cell: "%s"},
		// The path deleted, for JSON.
		tool.Column{Key: "path"})
	return nil
}

func (o *filelifeOpts) Event(s *tool.Session, e *script.Event) error {
	call, _, _ := strings.Cut(e.Format, " ")
	switch call {
	case "new":
		if len(o.born) >= maxBorn {
			for k := range o.born {
				delete(o.born, k)
				break
			}
		}
		o.born[fileName{blockdev.Dev(e.Uint(1)), e.Uint(2), e.Str(3)}] = e.Uint(0)
		return nil
	case "dir":
		tid := e.Uint(0)
		o.dirs[tid] = append(o.dirs[tid], e.Str(1))
		return nil
	}
	ns, pid, tid, comm := e.Uint(0), e.Uint(1), e.Uint(2), e.Bytes(3)
	dev, ino, p := blockdev.Dev(e.Uint(4)), e.Uint(5), e.Str(6)
	dirs := o.dirs[tid]
	delete(o.dirs, tid)
	dir, name := path.Split(p)
	if dir != "" {
		// The directory of a path of several names, as the kernel found
		// it, is the one stat() finds now, unless it went too.
		if !strings.HasPrefix(dir, "/") {
			dir = fullPath(dirs, dir)
		}
		var st unix.Stat_t
		if unix.Stat(dir, &st) != nil {
			return nil
		}
		dev, ino = blockdev.Make(unix.Major(st.Dev), unix.Minor(st.Dev)), st.Ino
	}
	k := fileName{dev, ino, name}
	birth, ok := o.born[k]
	if !ok {
		return nil
	}
	delete(o.born, k)
	return s.RowOf(tool.Clock(s.Wall(ns), time.TimeOnly), tool.Uint(pid), tool.Bytes(comm), tool.Float(float64(ns-birth)/1e9),
		tool.Str(name), tool.Str(p))
}
