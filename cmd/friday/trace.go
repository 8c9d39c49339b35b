package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/cilium/ebpf/asm"
	"github.com/spf13/pflag"

	"friday/run"
	"friday/script"
	"friday/syntax"
)

// traceUsage is the help of friday trace, laid out as bpftrace's: the
// flags come between its USAGE and EXAMPLES sections.
const traceUsage = `USAGE:
    friday trace [options] FILE [ARGS...]
    friday trace [options] - <stdin input>
    friday trace [options] -e 'program' [ARGS...]
    friday trace -l [PATTERN|FILE]
    use -- after FILE/-e 'program' for named script parameters

Runs a bpftrace program. ARGS are its positional parameters $1, $2, ...
ARGS may also be named parameters, which getopt() reads: --NAME=VALUE,
or --NAME alone for a boolean that is true (after "--", or any option
that is not friday's after the program).

uretprobe on Go functions is safe: Go moves goroutine stacks, which the
kernel's usual return probe (a rewritten return address) would corrupt, so
friday puts a uprobe on each of the function's RET instructions instead.
retval is the first result, in RAX under Go's register ABI on x86-64.

Maps keyed by stacks (@[kstack, ustack, comm] = count(), or a sum()) come
out as folded stacks with -f folded, for flame graphs, after the rest of
the output. Without -f, -o FILE with the extension .svg, .html, .pb.gz,
.folded or .json writes them to FILE as a flame graph, the HTML viewer, a
pprof profile, folded stacks or friday's profile; the rest of the output
goes to standard output.

--include reads a header without a C compiler: its #define constants and
its struct, union, enum and typedef definitions, as if written at the top
of the script. A header named by a relative path that is not found from
the current directory (linux/path.h) is a system header: its types come
from the kernel's BTF, and it is left out, as #include lines in scripts
are.

OPTIONS:
`

const traceExamples = `
EXAMPLES:
    friday trace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
        count system calls by process name
    friday trace -e 'tracepoint:syscalls:sys_enter_openat {
        printf("%s %s\n", comm, str(args.filename)); }'
        trace file opens with process name and path
    friday trace -e 'profile:hz:99 { @[kstack] = count(); }'
        profile kernel stacks at 99 Hertz
    friday trace -l '*sleep*'
        list probes containing "sleep"
    friday trace -lv 'struct path'
        show the definition of struct path
`

type traceOpts struct {
	program     string
	list        bool
	command     string
	pid         string
	format      string
	outFile     string
	debug       bool
	verbose     bool
	dryRun      bool
	quiet       bool
	noWarn      bool
	warnings    bool
	buffering   string
	unsafe      bool
	includes    []string
	probeFilter string
	info        bool
	help        bool
	version     bool
	// dash is where "--" was among the arguments left after the flags,
	// or -1: named parameters may follow it.
	dash int
	// picture is the format -o's extension names when -f is not given:
	// maps keyed by stacks go to the file as a flame graph, pprof, ...
	picture string
}

func newTraceFlags() (*pflag.FlagSet, *traceOpts) {
	o := &traceOpts{}
	fs := pflag.NewFlagSet("friday trace", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVarP(&o.program, "program", "e", "", "run `PROGRAM` given on the command line")
	fs.BoolVarP(&o.list, "list", "l", false, "list probes matching PATTERN, or a program's")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "verifier statistics; -l: probe arguments")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	fs.BoolVarP(&o.version, "version", "V", false, "show the version")
	fs.BoolVar(&o.info, "info", false, "print what the kernel and friday support")
	fs.StringVarP(&o.pid, "pid", "p", "", "trace process `PID`, stop when it exits")
	fs.StringVarP(&o.command, "command", "c", "", "run `CMD` (pid: cpid), stop when it exits")
	fs.StringVarP(&o.outFile, "output", "o", "", "write output to `FILE` (see above)")
	fs.StringVarP(&o.format, "format", "f", "text", "`FORMAT`: text json folded")
	fs.StringVarP(&o.buffering, "buffering", "B", "line", "`MODE`: line, full or none")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "do not print \"Attached N probes\"")
	fs.BoolVarP(&o.warnings, "warnings", "k", false, "warn when a probe read or map update fails")
	fs.BoolVar(&o.noWarn, "no-warnings", false, "print no warning messages")
	fs.StringArrayVar(&o.includes, "include", nil, "read C header `FILE` first (see above)")
	fs.BoolVar(&o.unsafe, "unsafe", false, "allow system(), signal() and the like")
	fs.StringVar(&o.probeFilter, "probe-filter", "", "run only the probes whose name matches `REGEX`")
	fs.BoolVar(&o.dryRun, "dry-run", false, "load the programs, but do not run them")
	fs.BoolVarP(&o.debug, "debug", "d", false, "print the tree and BPF code; do not run")
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

// usageError is a mistake on the command line, worded as bpftrace words
// it ("USAGE: ..."); full asks for the whole usage after it.
type usageError struct {
	msg  string
	full bool
}

func (e usageError) Error() string { return e.msg }

// traceHelp writes friday trace's help.
func traceHelp(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, traceUsage)
	fmt.Fprint(w, flagUsages(fs))
	io.WriteString(w, traceExamples)
}

func (a *app) trace(args []string) int {
	stdout, stderr := a.stdout, a.stderr
	singleThread()
	fs, o := newTraceFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(namedAfterDash(fs, args)); err != nil {
		// As bpftrace, which shows its usage after getopt's complaint.
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		traceHelp(stderr, fs)
		return 1
	}
	if o.help {
		traceHelp(stdout, fs)
		return 0
	}
	if o.version {
		fmt.Fprintf(stdout, "friday %s\n", version)
		return 0
	}
	if o.info {
		if err := run.CheckPrivilege(); err != nil {
			printError(stderr, err)
			return 1
		}
		if err := writeInfo(stdout); err != nil {
			printError(stderr, err)
			return 1
		}
		return 0
	}
	o.dash = fs.ArgsLenAtDash()
	if o.outFile != "" && !fs.Changed("format") {
		o.picture, _ = outputFormat("", o.outFile, "", profileFormats)
	}
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
		if errors.As(err, &ue) && ue.full {
			traceHelp(stderr, fs)
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
	var ae *run.AttachError
	if errors.As(err, &ae) {
		fmt.Fprintf(w, "ERROR: Unable to attach probe: %s. If this is expected, set the 'missing_probes' config variable to 'warn'.\n", ae.Point)
	}
}

func (a *app) runTrace(o *traceOpts, args []string) error {
	stdout, stderr := a.stdout, a.stderr
	switch o.format {
	case "text", "json", "folded":
	default:
		return fmt.Errorf("Invalid output format \"%s\"\nValid formats: 'text', 'json', 'folded'", o.format)
	}
	switch o.buffering {
	case "line", "full", "none":
	default:
		return usageError{msg: "USAGE: -B must be either 'line', 'full', or 'none'."}
	}
	if o.warnings && o.noWarn {
		return usageError{msg: "USAGE: -k, --warnings conflicts with --no-warnings"}
	}
	if o.command != "" && o.pid != "" {
		return usageError{msg: "USAGE: Cannot use both -c and -p.", full: true}
	}
	pid, err := parsePid(o.pid)
	if err != nil {
		return err
	}
	var filter *regexp.Regexp
	if o.probeFilter != "" {
		if filter, err = regexp.Compile(o.probeFilter); err != nil {
			return usageError{msg: fmt.Sprintf("USAGE: --probe-filter: invalid regular expression: %v", err)}
		}
	}
	// As in bpftrace, -d shows what would run and runs nothing; the
	// programs still go through the kernel's verifier.
	o.dryRun = o.dryRun || o.debug
	host := script.NewHost()
	if o.list && o.program == "" {
		pattern := ""
		if len(args) > 1 {
			return usageError{msg: "USAGE: -l takes one PATTERN or FILE", full: true}
		}
		if len(args) == 1 {
			pattern = args[0]
		}
		if err := run.CheckPrivilege(); err != nil {
			return err
		}
		// A FILE is a script whose probes are listed, as with -e.
		if st, err := os.Stat(pattern); pattern == "" || err != nil || st.IsDir() {
			return listProbes(host, pattern, o.verbose, pid, stdout)
		}
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
		Host:        host,
		Params:      params,
		Named:       named,
		Pid:         pid,
		Unsafe:      o.unsafe,
		MaxStrLen:   envInt("BPFTRACE_MAX_STRLEN", "BPFTRACE_STRLEN"),
		Includes:    o.includes,
		Warnings:    o.warnings,
		ProbeFilter: filter,
	}
	if o.program == "" && name != "stdin" {
		copts.Dir = filepath.Dir(name)
	}
	if !o.noWarn {
		copts.Warn = func(w *syntax.Error) {
			syntax.FormatWarning(stderr, name, src, w.Pos, w.End, w.Msg)
		}
	}
	if o.list {
		return listScript(host, name, src, copts, o.verbose, stdout)
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
	ctx, stop := signal.NotifyContext(cmp.Or(a.ctx, context.Background()), os.Interrupt, syscall.SIGTERM)
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
	var stacks *stackMaps
	out, format := stdout, o.format
	if o.format == "folded" || o.picture != "" {
		stacks = newStackMaps(host)
		format = "text"
	}
	if o.outFile != "" && o.picture == "" {
		file, err := os.Create(o.outFile)
		if err != nil {
			return err
		}
		defer file.Close()
		out = file
	}
	err = prog.Run(ctx, script.RunOptions{
		Output:       out,
		Format:       format,
		RawStacks:    stacks != nil,
		Map:          stacks.take,
		Buffering:    o.buffering,
		Log:          stderr,
		NoWarnings:   o.noWarn,
		Quiet:        o.quiet,
		Verbose:      o.verbose,
		DryRun:       o.dryRun,
		OnMainThread: a.onMainThread,
	})
	if err != nil || stacks == nil || o.dryRun {
		return err
	}
	if o.picture == "" {
		return writeOutput("", out, stacks.writeFolded)
	}
	if len(stacks.order) == 0 {
		return fmt.Errorf("the script printed no map keyed by stacks to write to %s", o.outFile)
	}
	return writeCollected(o.outFile, o.picture, stacks.Profile(), "Flame Graph", 0, stdout)
}

// readProgram returns the script's name as errors show it, its text, and
// its positional parameters.
func readProgram(o *traceOpts, args []string) (name string, src []byte, params []string, err error) {
	if o.program != "" {
		return "stdin", []byte(o.program), args, nil
	}
	if len(args) == 0 {
		return "", nil, nil, usageError{msg: "USAGE: filename or -e 'program' required."}
	}
	name = args[0]
	if name == "-" {
		src, err = io.ReadAll(os.Stdin)
		return "stdin", src, args[1:], err
	}
	src, err = os.ReadFile(name)
	if err != nil {
		return "", nil, nil, script.OpenError(name, err)
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

// namedAfterDash moves the named parameters given before "--" after it,
// where scriptParams looks for them: as bpftrace, an option that is not
// friday's (--name or --name=value) after the program (-e or the script
// file) is one of the script's.
func namedAfterDash(fs *pflag.FlagSet, args []string) []string {
	var kept, named []string
	program := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			kept = append(kept, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, _, hasVal := strings.Cut(a[2:], "=")
			f := fs.Lookup(name)
			switch {
			case f == nil && program:
				named = append(named, a)
				continue
			case f != nil && f.NoOptDefVal == "" && !hasVal && i+1 < len(args):
				kept = append(kept, a)
				i++
				a = args[i]
				program = program || name == "program"
			}
			kept = append(kept, a)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			kept = append(kept, a)
			// Combined short flags: the first that takes a value takes
			// the rest of the word, or the next argument.
			for k := 1; k < len(a); k++ {
				f := fs.ShorthandLookup(a[k : k+1])
				if f == nil || f.NoOptDefVal != "" {
					continue
				}
				program = program || f.Name == "program"
				if k == len(a)-1 && i+1 < len(args) {
					i++
					kept = append(kept, args[i])
				}
				break
			}
		default:
			kept = append(kept, a)
			program = true
		}
	}
	if len(named) == 0 {
		return args
	}
	for i, a := range kept {
		if a == "--" {
			return append(append(kept[:i+1:i+1], named...), kept[i+1:]...)
		}
	}
	return append(append(kept, "--"), named...)
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
			return nil, nil, usageError{msg: fmt.Sprintf("USAGE: named parameter %q has no name", a)}
		}
		if _, dup := named[name]; dup {
			return nil, nil, usageError{msg: fmt.Sprintf("USAGE: named parameter --%s given twice", name)}
		}
		named[name] = val
	}
	return params, named, nil
}

// parsePid reads -p as bpftrace does: a decimal number no greater than the
// largest pid a 64-bit kernel may give; "" is no pid.
func parsePid(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("Failed to parse pid: '%s' is not a valid decimal number", s)
	}
	if n > 0x400000 {
		return 0, fmt.Errorf("Pid out of range: %d", n)
	}
	return int(n), nil
}

// listScript lists the probes of a script, as -l with -e or a FILE does:
// each attach point it expands to, with -v its arguments.
func listScript(host *script.Host, name string, src []byte, opts script.Options, verbose bool, w io.Writer) error {
	pts, err := script.Probes(name, src, opts)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, p := range pts {
		lines := []string{p.Name}
		if verbose && p.Provider != "begin" && p.Provider != "end" {
			// The listing of the point's own name gives its arguments.
			if more, err := host.ListProbes(p.Name, true, opts.Pid); err == nil && len(more) > 0 {
				lines = more
			}
		}
		for _, l := range lines {
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
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
