package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"friday/internal/testenv"
	"friday/internal/workload"
	"friday/profile"
)

// syncBuffer is a buffer a command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// collect runs a collector command on a workload: it starts the command,
// lets the workload go once the command says it is tracing, and ends the
// command as Ctrl-C does once the workload is done. It returns what the
// workload measured and the command's output. PID in the arguments is the
// workload's pid, which -p gives the command too. The shape workload runs
// for cpu seconds of CPU time on two threads, the blocked one 5 rounds.
func collect(t *testing.T, name, cpu string, args ...string) (measured map[string]float64, stdout, stderr string) {
	t.Helper()
	testenv.BPF(t)
	wargs := []string{"2", cpu}
	if name == "blocked" {
		wargs = []string{"5"}
	}
	w := workload.Start(t, workload.Build(t, name), wargs...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	a := &app{stdout: &out, stderr: &errb, ctx: ctx}
	pid := strconv.Itoa(w.Pid)
	args = append(args[:1:1], append([]string{"-p", pid}, args[1:]...)...)
	for i := range args {
		args[i] = strings.ReplaceAll(args[i], "PID", pid)
	}
	done := make(chan int)
	go func() { done <- a.main(args) }()
	ready := "Hit Ctrl-C to end."
	if args[0] == "trace" {
		ready = "Attached "
	}
	for !strings.Contains(errb.String(), ready) {
		select {
		case code := <-done:
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	measured = w.Run(t)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errb.String())
	}
	return measured, out.String(), errb.String()
}

var svgFrame = regexp.MustCompile(`<title>(.*) \(([\d,]+) (?:samples|us), ([\d.]+)%\)</title><rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"`)

// The SVG of a profile of the shape workload: each frame's width is its
// share of the samples, and the frames of each chain hold its share of
// the CPU time the workload measured, within 5 points.
func TestProfileSVG(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "cpu.svg")
	measured, _, _ := collect(t, "shape", "6", "profile", "-F", "99", "-o", svg)
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	frames := svgFrame.FindAllStringSubmatch(string(b), -1)
	if len(frames) < 5 || frames[0][1] != "all" {
		t.Fatalf("no frames in the SVG:\n%.2000s", b)
	}
	num := func(s string) float64 {
		f, _ := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
		return f
	}
	total, fullWidth := num(frames[0][2]), num(frames[0][4])
	chains := map[string]float64{}
	for _, f := range frames {
		samples, width := num(f[2]), num(f[4])
		// Both edges are written to a tenth of a pixel.
		if want := samples / total * fullWidth; math.Abs(width-want) > 0.1+1e-9 {
			t.Errorf("%s: %.0f of %.0f samples, %.1f pixels wide of %.1f", f[1], samples, total, width, fullWidth)
		}
		chains[f[1]] += samples
	}
	for _, c := range []string{"hot_chain", "cold_chain"} {
		got, want := chains[c]/total, measured[c]/measured["process"]
		t.Logf("%s: %.1f%% of %.0f samples, %.1f%% of the CPU time", c, 100*got, total, 100*want)
		if math.Abs(got-want) > 0.05 {
			t.Errorf("%s: %.1f%% of the samples, %.1f%% of the CPU time", c, 100*got, 100*want)
		}
	}
}

// -o x.json writes friday's profile, every sample with its time; -o
// x.html the page with the heat map of the samples' times over the flame
// graph.
func TestProfileFiles(t *testing.T) {
	dir := t.TempDir()
	js, page := filepath.Join(dir, "cpu.json"), filepath.Join(dir, "cpu.html")
	collect(t, "shape", "1", "profile", "-F", "99", "-o", js)
	f, err := os.Open(js)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != "cpu" || p.Frequency != 99 || len(p.Samples) < 50 {
		t.Fatalf("profile of type %q at %d Hz with %d samples", p.Type, p.Frequency, len(p.Samples))
	}
	first, last := p.Samples[0].Time, p.Samples[len(p.Samples)-1].Time
	if first < 0 || last > int64(p.Duration) || last-first < int64(200*time.Millisecond) {
		t.Errorf("samples from %v to %v of a profile of %v", time.Duration(first), time.Duration(last), p.Duration)
	}
	collect(t, "shape", "1", "profile", "-F", "99", "-o", page)
	b, _ := os.ReadFile(page)
	if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) || !bytes.Contains(b, []byte("Samples by second and offset")) {
		t.Errorf("-o cpu.html: %.300s", b)
	}
}

// go tool pprof -top on the profile lists the hot chain's leaf first.
func TestProfilePprof(t *testing.T) {
	pb := filepath.Join(t.TempDir(), "cpu.pb.gz")
	collect(t, "shape", "2", "profile", "-F", "99", "-o", pb)
	cmd := exec.Command(testenv.Tool(t, "go"), "tool", "pprof", "-top", pb)
	top, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, top)
	}
	// The table's lines follow its header, "flat  flat%  sum% ...".
	_, table, _ := strings.Cut(string(top), "flat%")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) < 2 || !strings.HasSuffix(strings.TrimSpace(lines[1]), " hot_leaf") {
		t.Errorf("go tool pprof -top:\n%s", top)
	}
}

// bcc's text and folded outputs.
func TestProfileText(t *testing.T) {
	_, out, errs := collect(t, "shape", "1", "profile", "-F", "99", "-d")
	if !strings.Contains(errs, "Sampling at 99 Hertz of PID ") {
		t.Errorf("banner: %q", errs)
	}
	// A block: frames innermost first, the process, the count.
	block := regexp.MustCompile(`(?m)^    hot_leaf\n    hot_middle\n    hot_chain\n    worker\n(    .*\n)*    -                shape \(\d+\)\n        \d+\n\n`)
	if !block.MatchString(out) {
		t.Errorf("no hot_chain block:\n%s", out)
	}
	_, out, _ = collect(t, "shape", "1", "profile", "-F", "99", "-f")
	line := regexp.MustCompile(`(?m)^shape;(.*;)?worker;hot_chain;hot_middle;hot_leaf \d+$`)
	if !line.MatchString(out) {
		t.Errorf("no hot_chain line:\n%s", out)
	}
}

// The off-CPU flame graph gives the sleeper's and the reader's stacks the
// time they blocked, in microseconds.
func TestOffCPUFolded(t *testing.T) {
	measured, out, _ := collect(t, "blocked", "", "offcputime", "-f")
	sums := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		i := strings.LastIndexByte(l, ' ')
		v, _ := strconv.ParseFloat(l[i+1:], 64)
		for _, f := range []string{"sleeper_wait", "reader_wait"} {
			if strings.Contains(l, ";"+f+";") {
				sums[f] += v
			}
		}
	}
	for f, us := range sums {
		if want := measured[f] / 1000; math.Abs(us-want) > 0.1*want {
			t.Errorf("%s: %.0f us, measured %.0f", f, us, want)
		}
	}
	if len(sums) != 2 {
		t.Errorf("folded output lacks a wait:\n%s", out)
	}
}

// A map of friday trace keyed by stacks comes out as folded lines with -f
// folded, after the rest of the output, and as a flame graph with -o
// out.svg.
func TestTraceStacks(t *testing.T) {
	prog := `profile:hz:99 /pid == PID/ { @[ustack, comm] = count(); } END { printf("end\n"); }`
	_, out, _ := collect(t, "shape", "1", "trace", "-f", "folded", "-e", prog)
	stacks := regexp.MustCompile(`(?m)^shape;(.*;)?worker;hot_chain;hot_middle;hot_leaf \d+$`)
	if !strings.HasPrefix(out, "end\n") || !stacks.MatchString(out) {
		t.Errorf("-f folded:\n%s", out)
	}
	svg := filepath.Join(t.TempDir(), "t.svg")
	_, out, _ = collect(t, "shape", "1", "trace", "-o", svg, "-e", prog)
	b, _ := os.ReadFile(svg)
	if !strings.HasPrefix(out, "end\n") || !bytes.Contains(b, []byte("<title>hot_leaf (")) {
		t.Errorf("-o t.svg: standard output %q, SVG:\n%s", out, b)
	}
}

// Mistakes on the command line are told, with where to find the usage.
func TestCollectorUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"profile", "-U", "-K"}, "-U and -K cannot be given together"},
		{[]string{"profile", "-p", "1", "-L", "2"}, "processes and threads cannot be given together"},
		{[]string{"profile", "-p", "x"}, `bad -p "x"`},
		{[]string{"profile", "-F", "0"}, "bad -F 0"},
		{[]string{"profile", "5x"}, `bad duration "5x"`},
		{[]string{"profile", "5", "6"}, "unexpected arguments after the duration"},
		{[]string{"profile", "-f", "-o", "x.svg"}, "-f and -o cannot be given together"},
		{[]string{"profile", "-o", "x.txt"}, "cannot tell the format"},
		{[]string{"profile", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"offcputime", "-u", "-k"}, "only one of -p, -t, -u and -k"},
		{[]string{"offcputime", "--state", "x"}, `bad --state "x"`},
		{[]string{"offcputime", "-m", "10", "-M", "5"}, "-m is above -M"},
		{[]string{"wakeuptime", "-t", "1"}, "unknown shorthand flag: 't'"},
		{[]string{"heatmap", "syscall"}, "syscall takes the name of a system call"},
	} {
		var out, errb bytes.Buffer
		code := (&app{stdout: &out, stderr: &errb}).main(c.args)
		if code == 0 || !strings.Contains(errb.String(), c.want) || !strings.Contains(errb.String(), "for usage") {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errb.String(), c.want)
		}
	}
}
