package main

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"friday/flame"
	"friday/flamescope"
	"friday/heatmap"
	"friday/latency"
	"friday/profile"
	"friday/script"
)

const heatmapUsage = `Usage:
  friday heatmap [flags] [FILE...]
  friday heatmap [flags] SOURCE [duration]

Draws a latency heat map: time across, latency up on a log scale, and the
number of events in each cell as its color, so that the usual latencies
and the outliers both show. Hover over a cell for its count and ranges.

FILE (standard input when none is given) holds a time and a latency on
each line, such as friday trace or bcc tools print them. A line is fields
separated by blanks or commas; the time is its first number and the
latency its last (--fields picks others). A number may carry a unit:
12.5ms, 250us, 800ns, 2s; name=number is read as the number; a time may
be a time of day, HH:MM:SS.fraction. A time without a unit is seconds if
it has a fraction and nanoseconds if it is an integer (bpftrace's nsecs
and elapsed); a latency without a unit is in --latency-unit. Lines without
two numbers, such as headers, are skipped.

A friday profile (.json, from friday profile) draws the offsets of its
samples within their seconds instead, as FlameScope does: a column a
second, a row an offset. As HTML, a time range dragged across the heat
map draws the flame graph of its samples.

SOURCE draws latencies of the running system instead, until Ctrl-C or
for duration seconds: bio (block I/O, from issue to completion), runq (run
queue latency, from becoming runnable to running), syscall NAME (the
system call NAME, from entry to exit: syscall read), offcpu (off-CPU time,
from leaving a CPU to running again). The kernel counts them by time slot
(--step, or 120 columns over the duration, or 100 ms) and latency, 8
buckets a power of two. A file named as a source is ./bio.

The heat map is an SVG on standard output; -o FILE writes the format its
extension names: .svg or .html.

Examples:
  friday trace bio.bt > bio.txt    # a script printing "nsecs latency_us"
  friday heatmap --title 'Block I/O' bio.txt > bio.svg
  biosnoop | friday heatmap --latency-unit ms -o bio.html
  friday heatmap -o cpu.html cpu.json
  friday heatmap -o bio.html bio 60   # block I/O latency for a minute
  friday heatmap syscall read > read.svg  # read() until Ctrl-C

Flags:
`

type heatmapOpts struct {
	out, format       string
	title, subtitle   string
	width             int
	step              time.Duration
	rowsPerDecade     int
	min, max          time.Duration
	timeUnit, latUnit string
	fields            string
	rows              int
	help              bool
}

func newHeatmapFlags() (*pflag.FlagSet, *heatmapOpts) {
	o := &heatmapOpts{}
	fs := pflag.NewFlagSet("friday heatmap", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVarP(&o.out, "output", "o", "", "write to `FILE`, in the format of its extension")
	fs.StringVar(&o.format, "format", "", "output `FORMAT`: svg or html (default svg)")
	fs.StringVar(&o.title, "title", "", "title `TEXT`")
	fs.StringVar(&o.subtitle, "subtitle", "", "second title line `TEXT`")
	fs.IntVar(&o.width, "width", 1200, "image width in `PIXELS`")
	fs.DurationVar(&o.step, "step", 0, "column `WIDTH`, such as 1s (default: 120 columns)")
	fs.IntVar(&o.rowsPerDecade, "rows-per-decade", 10, "rows for each tenfold of latency")
	fs.DurationVar(&o.min, "min", 0, "smallest latency drawn (default: least seen)")
	fs.DurationVar(&o.max, "max", 0, "largest latency drawn (default: most seen)")
	fs.StringVar(&o.timeUnit, "time-unit", "", "`UNIT` of bare times: s, ms, us, ns (default: by form)")
	fs.StringVar(&o.latUnit, "latency-unit", "us", "`UNIT` of bare latencies: s, ms, us, ns")
	fs.StringVar(&o.fields, "fields", "", "fields of the time and latency, `T,L` (from 1)")
	fs.IntVar(&o.rows, "rows", 50, "`ROWS` a second of a profile's heat map")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	return fs, o
}

func heatmapFlags() *pflag.FlagSet {
	fs, _ := newHeatmapFlags()
	return fs
}

func (a *app) heatmapMain(args []string, stdin io.Reader) int {
	stdout, stderr := a.stdout, a.stderr
	fs, o := newHeatmapFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\nRun 'friday help heatmap' for usage.\n", err)
		return 1
	}
	if o.help {
		fmt.Fprint(stdout, heatmapUsage)
		fmt.Fprint(stdout, flagUsages(fs))
		return 0
	}
	if err := a.drawHeatmap(o, fs.Args(), stdin); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, "Run 'friday help heatmap' for usage.")
		}
		return 1
	}
	return 0
}

func (a *app) drawHeatmap(o *heatmapOpts, files []string, stdin io.Reader) error {
	stdout := a.stdout
	format, err := outputFormat(o.format, o.out, "svg", []string{"svg", "html"})
	if err != nil {
		return err
	}
	lo := heatmap.LineOptions{TimeUnit: o.timeUnit, LatencyUnit: o.latUnit}
	if o.timeUnit != "" && !heatmap.CheckUnit(o.timeUnit) || !heatmap.CheckUnit(o.latUnit) {
		return usageError{msg: "units are s, ms, us or ns"}
	}
	if o.fields != "" {
		t, l, ok := strings.Cut(o.fields, ",")
		lo.TimeField, err = strconv.Atoi(t)
		if err == nil {
			lo.LatencyField, err = strconv.Atoi(l)
		}
		if !ok || err != nil || lo.TimeField < 1 || lo.LatencyField < 1 {
			return usageError{msg: fmt.Sprintf("bad --fields %q: want two field numbers such as 1,4", o.fields)}
		}
	}
	if o.width < 200 {
		return usageError{msg: "--width is too small"}
	}
	var lats *heatmap.Latencies
	title := "Latency Heat Map"
	if len(files) > 0 && liveSource(files[0]) {
		title = latency.Titles[files[0]]
		lats, err = a.liveLatencies(o, files)
	} else {
		lats, err = readLatencies(o, format, lo, files, stdin, stdout, a.stderr)
	}
	if err != nil || lats == nil {
		return err
	}
	if lats.Len() == 0 {
		return errors.New("no time and latency in the input")
	}
	g := lats.Grid(heatmap.LatencyOptions{Step: o.step, RowsPerDecade: o.rowsPerDecade, Min: o.min, Max: o.max})
	g.Title, g.Subtitle = cmp.Or(o.title, title), o.subtitle
	return writeOutput(o.out, stdout, func(w io.Writer) error {
		if format == "html" {
			return g.WriteHTML(w, o.width)
		}
		return g.WriteSVG(w, o.width)
	})
}

// readLatencies reads the latencies of the input files; a friday profile
// is drawn as its offsets instead, and gives no latencies.
func readLatencies(o *heatmapOpts, format string, lo heatmap.LineOptions, files []string, stdin io.Reader, stdout, stderr io.Writer) (*heatmap.Latencies, error) {
	inputs, closeInputs, err := openInputs(files, stdin)
	if err != nil {
		return nil, err
	}
	defer closeInputs()
	var lats heatmap.Latencies
	for _, in := range inputs {
		br := bufio.NewReaderSize(in, 1<<16)
		if peekProfile(br) {
			if len(inputs) > 1 {
				return nil, usageError{msg: "a profile is drawn alone: give one file"}
			}
			p, err := profile.Read(br)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", in.name, err)
			}
			return nil, writeOffsets(o, format, p, stdout)
		}
		skipped, err := heatmap.ReadLatencies(br, in.name, lo, &lats)
		if err != nil {
			return nil, err
		}
		if skipped > 0 {
			fmt.Fprintf(stderr, "%s: skipped %d lines without a time and a latency\n", in.name, skipped)
		}
	}
	return &lats, nil
}

// liveSource tells a source of latencies on the running system from a
// file: its name, unless a file of that name is in the current directory
// (./bio then names the file too).
func liveSource(arg string) bool {
	if !slices.Contains(latency.Sources, arg) {
		return false
	}
	_, err := os.Stat(arg)
	return err != nil
}

// liveLatencies collects the latencies of a source on the running system
// until Ctrl-C or the duration that follows it: SOURCE [NAME] [SECONDS].
func (a *app) liveLatencies(o *heatmapOpts, args []string) (*heatmap.Latencies, error) {
	lo := latency.Options{Source: args[0], Slot: o.step, Log: a.stderr, OnMainThread: a.onMainThread}
	args = args[1:]
	what := latency.What[lo.Source]
	if lo.Source == "syscall" {
		if len(args) == 0 {
			return nil, usageError{msg: "syscall takes the name of a system call: friday heatmap syscall read"}
		}
		lo.Syscall, args = args[0], args[1:]
		what = lo.Syscall + "() latency"
	}
	dur, err := parseDuration(args)
	if err != nil {
		return nil, err
	}
	if o.step <= 0 {
		// The columns of the picture are the slots the kernel counts
		// by: 120 of them over the duration, or 100 ms each.
		lo.Slot = max(dur/120, 10*time.Millisecond)
		if dur == 0 {
			lo.Slot = 100 * time.Millisecond
		}
	}
	ctx, stop := a.collecting(dur)
	defer stop()
	c, err := latency.Start(ctx, script.NewHost(), lo)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(a.stderr, "Tracing %s%s\n", what, durationText(dur))
	return c.Wait()
}

// writeOffsets draws a profile's sub-second offset heat map; as HTML, over
// the flame graph of the range picked on it.
func writeOffsets(o *heatmapOpts, format string, p *profile.Profile, stdout io.Writer) error {
	title := o.title
	if title == "" {
		title = "Samples by second and offset within it"
	}
	return writeOutput(o.out, stdout, func(w io.Writer) error {
		if format == "html" {
			return flamescope.WriteHTML(w, p, flame.Options{Title: title, Subtitle: o.subtitle, CountName: p.Unit}, o.rows)
		}
		times := make([]int64, len(p.Samples))
		values := make([]int64, len(p.Samples))
		for i, s := range p.Samples {
			times[i], values[i] = s.Time, s.Value
		}
		g := heatmap.Offsets(times, values, o.rows)
		g.Title, g.Subtitle = title, o.subtitle
		g.StartTime = p.Start
		return g.WriteSVG(w, o.width)
	})
}
