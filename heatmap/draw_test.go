package heatmap

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"friday/internal/chrometest"
)

func testGrid() *Grid {
	var l Latencies
	for i := range 2000 {
		lat := 100 + (i*7919)%400 // 100-500 us
		l.Add(int64(i)*int64(5*time.Millisecond), int64(lat)*int64(time.Microsecond))
	}
	l.Add(int64(3*time.Second), int64(250*time.Millisecond)) // an outlier
	g := l.Grid(LatencyOptions{})
	g.Title = "Disk I/O latency"
	return g
}

// The SVG has a cell per non-empty cell, its count in its title.
func TestSVG(t *testing.T) {
	g := testGrid()
	path := filepath.Join(t.TempDir(), "h.svg")
	f, _ := os.Create(path)
	if err := g.WriteSVG(f, 1200); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(path)
	var doc struct {
		Groups []struct {
			ID    string `xml:"id,attr"`
			Rects []struct {
				Title string `xml:"title"`
				Fill  string `xml:"fill,attr"`
			} `xml:"rect"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	count := regexp.MustCompile(`: (\d+)$`)
	var total int64
	cells := 0
	for _, r := range doc.Groups[0].Rects {
		m := count.FindStringSubmatch(r.Title)
		if m == nil {
			t.Fatalf("cell title %q", r.Title)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		total += n
		cells++
		if n == 1 && r.Fill == "#ffffff" {
			t.Error("a cell of one sample is white")
		}
	}
	if total != g.Total() || total != 2001 {
		t.Errorf("cells hold %d samples, want %d", total, g.Total())
	}
	nonEmpty := 0
	for _, c := range g.Counts {
		if c > 0 {
			nonEmpty++
		}
	}
	if cells != nonEmpty {
		t.Errorf("%d cells drawn, %d not empty", cells, nonEmpty)
	}
}

// In the HTML page, hovering over a cell shows its ranges and count; the
// outlier's cell says it holds one sample.
func TestHTMLHover(t *testing.T) {
	g := testGrid()
	path := filepath.Join(t.TempDir(), "h.html")
	f, _ := os.Create(path)
	if err := g.WriteHTML(f, 1200); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p := chrometest.New(t, 1200, 800)
	p.Open(path)
	// The outlier's cell: 250 ms at 3 s.
	col := int((int64(3*time.Second) - g.Start) / g.Step)
	row := -1
	for r := 0; r < g.Rows; r++ {
		if g.Edges[r] <= 250 && 250 < g.Edges[r+1] {
			row = r
		}
	}
	box := chrometest.Eval[[]float64](p, `(() => { const c = document.querySelector("canvas").getBoundingClientRect(); return [c.left, c.top]; })()`)
	pw, ph := g.size(1200)
	x := box[0] + 70 + (float64(col)+0.5)*pw/float64(g.Cols)
	y := box[1] + 8 + ph - (float64(row)+0.5)*ph/float64(g.Rows)
	p.Do(chromedp.MouseEvent("mouseMoved", x, y))
	p.Screenshot("heatmap")
	details := chrometest.Eval[string](p, `document.querySelector(".heatmap-details").textContent`)
	if !strings.HasSuffix(details, ": 1") || !strings.Contains(details, "latency") || !strings.Contains(details, "ms") {
		t.Errorf("hover over the outlier shows %q", details)
	}
}
