// Package doctor answers "can friday analyse this host, and how well?" by
// trying each facility it depends on (loading and attaching small BPF
// programs, opening perf events, reading kernel settings) rather than by
// guessing from version numbers. Everything a check creates is removed
// before it returns.
package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is the verdict of one check.
type Status int

const (
	OK   Status = iota // works
	Warn               // works with limits, or something to improve
	Fail               // does not work here
)

func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Warn:
		return "WARN"
	}
	return "FAIL"
}

// MarshalText makes statuses read OK, WARN and FAIL in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (s *Status) UnmarshalText(b []byte) error {
	switch string(b) {
	case "OK":
		*s = OK
	case "WARN":
		*s = Warn
	case "FAIL":
		*s = Fail
	default:
		return fmt.Errorf("unknown status %q", b)
	}
	return nil
}

// Result is one check: what was found and, unless it is OK, what to do.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the outcome of all checks. Usable is false when no analysis
// is possible at all: missing privileges or no working BPF.
type Report struct {
	Checks []Result `json:"checks"`
	Usable bool     `json:"usable"`
	// Tools says, per tool of the suite, which of its scripts would run
	// here (the detail), or why none would. The command fills it in:
	// the tools stand on more than what the checks try.
	Tools []Result `json:"tools,omitempty"`
}

// Options change what Run does.
type Options struct {
	// Fix mounts tracefs and debugfs when they are not mounted (and
	// leaves them mounted).
	Fix bool
}

// Result returns the check called name.
func (r *Report) Result(name string) (Result, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Result{}, false
}

// Run performs every check in order.
func Run(opts Options) *Report {
	e := newEnv(opts)
	defer e.cleanup()
	r := &Report{}
	for _, c := range checks {
		r.Checks = append(r.Checks, c.run(e))
	}
	r.Usable = e.privileged && e.bpfWorks
	return r
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

const (
	nameWidth  = 16
	textWidth  = 79
	statusCols = 6
)

// WriteText writes one aligned line per check, wrapping details and fixes
// so that no line is longer than textWidth.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	indent := strings.Repeat(" ", nameWidth+statusCols)
	for _, c := range r.Checks {
		lines := wrap(c.Detail, textWidth-len(indent))
		if c.Fix != "" {
			lines = append(lines, wrap("fix: "+c.Fix, textWidth-len(indent))...)
		}
		for i, l := range lines {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s%-*s%s\n", nameWidth, c.Name, statusCols, c.Status, l)
			} else {
				fmt.Fprintf(&b, "%s%s\n", indent, l)
			}
		}
	}
	if len(r.Tools) > 0 {
		b.WriteString("\ntools (the script each runs here, by the kind of probe it uses):\n")
		for _, c := range r.Tools {
			for i, l := range wrap(c.Detail, textWidth-len(indent)) {
				if i == 0 {
					fmt.Fprintf(&b, "%-*s%-*s%s\n", nameWidth, c.Name, statusCols, c.Status, l)
				} else {
					fmt.Fprintf(&b, "%s%s\n", indent, l)
				}
			}
		}
	}
	if !r.Usable {
		b.WriteString("\nfriday cannot trace on this host: see the FAIL lines above.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSummary writes the checks in short, as `friday trace --info` shows
// them under bpftrace's --info headings: one "name: yes", "no" or
// "limited" line each, without details or fixes.
func (r *Report) WriteSummary(w io.Writer) error {
	var b strings.Builder
	for _, c := range r.Checks {
		verdict := map[Status]string{OK: "yes", Warn: "limited", Fail: "no"}[c.Status]
		fmt.Fprintf(&b, "  %s: %s\n", c.Name, verdict)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks s into lines of at most width characters at spaces; a word
// longer than width gets a line of its own.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}
