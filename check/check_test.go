package check

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"friday/internal/testenv"
	"friday/lazybtf"
	"friday/probe"
	"friday/syntax"
)

var update = flag.Bool("update", false, "rewrite the expected results in testdata")

// A case file holds cases that each start with a line "== title". Lines
// starting with "! " right after it set options ("! params a 42",
// "! unsafe", "! btf", "! maxstrlen 32"; "! warnings" adds the warnings
// to the result). The program follows, then a line "### ok" and the Dump
// of the checked program, or "### error" and the errors, one line each, as
// syntax.ErrorList prints them.
type testCase struct {
	file, title string
	line        int
	opts        []string
	src         string
	kind        string // "ok" or "error"
	want        string
}

func readCases(t testing.TB, file string) []*testCase {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*testCase
	var cur *testCase
	var body []string
	flush := func() {
		if cur == nil {
			return
		}
		cur.want = strings.TrimRight(strings.Join(body, "\n"), "\n")
		cases = append(cases, cur)
	}
	inProg := false
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "== "):
			flush()
			cur = &testCase{file: file, title: strings.TrimPrefix(line, "== "), line: i + 1}
			body = nil
			inProg = true
		case cur == nil:
		case inProg && strings.HasPrefix(line, "! ") && cur.src == "":
			cur.opts = append(cur.opts, strings.TrimPrefix(line, "! "))
		case inProg && (line == "### ok" || line == "### error"):
			cur.kind = strings.TrimPrefix(line, "### ")
			inProg = false
		case inProg:
			cur.src += line + "\n"
		default:
			body = append(body, line)
		}
	}
	flush()
	return cases
}

var (
	kernelBTF     *lazybtf.Spec
	kernelBTFErr  error
	kernelBTFDone bool
)

func loadBTF(t testing.TB) *lazybtf.Spec {
	if !kernelBTFDone {
		kernelBTFDone = true
		kernelBTF, kernelBTFErr = lazybtf.LoadKernel()
	}
	if kernelBTFErr != nil {
		testenv.Unavailable(t, "kernel BTF not available: %v", kernelBTFErr)
	}
	return kernelBTF
}

// probes resolves attach points on the machine the tests run on, shared
// among them as a command shares it among its scripts.
var probes = probe.NewResolver(nil)

// machineExpand resolves attach points on the machine.
func machineExpand(ap *syntax.AttachPoint) ([]*probe.Point, error) {
	return probes.Expand(ap, probe.UserOptions{})
}

// requireProbes stops a test when the kernel's
// tracepoints cannot be listed here (tracefs needs root).
func requireProbes(t testing.TB) {
	_, err := machineExpand(&syntax.AttachPoint{Raw: "tracepoint:sched:sched_switch",
		Parts: []string{"tracepoint", "sched", "sched_switch"}})
	if err != nil {
		testenv.Unavailable(t, "tracepoints unavailable: %v", err)
	}
}

// fakeExpand resolves tracepoints against the format files in
// testdata/tracepoints and takes other attach points literally.
func fakeExpand(ap *syntax.AttachPoint) ([]*probe.Point, error) {
	if len(ap.Parts) == 0 || canonicalProvider(ap.Parts[0]) != "tracepoint" {
		pts, err := literalPoints(ap)
		for _, p := range pts {
			switch p.Provider {
			case "begin":
				p.Name = "BEGIN"
			case "end":
				p.Name = "END"
			default:
				p.Name = p.Provider + ":" + strings.Join(ap.Parts[1:], ":")
			}
		}
		return pts, err
	}
	if len(ap.Parts) != 3 {
		return nil, fmt.Errorf("tracepoint needs category and event: %s", ap.Raw)
	}
	files, _ := filepath.Glob("testdata/tracepoints/*/*")
	sort.Strings(files)
	var pts []*probe.Point
	for _, f := range files {
		cat, ev := filepath.Base(filepath.Dir(f)), filepath.Base(f)
		if ok, _ := path.Match(ap.Parts[1], cat); !ok {
			continue
		}
		if ok, _ := path.Match(ap.Parts[2], ev); !ok {
			continue
		}
		text, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		format, err := probe.ParseFormat(cat, string(text))
		if err != nil {
			return nil, err
		}
		pts = append(pts, &probe.Point{Provider: "tracepoint", Target: cat, Func: ev,
			Name: "tracepoint:" + cat + ":" + ev, Args: format.Args, Format: format})
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("No probes matched %s", ap.Raw)
	}
	return pts, nil
}

func (c *testCase) run(t testing.TB) string {
	f, err := syntax.Parse("stdin", []byte(c.src))
	if err != nil {
		return errorLines(err)
	}
	opts := Options{Expand: fakeExpand}
	consts := false
	var warnings []string
	for _, o := range c.opts {
		fields := strings.Fields(o)
		switch fields[0] {
		case "params":
			opts.Params = fields[1:]
		case "unsafe":
			opts.Unsafe = true
		case "btf":
			opts.BTF = func() *lazybtf.Spec { return loadBTF(t) }
		case "nobtf":
			opts.BTF = func() *lazybtf.Spec {
				t.Errorf("%s:%d: the kernel's BTF was read", c.file, c.line)
				return nil
			}
		case "skipdead":
			opts.SkipDead = true
		case "maxstrlen":
			fmt.Sscan(fields[1], &opts.MaxStrLen)
		case "consts":
			consts = true
		case "warnings":
			opts.Warn = func(w *syntax.Error) {
				warnings = append(warnings, fmt.Sprintf("warning %s: %s", syntax.RangeString(w.Pos, w.End), w.Msg))
			}
		case "realprobes":
			requireProbes(t)
			opts.Expand = machineExpand
		default:
			t.Fatalf("%s:%d: unknown option %q", c.file, c.line, o)
		}
	}
	prog, err := Check(f, opts)
	if err != nil {
		return errorLines(err)
	}
	out := prog.Dump()
	if consts {
		out += dumpConsts(prog)
	}
	if len(warnings) > 0 {
		out = strings.TrimRight(out, "\n") + "\n" + strings.Join(warnings, "\n")
	}
	return strings.TrimRight(out, "\n")
}

// dumpConsts lists the folded constants of every probe, except plain
// literals, by position.
func dumpConsts(p *Program) string {
	var lines []string
	for _, pr := range p.Probes {
		for e, c := range pr.Info.Consts {
			switch e.(type) {
			case *syntax.IntLit, *syntax.StrLit, *syntax.BoolLit:
				continue
			}
			v := fmt.Sprint(c.Int)
			switch {
			case c.IsStr:
				v = fmt.Sprintf("%q", c.Str)
			case c.Bytes != nil:
				v = fmt.Sprint(c.Bytes)
			}
			lines = append(lines, fmt.Sprintf("const %d:%d = %s", e.Pos().Line, e.Pos().Col, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func errorLines(err error) string {
	var el *syntax.ErrorList
	if errors.As(err, &el) {
		return "### error\n" + el.Error()
	}
	return "### error\n" + err.Error()
}

func testdataFiles(t testing.TB) []string {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test data: %v", err)
	}
	return files
}

func TestCheck(t *testing.T) {
	for _, file := range testdataFiles(t) {
		cases := readCases(t, file)
		changed := false
		for _, c := range cases {
			name := fmt.Sprintf("%s:%d", filepath.Base(file), c.line)
			t.Run(name, func(t *testing.T) {
				got := c.run(t)
				gotKind, gotBody := "ok", got
				if rest, ok := strings.CutPrefix(got, "### error\n"); ok {
					gotKind, gotBody = "error", rest
				}
				if gotKind == c.kind && gotBody == c.want {
					return
				}
				if *update {
					c.kind, c.want = gotKind, gotBody
					changed = true
					return
				}
				t.Errorf("%s (%s)\n%s\ngot ### %s\n%s\nwant ### %s\n%s", name, c.title, c.src, gotKind, gotBody, c.kind, c.want)
			})
		}
		if changed {
			writeCases(t, file, cases)
		}
	}
}

func writeCases(t *testing.T, file string, cases []*testCase) {
	var b strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&b, "== %s\n", c.title)
		for _, o := range c.opts {
			fmt.Fprintf(&b, "! %s\n", o)
		}
		b.WriteString(c.src)
		fmt.Fprintf(&b, "### %s\n", c.kind)
		if c.want != "" {
			b.WriteString(c.want + "\n")
		}
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func FuzzCheck(f *testing.F) {
	for _, file := range testdataFiles(f) {
		for _, c := range readCases(f, file) {
			f.Add(c.src)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := syntax.Parse("fuzz", []byte(src))
		if err != nil {
			return
		}
		Check(file, Options{Expand: fakeExpand, Params: []string{"1", "abc"}})
	})
}
