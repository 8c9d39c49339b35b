package tools

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// workloadEnv set in the environment makes the test binary run a workload
// instead of the tests: "$WORK NAME ARGS..." in a case's workload.
const workloadEnv = "FRIDAY_TOOLS_WORKLOAD"

func TestMain(m *testing.M) {
	if os.Getenv(workloadEnv) != "" {
		if err := workload(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "workload:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// workloads whose truth is exact, which a shell cannot promise: each
// makes its system calls from one thread.
//
//	getppid N             N getppid() calls
//	getpgid N             N getpgid(-1) calls, which fail with ESRCH
//	sleep N DURATION      N sleeps of DURATION (nanosleep)
//	spin DURATION         keep a CPU busy for DURATION
//	stat N PATH           N stat() calls on PATH (newfstatat)
//	io PATH W R SIZE      open PATH (made, or emptied), write() W times
//	                      SIZE bytes, then read() R times SIZE bytes from
//	                      its start, fsync() it and close it
//	life PATH DURATION    make PATH, wait DURATION, delete it
//	mknod DIR N           make N regular files in DIR with mknod()
//	mount DIR             in a mount namespace of its own (run it under
//	                      unshare -m), mount a tmpfs on DIR and unmount
//	                      it; MNT_NS=its namespace's inode to $VARS
//	after PATH WORKLOAD   create PATH.ready, wait for the file PATH to
//	                      exist, run the workload, create PATH.done (an
//	                      openat() each, no write())
func workload(args []string) error {
	runtime.LockOSThread()
	if len(args) == 0 {
		return fmt.Errorf("no workload")
	}
	if args[0] == "after" && len(args) > 2 {
		if err := touch(args[1] + ".ready"); err != nil {
			return err
		}
		for {
			if _, err := os.Stat(args[1]); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := workload(args[2:]); err != nil {
			return err
		}
		return touch(args[1] + ".done")
	}
	count := func(i int) (int, error) {
		if len(args) <= i {
			return 0, fmt.Errorf("%s: missing count", args[0])
		}
		return strconv.Atoi(args[i])
	}
	duration := func(i int) (time.Duration, error) {
		if len(args) <= i {
			return 0, fmt.Errorf("%s: missing duration", args[0])
		}
		return time.ParseDuration(args[i])
	}
	switch args[0] {
	case "getppid":
		n, err := count(1)
		if err != nil {
			return err
		}
		for range n {
			unix.Getppid()
		}
	case "getpgid":
		n, err := count(1)
		if err != nil {
			return err
		}
		for range n {
			unix.Getpgid(-1)
		}
	case "sleep":
		n, err := count(1)
		if err != nil {
			return err
		}
		d, err := duration(2)
		if err != nil {
			return err
		}
		for range n {
			ts := unix.NsecToTimespec(d.Nanoseconds())
			for unix.Nanosleep(&ts, &ts) == unix.EINTR {
			}
		}
	case "spin":
		d, err := duration(1)
		if err != nil {
			return err
		}
		for end := time.Now().Add(d); time.Now().Before(end); {
		}
	case "stat":
		n, err := count(1)
		if err != nil {
			return err
		}
		if len(args) < 3 {
			return fmt.Errorf("stat: missing path")
		}
		var st unix.Stat_t
		for range n {
			unix.Stat(args[2], &st)
		}
	case "io":
		if len(args) < 5 {
			return fmt.Errorf("io: want PATH W R SIZE")
		}
		w, err := count(2)
		if err != nil {
			return err
		}
		r, err := count(3)
		if err != nil {
			return err
		}
		size, err := count(4)
		if err != nil {
			return err
		}
		return ioWorkload(args[1], w, r, size)
	case "life":
		d, err := duration(2)
		if err != nil {
			return err
		}
		if err := touch(args[1]); err != nil {
			return err
		}
		time.Sleep(d)
		return unix.Unlink(args[1])
	case "mknod":
		n, err := count(2)
		if err != nil {
			return err
		}
		for i := range n {
			if err := unix.Mknod(fmt.Sprintf("%s/node%d", args[1], i), unix.S_IFREG|0o600, 0); err != nil {
				return err
			}
		}
	case "mount":
		if len(args) < 2 {
			return fmt.Errorf("mount: missing directory")
		}
		return mountWorkload(args[1])
	default:
		return fmt.Errorf("unknown workload %q", args[0])
	}
	return nil
}

func mountWorkload(dir string) error {
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	// Nothing of this namespace's mounts reaches the one it came from.
	if err := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("mount --make-rprivate /: %w", err)
	}
	if err := unix.Mount("friday", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m"); err != nil {
		return err
	}
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
		return err
	}
	f, err := os.OpenFile(os.Getenv("VARS"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "MNT_NS=%s\n", strings.TrimSuffix(strings.TrimPrefix(ns, "mnt:["), "]"))
	return err
}

func ioWorkload(path string, writes, reads, size int) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, size)
	for range writes {
		if n, err := unix.Write(fd, buf); n != size {
			return fmt.Errorf("write: %d bytes, %v", n, err)
		}
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return err
	}
	for range reads {
		if n, err := unix.Read(fd, buf); n != size {
			return fmt.Errorf("read: %d bytes, %v", n, err)
		}
	}
	return unix.Fsync(fd)
}

// touch makes an empty file with one openat() and no write().
func touch(path string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT, 0o600)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}
