package flamescope_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"friday/flame"
	"friday/flamescope"
	"friday/internal/chrometest"
	"friday/profile"
)

// testProfile has 10 seconds of 100 samples a second: a busy loop in
// "compute" for the first half of each second, and in seconds 3 and 4 a
// burst of "compress" between 500 and 700 ms.
func testProfile() *profile.Profile {
	p := &profile.Profile{Type: "cpu", Unit: "samples", Frequency: 100, Period: 10_000_000,
		Start: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), Duration: 10 * time.Second}
	app := profile.Task{Pid: 42, Tid: 42, Comm: "app"}
	frames := func(names ...string) []profile.Frame {
		var f []profile.Frame
		for _, n := range names {
			f = append(f, profile.Frame{Name: n, Kind: profile.User})
		}
		return f
	}
	for s := range 10 {
		for i := range 100 {
			at := time.Duration(s)*time.Second + time.Duration(i)*10*time.Millisecond
			switch {
			case i < 50:
				p.Add(at, frames("main", "run", "compute"), app, 1)
			case (s == 3 || s == 4) && i < 70:
				p.Add(at, frames("main", "run", "compress", "deflate"), app, 1)
			default:
				p.Add(at, append(frames("idle"), profile.Frame{Name: "cpu_idle", Kind: profile.Kernel}), profile.Task{Comm: "swapper"}, 1)
			}
		}
	}
	return p
}

// Dragging across the heat map from one cell to another draws the flame
// graph of the samples between them in time, and of nothing else.
func TestRangeSelection(t *testing.T) {
	p := testProfile()
	path := filepath.Join(t.TempDir(), "scope.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := flamescope.WriteHTML(f, p, flame.Options{Title: "CPU"}, 50); err != nil {
		t.Fatal(err)
	}
	f.Close()
	page := chrometest.New(t, 1200, 900)
	page.Open(path)
	chrometest.Eval[bool](page, `new Promise(r => { const f = () => window.flameViewer && flameViewer.complete ? r(true) : setTimeout(f, 5); f(); })`)
	page.Screenshot("flamescope")
	if got := chrometest.Eval[float64](page, `flameViewer.tree().total[0]`); got != 1000 {
		t.Fatalf("the whole profile has %v samples, want 1000", got)
	}
	// From second 3, offset 500 ms (row 25), to second 4, offset 680 ms
	// (row 34): samples from 3.5 s to 4.7 s.
	from := chrometest.Eval[[]float64](page, `flameViewer.heatmap().cellCenter(3, 25)`)
	to := chrometest.Eval[[]float64](page, `flameViewer.heatmap().cellCenter(4, 34)`)
	page.Do(chromedp.DragAndDropXY(from[0], from[1], to[0], to[1], 5))
	chrometest.Eval[bool](page, `new Promise(r => { const f = () => document.getElementById("status").textContent !== "working..." && flameViewer.range() ? r(true) : setTimeout(f, 10); setTimeout(f, 10); })`)
	page.Screenshot("flamescope-range")
	got := chrometest.Eval[map[string]float64](page, `(() => { const t = flameViewer.tree(), m = {};
		for (let i = 0; i < t.n; i++) { const n = flameViewer.names[t.name[i]]; m[n] = (m[n] || 0) + t.total[i]; } return m; })()`)
	var want = map[string]float64{}
	p.Folded(3500*int64(time.Millisecond), 4700*int64(time.Millisecond), func(frames []string, v int64) {
		for _, f := range frames {
			want[f] += float64(v)
		}
		want["all"] += float64(v)
	})
	// Frames are named without their annotations.
	want["cpu_idle"] = want["cpu_idle_[k]"]
	delete(want, "cpu_idle_[k]")
	if len(got) != len(want) {
		t.Errorf("frames %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v samples in the range, want %v", k, got[k], v)
		}
	}
	if want["all"] != 120 || want["deflate"] != 40 {
		t.Errorf("test profile: %v", want)
	}
}
