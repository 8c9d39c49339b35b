package run_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"friday/internal/testenv"
)

// TestTseriesIntervals runs tseries over more intervals than they keep,
// which the exact cases of testdata/trace cannot (where the intervals
// fall depends on the time): the ring keeps the latest 8 of the 100ms
// intervals, each starting at a tenth of a wall-clock second, in order,
// up to about now; a sum restarts in each interval, with the 4 values
// the 25ms timer stores there, give or take its delays.
func TestTseriesIntervals(t *testing.T) {
	testenv.BPF(t)
	bin := friday(t)
	prog := `interval:ms:25 { @n++; @t = tseries(@n, 100ms, 8); @s = tseries(1, 100ms, 8, "sum"); } interval:ms:1500 { exit(); }`
	out, err := exec.Command(bin, "trace", "-f", "json", "-e", prog).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	end := time.Now()
	type point struct {
		Start string `json:"interval_start"`
		Value int64  `json:"value"`
	}
	var pts, sums []point
	for _, line := range strings.Split(string(out), "\n") {
		var rec struct {
			Type string
			Data map[string]json.RawMessage
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Type != "tseries" {
			continue
		}
		for name, dst := range map[string]*[]point{"@t": &pts, "@s": &sums} {
			if raw, ok := rec.Data[name]; ok {
				if err := json.Unmarshal(raw, dst); err != nil {
					t.Fatalf("%v in %s", err, line)
				}
			}
		}
	}
	for _, pt := range sums {
		if pt.Value < 1 || pt.Value > 6 {
			t.Errorf("the sum of the interval at %s is %d, want about 4", pt.Start, pt.Value)
		}
	}
	// Timer probes may run late on a loaded machine and skip an interval,
	// but not most of them.
	if len(pts) < 5 || len(pts) > 8 {
		t.Fatalf("%d intervals, want 5 to 8:\n%s", len(pts), out)
	}
	var prev time.Time
	for i, pt := range pts {
		start, err := time.ParseInLocation("2006-01-02 15:04:05.000000000", pt.Start, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if start.Nanosecond()%int(100*time.Millisecond) != 0 {
			t.Errorf("interval %d starts at %s, not at a tenth of a second", i, pt.Start)
		}
		if i > 0 && (!start.After(prev) || start.Sub(prev)%(100*time.Millisecond) != 0 || pt.Value <= pts[i-1].Value) {
			t.Errorf("interval %d (%s, %d) does not follow %s, %d", i, pt.Start, pt.Value, prev.Format(time.RFC3339Nano), pts[i-1].Value)
		}
		prev = start
	}
	if d := end.Sub(prev); d < 0 || d > 2*time.Second {
		t.Errorf("the last interval starts %v before the run ended", d)
	}
	if first, _ := time.ParseInLocation("2006-01-02 15:04:05.000000000", pts[0].Start, time.UTC); prev.Sub(first) >= 800*time.Millisecond {
		t.Errorf("intervals from %s to %s: more than the 8 kept", pts[0].Start, pts[len(pts)-1].Start)
	}
}
