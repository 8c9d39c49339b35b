package check

import (
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"friday/internal/syscalls"
)

// headerConsts are #define constants of the kernel and C library headers
// that bpftrace scripts take from an #include. bpftrace runs the includes
// through clang; friday has no preprocessor and BTF keeps no record of
// #defines (enum constants, such as the TCP states, come from BTF instead),
// so the ones real tools use are listed here with their Linux values. The
// table is made when a script first names an identifier it may hold, not
// each time friday starts.
var headerConsts = sync.OnceValue(func() map[string]int64 {
	consts := map[string]int64{
		// linux/socket.h, sys/socket.h
		"AF_UNSPEC": 0, "AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_AX25": 3, "AF_IPX": 4,
		"AF_APPLETALK": 5, "AF_NETROM": 6, "AF_BRIDGE": 7, "AF_INET6": 10, "AF_NETLINK": 16,
		"AF_PACKET": 17, "AF_VSOCK": 40, "AF_XDP": 44,

		// asm-generic/errno.h: the names errno values have besides the ones
		// init adds.
		"EWOULDBLOCK": 11, "EDEADLOCK": 35, "EOPNOTSUPP": 95,

		// linux/sched.h: task states as sched_switch's prev_state and
		// task_struct.__state hold them (Linux 5.19 and later).
		"TASK_RUNNING": 0x0, "TASK_INTERRUPTIBLE": 0x1, "TASK_UNINTERRUPTIBLE": 0x2,
		"__TASK_STOPPED": 0x4, "__TASK_TRACED": 0x8, "EXIT_DEAD": 0x10, "EXIT_ZOMBIE": 0x20,
		"EXIT_TRACE": 0x30, "TASK_PARKED": 0x40, "TASK_DEAD": 0x80, "TASK_WAKEKILL": 0x100,
		"TASK_WAKING": 0x200, "TASK_NOLOAD": 0x400, "TASK_NEW": 0x800, "TASK_RTLOCK_WAIT": 0x1000,
		"TASK_FREEZABLE": 0x2000, "TASK_FROZEN": 0x8000, "TASK_STATE_MAX": 0x10000,
		"TASK_KILLABLE": 0x102, "TASK_STOPPED": 0x104, "TASK_TRACED": 0x8, "TASK_IDLE": 0x402,
		"TASK_NORMAL": 0x3, "TASK_REPORT": 0x7f, "TASK_COMM_LEN": 16,

		// asm-generic/fcntl.h (x86 and arm64): open(2) flags, octal as there.
		"O_RDONLY": 0, "O_WRONLY": 01, "O_RDWR": 02, "O_ACCMODE": 03, "O_CREAT": 0100,
		"O_EXCL": 0200, "O_NOCTTY": 0400, "O_TRUNC": 01000, "O_APPEND": 02000,
		"O_NONBLOCK": 04000, "O_NDELAY": 04000, "O_DSYNC": 010000, "FASYNC": 020000,
		"O_DIRECT": 040000, "O_LARGEFILE": 0100000, "O_DIRECTORY": 0200000,
		"O_NOFOLLOW": 0400000, "O_NOATIME": 01000000, "O_CLOEXEC": 02000000,
		"O_SYNC": 04010000, "O_PATH": 010000000, "O_TMPFILE": 020200000,

		// asm/page.h: the page size differs between machines, so it is this
		// machine's.
		"PAGE_SIZE": int64(os.Getpagesize()), "PAGE_SHIFT": pageShift(),
	}
	// The errno values of asm-generic/errno.h (EPERM ...), the signal
	// numbers of asm/signal.h (SIGTERM ...), and the system call numbers
	// of asm/unistd.h (__NR_read) and sys/syscall.h (SYS_read).
	for e := syscall.Errno(1); e < 4096; e++ {
		if name := unix.ErrnoName(e); name != "" {
			consts[name] = int64(e)
		}
	}
	for name, n := range signals {
		consts[name] = int64(n)
	}
	syscalls.Each(func(nr int, name string) {
		consts["__NR_"+name] = int64(nr)
		consts["SYS_"+name] = int64(nr)
	})
	return consts
})

func pageShift() int64 {
	n := int64(0)
	for 1<<n < os.Getpagesize() {
		n++
	}
	return n
}
