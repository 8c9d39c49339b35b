package profile_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"friday/profile"
)

func TestRoundTrip(t *testing.T) {
	p := &profile.Profile{Type: "offcpu", Unit: "nanoseconds", Start: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Duration: time.Second,
		Mappings: []profile.Mapping{{Start: 1, Limit: 2, File: "/bin/x", BuildID: "ab"}}}
	task := profile.Task{Pid: 3, Tid: 4, Comm: "x"}
	f := []profile.Frame{{Name: "main", Kind: profile.User, File: "x.c", Line: 3, Address: 1, Mapping: 1}, {Name: "schedule", Kind: profile.Kernel}}
	p.Add(20, f, task, 7)
	p.Add(10, f[:1], task, 9)
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	q, err := profile.Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	// Read orders samples by time.
	if q.Samples[0].Time != 10 || q.Samples[1].Time != 20 || q.Samples[0].Value != 9 {
		t.Errorf("samples %+v", q.Samples)
	}
	if !reflect.DeepEqual(q.Frames, p.Frames) || !reflect.DeepEqual(q.Mappings, p.Mappings) || !q.Start.Equal(p.Start) || q.Duration != p.Duration {
		t.Errorf("read %+v, wrote %+v", q, p)
	}
	var lines []string
	q.Folded(15, 0, func(frames []string, v int64) { lines = append(lines, strings.Join(frames, ";")) })
	if len(lines) != 1 || lines[0] != "x-3/4;main;schedule_[k]" {
		t.Errorf("folded after 15 ns: %q", lines)
	}
}

func TestReadErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"format": "other"}`, `no "format": "friday-profile"`},
		{`{"format": "friday-profile", "version": 2}`, "version 2"},
		{`{"format": "friday-profile", "version": 1, "samples": {"time": [1], "stack": [], "task": []}}`, "differ in length"},
		{`{"format": "friday-profile", "version": 1, "frames": [], "stacks": [[3]]}`, "stack 0 names frame 3"},
		{`{"format": "friday-profile", "version": 1, "stacks": [], "tasks": [], "samples": {"time": [1], "stack": [0], "task": [0]}}`, "sample 0"},
		{`[1, 2]`, "not a friday profile"},
	} {
		_, err := profile.Read(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		}
	}
}
