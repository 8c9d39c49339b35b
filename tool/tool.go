// Package tool is what the tools of the suite (biolatency, execsnoop, ...)
// share: their command line, the choice of the script that attaches on
// the running kernel, the run loop with its intervals, and the ways they
// print, in bcc's text or as JSON.
//
// A tool is its tracing logic, written in the bpftrace language, plus a
// thin Go layer for flags, formatting and columns. Its scripts are
// variants of the same logic, one per kind of probe, held in order of
// preference (the attach ladder): a tracepoint, then a raw tracepoint
// (typed by BTF), then fentry, then kprobe. A run takes the first whose
// points all exist and whose kind of probe works on the running kernel;
// -v says which, and `friday doctor` and `friday tools` list it per tool.
//
// Options reach the scripts as named parameters, which getopt() reads and
// the compiler folds into constants: a filter on an option not given
// leaves no code, as const volatile data does for libbpf's tools, and
// code only an option not given runs is not even checked, so that the
// kernel types it alone reads are not loaded (a test checks it all). A
// variant supports the options its script reads: one given that it does
// not read (a flag its kind of probe cannot serve) passes the run on to
// the next rung.
//
// # Adding a tool
//
// A tool is one Go file and one directory of scripts in package tools:
//
//	//go:embed mytool
//	var mytoolScripts embed.FS
//
//	var mytool = &tool.Tool{
//		Name:     "mytool",
//		Summary:  "Trace something",
//		Examples: []string{"# trace everything", "-p 181 # trace PID 181 only"},
//		Variants: tool.Ladder(mytoolScripts, "mytool", "tracepoint", "kprobe"),
//		New: func(fs *pflag.FlagSet) tool.Handler {
//			o := &mytoolOpts{}
//			fs.IntVarP(&o.pid, "pid", "p", 0, "trace this PID only")
//			return o
//		},
//	}
//
// mytool/tracepoint.bt and mytool/kprobe.bt are the variants. The handler
// gets the parsed flags: its Setup checks them, gives the scripts their
// parameters (Session.Param: the script reads getopt("pid", 0)) and says
// how the tool prints: a table of columns (Session.Table), one row per
// event its Event method makes of what the script sends with printf(); or
// a summary each interval, which its Summary method reads from the
// script's maps (Session.HistMap for histograms, Session.Map for the
// others) and prints (Session.Heading, then Session.PrintHists for bcc's
// histograms). The tool is added to the list in tools.go, and a test case
// to the tools' testdata (see tools/testdata/README.md).
//
// A tool whose attach points come from its arguments (funccount's
// pattern, mysqld_qslower's process) writes them as positional
// parameters standing for whole attach points ($1 { ... }): its Args
// declare the arguments, and Setup makes the run's ladder of its script
// with the points they name (Session.Ladder, Variant.With: fentry:f, then
// kprobe:f), with Session.Pid for probes of one process. Its declared
// Variants hold points of each kind that every machine has, for Choose.
//
// # Conventions
//
// Every tool takes -h (bcc's help, with examples), -v (the variant used,
// and why the rungs before it were left), -f/--format json, --stats, and
// --dry-run (compile and load through the verifier, attach nothing);
// --variant NAME forces a rung. Short flags combine (-mT); a tool's own
// flag takes a short letter before the common ones do. Tools with
// Interval set take [interval [count]] as trailing arguments. "Tracing
// ... Hit Ctrl-C to end." goes to standard error once the probes are
// attached, data to standard output; Ctrl-C prints what the tool prints
// at its end. Events the kernel could not hand over are counted and
// reported, never dropped silently.
//
// # JSON
//
// With -f json a tool prints one JSON object a line: one per event for
// tools that print a table, its keys the columns' (Column.Key), and one
// per interval for tools that print summaries, with "time" (RFC 3339) and
// what the tool reports: histograms as {"unit": "usecs", "buckets":
// [{"min": 0, "max": 1, "count": 36}, ...]}, with the key of what they
// are per ("disk": "sda") when there are several.
package tool

import (
	"github.com/spf13/pflag"

	"friday/script"
)

// Tool is one tool of the suite.
type Tool struct {
	// Name is the command's name, bcc's: "biolatency".
	Name string
	// Summary is its one-line description, bcc's.
	Summary string
	// Examples are shown by -h, after the flags: each the arguments after
	// the tool's name, "#", and what they do.
	Examples []string
	// Variants are its scripts, most preferred first (see Ladder).
	Variants []*Variant
	// Interval says that the tool takes [interval [count]] as trailing
	// arguments: it prints a summary each interval, count times, and at
	// Ctrl-C.
	Interval bool
	// Args are the positional arguments of a tool without Interval, in
	// order, the required ones first (funccount's pattern, runqslower's
	// [min_us]); Session.Args has those given.
	Args []Arg
	// Notes say, by variant name, what -v adds when that variant runs:
	// how what it traces stands for what the tool reports.
	Notes map[string]string
	// New declares the tool's flags on fs and returns the handler of one
	// run, which the parsed values are bound to.
	New func(fs *pflag.FlagSet) Handler
}

// Arg is a positional argument of a tool, as usage and -h show it.
type Arg struct {
	Name, Help string
	// Required says that the tool takes no run without it; the others
	// are optional ([min_ms]).
	Required bool
}

// Handler is the Go side of one run of a tool.
type Handler interface {
	// Setup checks the parsed flags, gives the scripts their parameters
	// and says how the tool prints (Session.Table, Session.Banner).
	Setup(s *Session) error
}

// EventHandler is a Handler whose scripts send events (printf()): each
// one, decoded, is given to Event, on the goroutine that reads them.
type EventHandler interface {
	Handler
	Event(s *Session, e *script.Event) error
}

// Summarizer is a Handler that prints a summary of the scripts' maps each
// interval and at the end (or only at the end, without an interval).
type Summarizer interface {
	Handler
	Summary(s *Session) error
}
