package tools

import (
	"embed"
	"fmt"
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

type mountsnoopOpts struct{ parent bool }

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
	var source, target, fstype, flags, data, text string
	if call == "mount" {
		source, target, fstype, data = e.Str(7), e.Str(8), e.Str(9), e.Str(11)
		flags = mountFlags(e.Uint(10))
		text = fmt.Sprintf("mount(%s, %s, %s, %s, %s) = %s", mountString(source), mountString(target),
			mountString(fstype), flags, mountString(data), errnoString(ret))
	} else {
		target, flags = e.Str(7), namedFlags(e.Uint(8), umountFlags)
		text = fmt.Sprintf("umount(%s, %s) = %s", mountString(target), flags, errnoString(ret))
	}
	row := []any{e.Str(2), e.Uint(0), e.Uint(1)}
	if o.parent {
		row = append(row, e.Str(4), e.Uint(3))
	}
	return s.Row(append(row, e.Uint(5), text, call, source, target, fstype, flags, data, ret)...)
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

// mountFlags names mount()'s flags: MS_MGC_VAL, the magic number old
// callers put in the high bits, then the flags by name, and those without
// one in hex.
func mountFlags(flags uint64) string {
	flags &= 0xffffffff
	var prefix string
	if flags&unix.MS_MGC_MSK == unix.MS_MGC_VAL {
		flags &^= unix.MS_MGC_MSK
		prefix = "MS_MGC_VAL|"
	}
	return prefix + namedFlags(flags, mountFlagNames)
}

// namedFlags names the flags set, joined by "|", the bits without a name
// in hex at the end; no flags are 0x0.
func namedFlags(flags uint64, names []mountFlag) string {
	var parts []string
	for _, f := range names {
		if flags&f.bit != 0 {
			parts = append(parts, f.name)
			flags &^= f.bit
		}
	}
	if flags != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("0x%x", flags))
	}
	return strings.Join(parts, "|")
}

// mountString quotes a string argument as C would write it.
func mountString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			if c < 0x20 || c > 0x7e {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// errnoString is a return value: a number, or an error's name (-ENOENT).
func errnoString(ret int64) string {
	if ret < 0 {
		if name := unix.ErrnoName(syscall.Errno(-ret)); name != "" {
			return "-" + name
		}
	}
	return fmt.Sprint(ret)
}
