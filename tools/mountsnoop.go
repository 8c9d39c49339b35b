package tools

import (
	"embed"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"friday/script"
	"friday/tool"
)

//go:embed mountsnoop
var mountsnoopScripts embed.FS

var mountsnoop = &tool.Tool{
	Name:     "mountsnoop",
	Summary:  "trace mount() and umount() syscalls",
	Variants: tool.Ladder(mountsnoopScripts, "mountsnoop", "tracepoint"),
	Examples: []string{
		"# trace mount() and umount() calls",
		"-P # also show the parent process",
		"-f json # a JSON object per call",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &mountsnoopOpts{}
		fs.BoolVarP(&o.parent, "parent_process", "P", false, "also snoop the parent process")
		return o
	},
}

type mountsnoopOpts struct {
	parent bool
	text   texts
}

func (o *mountsnoopOpts) Setup(s *tool.Session) error {
	cols := []tool.Column{
		{Name: "COMM", Key: "comm", Head: "%-16s ", Cell: "%-16s "},
		{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
		{Name: "TID", Key: "tid", Head: "%-7s ", Cell: "%-7d "},
	}
	if o.parent {
		s.Param("parent_process", true)
		cols = append(cols,
			tool.Column{Name: "PCOMM", Key: "pcomm", Head: "%-16s ", Cell: "%-16s "},
			tool.Column{Name: "PPID", Key: "ppid", Head: "%-7s ", Cell: "%-7d "})
	}
	s.Table(append(cols,
		tool.Column{Name: "MNT_NS", Key: "mnt_ns", Head: "%-11s ", Cell: "%-11d "},
		tool.Column{Name: "CALL", Key: "call", Head: "%s", Cell: "%s"},
		// The call's parts, for JSON.
		tool.Column{Key: "syscall"},
		tool.Column{Key: "source"},
		tool.Column{Key: "target"},
		tool.Column{Key: "type"},
		tool.Column{Key: "flags"},
		tool.Column{Key: "data"},
		tool.Column{Key: "ret"})...)
	return nil
}

func (o *mountsnoopOpts) Event(s *tool.Session, e *script.Event) error {
	call, _, _ := strings.Cut(e.Format, " ")
	ret := e.Int(6)
	t := &o.text
	t.reset()
	// The call as C would write it; its parts, unquoted, for JSON.
	empty := tool.Str("")
	source, target, fstype, flags, data := empty, empty, empty, empty, empty
	if call == "mount" {
		t.b = appendQuoted(append(t.b, "mount("...), e.Bytes(7))
		t.b = appendQuoted(append(t.b, ", "...), e.Bytes(8))
		t.b = appendQuoted(append(t.b, ", "...), e.Bytes(9))
		t.b = append(t.b, ", "...)
		n := len(t.b)
		t.b = appendMountFlags(t.b, e.Uint(10))
		flags = t.from(n)
		t.b = appendQuoted(append(t.b, ", "...), e.Bytes(11))
		source, target, fstype, data = tool.Bytes(e.Bytes(7)), tool.Bytes(e.Bytes(8)), tool.Bytes(e.Bytes(9)), tool.Bytes(e.Bytes(11))
	} else {
		t.b = appendQuoted(append(t.b, "umount("...), e.Bytes(7))
		t.b = append(t.b, ", "...)
		n := len(t.b)
		t.b = appendNamedFlags(t.b, e.Uint(8), umountFlags)
		flags = t.from(n)
		target = tool.Bytes(e.Bytes(7))
	}
	t.b = appendErrno(append(t.b, ") = "...), ret)
	text := t.from(0)
	row := append(make([]tool.Value, 0, 16), tool.Bytes(e.Bytes(2)), tool.Uint(e.Uint(0)), tool.Uint(e.Uint(1)))
	if o.parent {
		row = append(row, tool.Bytes(e.Bytes(4)), tool.Uint(e.Uint(3)))
	}
	return s.RowOf(append(row, tool.Uint(e.Uint(5)), text, tool.Str(call), source, target, fstype, flags, data, tool.Int(ret))...)
}

// mountFlag is a flag of mount() or umount() and its name.
type mountFlag struct {
	name string
	bit  uint64
}

var mountFlagNames = []mountFlag{
	{"MS_RDONLY", unix.MS_RDONLY}, {"MS_NOSUID", unix.MS_NOSUID}, {"MS_NODEV", unix.MS_NODEV},
	{"MS_NOEXEC", unix.MS_NOEXEC}, {"MS_SYNCHRONOUS", unix.MS_SYNCHRONOUS}, {"MS_REMOUNT", unix.MS_REMOUNT},
	{"MS_MANDLOCK", unix.MS_MANDLOCK}, {"MS_DIRSYNC", unix.MS_DIRSYNC}, {"MS_NOATIME", unix.MS_NOATIME},
	{"MS_NODIRATIME", unix.MS_NODIRATIME}, {"MS_BIND", unix.MS_BIND}, {"MS_MOVE", unix.MS_MOVE},
	{"MS_REC", unix.MS_REC}, {"MS_SILENT", unix.MS_SILENT}, {"MS_POSIXACL", unix.MS_POSIXACL},
	{"MS_UNBINDABLE", unix.MS_UNBINDABLE}, {"MS_PRIVATE", unix.MS_PRIVATE}, {"MS_SLAVE", unix.MS_SLAVE},
	{"MS_SHARED", unix.MS_SHARED}, {"MS_RELATIME", unix.MS_RELATIME}, {"MS_KERNMOUNT", unix.MS_KERNMOUNT},
	{"MS_I_VERSION", unix.MS_I_VERSION}, {"MS_STRICTATIME", unix.MS_STRICTATIME}, {"MS_LAZYTIME", unix.MS_LAZYTIME},
	{"MS_ACTIVE", unix.MS_ACTIVE}, {"MS_NOUSER", unix.MS_NOUSER},
}

var umountFlags = []mountFlag{
	{"MNT_FORCE", unix.MNT_FORCE}, {"MNT_DETACH", unix.MNT_DETACH}, {"MNT_EXPIRE", unix.MNT_EXPIRE},
	{"UMOUNT_NOFOLLOW", unix.UMOUNT_NOFOLLOW},
}

// appendMountFlags appends the names of mount()'s flags: MS_MGC_VAL, the
// magic number old callers put in the high bits, then the flags by name,
// and those without one in hex.
func appendMountFlags(b []byte, flags uint64) []byte {
	flags &= 0xffffffff
	if flags&unix.MS_MGC_MSK == unix.MS_MGC_VAL {
		flags &^= unix.MS_MGC_MSK
		b = append(b, "MS_MGC_VAL|"...)
	}
	return appendNamedFlags(b, flags, mountFlagNames)
}

// appendNamedFlags appends the names of the flags set, joined by "|", the
// bits without a name in hex at the end; no flags are 0x0.
func appendNamedFlags(b []byte, flags uint64, names []mountFlag) []byte {
	n := len(b)
	for _, f := range names {
		if flags&f.bit != 0 {
			if len(b) > n {
				b = append(b, '|')
			}
			b = append(b, f.name...)
			flags &^= f.bit
		}
	}
	if flags != 0 || len(b) == n {
		if len(b) > n {
			b = append(b, '|')
		}
		b = strconv.AppendUint(append(b, "0x"...), flags, 16)
	}
	return b
}

// appendQuoted appends a string argument quoted as C would write it.
func appendQuoted(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch c {
		case '\a':
			b = append(b, `\a`...)
		case '\b':
			b = append(b, `\b`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\v':
			b = append(b, `\v`...)
		case '\f':
			b = append(b, `\f`...)
		case '\r':
			b = append(b, `\r`...)
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			if c < 0x20 || c > 0x7e {
				b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// appendErrno appends a return value: a number, or an error's name
// (-ENOENT).
func appendErrno(b []byte, ret int64) []byte {
	if ret < 0 {
		if name := unix.ErrnoName(syscall.Errno(-ret)); name != "" {
			return append(append(b, '-'), name...)
		}
	}
	return strconv.AppendInt(b, ret, 10)
}
