package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"friday/flame"
	"friday/flamescope"
	"friday/folded"
	"friday/pprof"
	"friday/profile"
)

const flamegraphUsage = `Usage:
  friday flamegraph [flags] [FILE...]
  friday flamegraph --diff [flags] BEFORE AFTER

Draws a flame graph of stacks. FILE (standard input when none is given)
holds folded stacks ("frame;frame;frame count" lines, as friday, perf's
and bcc's collapsers write them), bpftrace's printed stack maps, such as
@[kstack] = count(), in text or JSON, or a friday profile (.json, with
the time of each sample). Several files of stacks are merged.

The graph is an SVG on standard output: open it in a browser, hover over a
frame for its samples, click to zoom, Ctrl-F or "Search" to highlight
frames matching a regular expression. -o FILE writes FILE in the format
its extension names: .svg, .html (a viewer for large profiles: canvas drawing,
filters by process and thread, hiding and merging frames, callers and
callees of a function; for a friday profile, a heat map of the samples'
times to draw a time range from), .folded (the merged stacks), .pb.gz
(pprof, for go tool pprof).

--diff draws the second profile colored by its change from the first: red
frames grew, blue shrank. Input lines with two counts are a differential
profile already.

Examples:
  friday flamegraph out.folded > cpu.svg
  bpftrace -e 'profile:hz:99 { @[kstack] = count(); }' | friday flamegraph
  friday flamegraph -o cpu.html --title 'CPU' big.folded
  friday flamegraph --diff before.folded after.folded > diff.svg

Flags:
`

type flamegraphOpts struct {
	out       string
	format    string
	opts      flame.Options
	minWidth  string
	reverse   bool
	diff      bool
	negate    bool
	normalize bool
	rows      int
	help      bool
}

func newFlamegraphFlags() (*pflag.FlagSet, *flamegraphOpts) {
	o := &flamegraphOpts{}
	fs := pflag.NewFlagSet("friday flamegraph", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVarP(&o.out, "output", "o", "", "write to `FILE`, in the format of its extension")
	fs.StringVar(&o.format, "format", "", "output `FORMAT`: svg, html, folded, pb.gz")
	fs.IntVar(&o.rows, "rows", 50, "`ROWS` a second of a profile's heat map (html)")
	fs.StringVar(&o.opts.Title, "title", "", "title `TEXT` (default \"Flame Graph\")")
	fs.StringVar(&o.opts.Subtitle, "subtitle", "", "second title line `TEXT`")
	fs.StringVar(&o.opts.CountName, "countname", "samples", "what the counts are: `NAME`, such as bytes")
	fs.StringVar(&o.opts.NameType, "nametype", "Function:", "what the frames are: `TEXT`")
	fs.IntVar(&o.opts.Width, "width", 1200, "image width in `PIXELS`")
	fs.IntVar(&o.opts.Height, "height", 16, "frame height in `PIXELS`")
	fs.Float64Var(&o.opts.FontSize, "fontsize", 12, "font `SIZE`")
	fs.StringVar(&o.opts.FontType, "fonttype", "Verdana", "font `FAMILY`")
	fs.StringVar(&o.minWidth, "minwidth", "0.1", "leave out frames under `N` pixels (or N% wide)")
	fs.StringVarP(&o.opts.Palette, "colors", "c", "hot", "`PALETTE`: hot, mem, io or lang (by language)")
	fs.BoolVar(&o.opts.Inverted, "inverted", false, "icicle graph: the root at the top")
	fs.BoolVar(&o.reverse, "reverse", false, "reverse the stacks: merge from the leaf")
	fs.BoolVar(&o.diff, "diff", false, "differential graph of BEFORE and AFTER")
	fs.BoolVar(&o.negate, "negate", false, "with --diff: draw BEFORE, colored by change")
	fs.BoolVar(&o.normalize, "normalize", false, "with --diff: scale BEFORE to AFTER's total")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	return fs, o
}

func flamegraphFlags() *pflag.FlagSet {
	fs, _ := newFlamegraphFlags()
	return fs
}

func flamegraphMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, o := newFlamegraphFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\nRun 'friday help flamegraph' for usage.\n", err)
		return 1
	}
	if o.help {
		fmt.Fprint(stdout, flamegraphUsage)
		fmt.Fprint(stdout, flagUsages(fs))
		return 0
	}
	if err := flamegraph(o, fs.Args(), stdin, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, "Run 'friday help flamegraph' for usage.")
		}
		return 1
	}
	return 0
}

func flamegraph(o *flamegraphOpts, files []string, stdin io.Reader, stdout, stderr io.Writer) error {
	format, err := outputFormat(o.format, o.out, "svg", []string{"svg", "html", "folded", "pb.gz"})
	if err != nil {
		return err
	}
	if !slices.Contains(flame.Palettes, o.opts.Palette) {
		return usageError{msg: fmt.Sprintf("unknown palette %q (want %s)", o.opts.Palette, strings.Join(flame.Palettes, ", "))}
	}
	mw := o.minWidth
	o.opts.MinPercent = strings.HasSuffix(mw, "%")
	o.opts.MinWidth, err = strconv.ParseFloat(strings.TrimSuffix(mw, "%"), 64)
	if err != nil || o.opts.MinWidth < 0 {
		return usageError{msg: fmt.Sprintf("bad --minwidth %q: want a number of pixels, or a percentage such as 0.5%%", mw)}
	}
	if o.opts.Width < 2*10+1 || o.opts.Height < 2 {
		return usageError{msg: "--width and --height are too small"}
	}
	if (o.negate || o.normalize) && !o.diff {
		return usageError{msg: "--negate and --normalize need --diff"}
	}
	if o.diff && len(files) != 2 {
		return usageError{msg: fmt.Sprintf("--diff takes two files, BEFORE and AFTER (got %d)", len(files))}
	}
	o.opts.Normalize = o.normalize
	o.opts.Negate = o.negate
	inputs, closeInputs, err := openInputs(files, stdin)
	if err != nil {
		return err
	}
	defer closeInputs()
	// A large profile's tree is arrays without pointers, cheap for the
	// collector to scan: collecting more often costs little time and
	// keeps the peak memory near what the tree holds (25% less at 100k
	// stacks than the default).
	defer debug.SetGCPercent(debug.SetGCPercent(40))

	// A file's size sets how much of it is read ahead and sorted.
	for i, in := range inputs {
		if f, ok := in.Reader.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				inputs[i].size = st.Size()
			}
		}
	}
	if len(inputs) == 1 && !o.diff {
		in := bufio.NewReaderSize(inputs[0], 1<<16)
		if peekProfile(in) {
			p, err := profile.Read(in)
			if err != nil {
				return fmt.Errorf("%s: %v", inputs[0].name, err)
			}
			return writeProfile(o, format, p, stdout)
		}
		inputs[0].Reader = in
	}
	t := flame.NewTree()
	for i, in := range inputs {
		// In a differential graph the first file is "before": its counts
		// go in the tree's second column (swapped by --negate).
		before := o.diff && (i == 0) != o.negate
		if err := addStacks(t, in, before, o.reverse, stderr); err != nil {
			return err
		}
	}
	if t.Stacks() == 0 {
		return fmt.Errorf("no stacks in the input")
	}
	return writeOutput(o.out, stdout, func(w io.Writer) error {
		switch format {
		case "html":
			return t.WriteHTML(w, o.opts)
		case "folded":
			return writeFolded(w, t)
		case "pb.gz":
			return pprof.Write(w, stacksProfile(t, o.opts.CountName))
		}
		return t.WriteSVG(w, o.opts)
	})
}

// addStacks adds the stacks of one input to the tree, and says on stderr
// how many lines it skipped.
func addStacks(t *flame.Tree, in namedReader, before, reverse bool, stderr io.Writer) error {
	r := folded.NewReaderSize(in, in.name, in.size)
	defer r.Close()
	for r.Next() {
		s := r.Stack()
		value, prior := s.Value, s.Before
		if before {
			value, prior = 0, s.Value
		}
		t.Add(s.Frames, s.Same, value, prior, reverse)
	}
	if err := r.Err(); err != nil {
		return err
	}
	if n := r.Skipped(); n > 0 {
		fmt.Fprintf(stderr, "%s: skipped %d lines that are not stacks\n", in.name, n)
	}
	return nil
}

// writeFolded writes the merged stacks as folded lines, with both counts
// for a differential tree.
func writeFolded(w io.Writer, t *flame.Tree) error {
	bw := bufio.NewWriter(w)
	err := t.Walk(func(frames []string, value, before int64) error {
		if t.Diff() {
			return folded.Write(bw, frames, before, value)
		}
		return folded.Write(bw, frames, value)
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// writeProfile draws a friday profile: the HTML viewer gets the heat map
// of its samples' times.
func writeProfile(o *flamegraphOpts, format string, p *profile.Profile, stdout io.Writer) error {
	if o.opts.CountName == "samples" && p.Unit != "" {
		o.opts.CountName = p.Unit
	}
	return writeOutput(o.out, stdout, func(w io.Writer) error {
		switch format {
		case "html":
			if p.Type == "stacks" {
				// Merged stacks, without times: no heat map.
				return flamescope.Tree(p).WriteHTML(w, o.opts)
			}
			return flamescope.WriteHTML(w, p, o.opts, o.rows)
		case "pb.gz":
			return pprof.Write(w, p)
		}
		t := flamescope.Tree(p)
		if format == "folded" {
			return writeFolded(w, t)
		}
		return t.WriteSVG(w, o.opts)
	})
}

// stacksProfile is a profile of merged stacks, without times, for pprof:
// what folded stacks hold.
func stacksProfile(t *flame.Tree, unit string) *profile.Profile {
	p := &profile.Profile{Type: "stacks", Unit: unit}
	t.Walk(func(frames []string, value, _ int64) error {
		fs := make([]profile.Frame, len(frames))
		for i, f := range frames {
			fs[i] = profile.ParseFoldedFrame(f)
		}
		p.Add(0, fs, profile.Task{}, value)
		return nil
	})
	return p
}
