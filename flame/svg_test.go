package flame_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"friday/flame"
	"friday/folded"
	"friday/internal/chrometest"
)

// stack is a folded line of a test's input.
type stack struct {
	frames []string
	value  int64
}

func readStacks(t *testing.T, path string) []stack {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, stacks := readTree(t, f)
	return stacks
}

// readTree reads folded stacks into a tree, as friday flamegraph does, and
// into a list.
func readTree(t *testing.T, in io.Reader) (*flame.Tree, []stack) {
	t.Helper()
	tree := flame.NewTree()
	var stacks []stack
	r := folded.NewReader(in, "in")
	for r.Next() {
		s := r.Stack()
		tree.Add(s.Frames, s.Same, s.Value, 0, false)
		fs := make([]string, len(s.Frames))
		for i, f := range s.Frames {
			fs[i] = string(f)
		}
		stacks = append(stacks, stack{fs, s.Value})
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return tree, stacks
}

func treeOf(stacks []stack) *flame.Tree {
	t := flame.NewTree()
	for _, s := range stacks {
		t.AddStrings(s.frames, s.value)
	}
	return t
}

// svgFrame is a frame as the SVG draws it.
type svgFrame struct {
	Title string `xml:"title"`
	Rect  struct {
		X     float64 `xml:"x,attr"`
		Y     float64 `xml:"y,attr"`
		Width float64 `xml:"width,attr"`
		Fill  string  `xml:"fill,attr"`
	} `xml:"rect"`
	Text string `xml:"text"`
}

func parseSVG(t *testing.T, path string) []svgFrame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			ID     string     `xml:"id,attr"`
			Frames []svgFrame `xml:"g"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the SVG does not parse: %v", err)
	}
	for _, g := range doc.Groups {
		if g.ID == "frames" {
			return g.Frames
		}
	}
	t.Fatal("no frames in the SVG")
	return nil
}

var titleRE = regexp.MustCompile(`^(.*) \(([0-9,]+) samples, ([0-9.]+)%\)$`)

func titleParts(t *testing.T, title string) (name string, value int64) {
	t.Helper()
	m := titleRE.FindStringSubmatch(title)
	if m == nil {
		t.Fatalf("frame title %q", title)
	}
	v, _ := strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64)
	return m[1], v
}

func writeSVG(t *testing.T, tree *flame.Tree, o flame.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "graph.svg")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WriteSVG(f, o); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// The width of each frame is its share of the samples of the whole width,
// to the tenth of a pixel the SVG is written with; each frame's value is
// that of the stacks through it.
func TestSVGFrameWidths(t *testing.T) {
	stacks := readStacks(t, "testdata/cpu.folded")
	var total int64
	for _, s := range stacks {
		total += s.value
	}
	for _, inverted := range []bool{false, true} {
		path := writeSVG(t, treeOf(stacks), flame.Options{Inverted: inverted})
		frames := parseSVG(t, path)
		perSample := 1180 / float64(total)
		seen := map[string]bool{}
		for _, f := range frames {
			name, value := titleParts(t, f.Title)
			if math.Abs(f.Rect.Width-float64(value)*perSample) > 0.11 {
				t.Errorf("%s: width %.1f for %d of %d samples, want %.2f", name, f.Rect.Width, value, total, float64(value)*perSample)
			}
			seen[name] = true
		}
		// A frame's value is the sum over the stacks that hold it at that
		// depth; check it for every leaf frame of the input.
		for _, s := range stacks {
			leaf := displayName(s.frames[len(s.frames)-1])
			if !seen[leaf] {
				t.Errorf("no frame for %s", leaf)
			}
		}
		if _, v := titleParts(t, frames[0].Title); v != total {
			t.Errorf("root has %d samples, want %d", v, total)
		}
	}
}

// Frames narrower than the minimum width are left out, and so is the
// room they would take: the SVG holds only frames at least that wide.
func TestSVGMinWidth(t *testing.T) {
	tree := flame.NewTree()
	tree.AddStrings([]string{"big"}, 10000)
	tree.AddStrings([]string{"small"}, 1)
	frames := parseSVG(t, writeSVG(t, tree, flame.Options{MinWidth: 1}))
	if len(frames) != 2 {
		t.Fatalf("got %d frames, want all and big", len(frames))
	}
	frames = parseSVG(t, writeSVG(t, tree, flame.Options{MinWidth: 0.1}))
	if len(frames) != 3 {
		t.Fatalf("got %d frames, want all, big and small", len(frames))
	}
}

// expectedMatch is the percentage of the samples in stacks that have a
// frame matching re.
func expectedMatch(stacks []stack, re *regexp.Regexp) float64 {
	var total, hit int64
	for _, s := range stacks {
		total += s.value
		for _, f := range s.frames {
			if re.MatchString(displayName(f)) {
				hit += s.value
				break
			}
		}
	}
	return 100 * float64(hit) / float64(total)
}

func displayName(f string) string {
	for _, a := range []string{"_[k]", "_[j]", "_[i]", "_[w]"} {
		f = strings.TrimSuffix(f, a)
	}
	return f
}

// jsFrame is what the page shows of a frame.
type jsFrame struct {
	Name    string  `json:"name"`
	X       float64 `json:"x"`
	W       float64 `json:"w"`
	Fill    string  `json:"fill"`
	Hidden  bool    `json:"hidden"`
	Label   string  `json:"label"`
	LabelW  float64 `json:"labelW"`
	Visible bool    `json:"visible"`
}

const readFrames = `Array.from(document.querySelectorAll("#frames > g")).map(g => {
	const r = g.querySelector("rect"), t = g.querySelector("text"), title = g.querySelector("title").textContent;
	return {name: title.slice(0, title.lastIndexOf(" (")), x: +r.getAttribute("x"), w: +r.getAttribute("width"),
		fill: r.getAttribute("fill"), hidden: getComputedStyle(g).display === "none",
		label: t ? t.textContent : "", labelW: t ? t.getComputedTextLength() : 0};
})`

// checkLabels fails when a frame's name overflows its frame.
func checkLabels(t *testing.T, frames []jsFrame) {
	t.Helper()
	labels := 0
	for _, f := range frames {
		if f.Hidden || f.Label == "" {
			continue
		}
		labels++
		if f.LabelW > f.W-6+0.5 {
			t.Errorf("label %q is %.1f px wide in a frame of %.1f px", f.Label, f.LabelW, f.W)
		}
		if f.Label != f.Name && !(strings.HasSuffix(f.Label, "..") && strings.HasPrefix(f.Name, strings.TrimSuffix(f.Label, ".."))) {
			t.Errorf("label %q for frame %q", f.Label, f.Name)
		}
	}
	if labels == 0 {
		t.Error("no frame is labelled")
	}
}

// The SVG in a browser: names fit their frames; clicking a frame zooms to
// it; Search asks for a regular expression, colors the matching frames and
// shows their share of the samples.
func TestSVGInBrowser(t *testing.T) {
	stacks := readStacks(t, "testdata/cpu.folded")
	path := writeSVG(t, treeOf(stacks), flame.Options{Title: "CPU", Palette: "lang"})
	p := chrometest.New(t, 1200, 700)
	p.Open(path)
	p.Screenshot("svg")
	frames := chrometest.Eval[[]jsFrame](p, readFrames)
	checkLabels(t, frames)

	// Click on a frame: it then spans the width, and only it, its
	// ancestors and its descendants are shown.
	target := -1
	for i, f := range frames {
		if f.Name == "main.rankResults" {
			target = i
		}
	}
	if target < 0 {
		t.Fatal("no frame main.rankResults")
	}
	box := chrometest.Eval[[]float64](p, fmt.Sprintf(`(() => { const b = document.querySelectorAll("#frames > g")[%d].querySelector("rect").getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; })()`, target))
	p.Do(chromedp.MouseClickXY(box[0], box[1]))
	p.Screenshot("svg-zoomed")
	zoomed := chrometest.Eval[[]jsFrame](p, readFrames)
	if z := zoomed[target]; z.X != 10 || z.W != 1180 {
		t.Errorf("clicked frame at x %.1f, width %.1f; want 10, 1180", z.X, z.W)
	}
	for i, f := range zoomed {
		inside := frames[i].X >= frames[target].X-0.01 && frames[i].X+frames[i].W <= frames[target].X+frames[target].W+0.01
		if !f.Hidden && !inside && f.W != 1180 {
			t.Errorf("frame %s outside the zoomed one is shown", f.Name)
		}
	}
	checkLabels(t, zoomed)

	// Reset Zoom brings the graph back.
	p.Do(chromedp.Click(chromedp.CSS("#unzoom")))
	if back := chrometest.Eval[[]jsFrame](p, readFrames); back[target].W != frames[target].W {
		t.Errorf("after reset the frame is %.1f wide, was %.1f", back[target].W, frames[target].W)
	}

	for _, expr := range []string{`^runtime\.`, `_read|read$`, `Exec`} {
		answerPrompt(t, p, expr)
		p.Do(chromedp.Click(chromedp.CSS("#search")))
		re := regexp.MustCompile(expr)
		want := fmt.Sprintf("Matched: %.2f%%", expectedMatch(stacks, re))
		got := chrometest.Eval[string](p, `document.getElementById("matched").textContent`)
		if got != want {
			t.Errorf("search %s: %q, want %q", expr, got, want)
		}
		hits := 0
		for _, f := range chrometest.Eval[[]jsFrame](p, readFrames) {
			if f.Name == "all" {
				continue
			}
			if highlighted := f.Fill == "rgb(230,0,230)"; highlighted != re.MatchString(f.Name) {
				t.Errorf("search %s: frame %s highlighted: %v", expr, f.Name, highlighted)
			} else if highlighted {
				hits++
			}
		}
		if hits == 0 {
			t.Errorf("search %s: nothing highlighted", expr)
		}
		p.Screenshot("svg-search")
		p.Do(chromedp.Click(chromedp.CSS("#search"))) // Reset Search
	}
}

// answerPrompt answers the next prompt the page opens with text.
func answerPrompt(t *testing.T, p *chrometest.Page, text string) {
	dialogs := chromedp.Events(p.Ctx, page.JavascriptDialogOpening)
	go func() {
		for range dialogs {
			chromedp.Call(p.Ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true, PromptText: text})
			return
		}
	}()
}

// Each palette keeps to its hues: hot reds to yellows, mem greens, io
// blues (the root is grey in all).
func TestSVGPalettes(t *testing.T) {
	stacks := readStacks(t, "testdata/cpu.folded")
	type bounds struct{ lo, hi [3]int }
	for palette, want := range map[string]bounds{
		"hot": {[3]int{205, 0, 0}, [3]int{255, 230, 55}},
		"mem": {[3]int{0, 190, 30}, [3]int{60, 240, 120}},
		"io":  {[3]int{80, 80, 190}, [3]int{140, 140, 245}},
	} {
		for _, f := range parseSVG(t, writeSVG(t, treeOf(stacks), flame.Options{Palette: palette}))[1:] {
			r, g, b, err := parseHex(f.Rect.Fill)
			if err != nil {
				t.Fatal(err)
			}
			c := [3]int{int(r), int(g), int(b)}
			for i := range c {
				if c[i] < want.lo[i] || c[i] > want.hi[i] {
					t.Errorf("%s: %s is %s", palette, f.Title, f.Rect.Fill)
					break
				}
			}
			if palette == "io" && c[0] != c[1] {
				t.Errorf("io: %s is %s, not a blue", f.Title, f.Rect.Fill)
			}
		}
	}
}

// Title, subtitle, count name and width are those asked for; an icicle
// graph has its root at the top; hovering over a frame shows its name,
// count and share of the whole.
func TestSVGOptionsInBrowser(t *testing.T) {
	stacks := readStacks(t, "testdata/cpu.folded")
	var total int64
	for _, s := range stacks {
		total += s.value
	}
	o := flame.Options{Title: "Heap", Subtitle: "after a full GC", CountName: "bytes", Width: 900, Inverted: true}
	path := writeSVG(t, treeOf(stacks), o)
	p := chrometest.New(t, 1000, 700)
	p.Open(path)
	p.Screenshot("svg-icicle")
	got := chrometest.Eval[[]string](p, `["title", "subtitle"].map(id => document.getElementById(id).textContent)
		.concat([String(document.documentElement.getBoundingClientRect().width)])`)
	if want := []string{"Heap", "after a full GC", "900"}; !slices.Equal(got, want) {
		t.Errorf("title, subtitle, width: %q, want %q", got, want)
	}
	frames := chrometest.Eval[[]jsFrame](p, readFrames)
	checkLabels(t, frames)
	ys := chrometest.Eval[[]float64](p, `Array.from(document.querySelectorAll("#frames > g rect")).map(r => +r.getAttribute("y"))`)
	for i, f := range frames {
		if f.X < 10-0.01 || f.X+f.W > 890+0.01 {
			t.Errorf("%s at %.1f, %.1f wide, outside the 900 px graph", f.Name, f.X, f.W)
		}
		if i > 0 && ys[i] <= ys[0] {
			t.Errorf("%s at y %.0f, above the root at %.0f", f.Name, ys[i], ys[0])
		}
	}
	for _, name := range []string{"all", "ExecutePlan", "vfs_read"} {
		var value int64
		for _, s := range stacks {
			for _, f := range s.frames {
				if displayName(f) == name {
					value += s.value
					break
				}
			}
		}
		if name == "all" {
			value = total
		}
		box := chrometest.Eval[[]float64](p, fmt.Sprintf(`(() => { const g = Array.from(document.querySelectorAll("#frames > g")).find(g => g.querySelector("title").textContent.startsWith(%q + " (")); const b = g.querySelector("rect").getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; })()`, name))
		p.Do(chromedp.MouseEvent("mouseMoved", box[0], box[1]))
		details := chrometest.Eval[string](p, `document.getElementById("details").textContent`)
		want := fmt.Sprintf("Function: %s (%d bytes, %.2f%%)", name, value, 100*float64(value)/float64(total))
		if details != want {
			t.Errorf("hover over %s: %q, want %q", name, details, want)
		}
	}
}
