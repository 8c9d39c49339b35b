package tool

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// common are the flags every tool takes, besides its own.
type common struct {
	help, verbose, dryRun, stats bool
	format, variant              string
}

// shorthand is letter, unless the tool's flags took it already: then
// the common flag goes by its long name only.
func shorthand(fs *pflag.FlagSet, letter string) string {
	if fs.ShorthandLookup(letter) != nil {
		return ""
	}
	return letter
}

// declareHelp declares -h, which comes first, as in bcc's tools.
func (c *common) declareHelp(fs *pflag.FlagSet) {
	fs.BoolVarP(&c.help, "help", "h", false, "show this help message and exit")
}

// declare declares the other common flags, after the tool's.
func (c *common) declare(fs *pflag.FlagSet, variants []*Variant) {
	fs.BoolVarP(&c.verbose, "verbose", shorthand(fs, "v"), false, "say which script runs, and why those before it on the attach ladder do not")
	fs.StringVarP(&c.format, "format", shorthand(fs, "f"), "text", "output `FORMAT`: text or json (an object per event or interval)")
	fs.BoolVar(&c.stats, "stats", false, "print events seen, events lost, ns/event of the BPF programs and friday's CPU% at the end")
	fs.BoolVar(&c.dryRun, "dry-run", false, "compile and load the script (the kernel's verifier checks it), attach nothing")
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = v.Name
	}
	fs.StringVar(&c.variant, "variant", "", "run the script for this kind of `PROBE`: "+strings.Join(names, ", "))
}

// synopsis is the usage line: the tool's flags in bcc's form, then its
// arguments, wrapped within 80 columns.
func (t *Tool) synopsis(fs *pflag.FlagSet) string {
	lead := "usage: friday " + t.Name
	parts := []string{}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand
		}
		if f.NoOptDefVal == "" {
			v, _ := pflag.UnquoteUsage(f)
			if v == "" {
				v = "VALUE"
			}
			name += " " + metavar(v)
		}
		parts = append(parts, "["+name+"]")
	})
	if t.Interval {
		parts = append(parts, "[interval [count]]")
	}
	for _, a := range t.Args {
		if a.Required {
			parts = append(parts, a.Name)
		} else {
			parts = append(parts, "["+a.Name+"]")
		}
	}
	var b strings.Builder
	line := lead
	for _, p := range parts {
		if len(line)+1+len(p) > 79 {
			b.WriteString(line + "\n")
			line = strings.Repeat(" ", len(lead))
		}
		line += " " + p
	}
	b.WriteString(line + "\n")
	return b.String()
}

// help is what -h prints, bcc's layout: usage, description, arguments,
// options, examples.
func (t *Tool) help(w io.Writer, fs *pflag.FlagSet) {
	var b strings.Builder
	b.WriteString(t.synopsis(fs))
	fmt.Fprintf(&b, "\n%s\n", t.Summary)
	args := t.Args
	if t.Interval {
		args = []Arg{{Name: "interval", Help: "output interval, in seconds"}, {Name: "count", Help: "number of outputs"}}
	}
	if len(args) > 0 {
		b.WriteString("\npositional arguments:\n")
		for _, a := range args {
			b.WriteString(Entry("  "+a.Name, helpCol, a.Help))
		}
	}
	b.WriteString("\noptions:\n")
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			b.WriteString(flagHelp(f))
		}
	})
	if len(t.Examples) > 0 {
		b.WriteString("\nexamples:\n")
		width := 0
		for _, e := range t.Examples {
			args, _, _ := strings.Cut(e, "#")
			width = max(width, len(exampleLine(t, args)))
		}
		for _, e := range t.Examples {
			args, doc, _ := strings.Cut(e, "#")
			// A long comment goes on under itself.
			cmd, line := exampleLine(t, args), ""
			for _, w := range strings.Fields(doc) {
				if line != "" && 4+width+4+len(line)+1+len(w) > 79 {
					fmt.Fprintf(&b, "    %-*s  # %s\n", width, cmd, line)
					cmd, line = "", ""
				}
				line = strings.TrimSpace(line + " " + w)
			}
			fmt.Fprintf(&b, "    %-*s  # %s\n", width, cmd, line)
		}
	}
	io.WriteString(w, b.String())
}

// flagHelp is a flag's lines in the options of -h, laid out as bcc's
// (Python's argparse): the help from column 24, within 80 columns.
// metavar is how usage names a flag's value: in capitals, but a set of
// choices ({all,reads}) as the values are written, as argparse shows them.
func metavar(name string) string {
	if strings.HasPrefix(name, "{") {
		return name
	}
	return strings.ToUpper(name)
}

func flagHelp(f *pflag.Flag) string {
	left := "      --" + f.Name
	if f.Shorthand != "" {
		left = "  -" + f.Shorthand + ", --" + f.Name
	}
	name, usage := pflag.UnquoteUsage(f)
	if f.NoOptDefVal == "" && name != "" {
		left += " " + metavar(name)
	}
	return Entry(left, helpCol, usage)
}

// helpCol is the column of -h's help texts, as argparse has it.
const helpCol = 24

// Entry lays out a line of a listing: left, then text from column col (on
// a line of its own after a long left), wrapped within 80 columns, as
// argparse lays out bcc's -h.
func Entry(left string, col int, text string) string {
	var b strings.Builder
	line := left
	if len(left) > col-2 {
		b.WriteString(left + "\n")
		line = ""
	}
	for i, w := range strings.Fields(text) {
		switch {
		case i == 0:
			line = fmt.Sprintf("%-*s%s", col, line, w)
		case len(line)+1+len(w) > 79:
			b.WriteString(line + "\n")
			line = strings.Repeat(" ", col) + w
		default:
			line += " " + w
		}
	}
	b.WriteString(line + "\n")
	return b.String()
}

func exampleLine(t *Tool, args string) string {
	return strings.TrimSpace("friday " + t.Name + " " + strings.TrimSpace(args))
}

// trailing reads [interval [count]].
func trailing(args []string) (interval, count int, err error) {
	if len(args) > 2 {
		return 0, 0, fmt.Errorf("unrecognized arguments: %s", strings.Join(args[2:], " "))
	}
	for i, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil || n <= 0 {
			what := "interval"
			if i == 1 {
				what = "count"
			}
			return 0, 0, fmt.Errorf("%s must be a positive whole number, got %q", what, a)
		}
		if i == 0 {
			interval = n
		} else {
			count = n
		}
	}
	return interval, count, nil
}
