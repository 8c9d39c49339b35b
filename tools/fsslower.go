package tools

import (
	"embed"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed fsslower
var fsslowerScripts embed.FS

// fileSystems are the file systems the tools know, by the magic number
// of their superblocks; the kprobe script names their functions.
var fileSystems = map[string]uint64{
	"btrfs": 0x9123683e,
	"ext4":  0xef53,
	"nfs":   0x6969,
	"xfs":   0x58465342,
}

// The file system's functions are the tools' subject: the system calls
// stand for them only where they cannot be probed.
var slowerNotes = map[string]string{
	"tracepoint": `the file system's functions cannot be probed here: the
system calls on its regular files are timed instead, from
entry to return (path lookups of opens included): read(),
pread64(), readv(), preadv(), preadv2(), their writes,
open(), openat(), openat2(), creat(), fsync(), fdatasync()`,
}

var (
	fsslower    = slower("fsslower", "")
	ext4slower  = slower("ext4slower", "ext4")
	xfsslower   = slower("xfsslower", "xfs")
	btrfsslower = slower("btrfsslower", "btrfs")
)

// slower is the tool that traces the operations of file system fs slower
// than a threshold; "" is any file system, which -t narrows.
func slower(name, fs string) *tool.Tool {
	what := fs
	examples := []string{
		"# trace operations slower than 10 ms (default)",
		"1 # trace operations slower than 1 ms",
		"-j 1 # ... 1 ms, parsable output (csv)",
		"0 # trace all operations (warning: verbose)",
		"-p 185 # trace PID 185 only",
	}
	if fs == "" {
		what = "file"
		examples = append(examples, "-t xfs 1 # trace xfs only, slower than 1 ms")
	}
	return &tool.Tool{
		Name:     name,
		Summary:  "Trace " + what + " operations slower than a threshold",
		Variants: tool.Ladder(fsslowerScripts, "fsslower", "kprobe", "tracepoint"),
		Args:     []tool.Arg{{Name: "min_ms", Help: "minimum I/O duration to trace, in ms (default 10)"}},
		Notes:    slowerNotes,
		Examples: examples,
		New: func(flags *pflag.FlagSet) tool.Handler {
			o := &slowerOpts{fs: fs}
			flags.BoolVarP(&o.csv, "csv", "j", false, "just print fields: comma-separated values")
			flags.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
			if fs == "" {
				names := slices.Sorted(maps.Keys(fileSystems))
				flags.StringVarP(&o.fs, "type", "t", "", "trace this file system `TYPE` only: "+strings.Join(names, ", "))
				flags.IntVarP(&o.duration, "duration", "d", 0, "total `DURATION` of trace in seconds")
			}
			return o
		},
	}
}

type slowerOpts struct {
	fs            string
	csv           bool
	pid, duration int
	text          texts
}

func (o *slowerOpts) Setup(s *tool.Session) error {
	minMs := 10
	if args := s.Args(); len(args) > 0 {
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 {
			return tool.Usage("min_ms must be a whole number of milliseconds, got %q", args[0])
		}
		minMs = n
	}
	if minMs > 0 {
		s.Param("min_ns", minMs*1000000)
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	what := "file system"
	if o.fs == "" {
		// The functions of every file system cannot be probed.
		s.Param("all_fs", true)
	} else {
		magic, ok := fileSystems[o.fs]
		if !ok {
			return tool.Usage("unknown file system type %q (want %s)", o.fs, strings.Join(slices.Sorted(maps.Keys(fileSystems)), ", "))
		}
		s.Param("magic", magic)
		what = o.fs
	}
	s.Duration = time.Duration(o.duration) * time.Second
	if minMs > 0 {
		s.Banner(fmt.Sprintf("Tracing %s operations slower than %d ms", what, minMs))
	} else {
		s.Banner(fmt.Sprintf("Tracing %s operations", what))
	}
	// JSON has the keys of both.
	extra := []tool.Column{{Key: "offset"}, {Key: "lat_us"}, {Key: "endtime_us"}}
	if o.csv && !s.JSON() {
		s.Table(append([]tool.Column{
			{Name: "ENDTIME_us", Head: "%s,", Cell: "%d,"},
			{Name: "TASK", Head: "%s,", Cell: "%s,"},
			{Name: "PID", Head: "%s,", Cell: "%d,"},
			{Name: "TYPE", Head: "%s,", Cell: "%s,"},
			{Name: "BYTES", Head: "%s,", Cell: "%d,"},
			{Name: "OFFSET_b", Head: "%s,", Cell: "%d,"},
			{Name: "LATENCY_us", Head: "%s,", Cell: "%d,"},
			{Name: "FILE", Head: "%s", Cell: "%s"},
		}, extra...)...)
		return nil
	}
	s.Table(append([]tool.Column{
		{Name: "TIME", Key: "time", Head: "%-8s ", Cell: "%-8s "},
		{Name: "COMM", Key: "comm", Head: "%-14s ", Cell: "%-14.14s "},
		{Name: "PID", Key: "pid", Head: "%-6s ", Cell: "%-6d "},
		{Name: "T", Key: "t", Head: "%1s ", Cell: "%1s "},
		{Name: "BYTES", Key: "bytes", Head: "%-7s ", Cell: "%-7d "},
		{Name: "OFF_KB", Key: "off_kb", Head: "%-8s ", Cell: "%-8d "},
		{Name: "LAT(ms)", Key: "lat_ms", Head: "%7s ", Cell: "%7.2f "},
		{Name: "FILENAME", Key: "file", Head: "%s", Cell: "%s"},
	}, extra...)...)
	return nil
}

func (o *slowerOpts) Event(s *tool.Session, e *script.Event) error {
	ns, pid, comm := e.Uint(0), tool.Uint(e.Uint(1)), tool.Bytes(e.Bytes(2))
	bytes, off, lat, file := tool.Int(e.Int(4)), e.Int(5), e.Uint(6), tool.Bytes(e.Bytes(7))
	o.text.reset()
	o.text.b = utf8.AppendRune(o.text.b, rune(e.Uint(3)))
	t := o.text.from(0)
	if o.csv && !s.JSON() {
		return s.RowOf(tool.Uint(ns/1000), comm, pid, t, bytes, tool.Int(off), tool.Uint(lat/1000), file,
			tool.Int(off), tool.Uint(lat/1000), tool.Uint(ns/1000))
	}
	return s.RowOf(tool.Clock(s.Wall(ns), time.TimeOnly), comm, pid, t, bytes, tool.Int(off/1024), tool.Float(float64(lat)/1e6), file,
		tool.Int(off), tool.Uint(lat/1000), tool.Uint(ns/1000))
}
