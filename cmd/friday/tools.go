package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"friday/doctor"
	"friday/run"
	"friday/script"
	"friday/tool"
	"friday/tools"
)

const toolsUsage = `Usage:
  friday TOOL [flags] [args]   run a tool; friday TOOL -h shows its flags

The tools have the names, flags and columns of bcc's. Each runs the first
script of its attach ladder (tracepoint, raw tracepoint, fentry, kprobe)
that works on this kernel; VARIANT is the one that would run here.

`

// singleThread has Go code run on one thread, unless GOMAXPROCS says
// otherwise: a tracer waits most of the time, and with more the runtime
// hands work between idle threads on every wake-up, system calls that
// scripts tracing every process see (about 190 a second against 37 while
// idle), and it competes less with the traced work for CPUs (dd under a
// printf per read: 2.2 s instead of 3.2 s).
func singleThread() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// tool runs one tool until it ends or is interrupted.
func (a *app) tool(t *tool.Tool, args []string) int {
	singleThread()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A closed output pipe fails the write instead of killing friday
	// before it takes its programs out of the kernel.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	return t.Main(ctx, tool.Env{Stdout: a.stdout, Stderr: a.stderr}, args)
}

// listTools prints a line per tool: its name, the variant that would run
// here and what it does.
func (a *app) listTools() int {
	bw := bufio.NewWriter(a.stdout)
	fmt.Fprint(bw, toolsUsage)
	bw.WriteString(tool.Entry(fmt.Sprintf("%-14s %-13s", "TOOL", "VARIANT"), 30, "DESCRIPTION"))
	for _, r := range toolVariants() {
		variant := "none"
		if r.Status != doctor.Fail {
			variant = r.Detail
		} else if r.Detail == needRoot {
			variant = "(needs root)"
		}
		bw.WriteString(tool.Entry(fmt.Sprintf("%-14s %-13s", r.Name, variant), 30, tools.Lookup(r.Name).Summary))
	}
	if err := bw.Flush(); err != nil {
		return 1
	}
	return 0
}

const needRoot = "needs root (or CAP_BPF and CAP_PERFMON) to tell"

// toolVariants says, per tool, which variant would run here: a doctor
// result whose detail is the variant's name, or why none would. The tools
// are tried at once, sharing what is read of the machine: each waits
// mostly on the kernel's verifier.
func toolVariants() []doctor.Result {
	all := tools.All()
	out := make([]doctor.Result, len(all))
	privileged := run.CheckPrivilege() == nil
	host := script.NewHost()
	var wg sync.WaitGroup
	for i, t := range all {
		out[i] = doctor.Result{Name: t.Name, Status: doctor.Fail, Detail: needRoot}
		if !privileged {
			continue
		}
		wg.Go(func() {
			r := &out[i]
			v, rungs := tool.Choose(t, host)
			if v != nil {
				r.Status, r.Detail = doctor.OK, v.Name
				return
			}
			var why []string
			for _, rg := range rungs {
				why = append(why, rg.Variant.Name+": "+strings.SplitN(rg.Err.Error(), "\n", 2)[0])
			}
			r.Detail = strings.Join(why, "; ")
		})
	}
	wg.Wait()
	return out
}
