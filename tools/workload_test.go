package tools

import (
	"fmt"
	"io"
	"net"
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
//	spin DURATION [READY] keep a CPU busy for DURATION, having made the
//	                      file READY once nothing is left but the loop
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
//	burst N CPU SLEEP     N times: run on a CPU for CPU of the thread's
//	                      CPU time, then sleep SLEEP
//	kill PID SIG N        N kill(PID, SIG) calls
//	fsync PATH N          open PATH for writing and fsync it N times
//	alloc SIZE            allocate SIZE bytes (1G) and touch every page
//	loopback N            send N 1 KiB messages over a TCP connection on
//	                      the loopback interface, each answered
//	timed PATH WORKLOAD   create PATH.ready, wait for the file PATH to
//	                      exist, run the workload, create PATH.done
//	                      holding the thread's scheduler statistics of
//	                      the workload: CPU_US=, RUN_DELAY_US= (waiting
//	                      on a run queue) and SLICES= lines
//
// and TCP connections whose bytes, ports and timing are known (see
// netload_test.go): pair, serve, client, backlog and tundelay.
func workload(args []string) error {
	runtime.LockOSThread()
	if len(args) == 0 {
		return fmt.Errorf("no workload")
	}
	if (args[0] == "after" || args[0] == "timed") && len(args) > 2 {
		if err := touch(args[1] + ".ready"); err != nil {
			return err
		}
		for {
			if _, err := os.Stat(args[1]); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if args[0] == "after" {
			if err := workload(args[2:]); err != nil {
				return err
			}
			return touch(args[1] + ".done")
		}
		before, err := schedstat()
		if err != nil {
			return err
		}
		if err := workload(args[2:]); err != nil {
			return err
		}
		after, err := schedstat()
		if err != nil {
			return err
		}
		done := fmt.Sprintf("CPU_US=%d\nRUN_DELAY_US=%d\nSLICES=%d\n",
			(after[0]-before[0])/1000, (after[1]-before[1])/1000, after[2]-before[2])
		// Renamed into place: a reader waiting for PATH.done finds it whole.
		if err := os.WriteFile(args[1]+".stats", []byte(done), 0o600); err != nil {
			return err
		}
		return os.Rename(args[1]+".stats", args[1]+".done")
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
		end := time.Now().Add(d)
		if len(args) > 2 {
			if err := touch(args[2]); err != nil {
				return err
			}
		}
		for time.Now().Before(end) {
		}
	case "burst":
		n, err := count(1)
		if err != nil {
			return err
		}
		run, err := duration(2)
		if err != nil {
			return err
		}
		pause, err := duration(3)
		if err != nil {
			return err
		}
		for range n {
			for end := threadCPU() + run; threadCPU() < end; {
			}
			time.Sleep(pause)
		}
	case "kill":
		if len(args) < 4 {
			return fmt.Errorf("kill: want PID SIG N")
		}
		pid, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		sig, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		n, err := count(3)
		if err != nil {
			return err
		}
		for range n {
			unix.Kill(pid, unix.Signal(sig))
		}
	case "fsync":
		if len(args) < 3 {
			return fmt.Errorf("fsync: want PATH N")
		}
		n, err := count(2)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(args[1], os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		for range n {
			if err := f.Sync(); err != nil {
				return err
			}
		}
	case "alloc":
		if len(args) < 2 {
			return fmt.Errorf("alloc: want SIZE")
		}
		size, err := strconv.ParseUint(strings.TrimSuffix(args[1], "G"), 10, 64)
		if err != nil {
			return err
		}
		if strings.HasSuffix(args[1], "G") {
			size <<= 30
		}
		b, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return err
		}
		for i := 0; i < len(b); i += os.Getpagesize() {
			b[i] = 1
		}
	case "loopback":
		n, err := count(1)
		if err != nil {
			return err
		}
		return loopback(n)
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
	case "pair", "serve", "client", "backlog", "tundelay":
		return netload(args)
	default:
		return fmt.Errorf("unknown workload %q", args[0])
	}
	return nil
}

// schedstat is what the kernel counts of the calling thread: its time on
// a CPU and waiting on a run queue in nanoseconds, and its time slices.
func schedstat() ([3]uint64, error) {
	var st [3]uint64
	b, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		return st, err
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return st, fmt.Errorf("schedstat: %q", b)
	}
	for i := range st {
		if st[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
			return st, err
		}
	}
	return st, nil
}

// threadCPU is the CPU time of the calling thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// loopback sends n messages of 1 KiB to a server on the loopback
// interface, which echoes each back.
func loopback(n int) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	msg := make([]byte, 1024)
	for range n {
		if _, err := c.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, msg); err != nil {
			return err
		}
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
