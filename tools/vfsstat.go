package tools

import (
	"embed"
	"time"

	"github.com/spf13/pflag"

	"friday/tool"
)

//go:embed vfsstat
var vfsstatScripts embed.FS

// The VFS functions are the tool's subject: the system calls that call
// them stand for them only where they cannot be probed.
var vfsstat = &tool.Tool{
	Name:     "vfsstat",
	Summary:  "Count some VFS calls.",
	Interval: true,
	Variants: tool.Ladder(vfsstatScripts, "vfsstat", "kprobe", "tracepoint"),
	Notes: map[string]string{
		"tracepoint": `system calls stand for the VFS functions here:
READ/s: read(), and pread64() on a file with positions, of
  an open descriptor (vfs_read; readv() and the others do
  not call it)
WRITE/s: write() and pwrite64(), likewise (vfs_write)
CREATE/s: mknod() of a regular file that succeeds
  (vfs_create; open() with O_CREAT calls the file system
  without it)
OPEN/s: open(), openat(), openat2(), creat() and
  open_by_handle_at() that succeed (vfs_open)
FSYNC/s: fsync() and fdatasync() of an open descriptor, and
  writes to files opened with O_SYNC or O_DSYNC
  (vfs_fsync_range)`,
	},
	Examples: []string{
		"# count some VFS calls per second",
		"-p 185 # trace PID 185 only",
		"2 5 # print 2 second summaries, 5 times",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &vfsstatOpts{}
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		return o
	},
}

type vfsstatOpts struct {
	pid    int
	headed bool
	last   time.Time // of the summary before
}

// vfsstatOps are the operations counted: the script's maps, and the
// columns of bcc's vfsstat.
var vfsstatOps = []string{"read", "write", "create", "open", "fsync"}

func (o *vfsstatOpts) Setup(s *tool.Session) error {
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	if s.Interval == 0 {
		s.Interval = time.Second
	}
	o.last = time.Now()
	return nil
}

func (o *vfsstatOpts) Summary(s *tool.Session) error {
	counts := make([]uint64, len(vfsstatOps))
	for i, op := range vfsstatOps {
		entries, err := s.Map("@" + op)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			counts[i] = unsigned(entries[0].Value)
		}
		if err := s.ClearMap("@" + op); err != nil {
			return err
		}
	}
	// The last summary, at Ctrl-C, may cover less than an interval.
	now := time.Now()
	secs := s.Interval.Seconds()
	if d := now.Sub(o.last).Seconds(); d < secs*0.9 {
		secs = d
	}
	o.last = now
	if s.JSON() {
		s.Set("seconds", secs)
		for i, op := range vfsstatOps {
			s.Set(op, counts[i])
		}
		return nil
	}
	if !o.headed {
		s.Printf("%-8s  ", "TIME")
		for _, op := range []string{"READ", "WRITE", "CREATE", "OPEN", "FSYNC"} {
			s.Printf(" %8s", op+"/s")
		}
		s.Printf("\n")
		o.headed = true
	}
	s.Printf("%-8s: ", now.Format("15:04:05"))
	for _, n := range counts {
		rate := uint64(0)
		if secs > 0 {
			rate = uint64(float64(n) / secs)
		}
		s.Printf(" %8d", rate)
	}
	s.Printf("\n")
	return nil
}
