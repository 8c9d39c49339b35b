package flame_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"

	"friday/flame"
	"friday/folded"
	"friday/internal/chrometest"
)

func writeHTML(t *testing.T, tree *flame.Tree, o flame.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "graph.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WriteHTML(f, o); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// drawn is a frame the viewer drew, as its layout lists it.
type drawn struct {
	Name  string  `json:"name"`
	X     float64 `json:"x"`
	W     float64 `json:"w"`
	Depth int     `json:"d"`
	Value float64 `json:"v"`
	Node  int     `json:"n"`
	// Hit is the value matching the search in a merged run.
	Hit float64 `json:"h"`
}

const readDrawn = `(() => { const p = flameViewer.panel(), r = p.r, t = p.tree;
	return r.x.map((x, k) => ({name: r.n[k] >= 0 ? flameViewer.names[t.name[r.n[k]]] : "", x: x, w: r.w[k], d: r.d[k], v: r.v[k], n: r.n[k], h: r.h[k]})); })()`

// The HTML viewer draws the same frames as the stacks give, zooms on a
// click, searches, filters by task, hides and merges frames, and shows a
// function's callers and callees.
func TestHTMLInBrowser(t *testing.T) {
	stacks := readStacks(t, "testdata/cpu.folded")
	var total int64
	for _, s := range stacks {
		total += s.value
	}
	path := writeHTML(t, treeOf(stacks), flame.Options{Title: "CPU", Palette: "lang"})
	p := chrometest.New(t, 1200, 800)
	p.Open(path)
	waitComplete(t, p)
	p.Screenshot("html")
	frames := chrometest.Eval[[]drawn](p, readDrawn)
	inner := 1200 - 20.0
	for _, f := range frames {
		if math.Abs(f.W-f.Value*inner/float64(total)) > 1e-6 {
			t.Errorf("%s: %.2f px for %.0f of %d", f.Name, f.W, f.Value, total)
		}
	}

	// A click on a frame zooms to it.
	var target drawn
	for _, f := range frames {
		if f.Name == "ExecutePlan" {
			target = f
		}
	}
	top := chrometest.Eval[float64](p, `flameViewer.panel().canvas.getBoundingClientRect().top`)
	rows := chrometest.Eval[int](p, `flameViewer.panel().rows`)
	p.Do(chromedp.MouseClickXY(target.X+target.W/2, top+float64(rows-1-target.Depth)*16+8))
	p.Screenshot("html-zoomed")
	zoomed := chrometest.Eval[[]drawn](p, readDrawn)
	found := false
	for _, f := range zoomed {
		if f.Name == "ExecutePlan" {
			found = true
			if f.X != 10 || math.Abs(f.W-inner) > 1e-9 {
				t.Errorf("zoomed frame at %.1f, %.1f wide", f.X, f.W)
			}
		}
	}
	if !found {
		t.Error("the zoomed frame is not drawn")
	}
	p.Do(chromedp.Click(chromedp.CSS("#reset")))

	// Search through the page's box.
	for _, expr := range []string{`^runtime\.`, `Exec`, `read`} {
		p.Do(clearBox("search"), chromedp.SendKeys(chromedp.CSS("#search"), expr+"\r"))
		want := fmt.Sprintf("Matched: %.2f%%", expectedMatch(stacks, regexp.MustCompile(expr)))
		if got := chrometest.Eval[string](p, `document.getElementById("matched").textContent`); got != want {
			t.Errorf("search %s: %q, want %q", expr, got, want)
		}
	}
	p.Screenshot("html-search")
	p.Do(clearBox("search"), chromedp.SendKeys(chromedp.CSS("#search"), "\r"))

	// One process: only its stacks.
	p.Do(chromedp.SetValue(chromedp.CSS("#task"), "p:880"))
	waitIdle(t, p)
	want := int64(0)
	for _, s := range stacks {
		if _, pid, _, _ := folded.Task(s.frames[0]); pid == 880 {
			want += s.value
		}
	}
	if got := chrometest.Eval[float64](p, `flameViewer.tree().total[0]`); got != float64(want) {
		t.Errorf("process 880 has %v samples, want %d", got, want)
	}
	p.Screenshot("html-task")

	// One thread of a process of two.
	p.Do(chromedp.SetValue(chromedp.CSS("#task"), "t:2047"))
	waitIdle(t, p)
	want = 0
	for _, s := range stacks {
		if _, _, tid, _ := folded.Task(s.frames[0]); tid == 2047 {
			want += s.value
		}
	}
	if got := chrometest.Eval[float64](p, `flameViewer.tree().total[0]`); got != float64(want) || want == 0 {
		t.Errorf("thread 2047 has %v samples, want %d", got, want)
	}
	p.Do(chromedp.SetValue(chromedp.CSS("#task"), ""))
	waitIdle(t, p)

	// Icicle: the root, drawn in the same color, moves to the top row.
	rootAt := `(() => { const p = flameViewer.panel(); return [p.y(0), p.y(1)]; })()`
	root := chrometest.Eval[[]float64](p, rootAt)
	color := chrometest.Eval[string](p, fmt.Sprintf(`%s(600, %g)`, readPixel, root[0]+8))
	p.Do(chromedp.Click(chromedp.CSS("#icicle")))
	p.Screenshot("html-icicle")
	icicle := chrometest.Eval[[]float64](p, rootAt)
	if icicle[0] != 0 || icicle[1] <= icicle[0] || root[1] >= root[0] {
		t.Errorf("rows of the root and its callees: %v, icicle %v", root, icicle)
	}
	if got := chrometest.Eval[string](p, fmt.Sprintf(`%s(600, %g)`, readPixel, icicle[0]+8)); got != color {
		t.Errorf("icicle root drawn %s, was %s", got, color)
	}
	p.Do(chromedp.Click(chromedp.CSS("#icicle")))

	// Hidden frames vanish, their callees take their place.
	p.Do(chromedp.SendKeys(chromedp.CSS("#hide"), `^(main|webserver.*)$`+"\r"))
	waitIdle(t, p)
	names := chrometest.Eval[[]string](p, `(() => { const t = flameViewer.tree(); return Array.from(t.name.slice(0, t.n)).map(i => flameViewer.names[i]); })()`)
	for _, n := range names {
		if n == "main" || n == "webserver-2041/2044" {
			t.Errorf("hidden frame %s still there", n)
		}
	}
	if got := chrometest.Eval[float64](p, `flameViewer.tree().total[0]`); got != float64(total) {
		t.Errorf("hiding frames changed the total to %v", got)
	}
	p.Do(clearBox("hide"), chromedp.SendKeys(chromedp.CSS("#hide"), "\r"))
	waitIdle(t, p)

	// Merged frames absorb their callees.
	p.Do(chromedp.SendKeys(chromedp.CSS("#merge"), `^ExecutePlan$`+"\r"))
	waitIdle(t, p)
	if n := chrometest.Eval[int](p, `(() => { const t = flameViewer.tree(); let i = Array.from(t.name).findIndex(x => flameViewer.names[x] === "ExecutePlan"); return t.end[i] - i - 1; })()`); n != 0 {
		t.Errorf("merged frame has %d callees", n)
	}
	p.Do(clearBox("merge"), chromedp.SendKeys(chromedp.CSS("#merge"), "\r"))
	waitIdle(t, p)

	// Callers and callees of a function called from several places.
	p.Do(chromedp.Evaluate[chromedp.Void](`flameViewer.sandwich("ExecInterpExpr")`))
	p.Screenshot("html-sandwich")
	got := chrometest.Eval[[]float64](p, `(() => { const s = flameViewer.sandwichPanels(); return [s.up.tree.total[0], s.down.tree.total[0], s.up.tree.n, s.down.tree.n]; })()`)
	var through int64
	for _, s := range stacks {
		for _, f := range s.frames {
			if f == "ExecInterpExpr" {
				through += s.value
				break
			}
		}
	}
	if got[0] != float64(through) || got[1] != float64(through) {
		t.Errorf("callers and callees of ExecInterpExpr: %v and %v samples, want %d", got[0], got[1], through)
	}
	// Callees: int8inc, texteq;varstr_cmp;memcmp. Callers: two paths.
	if got[3] != 5 {
		t.Errorf("callees tree has %v nodes, want 5", got[3])
	}
}

// waitIdle waits for the viewer to finish rebuilding its tree.
func waitIdle(t *testing.T, p *chrometest.Page) {
	t.Helper()
	chrometest.Eval[bool](p, `new Promise(r => { const f = () => document.getElementById("status").textContent === "working..." ? setTimeout(f, 10) : r(true); setTimeout(f, 10); })`)
}

// clearBox empties a text box of the page.
func clearBox(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.getElementById(%q).value = ''", id))
}

// waitComplete waits for the viewer to have read all the frames.
func waitComplete(t testing.TB, p *chrometest.Page) float64 {
	return chrometest.Eval[float64](p, `new Promise(r => { const f = () => window.flameViewer && flameViewer.complete ? r(flameViewer.complete) : setTimeout(f, 5); f(); })`)
}
