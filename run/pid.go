package run

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// pidWatch tells when a process exits, through a pidfd: it becomes
// readable then, and unlike a pid it cannot come to name another process.
type pidWatch struct {
	fd   int
	done chan struct{}
	stop chan struct{}
}

func watchPid(pid int) (*pidWatch, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil, fmt.Errorf("no process with pid %d", pid)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot watch process %d: %w", pid, err)
	}
	w := &pidWatch{fd: fd, done: make(chan struct{}), stop: make(chan struct{})}
	go w.wait()
	return w, nil
}

// wait owns the file descriptor and closes it when it returns. It polls
// with a timeout so that close can end it.
func (w *pidWatch) wait() {
	defer unix.Close(w.fd)
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		n, err := unix.Poll(fds, 100)
		if n > 0 || (err != nil && !errors.Is(err, unix.EINTR)) {
			close(w.done)
			return
		}
	}
}

func (w *pidWatch) close() { close(w.stop) }
