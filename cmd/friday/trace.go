package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/cilium/ebpf/asm"
	"github.com/spf13/pflag"

	"friday/run"
	"friday/script"
	"friday/syntax"
)

const traceUsage = `Usage:
  friday trace [flags] (-e PROGRAM | FILE) [ARGS...]
  friday trace -l [PATTERN]

Runs a bpftrace program. ARGS are its positional parameters $1, $2, ...
After "--", ARGS may also be named parameters, which getopt() reads:
--NAME=VALUE, or --NAME alone for a boolean that is true.
FILE "-" reads the program from standard input.

uretprobe on Go functions is safe: Go moves goroutine stacks, which the
kernel's usual return probe (a rewritten return address) would corrupt, so
friday puts a uprobe on each of the function's RET instructions instead.
retval is the first result, in RAX under Go's register ABI on x86-64.

Flags:
`

type traceOpts struct {
	program   string
	list      bool
	command   string
	pid       int
	format    string
	outFile   string
	debug     bool
	verbose   bool
	dryRun    bool
	quiet     bool
	noWarn    bool
	buffering string
	unsafe    bool
	help      bool
	version   bool
	// dash is where "--" was among the arguments left after the flags,
	// or -1: named parameters may follow it.
	dash int
}

func newTraceFlags() (*pflag.FlagSet, *traceOpts) {
	o := &traceOpts{}
	fs := pflag.NewFlagSet("friday trace", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVarP(&o.program, "program", "e", "", "run `PROGRAM` given on the command line")
	fs.BoolVarP(&o.list, "list", "l", false, "list probes matching the optional PATTERN (with -v: and their arguments)")
	fs.StringVarP(&o.command, "command", "c", "", "run `CMD` once probes are attached and stop when it exits; its pid is cpid")
	fs.IntVarP(&o.pid, "pid", "p", 0, "trace the process `PID` and stop when it exits")
	fs.StringVarP(&o.format, "format", "f", "text", "output `FORMAT`: text or json")
	fs.StringVarP(&o.outFile, "output", "o", "", "write output to `FILE` instead of standard output")
	fs.BoolVarP(&o.debug, "debug", "d", false, "print the syntax tree and each probe's BPF instructions, load them, and exit without running")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "print program sizes and verifier statistics; the full verifier log on rejection")
	fs.BoolVar(&o.dryRun, "dry-run", false, "check the program and load it into the kernel, but do not run it")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "do not print \"Attached N probes\"")
	fs.BoolVar(&o.noWarn, "no-warnings", false, "do not print warnings: the checker's, warnf()'s and those the program raises")
	fs.StringVarP(&o.buffering, "buffering", "B", "line", "output buffering `MODE`: line, full or none")
	fs.BoolVar(&o.unsafe, "unsafe", false, "allow actions with side effects, such as system()")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	fs.BoolVarP(&o.version, "version", "V", false, "show the version")
	return fs, o
}

// flagUsages lists the flags of fs. pflag marks each boolean flag with
// "[=true|false]"; the blanks that replace it keep the columns aligned.
func flagUsages(fs *pflag.FlagSet) string {
	return strings.ReplaceAll(fs.FlagUsages(), "[=true|false]", "             ")
}

// traceFlags is the flag set shown by help.
func traceFlags() *pflag.FlagSet {
	fs, _ := newTraceFlags()
	return fs
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func (a *app) trace(args []string) int {
	stdout, stderr := a.stdout, a.stderr
	// One thread runs Go code: a tracer waits most of the time, and with
	// more the runtime hands work between idle threads on every wake-up,
	// system calls that scripts tracing every process see (about 190 a
	// second against 37 while idle), and it competes less with the traced
	// work for CPUs (dd under a printf per read: 2.2 s instead of 3.2 s).
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	fs, o := newTraceFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\nRun 'friday help trace' for usage.\n", err)
		return 1
	}
	if o.help {
		fmt.Fprint(stdout, traceUsage)
		fmt.Fprint(stdout, flagUsages(fs))
		return 0
	}
	if o.version {
		fmt.Fprintf(stdout, "friday %s\n", version)
		return 0
	}
	o.dash = fs.ArgsLenAtDash()
	if err := a.runTrace(o, fs.Args()); err != nil {
		var status run.ExitStatus
		if errors.As(err, &status) {
			return int(status) & 0xff
		}
		if errors.Is(err, syscall.EPIPE) {
			// Whoever read the output has stopped reading: nothing to say.
			return 1
		}
		printError(stderr, err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, "Run 'friday help trace' for usage.")
		}
		return 1
	}
	return 0
}

// printError prints err for the user: script errors with their source
// line, others after bpftrace's "ERROR:".
func printError(w io.Writer, err error) {
	var se *script.Error
	if errors.As(err, &se) {
		se.Format(w)
		return
	}
	fmt.Fprintf(w, "ERROR: %s\n", strings.TrimRight(err.Error(), "\n"))
}

func (a *app) runTrace(o *traceOpts, args []string) error {
	stdout, stderr := a.stdout, a.stderr
	switch o.format {
	case "text", "json":
	default:
		return usageError{fmt.Sprintf("unknown output format %q (want text or json)", o.format)}
	}
	switch o.buffering {
	case "line", "full", "none":
	default:
		return usageError{fmt.Sprintf("unknown buffering mode %q (want line, full or none)", o.buffering)}
	}
	// As in bpftrace, -d shows what would run and runs nothing; the
	// programs still go through the kernel's verifier.
	o.dryRun = o.dryRun || o.debug
	host := script.NewHost()
	if o.list {
		pattern := ""
		if o.program != "" || len(args) > 1 {
			return usageError{"-l takes at most one PATTERN and no program"}
		}
		if len(args) == 1 {
			pattern = args[0]
		}
		if err := run.CheckPrivilege(); err != nil {
			return err
		}
		return listProbes(host, pattern, o.verbose, o.pid, stdout)
	}

	name, src, params, err := readProgram(o, args)
	if err != nil {
		return err
	}
	dash := o.dash
	if dash >= 0 {
		// Past the program's file, if any.
		dash = max(dash-(len(args)-len(params)), 0)
	}
	params, named, err := scriptParams(params, dash)
	if err != nil {
		return err
	}
	copts := script.Options{
		Host:      host,
		Params:    params,
		Named:     named,
		Pid:       o.pid,
		Unsafe:    o.unsafe,
		MaxStrLen: envInt("BPFTRACE_MAX_STRLEN", "BPFTRACE_STRLEN"),
	}
	if o.program == "" && name != "stdin" {
		copts.Dir = filepath.Dir(name)
	}
	if !o.noWarn {
		copts.Warn = func(w *syntax.Error) {
			syntax.FormatWarning(stderr, name, src, w.Pos, w.End, w.Msg)
		}
	}
	if o.command != "" && !o.dryRun {
		// Started before the script is compiled, held until it runs:
		// cpid is its pid. Should friday die first, it never runs.
		cmd, err := run.StartCommand(o.command)
		if err != nil {
			return err
		}
		defer cmd.Stop()
		copts.Command = cmd
	}
	prog, err := script.Compile(name, src, copts)
	var help *script.HelpError
	if errors.As(err, &help) {
		_, err := fmt.Fprintln(stdout, help.Hint)
		return err
	}
	if err != nil {
		return err
	}
	// Signals are caught from here on so that whatever reaches the kernel
	// is taken out of it again.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A closed output pipe (friday trace ... | head) then fails the write
	// instead of killing friday before it cleans up. Unlike ignoring it,
	// catching SIGPIPE does not pass on to the commands friday starts.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	if o.debug {
		if err := printDebug(stdout, prog); err != nil {
			return err
		}
	}
	out := stdout
	if o.outFile != "" {
		file, err := os.Create(o.outFile)
		if err != nil {
			return err
		}
		defer file.Close()
		out = file
	}
	return prog.Run(ctx, script.RunOptions{
		Output:       out,
		Format:       o.format,
		Buffering:    o.buffering,
		Log:          stderr,
		NoWarnings:   o.noWarn,
		Quiet:        o.quiet,
		Verbose:      o.verbose,
		DryRun:       o.dryRun,
		OnMainThread: a.onMainThread,
	})
}

// readProgram returns the script's name as errors show it, its text, and
// its positional parameters.
func readProgram(o *traceOpts, args []string) (name string, src []byte, params []string, err error) {
	if o.program != "" {
		return "stdin", []byte(o.program), args, nil
	}
	if len(args) == 0 {
		return "", nil, nil, usageError{"no program given: use -e PROGRAM or a FILE"}
	}
	name = args[0]
	if name == "-" {
		src, err = io.ReadAll(os.Stdin)
		return "stdin", src, args[1:], err
	}
	src, err = os.ReadFile(name)
	if err != nil {
		return "", nil, nil, fmt.Errorf("cannot read %s: %w", name, errors.Unwrap(err))
	}
	return name, src, args[1:], nil
}

// envInt is the first positive integer held by the environment variables
// names, bpftrace's settings given outside the script; 0 when none is.
func envInt(names ...string) int {
	for _, n := range names {
		if v, err := strconv.Atoi(os.Getenv(n)); err == nil && v > 0 {
			return v
		}
	}
	return 0
}

// scriptParams splits the script's arguments into its positional
// parameters and the named ones: those after "--" (at index dash, -1 when
// absent) that start with "--".
func scriptParams(args []string, dash int) (params []string, named map[string]string, err error) {
	named = map[string]string{}
	for i, a := range args {
		if dash < 0 || i < dash || !strings.HasPrefix(a, "--") {
			params = append(params, a)
			continue
		}
		name, val, _ := strings.Cut(a[2:], "=")
		if name == "" {
			return nil, nil, usageError{fmt.Sprintf("named parameter %q has no name", a)}
		}
		if _, dup := named[name]; dup {
			return nil, nil, usageError{fmt.Sprintf("named parameter --%s given twice", name)}
		}
		named[name] = val
	}
	return params, named, nil
}

func listProbes(host *script.Host, pattern string, verbose bool, pid int, w io.Writer) error {
	lines, err := host.ListProbes(pattern, verbose, pid)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// printDebug shows the syntax tree, then each program's instructions.
func printDebug(w io.Writer, prog *script.Program) error {
	bw := bufio.NewWriter(w)
	syntax.Fprint(bw, prog.File())
	for _, p := range prog.Object().Programs {
		names := make([]string, len(p.Points))
		for i, pt := range p.Points {
			names[i] = pt.Name
		}
		fmt.Fprintf(bw, "\n%s (%s, %d instructions):\n%s\n", strings.Join(names, ", "), p.Name, p.Insns.Size()/asm.InstructionSize,
			strings.TrimRight(fmt.Sprint(p.Insns), "\n"))
	}
	return bw.Flush()
}
