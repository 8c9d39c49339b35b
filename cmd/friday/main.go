// Command friday is a toolkit for Linux performance analysis with eBPF.
// `friday trace` runs bpftrace programs.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"

	"friday/tools"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `friday is a toolkit for Linux performance analysis with eBPF.

Usage:
  friday trace [flags] (-e PROGRAM | FILE) [ARGS...]   run a bpftrace program
  friday trace -l [PATTERN]                             list probes
  friday doctor [-f json] [--fix]                       check what this host supports
  friday profile [flags] [duration]                     profile CPUs by stack
  friday offcputime [flags] [duration]                  time blocked, by stack
  friday wakeuptime [flags] [duration]                  time blocked, by waker
  friday offwaketime [flags] [duration]                 time blocked, both stacks
  friday flamegraph [flags] [FILE...]                   draw a flame graph of stacks
  friday heatmap [flags] [FILE...]                      draw a latency heat map
  friday tools                                          list the tools (bcc's)
  friday TOOL [flags] [args]                            run a tool: friday biolatency -mT 1 5
  friday help [COMMAND]                                 show help
  friday --version                                      show the version

Run 'friday help COMMAND' for the flags of a command, 'friday TOOL -h' for
those of a tool.
`

// BEGIN and END run in the kernel on the thread that asks for them, which
// bpftrace makes its main thread: tid == pid there. The main goroutine,
// locked to the main thread, runs them when asked; the command runs in
// another goroutine, so that its waiting does not pass through the main
// thread (each hand-over between threads is a system call of friday's own
// that scripts tracing every process would see).
func init() {
	runtime.LockOSThread()
}

// app is what the commands run with.
type app struct {
	stdout, stderr io.Writer
	// onMainThread runs f on the main thread; nil, as when tests run the
	// commands, runs f in place.
	onMainThread func(f func())
	// ctx, when set, ends the commands as Ctrl-C does when it is done.
	ctx context.Context
}

func main() {
	calls := make(chan func())
	onMainThread := func(f func()) {
		done := make(chan any)
		// A panic goes back to the caller, under mainCode's recover,
		// instead of ending the program with a stack trace here.
		calls <- func() {
			defer func() { done <- recover() }()
			f()
		}
		if r := <-done; r != nil {
			panic(r)
		}
	}
	exit := make(chan int)
	a := &app{stdout: os.Stdout, stderr: os.Stderr, onMainThread: onMainThread}
	go func() { exit <- a.main(os.Args[1:]) }()
	for {
		select {
		case f := <-calls:
			f()
		case code := <-exit:
			os.Exit(code)
		}
	}
}

// main runs the command line and returns the exit status.
func (a *app) main(args []string) (code int) {
	stdout, stderr := a.stdout, a.stderr
	defer func() {
		// A last defence: a bug must not show the user a Go stack trace.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "ERROR: internal error: %v\n", r)
			code = 1
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	switch args[0] {
	case "trace":
		return a.trace(args[1:])
	case "doctor":
		return a.doctor(args[1:])
	case "profile":
		return a.profile(args[1:])
	case "offcputime", "wakeuptime", "offwaketime":
		return a.blockedTime(blockedTools[args[0]], args[1:])
	case "flamegraph":
		return flamegraphMain(args[1:], os.Stdin, stdout, stderr)
	case "heatmap":
		return a.heatmapMain(args[1:], os.Stdin)
	case "tools":
		return a.listTools()
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "doctor" {
			fmt.Fprint(stdout, doctorUsage)
			fmt.Fprint(stdout, flagUsages(doctorFlags()))
			return 0
		}
		if len(args) > 1 && args[1] == "tools" {
			return a.listTools()
		}
		if len(args) > 1 && tools.Lookup(args[1]) != nil {
			return a.tool(tools.Lookup(args[1]), []string{"-h"})
		}
		if len(args) > 1 && args[1] == "heatmap" {
			fmt.Fprint(stdout, heatmapUsage)
			fmt.Fprint(stdout, flagUsages(heatmapFlags()))
			return 0
		}
		if len(args) > 1 && args[1] == "flamegraph" {
			fmt.Fprint(stdout, flamegraphUsage)
			fmt.Fprint(stdout, flagUsages(flamegraphFlags()))
			return 0
		}
		if len(args) > 1 && blockedTools[args[1]] != nil {
			fmt.Fprint(stdout, blockedTools[args[1]].usage)
			fmt.Fprint(stdout, flagUsages(blockedFlags(args[1])))
			return 0
		}
		if len(args) > 1 && args[1] == "profile" {
			fmt.Fprint(stdout, profileUsage)
			fmt.Fprint(stdout, flagUsages(profileFlags()))
			return 0
		}
		if len(args) > 1 && args[1] == "trace" {
			traceHelp(stdout, traceFlags())
			return 0
		}
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version":
		fmt.Fprintf(stdout, "friday %s\n", version)
		return 0
	}
	if t := tools.Lookup(args[0]); t != nil {
		return a.tool(t, args[1:])
	}
	fmt.Fprintf(stderr, "ERROR: unknown command %q\n\n%s", args[0], usage)
	return 1
}
