package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"friday/profile"
	"friday/profiler"
	"friday/script"
)

const profileUsage = `Usage:
  friday profile [flags] [duration]

Profiles CPU usage by sampling stack traces at a timed interval, as bcc's
profile does, with its flags: by default 49 times a second on each CPU,
of all threads but the idle ones, user and kernel stacks, until Ctrl-C or
for duration seconds. It prints each stack (innermost frame first) with
its process and how many times it was sampled, the most frequent last;
-f prints folded lines instead, for flame graphs.

Stacks are symbolized with the kernel's symbols, ELF symbol tables, Go's
pclntab (with the calls the compiler inlined) and JIT perf maps; --dwarf
adds source lines and the inlined calls of C, C++ and Rust code from
DWARF, which takes seconds for large libraries.

Every sample keeps its time: -o FILE writes the profile in the format its
extension names (or --format): .svg (a flame graph), .html (a viewer with
the heat map of the samples by second and offset within it, as FlameScope
draws it: drag across it for the flame graph of a time range), .pb.gz
(pprof), .folded, .json (friday's profile, which friday flamegraph and
friday heatmap read).

Examples:
  friday profile                  # all CPUs at 49 Hz until Ctrl-C
  friday profile -F 99 5          # at 99 Hz for 5 seconds
  friday profile -p 181,182       # processes 181 and 182 only
  friday profile -L 181           # thread 181 only
  friday profile -df 5 > out.folded  # folded, kernel and user delimited
  friday profile -K               # kernel stacks only
  friday profile -F 99 -o cpu.svg 30  # a flame graph of 30 seconds
  friday profile -o cpu.html 60   # flame graph and sub-second heat map

Flags:
`

type profileOpts struct {
	stackOpts
	hz       int
	annotate bool
	idle     bool
	cpu      int
}

// stackOpts are the flags profile shares with the blocked-time tools.
type stackOpts struct {
	pids, tids   string
	userStacks   bool
	kernelStacks bool
	delimited    bool
	folded       bool
	stackStorage int
	out, format  string
	title        string
	rows         int
	stats        bool
	dwarf        bool
	help         bool
}

// declareStacks declares -U, -K and -d.
func (o *stackOpts) declareStacks(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.userStacks, "user-stacks-only", "U", false, "user stacks only")
	fs.BoolVarP(&o.kernelStacks, "kernel-stacks-only", "K", false, "kernel stacks only")
	fs.BoolVarP(&o.delimited, "delimited", "d", false, "delimit kernel and user stacks")
}

// declareOutput declares the flags of what a collector writes, and how.
func (o *stackOpts) declareOutput(fs *pflag.FlagSet) {
	fs.StringVarP(&o.out, "output", "o", "", "write the profile to `FILE`")
	fs.StringVar(&o.format, "format", "", "`FORMAT`: svg html pb.gz folded json")
	fs.StringVar(&o.title, "title", "", "flame graph `TITLE`")
	fs.IntVar(&o.rows, "rows", 50, "heat map `ROWS` a second")
	fs.BoolVar(&o.dwarf, "dwarf", false, "lines, inlines of C code (slow)")
	fs.BoolVar(&o.stats, "stats", false, "print what the collection cost")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
}

func newProfileFlags() (*pflag.FlagSet, *profileOpts) {
	o := &profileOpts{}
	fs := pflag.NewFlagSet("friday profile", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVarP(&o.pids, "pid", "p", "", "these `PIDS` only, comma-separated")
	fs.StringVarP(&o.tids, "tid", "L", "", "these `TIDS` only, comma-separated")
	fs.IntVarP(&o.hz, "frequency", "F", 49, "sample frequency in `HZ`")
	o.declareStacks(fs)
	fs.BoolVarP(&o.annotate, "annotations", "a", false, "_[k] after kernel frames")
	fs.BoolVarP(&o.idle, "include-idle", "I", false, "include the idle threads")
	fs.BoolVarP(&o.folded, "folded", "f", false, "folded stacks, one a line")
	fs.IntVar(&o.stackStorage, "stack-storage-size", 16384, "`N` stacks kept")
	fs.IntVarP(&o.cpu, "cpu", "C", -1, "this `CPU` only")
	o.declareOutput(fs)
	return fs, o
}

func profileFlags() *pflag.FlagSet {
	fs, _ := newProfileFlags()
	return fs
}

func (a *app) profile(args []string) int {
	fs, o := newProfileFlags()
	return a.runCollector("profile", profileUsage, fs, &o.stackOpts, args, func(ctx context.Context, host *script.Host, dur time.Duration) error {
		if o.hz <= 0 {
			return usageError{msg: fmt.Sprintf("bad -F %d: the frequency must be positive", o.hz)}
		}
		if o.cpu >= runtime.NumCPU() {
			return usageError{msg: fmt.Sprintf("bad -C %d: this machine has CPUs 0 to %d", o.cpu, runtime.NumCPU()-1)}
		}
		filter, err := o.filter()
		if err != nil {
			return err
		}
		po := profiler.CPUOptions{
			Hz: o.hz, CPU: o.cpu, Idle: o.idle, Filter: filter, Stacks: o.stacks(),
			StackStorageSize: o.stackStorage, Log: a.stderr, OnMainThread: a.onMainThread,
			Stats: o.stats,
		}
		p, err := profiler.StartCPU(ctx, host, po)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "Sampling at %d Hertz of %s by %s stack", o.hz, o.threadContext("all threads"), o.stackContext())
		if o.cpu >= 0 {
			fmt.Fprintf(a.stderr, " on CPU#%d", o.cpu)
		}
		fmt.Fprintln(a.stderr, durationText(dur))
		res, err := p.Wait()
		if err != nil {
			return err
		}
		to := profiler.TextOptions{Annotate: o.annotate, Delimit: o.delimited}
		return o.write(a, res, to, cmp.Or(o.title, "CPU Flame Graph"), o.rows)
	})
}

// runCollector parses a collector's command line, then runs it until
// Ctrl-C or the duration given after the flags.
func (a *app) runCollector(name, usage string, fs *pflag.FlagSet, o *stackOpts, args []string,
	collect func(ctx context.Context, host *script.Host, dur time.Duration) error) int {
	stderr := a.stderr
	fs.SetOutput(io.Discard)
	var err error
	if perr := fs.Parse(args); perr != nil {
		err = usageError{msg: perr.Error()}
	}
	if err == nil && o.help {
		fmt.Fprint(a.stdout, usage)
		fmt.Fprint(a.stdout, flagUsages(fs))
		return 0
	}
	var dur time.Duration
	if err == nil {
		dur, err = o.check(fs.Args())
	}
	if err == nil {
		ctx, stop := a.collecting(dur)
		defer stop()
		host := script.NewHost()
		if !o.dwarf {
			host.Symbols().SkipDWARF()
		}
		err = collect(ctx, host, dur)
	}
	if err == nil || errors.Is(err, syscall.EPIPE) {
		return 0
	}
	printError(stderr, err)
	if errors.As(err, new(usageError)) {
		fmt.Fprintf(stderr, "Run 'friday help %s' for usage.\n", name)
	}
	return 1
}

// collecting is the context of a collection: it ends with Ctrl-C, or
// after dur when it is not 0. Meanwhile one thread runs Go code, as in
// friday trace, so that friday's own wake-ups are few; all of them run it
// again once the collection is over, to symbolize. A closed output pipe
// fails the write instead of killing friday before it cleans up.
func (a *app) collecting(dur time.Duration) (context.Context, func()) {
	ctx, stop := signal.NotifyContext(cmp.Or(a.ctx, context.Background()), os.Interrupt, syscall.SIGTERM)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	cancel := func() {}
	if dur > 0 {
		ctx, cancel = context.WithTimeout(ctx, dur)
	}
	restore := func() {}
	if os.Getenv("GOMAXPROCS") == "" {
		n := runtime.GOMAXPROCS(1)
		restore = sync.OnceFunc(func() { runtime.GOMAXPROCS(n) })
		go func() {
			<-ctx.Done()
			restore()
		}()
	}
	return ctx, func() {
		cancel()
		stop()
		restore()
	}
}

// parseDuration reads the duration in seconds that may end a collector's
// arguments.
func parseDuration(args []string) (time.Duration, error) {
	switch len(args) {
	case 0:
		return 0, nil
	case 1:
		n, err := strconv.Atoi(args[0])
		if err != nil || n <= 0 {
			return 0, usageError{msg: fmt.Sprintf("bad duration %q: want a number of seconds", args[0])}
		}
		return time.Duration(n) * time.Second, nil
	}
	return 0, usageError{msg: fmt.Sprintf("unexpected arguments after the duration: %q", args[1:])}
}

// check checks the flags shared by the collectors and reads the
// duration.
func (o *stackOpts) check(args []string) (time.Duration, error) {
	if o.userStacks && o.kernelStacks {
		return 0, usageError{msg: "-U and -K cannot be given together"}
	}
	if o.pids != "" && o.tids != "" {
		return 0, usageError{msg: "processes and threads cannot be given together"}
	}
	if o.stackStorage <= 0 {
		return 0, usageError{msg: "--stack-storage-size must be positive"}
	}
	if o.out != "" || o.format != "" {
		if o.folded {
			return 0, usageError{msg: "-f and -o cannot be given together"}
		}
		format, err := outputFormat(o.format, o.out, "svg", profileFormats)
		if err != nil {
			return 0, err
		}
		o.format = format
	}
	return parseDuration(args)
}

// filter is the threads -p or -L name.
func (o *stackOpts) filter() (profiler.Filter, error) {
	var f profiler.Filter
	var err error
	if f.Pids, err = idList("-p", o.pids); err != nil {
		return f, err
	}
	f.Tids, err = idList("-L", o.tids)
	return f, err
}

func (o *stackOpts) stacks() profiler.Stacks {
	return profiler.Stacks{UserOnly: o.userStacks, KernelOnly: o.kernelStacks}
}

// threadContext names the threads followed, as bcc's banners do; others
// when neither -p nor a thread id is given.
func (o *stackOpts) threadContext(others string) string {
	switch {
	case o.pids != "":
		return "PID " + o.pids
	case o.tids != "":
		return "TID " + o.tids
	}
	return others
}

// stackContext names the stacks collected, as bcc's banners do.
func (o *stackOpts) stackContext() string {
	switch {
	case o.userStacks:
		return "user"
	case o.kernelStacks:
		return "kernel"
	}
	return "user + kernel"
}

// idList reads a comma-separated list of positive ids.
func idList(flag, s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var ids []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 0x400000 {
			return nil, usageError{msg: fmt.Sprintf("bad %s %q: want positive ids separated by commas", flag, s)}
		}
		ids = append(ids, n)
	}
	return ids, nil
}

// durationText ends a banner: how long the collection lasts.
func durationText(d time.Duration) string {
	if d > 0 {
		return fmt.Sprintf(" for %d secs.", int(d/time.Second))
	}
	return "... Hit Ctrl-C to end."
}

// write prints what a collector gathered: bcc's text or folded lines on
// standard output, or the profile to the -o file.
func (o *stackOpts) write(a *app, res *profiler.Result, to profiler.TextOptions, title string, rows int) error {
	if st := res.Stats; st != nil {
		// Over the collection: the BPF programs' run time in the kernel
		// and friday's CPU time, as a share of one CPU.
		share := func(d time.Duration) float64 { return 100 * d.Seconds() / st.Wall.Seconds() }
		fmt.Fprintf(a.stderr, "BPF: %d runs, %v (%.2f%% of a CPU); friday: %v CPU (%.2f%%); total %.2f%% of a CPU over %v\n",
			st.Runs, st.BPF.Round(time.Microsecond), share(st.BPF), st.Collect.Round(time.Microsecond), share(st.Collect),
			share(st.BPF+st.Collect), st.Wall.Round(time.Millisecond))
		fmt.Fprintf(a.stderr, "symbolized in %v (%v CPU)\n", st.SymbolizeWall.Round(time.Millisecond), st.Symbolize.Round(time.Millisecond))
	}
	if res.LostStacks > 0 {
		fmt.Fprintf(a.stderr, "WARNING: %d stack traces could not be displayed. Consider increasing --stack-storage-size.\n", res.LostStacks)
	}
	if o.format != "" {
		return writeCollected(o.out, o.format, res.Profile, title, rows, a.stdout)
	}
	return writeOutput("", a.stdout, func(w io.Writer) error {
		if o.folded {
			return profiler.Folded(w, res.Records, to)
		}
		return profiler.Text(w, res.Records, to)
	})
}

// writeCollected writes a collected profile as friday flamegraph does.
func writeCollected(out, format string, p *profile.Profile, title string, rows int, stdout io.Writer) error {
	_, fo := newFlamegraphFlags()
	fo.out, fo.rows = out, rows
	fo.opts.Title = title
	if p.Type == "offcpu" {
		fo.opts.CountName, fo.opts.Palette = "us", "io"
	}
	if format == "json" {
		return writeOutput(out, stdout, p.Write)
	}
	return writeProfile(fo, format, p, stdout)
}
