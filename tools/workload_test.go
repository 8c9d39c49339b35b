package tools

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
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
//	after PATH WORKLOAD   create PATH.ready, wait for the file PATH to
//	                      exist, run the workload, create PATH.done
//
// and TCP connections whose bytes, ports and timing are known (see
// netload_test.go): pair, serve, client, backlog and tundelay.
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
		if err := workload(args[2:]); err != nil {
			return err
		}
		return os.WriteFile(args[1]+".done", nil, 0o600)
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
	case "pair", "serve", "client", "backlog", "tundelay":
		return netload(args)
	default:
		return fmt.Errorf("unknown workload %q", args[0])
	}
	return nil
}
