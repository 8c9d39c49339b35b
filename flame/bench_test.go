package flame_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"friday/flame"
	"friday/folded"
	"friday/internal/chrometest"
	"friday/internal/stackgen"
)

var generated sync.Map // number of stacks -> []byte

func stacksOf(b *testing.B, n int) []byte {
	if v, ok := generated.Load(n); ok {
		return v.([]byte)
	}
	var buf bytes.Buffer
	if err := stackgen.Write(&buf, n, stackgen.Walks); err != nil {
		b.Fatal(err)
	}
	generated.Store(n, buf.Bytes())
	return buf.Bytes()
}

func buildTree(b *testing.B, in []byte) *flame.Tree {
	t := flame.NewTree()
	r := folded.NewReaderSize(bytes.NewReader(in), "stacks", int64(len(in)))
	for r.Next() {
		s := r.Stack()
		t.Add(s.Frames, s.Same, s.Value, 0, false)
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	return t
}

// BenchmarkSVG reads distinct folded stacks, merges them and draws the SVG,
// as friday flamegraph does (bench/flamegraph.sh compares it with
// flamegraph.pl on the same input).
func BenchmarkSVG(b *testing.B) {
	benchmarkDraw(b, func(t *flame.Tree, w io.Writer) error { return t.WriteSVG(w, flame.Options{}) })
}

// BenchmarkHTML is the same for the HTML viewer, which holds every frame.
func BenchmarkHTML(b *testing.B) {
	benchmarkDraw(b, func(t *flame.Tree, w io.Writer) error { return t.WriteHTML(w, flame.Options{}) })
}

func benchmarkDraw(b *testing.B, draw func(*flame.Tree, io.Writer) error) {
	for _, n := range []int{100000, 1000000} {
		b.Run(fmt.Sprintf("stacks=%d", n), func(b *testing.B) {
			in := stacksOf(b, n)
			b.SetBytes(int64(len(in)))
			b.ResetTimer()
			for b.Loop() {
				t := buildTree(b, in)
				var out countWriter
				if err := draw(t, &out); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(t.Len()), "nodes")
				b.ReportMetric(float64(out), "output-bytes")
			}
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// BenchmarkViewer opens the HTML of a million distinct stacks in headless
// Chromium, searched from its address as it opens, and reports how long
// the first drawing takes, and reading all the frames (when the search's
// share becomes exact), from the start of the page's load, then another
// search among them: the medians of the runs, as other work on the machine
// may slow any one of them.
func BenchmarkViewer(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		b.Run(fmt.Sprintf("stacks=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "graph.html")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			t := buildTree(b, stacksOf(b, n))
			if err := t.WriteHTML(f, flame.Options{}); err != nil {
				b.Fatal(err)
			}
			f.Close()
			p := chrometest.New(b, 1200, 800)
			var paint, complete, search []float64
			for b.Loop() {
				p.Do(chromedp.Navigate("file://" + path + "?s=Lookup"))
				paint = append(paint, chrometest.Eval[float64](p, `new Promise(r => { const f = () => window.flameViewer && flameViewer.painted ? r(flameViewer.painted) : setTimeout(f, 5); f(); })`))
				complete = append(complete, waitComplete(b, p))
				search = append(search, chrometest.Eval[float64](p, `(() => { const t0 = performance.now(); flameViewer.search("Lookup.*Row"); return performance.now() - t0; })()`))
			}
			p.Screenshot(fmt.Sprintf("viewer-%d", n))
			b.ReportMetric(median(paint), "ms/first-paint")
			b.ReportMetric(median(complete), "ms/all-frames")
			b.ReportMetric(median(search), "ms/search")
		})
	}
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}
