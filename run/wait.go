package run

import (
	"os"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ringWait parks the reading goroutine in Go's own poller until the ring
// buffer wakes its readers or a timeout passes. Blocking in epoll_wait
// instead, as the ring buffer reader does, holds a thread in a system call,
// and the runtime then watches that thread with sleeps and futex calls:
// system calls of friday's own that scripts tracing every process see.
type ringWait struct {
	f  *os.File
	rc syscall.RawConn
}

// newRingWait watches the ring buffer m. It returns nil where Go's poller
// does not take the map's descriptor; the reader then blocks on its own.
func newRingWait(m *ebpf.Map) *ringWait {
	fd, err := unix.FcntlInt(uintptr(m.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil
	}
	f := os.NewFile(uintptr(fd), "ring buffer")
	rc, err := f.SyscallConn()
	// A deadline can be set only on a descriptor in the poller.
	if err != nil || f.SetReadDeadline(time.Time{}) != nil {
		f.Close()
		return nil
	}
	return &ringWait{f: f, rc: rc}
}

// wait returns when the ring buffer has woken its readers or after d.
func (w *ringWait) wait(d time.Duration) {
	w.f.SetReadDeadline(time.Now().Add(d))
	waited := false
	// The function reads nothing: the first call asks the poller to wait,
	// the second ends the wait. A timeout is an error, and the expected
	// end of most waits.
	w.rc.Read(func(uintptr) bool {
		done := waited
		waited = true
		return done
	})
}

func (w *ringWait) close() { w.f.Close() }
