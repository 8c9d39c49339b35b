package flame_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"friday/flame"
	"friday/internal/chrometest"
	"friday/internal/stackgen"
)

// readPixel is the color of the main panel's canvas at a point, in CSS
// pixels from its top left corner.
const readPixel = `((x, y) => { const c = flameViewer.panel().canvas, r = devicePixelRatio;
	const d = c.getContext("2d").getImageData(Math.floor(x * r), Math.floor(y * r), 1, 1).data;
	return "rgb(" + d[0] + "," + d[1] + "," + d[2] + ")"; })`

// frameColor is the color the viewer drew a frame in: at its right end,
// past its name, below its top edge.
func frameColor(t *testing.T, p *chrometest.Page, f drawn) string {
	t.Helper()
	return chrometest.Eval[string](p, fmt.Sprintf(`%s(%g, flameViewer.panel().y(%d) + 2)`, readPixel, f.X+f.W-2, f.Depth))
}

// A differential profile's frames are colored in the viewer as in the
// SVG: red grew, blue shrank, white did not change, the deeper the more;
// hovering tells the change.
func TestHTMLDiffInBrowser(t *testing.T) {
	tree := flame.NewTree()
	for i, s := range readStacks(t, "testdata/cpu.folded") {
		frames := make([][]byte, len(s.frames))
		for j, f := range s.frames {
			frames[j] = []byte(f)
		}
		// Some stacks grew, some shrank, one is gone, others are alike.
		before := []int64{s.value / 2, s.value * 2, s.value, s.value + 7}[i%4]
		after := s.value
		if i == 5 {
			after = 0
		}
		tree.Add(frames, 0, after, before, false)
	}
	o := flame.Options{Normalize: true}
	svg := parseSVG(t, writeSVG(t, tree, o))
	p := chrometest.New(t, 1200, 800)
	p.Open(writeHTML(t, tree, o))
	waitComplete(t, p)
	p.Screenshot("html-diff")

	frames := chrometest.Eval[[]drawn](p, readDrawn)
	checked := 0
	for _, f := range frames {
		if f.Node <= 0 || f.W < 4 {
			continue
		}
		var want *svgFrame
		for i, s := range svg {
			if name, _ := titleName(s.Title); name == f.Name && math.Abs(s.Rect.X-f.X) < 0.1 {
				want = &svg[i]
			}
		}
		if want == nil {
			t.Errorf("frame %s at %.1f is not in the SVG", f.Name, f.X)
			continue
		}
		r, g, b, err := parseHex(want.Rect.Fill)
		if err != nil {
			t.Fatal(err)
		}
		if got := frameColor(t, p, f); got != fmt.Sprintf("rgb(%d,%d,%d)", r, g, b) {
			t.Errorf("frame %s drawn in %s, the SVG's is %s", f.Name, got, want.Rect.Fill)
		}
		checked++
		// The change, as the SVG's title tells it.
		y := chrometest.Eval[float64](p, fmt.Sprintf(`flameViewer.panel().canvas.getBoundingClientRect().top + flameViewer.panel().y(%d) + 8`, f.Depth))
		p.Do(chromedp.MouseEvent("mouseMoved", f.X+f.W/2, y))
		details := chrometest.Eval[string](p, `document.getElementById("details").textContent`)
		change := want.Title[strings.LastIndex(want.Title, "; ")+2 : len(want.Title)-1]
		if !strings.HasSuffix(details, "; "+change+")") {
			t.Errorf("frame %s: details %q, want the change %s", f.Name, details, change)
		}
	}
	if checked < 20 {
		t.Errorf("%d frames checked", checked)
	}
}

var svgTitleRE = regexp.MustCompile(`^(.*) \(([0-9,]+) samples, `)

func titleName(title string) (string, bool) {
	m := svgTitleRE.FindStringSubmatch(title)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func parseHex(s string) (r, g, b int64, err error) {
	if len(s) != 7 || s[0] != '#' {
		return 0, 0, 0, fmt.Errorf("color %q", s)
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	return int64(v >> 16), int64(v >> 8 & 0xff), int64(v & 0xff), err
}

// Frames under a pixel wide are drawn merged; a merged run that holds a
// frame matching the search is drawn in the search's color, a pixel wide
// at least, tells how much matched when hovered, and counts in the share
// matched.
func TestHTMLSearchMergedFrames(t *testing.T) {
	var in strings.Builder
	in.WriteString("main;big 100000\nmain;aaa;needle 30\nmain;zzz 50000\nmain;small5000;needle 60\n")
	for i := range 2000 {
		fmt.Fprintf(&in, "main;small%d;leaf 1\n", i)
	}
	tree, stacks := readTree(t, strings.NewReader(in.String()))
	p := chrometest.New(t, 1200, 600)
	p.Open(writeHTML(t, tree, flame.Options{}))
	waitComplete(t, p)
	p.Do(clearBox("search"), chromedp.SendKeys(chromedp.CSS("#search"), "needle\r"))
	p.Screenshot("html-search-merged")
	want := fmt.Sprintf("Matched: %.2f%%", expectedMatch(stacks, regexp.MustCompile("needle")))
	if got := chrometest.Eval[string](p, `document.getElementById("matched").textContent`); got != want {
		t.Errorf("%q, want %q", got, want)
	}
	var hits []drawn
	for _, f := range chrometest.Eval[[]drawn](p, readDrawn) {
		if f.Node < 0 && f.Hit > 0 {
			hits = append(hits, f)
		}
	}
	// aaa alone, 0.2 pixels; small5000 among the others, 16 pixels.
	if len(hits) != 2 || hits[0].Hit != 30 || hits[0].W != 1 || hits[1].Hit != 60 || hits[1].W < 15 {
		t.Fatalf("merged runs holding a match: %+v", hits)
	}
	top := chrometest.Eval[float64](p, `flameViewer.panel().canvas.getBoundingClientRect().top`)
	for _, f := range hits {
		y := chrometest.Eval[float64](p, fmt.Sprintf(`flameViewer.panel().y(%d)`, f.Depth))
		if c := chrometest.Eval[string](p, fmt.Sprintf(`%s(%g, %g)`, readPixel, f.X+f.W/2, y+2)); c != "rgb(230,0,230)" {
			t.Errorf("merged run at %.1f drawn in %s", f.X, c)
		}
		p.Do(chromedp.MouseEvent("mouseMoved", f.X+f.W/2, top+y+8))
		details := chrometest.Eval[string](p, `document.getElementById("details").textContent`)
		if !strings.Contains(details, fmt.Sprintf("matching the search: %.0f samples", f.Hit)) {
			t.Errorf("merged run at %.1f: details %q", f.X, details)
		}
	}
}

// A search typed before the page has read all the frames says how much at
// least matched, of the frames read so far; once all are read, the share
// is exact without another search.
func TestHTMLSearchWhileLoading(t *testing.T) {
	var in bytes.Buffer
	if err := stackgen.Write(&in, 40000, stackgen.Walks); err != nil {
		t.Fatal(err)
	}
	tree, stacks := readTree(t, &in)
	if tree.Len() < 300000 {
		t.Fatalf("%d frames: too few for more than one chunk", tree.Len())
	}
	path := writeHTML(t, tree, flame.Options{})
	const expr = `Lookup.*Row`
	exact := expectedMatch(stacks, regexp.MustCompile(expr))

	// The page cut short: the last frames never come.
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const tag = `<script type="application/octet-stream" class="frames">`
	start := bytes.Index(page, []byte(tag)) + len(tag)
	end := start + bytes.Index(page[start:], []byte("</script>"))
	cut := start + (end-start)*95/100/4*4
	partial := filepath.Join(t.TempDir(), "partial.html")
	short := append(page[:cut:cut], "</script>\n<script>flameViewerData()</script>\n</body></html>\n"...)
	if err := os.WriteFile(partial, short, 0o644); err != nil {
		t.Fatal(err)
	}
	p := chrometest.New(t, 1200, 800)
	p.Open(partial)
	p.Do(chromedp.SendKeys(chromedp.CSS("#search"), expr+"\r"))
	p.Screenshot("html-loading")
	got := chrometest.Eval[string](p, `document.getElementById("matched").textContent`)
	m := regexp.MustCompile(`^Matched: at least ([0-9.]+)% \(([0-9]+)% of the frames read\)$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("while reading: %q", got)
	}
	least, _ := strconv.ParseFloat(m[1], 64)
	read, _ := strconv.Atoi(m[2])
	if least > exact+0.005 || least < exact/10 || read <= 0 || read >= 100 {
		t.Errorf("while reading: %q; %.2f%% match in all", got, exact)
	}

	// The whole page, searched from its address as it opens.
	p.Do(chromedp.Navigate("file://" + path + "?s=" + expr))
	waitComplete(t, p)
	if got, want := chrometest.Eval[string](p, `document.getElementById("matched").textContent`), fmt.Sprintf("Matched: %.2f%%", exact); got != want {
		t.Errorf("once read: %q, want %q", got, want)
	}
}

// Where the browser starts no worker for a page opened from a file, the
// page reads all the frames itself.
func TestHTMLWithoutWorker(t *testing.T) {
	stacks := readStacks(t, "testdata/cpu.folded")
	tree := treeOf(stacks)
	path := writeHTML(t, tree, flame.Options{})
	p := chrometest.New(t, 1200, 800)
	if _, err := chromedp.Call(p.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.Worker = undefined;`}); err != nil {
		t.Fatal(err)
	}
	p.Open(path + "?s=Exec")
	waitComplete(t, p)
	if w := chrometest.Eval[bool](p, `window.Worker === undefined`); !w {
		t.Fatal("the page has workers")
	}
	want := fmt.Sprintf("Matched: %.2f%%", expectedMatch(stacks, regexp.MustCompile("Exec")))
	if got := chrometest.Eval[string](p, `document.getElementById("matched").textContent`); got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if n := chrometest.Eval[int](p, `flameViewer.tree().n`); n != tree.Len() {
		t.Errorf("%d frames, want %d", n, tree.Len())
	}
}
