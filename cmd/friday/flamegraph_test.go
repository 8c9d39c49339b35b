package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	gp "github.com/google/pprof/profile"
)

const cpuFolded = "../../flame/testdata/cpu.folded"

func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	switch args[0] {
	case "flamegraph":
		code = flamegraphMain(args[1:], strings.NewReader(stdin), &out, &errb)
	case "heatmap":
		code = (&app{stdout: &out, stderr: &errb}).heatmapMain(args[1:], strings.NewReader(stdin))
	}
	return code, out.String(), errb.String()
}

// The -o file's extension picks the format; standard output gets an SVG.
func TestFlamegraphFormats(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCmd(t, "", "flamegraph", "--title", "CPU", cpuFolded)
	if code != 0 || !strings.HasPrefix(out, "<?xml") || !strings.Contains(out, ">CPU</text>") {
		t.Fatalf("exit %d, stderr %q, stdout starts %.80q", code, errs, out)
	}
	for _, c := range []struct{ file, starts string }{
		{"g.svg", "<?xml"}, {"g.html", "<!DOCTYPE html>"}, {"g.folded", "java-3301/3320;"}, {"g.pb.gz", "\x1f\x8b"},
	} {
		path := filepath.Join(dir, c.file)
		if code, _, errs := runCmd(t, "", "flamegraph", "-o", path, cpuFolded); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.file, code, errs)
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.HasPrefix(b, []byte(c.starts)) {
			t.Errorf("%s starts %.20q (%v)", c.file, b, err)
		}
	}
	// The merged stacks are the input's.
	in, _ := os.ReadFile(cpuFolded)
	got, _ := os.ReadFile(filepath.Join(dir, "g.folded"))
	if sortLines(string(got)) != sortLines(string(in)) {
		t.Errorf("folded output:\n%s\nwant:\n%s", got, in)
	}
	f, _ := os.Open(filepath.Join(dir, "g.pb.gz"))
	defer f.Close()
	p, err := gp.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, s := range p.Sample {
		total += s.Value[0]
	}
	if total != 697 {
		t.Errorf("pprof profile holds %d samples, want 697", total)
	}
}

func sortLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// bpftrace's output piped in draws.
func TestFlamegraphStdin(t *testing.T) {
	in := "Attaching 1 probe...\n@[\n    vfs_read+5\n    ksys_read+10\n    do_syscall_64+80\n    entry_SYSCALL_64_after_hwframe+118\n]: 12\n"
	code, out, errs := runCmd(t, in, "flamegraph", "-o", "-", "--format", "folded")
	want := "entry_SYSCALL_64_after_hwframe_[k];do_syscall_64_[k];ksys_read_[k];vfs_read_[k] 12\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, stderr %q, out %q", code, errs, out)
	}
}

// --reverse merges stacks from their leaves: the callers of a function
// called from two places are its children.
func TestFlamegraphReverse(t *testing.T) {
	code, out, errs := runCmd(t, "a;b;c 3\nx;b;c 2\n", "flamegraph", "--reverse", "-o", "-", "--format", "folded")
	if want := "c;b;a 3\nc;b;x 2\n"; code != 0 || out != want {
		t.Errorf("exit %d, stderr %q, out %q, want %q", code, errs, out, want)
	}
}

func TestFlamegraphErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("just text\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "png", cpuFolded}, `unknown output format "png"`},
		{[]string{"-o", filepath.Join(dir, "x.png"), cpuFolded}, "cannot tell the format"},
		{[]string{"--minwidth", "wide", cpuFolded}, "bad --minwidth"},
		{[]string{"--colors", "rainbow", cpuFolded}, `unknown palette "rainbow"`},
		{[]string{"--diff", cpuFolded}, "--diff takes two files"},
		{[]string{"--negate", cpuFolded}, "need --diff"},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{filepath.Join(dir, "missing")}, "no such file"},
		{[]string{empty}, "no stacks in the input"},
	} {
		code, out, errs := runCmd(t, "", append([]string{"flamegraph"}, c.args...)...)
		if code != 1 || out != "" || !strings.Contains(errs, c.want) || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: exit %d, stdout %.40q, stderr %q; want %q", c.args, code, out, errs, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.png")); err == nil {
		t.Error("a failed run left its output file")
	}
}

// --diff colors by change: a frame that grew is red, one that shrank blue.
func TestFlamegraphDiff(t *testing.T) {
	dir := t.TempDir()
	before, after := filepath.Join(dir, "before"), filepath.Join(dir, "after")
	os.WriteFile(before, []byte("main;grow 10\nmain;shrink 90\n"), 0o644)
	os.WriteFile(after, []byte("main;grow 60\nmain;shrink 40\n"), 0o644)
	code, out, errs := runCmd(t, "", "flamegraph", "--diff", before, after)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, c := range []struct{ frame, fill string }{
		{"grow (60 samples, 60.00%; +50.00%)", `fill="#ff0000"`},
		{"shrink (40 samples, 40.00%; -50.00%)", `fill="#0000ff"`},
		{"main (100 samples, 100.00%; +0.00%)", `fill="#fafafa"`},
	} {
		i := strings.Index(out, "<title>"+c.frame+"</title>")
		if i < 0 || !strings.Contains(out[i:i+200], c.fill) {
			t.Errorf("frame %q not drawn %s", c.frame, c.fill)
		}
	}
}

func TestHeatmap(t *testing.T) {
	dir := t.TempDir()
	in := "TIME(s) COMM PID LAT(ms)\n0.5 dd 10 0.2\n1.5 dd 10 0.3\n2.5 dd 10 12\n"
	code, out, errs := runCmd(t, in, "heatmap", "--latency-unit", "ms")
	if code != 0 || !strings.Contains(out, "<svg") || !strings.Contains(errs, "skipped 1 lines") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, "latency 10-12.6 ms: 1") {
		t.Errorf("no cell for the 12 ms sample:\n%s", out)
	}
	path := filepath.Join(dir, "h.html")
	if code, _, errs := runCmd(t, in, "heatmap", "-o", path); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--fields", "x"}, "bad --fields"},
		{[]string{"--latency-unit", "days"}, "units are"},
		{[]string{"-o", filepath.Join(dir, "h.folded")}, `unknown output format "folded"`},
	} {
		code, _, errs := runCmd(t, in, append([]string{"heatmap"}, c.args...)...)
		if code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, errs)
		}
	}
	if code, _, errs := runCmd(t, "no numbers here\n", "heatmap"); code != 1 || !strings.Contains(errs, "no time and latency") {
		t.Errorf("empty input: exit %d, %q", code, errs)
	}
}
