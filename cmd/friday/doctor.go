package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"friday/doctor"
)

const doctorUsage = `Usage:
  friday doctor [flags]

Checks whether this host can be analysed and how well: privileges, BPF,
BTF, each kind of probe (by attaching one), perf events, kernel settings,
frame pointers and debug symbols. Each line says OK, WARN or FAIL and what
to do. Then, per tool (friday tools), the script that would run here: the
first of its attach ladder whose probes exist and load. The exit status is
non-zero only when tracing is impossible.

Flags:
`

type doctorOpts struct {
	format string
	fix    bool
	help   bool
}

func newDoctorFlags() (*pflag.FlagSet, *doctorOpts) {
	o := &doctorOpts{}
	fs := pflag.NewFlagSet("friday doctor", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVarP(&o.format, "format", "f", "text", "output `FORMAT`: text or json")
	fs.BoolVar(&o.fix, "fix", false, "mount tracefs and debugfs when they are not mounted")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	return fs, o
}

// doctorFlags is the flag set shown by help.
func doctorFlags() *pflag.FlagSet {
	fs, _ := newDoctorFlags()
	return fs
}

func (a *app) doctor(args []string) int {
	stdout, stderr := a.stdout, a.stderr
	fs, o := newDoctorFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\nRun 'friday help doctor' for usage.\n", err)
		return 1
	}
	if o.help {
		fmt.Fprint(stdout, doctorUsage)
		fmt.Fprint(stdout, flagUsages(fs))
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ERROR: doctor takes no arguments, got %q\nRun 'friday help doctor' for usage.\n", fs.Arg(0))
		return 1
	}
	write := (*doctor.Report).WriteText
	switch o.format {
	case "text":
	case "json":
		write = (*doctor.Report).WriteJSON
	default:
		fmt.Fprintf(stderr, "ERROR: unknown output format %q (want text or json)\n", o.format)
		return 1
	}
	r := doctor.Run(doctor.Options{Fix: o.fix})
	if r.Usable {
		r.Tools = toolVariants()
	}
	if err := write(r, stdout); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	if !r.Usable {
		return 1
	}
	return 0
}
