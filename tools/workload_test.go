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
//	spin DURATION         keep a CPU busy for DURATION
//	burst N CPU SLEEP     N times: run on a CPU for CPU of the thread's
//	                      CPU time, then sleep SLEEP
//	kill PID SIG N        N kill(PID, SIG) calls
//	fsync PATH N          open PATH for writing and fsync it N times
//	alloc SIZE            allocate SIZE bytes (1G) and touch every page
//	loopback N            send N 1 KiB messages over a TCP connection on
//	                      the loopback interface, each answered
//	after PATH WORKLOAD   create PATH.ready, wait for the file PATH to
//	                      exist, run the workload, create PATH.done
//	                      holding the thread's scheduler statistics of
//	                      the workload: CPU_US=, RUN_DELAY_US= (waiting
//	                      on a run queue) and SLICES= lines
func workload(args []string) error {
	runtime.LockOSThread()
	if len(args) == 0 {
		return fmt.Errorf("no workload")
	}
	if args[0] == "after" && len(args) > 2 {
		if err := os.WriteFile(args[1]+".ready", nil, 0o600); err != nil {
			return err
		}
		for {
			if _, err := os.Stat(args[1]); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
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
		return os.WriteFile(args[1]+".done", []byte(done), 0o600)
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
