package probe

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"friday/syntax"
	"friday/types"
)

func describe(p *Point) string {
	s := fmt.Sprintf("%s provider=%s target=%s func=%s", p.Name, p.Provider, p.Target, p.Func)
	if p.Period != 0 {
		s += fmt.Sprintf(" period=%d", p.Period)
	}
	if p.Hz != 0 {
		s += fmt.Sprintf(" hz=%d", p.Hz)
	}
	if p.Proto != nil {
		var args []string
		for _, a := range p.Proto.Params {
			args = append(args, cDecl(a.Type, a.Name))
		}
		s += " args=(" + strings.Join(args, ", ") + ")"
	}
	if p.ProgramType() == ebpf.PerfEvent {
		s += fmt.Sprintf(" perf=%d:%d", p.PerfType, p.PerfConfig)
	}
	return s + " prog=" + p.ProgramType().String()
}

// TestExpand runs testdata/expand.txt against the tracefs copy in
// testdata/tracefs.
func TestExpand(t *testing.T) {
	r := testResolver()
	for _, c := range readCases(t, "testdata/expand.txt") {
		pts, err := r.expand(&syntax.AttachPoint{Raw: c.input})
		var got []string
		if err != nil {
			got = []string{"error: " + err.Error()}
		}
		for _, p := range pts {
			got = append(got, describe(p))
		}
		checkLines(t, fmt.Sprintf("expand.txt:%d: %s", c.line, c.input), got, c.want)
	}
}

func describeField(f types.Field) string {
	s := fmt.Sprintf("%s %s @%d", f.Name, f.Type, f.Offset)
	if f.DataLoc {
		s += " data_loc"
	}
	for t := f.Type; t.Kind == types.Pointer; t = t.Elem {
		if t.User {
			s += " user"
			break
		}
	}
	return s
}

// TestArgs checks the args struct built from each format file of
// testdata/tracefs against testdata/args.txt.
func TestArgs(t *testing.T) {
	r := testResolver()
	for _, c := range readCases(t, "testdata/args.txt") {
		pts, err := r.expand(&syntax.AttachPoint{Raw: "tracepoint:" + c.input})
		if err != nil {
			t.Errorf("args.txt:%d: %v", c.line, err)
			continue
		}
		a := pts[0].Args
		got := []string{fmt.Sprintf("%s size=%d", a.Name, a.Size)}
		for _, f := range a.Fields {
			got = append(got, describeField(f))
		}
		checkLines(t, fmt.Sprintf("args.txt:%d: %s", c.line, c.input), got, c.want)
	}
}

// TestFormatErrors feeds broken format files to the parser.
func TestFormatErrors(t *testing.T) {
	for _, c := range readCases(t, "testdata/format_errors.txt") {
		text := ""
		for _, l := range c.want[1:] {
			text += l + "\n"
		}
		_, err := ParseFormat("cat", text)
		got := "no error"
		if err != nil {
			got = "error: " + err.Error()
		}
		checkLines(t, fmt.Sprintf("format_errors.txt:%d: %s", c.line, c.input), []string{got}, c.want[:1])
	}
}

// TestList runs testdata/list.txt: "> PATTERN" lists, ">v PATTERN" lists
// verbosely.
func TestList(t *testing.T) {
	r := testResolver()
	for _, c := range readCases(t, "testdata/list.txt") {
		got, err := r.listLines(c.input, c.flag == "v")
		if err != nil {
			got = []string{"error: " + err.Error()}
		}
		checkLines(t, fmt.Sprintf("list.txt:%d: %s", c.line, c.input), got, c.want)
	}
}
