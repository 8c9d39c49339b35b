package pprof_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gp "github.com/google/pprof/profile"

	"friday/internal/testenv"
	"friday/pprof"
	"friday/profile"
)

func cpuProfile() *profile.Profile {
	p := &profile.Profile{Type: "cpu", Unit: "samples", Frequency: 100, Period: 10_000_000,
		Start: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), Duration: 3 * time.Second,
		Mappings: []profile.Mapping{{Start: 0x400000, Limit: 0x500000, File: "/usr/bin/app", BuildID: "3f2a9c"}}}
	main := profile.Frame{Name: "main", Kind: profile.User, File: "app.c", Line: 40, Address: 0x401010, Mapping: 1}
	work := profile.Frame{Name: "work", Kind: profile.User, File: "app.c", Line: 21, Address: 0x401200, Mapping: 1}
	hash := profile.Frame{Name: "hash", Kind: profile.Inlined, File: "hash.h", Line: 7}
	read := profile.Frame{Name: "ksys_read", Kind: profile.Kernel}
	app := profile.Task{Pid: 7, Tid: 8, Comm: "app"}
	for i := range 300 {
		at := time.Duration(i) * 10 * time.Millisecond
		switch {
		case i%3 == 0:
			p.Add(at, []profile.Frame{main, read}, app, 1)
		default:
			p.Add(at, []profile.Frame{main, work, hash}, app, 1)
		}
	}
	return p
}

// The conversion keeps samples, CPU time, functions with files and lines,
// inlined calls as lines of their caller's location, mappings with build
// ids, and tasks as labels; go tool pprof reads the file.
func TestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pb.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.Write(f, cpuProfile()); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r, _ := os.Open(path)
	defer r.Close()
	got, err := gp.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.SampleType) != 2 || got.SampleType[0].Type != "samples" || got.SampleType[1].Unit != "nanoseconds" || got.Period != 10_000_000 {
		t.Errorf("sample types %v, period %d", got.SampleType, got.Period)
	}
	var samples, cpu int64
	for _, s := range got.Sample {
		samples += s.Value[0]
		cpu += s.Value[1]
		if s.Label["comm"][0] != "app" || s.NumLabel["pid"][0] != 7 || s.NumLabel["tid"][0] != 8 {
			t.Errorf("labels %v %v", s.Label, s.NumLabel)
		}
	}
	if samples != 300 || cpu != 300*10_000_000 {
		t.Errorf("%d samples, %d ns; want 300 and 3e9", samples, cpu)
	}
	if len(got.Sample) != 2 {
		t.Errorf("%d samples, want the two stacks", len(got.Sample))
	}
	inlined := false
	for _, l := range got.Location {
		if len(l.Line) == 2 {
			inlined = true
			if l.Line[0].Function.Name != "hash" || l.Line[1].Function.Name != "work" || l.Line[1].Line != 21 || l.Mapping.BuildID != "3f2a9c" {
				t.Errorf("inlined location: %+v", l)
			}
		}
	}
	if !inlined {
		t.Error("no location holds the inlined call")
	}

	out := testenv.Run(t, testenv.Tool(t, "go"), "tool", "pprof", "-top", path)
	for _, want := range []string{"Type: cpu", "Duration: 3s", "work", "hash", "ksys_read", "main"} {
		if !strings.Contains(out, want) {
			t.Errorf("go tool pprof -top lacks %q:\n%s", want, out)
		}
	}
}

func TestOffCPUProfile(t *testing.T) {
	p := &profile.Profile{Type: "offcpu", Unit: "nanoseconds"}
	task := profile.Task{Pid: 1, Tid: 1, Comm: "init"}
	p.Add(0, []profile.Frame{{Name: "main"}, {Name: "schedule", Kind: profile.Kernel}}, task, 5_000_000)
	p.Add(time.Second, []profile.Frame{{Name: "main"}, {Name: "schedule", Kind: profile.Kernel}}, task, 7_000_000)
	got, err := pprof.FromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.SampleType) != 1 || got.SampleType[0].Type != "offcpu" || got.SampleType[0].Unit != "nanoseconds" {
		t.Errorf("sample types %v", got.SampleType)
	}
	if len(got.Sample) != 1 || got.Sample[0].Value[0] != 12_000_000 {
		t.Errorf("samples %v", got.Sample)
	}
	if m := got.Sample[0].Location[0].Mapping; m == nil || m.File != "[kernel.kallsyms]" {
		t.Errorf("kernel frame's mapping: %v", m)
	}
}
