package flame

import (
	"bufio"
	_ "embed"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Options set how a flame graph looks. The zero value of a field means its
// default.
type Options struct {
	Title    string // "Flame Graph", or "Icicle Graph" when Inverted
	Subtitle string
	// CountName names the values: "samples" by default.
	CountName string
	// NameType names the frames in the details line: "Function:".
	NameType string
	Width    int     // of the image in pixels: 1200
	Height   int     // of a frame in pixels: 16
	FontSize float64 // 12
	FontType string  // "Verdana"
	// MinWidth leaves out frames narrower than this many pixels (0.1), or,
	// with MinPercent, than this percentage of the total.
	MinWidth   float64
	MinPercent bool
	// Inverted draws an icicle graph: the root at the top.
	Inverted bool
	Palette  string // one of Palettes: "hot"
	// Normalize scales the first profile of a differential graph to the
	// second's total before comparing them.
	Normalize bool
	// Negate flips the sign of changes: for a differential graph drawn
	// from the first profile, with the second as "before".
	Negate bool
}

func (o Options) withDefaults() Options {
	if o.Title == "" {
		o.Title = "Flame Graph"
		if o.Inverted {
			o.Title = "Icicle Graph"
		}
	}
	if o.CountName == "" {
		o.CountName = "samples"
	}
	if o.NameType == "" {
		o.NameType = "Function:"
	}
	if o.Width <= 0 {
		o.Width = 1200
	}
	if o.Height <= 0 {
		o.Height = 16
	}
	if o.FontSize <= 0 {
		o.FontSize = 12
	}
	if o.FontType == "" {
		o.FontType = "Verdana"
	}
	if o.MinWidth <= 0 {
		o.MinWidth = 0.1
	}
	if o.Palette == "" {
		o.Palette = "hot"
	}
	return o
}

// fontWidth is the average width of a character relative to the font's
// size, for Verdana and its stand-ins: what decides how much of a name fits
// in a frame before the page can measure it.
const fontWidth = 0.59

const xpad = 10 // pixels left and right of the frames

//go:embed svg.js
var svgScript string

// WriteSVG draws the tree as an interactive SVG flame graph.
func (t *Tree) WriteSVG(out io.Writer, o Options) error {
	o = o.withDefaults()
	w := bufio.NewWriterSize(out, 1<<16)
	total := t.Total()
	fw := float64(o.Width - 2*xpad)
	perValue := 0.0
	if total > 0 {
		perValue = fw / float64(total)
	}
	minValue := int64(math.MaxInt64)
	switch {
	case o.MinPercent:
		minValue = int64(math.Ceil(float64(total) * o.MinWidth / 100))
	case perValue > 0:
		minValue = int64(math.Ceil(o.MinWidth / perValue))
	}
	nodes, depth := t.preorder(max(minValue, 1))
	maxDepth := int32(0)
	for _, d := range depth {
		maxDepth = max(maxDepth, d)
	}
	fs := o.FontSize
	top := fs * 3
	if o.Subtitle != "" {
		top += fs * 2
	}
	bottom := fs*2 + 10
	height := math.Ceil(float64(maxDepth+1)*float64(o.Height) + top + bottom)
	frameY := func(d int32) float64 {
		if o.Inverted {
			return top + float64(d)*float64(o.Height)
		}
		return height - bottom - float64(d+1)*float64(o.Height)
	}

	// Diff colors need the largest change of any frame drawn.
	scale := 1.0
	if o.Normalize && t.Diff() && t.TotalBefore() > 0 {
		scale = float64(total) / float64(t.TotalBefore())
	}
	sign := 1.0
	if o.Negate {
		sign = -1
	}
	delta := func(n int32) float64 { return sign * (float64(t.value.get(n)) - scale*float64(t.beforeOf(n))) }
	maxDelta := 0.0
	if t.Diff() {
		for _, n := range nodes[1:] {
			maxDelta = math.Max(maxDelta, math.Abs(delta(n)))
		}
	}

	fmt.Fprintf(w, `<?xml version="1.0" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg version="1.1" width="%d" height="%.0f" viewBox="0 0 %d %.0f" xmlns="http://www.w3.org/2000/svg" data-total="%d" data-countname="%s" data-nametype="%s" data-fontsize="%g" data-fontwidth="%g" data-inverted="%t">
`, o.Width, height, o.Width, height, total, attr(o.CountName), attr(o.NameType), fs, fontWidth, o.Inverted)
	fmt.Fprintf(w, `<style>
text{font-family:%s,"DejaVu Sans",sans-serif;font-size:%gpx;fill:#000}
#frames text{pointer-events:none}
#frames rect{rx:2px;ry:2px}
#frames g{cursor:pointer}
#frames g:hover rect{stroke:#000;stroke-width:0.5}
.hide{display:none}
.parent{opacity:0.5}
.ui{cursor:pointer}
#title{font-size:%gpx;text-anchor:middle}
#subtitle{fill:#666;text-anchor:middle}
#search,#matched{text-anchor:end}
</style>
<defs><linearGradient id="bg" y1="0" y2="1" x1="0" x2="0"><stop stop-color="#eeeeee" offset="5%%"/><stop stop-color="#eeeeb0" offset="95%%"/></linearGradient></defs>
<rect x="0" y="0" width="100%%" height="100%%" fill="url(#bg)"/>
`, attr(o.FontType), fs, fs+5)
	fmt.Fprintf(w, "<text id=\"title\" x=\"%d\" y=\"%g\">%s</text>\n", o.Width/2, fs*2, text(o.Title))
	if o.Subtitle != "" {
		fmt.Fprintf(w, "<text id=\"subtitle\" x=\"%d\" y=\"%g\">%s</text>\n", o.Width/2, fs*4, text(o.Subtitle))
	}
	fmt.Fprintf(w, "<text id=\"unzoom\" class=\"ui hide\" x=\"%d\" y=\"%g\">Reset Zoom</text>\n", xpad, fs*2)
	fmt.Fprintf(w, "<text id=\"search\" class=\"ui\" x=\"%d\" y=\"%g\">Search</text>\n", o.Width-xpad, fs*2)
	fmt.Fprintf(w, "<text id=\"details\" x=\"%d\" y=\"%g\"> </text>\n", xpad, height-fs/2-4)
	fmt.Fprintf(w, "<text id=\"matched\" x=\"%d\" y=\"%g\"> </text>\n", o.Width-xpad, height-fs/2-4)
	w.WriteString("<g id=\"frames\">\n")

	// next[d] is where the next frame at depth d starts, in value units
	// from the left: frames are drawn in preorder, a frame's children from
	// its left edge, in name order.
	next := make([]int64, maxDepth+2)
	var buf []byte
	for i, n := range nodes {
		d := depth[i]
		x0 := next[d]
		next[d] += t.value.get(n)
		next[d+1] = x0
		// Both edges round to a tenth of a pixel, so that a frame's
		// children lie within it and siblings meet exactly.
		left := round1(xpad + float64(x0)*perValue)
		right := round1(xpad + float64(x0+t.value.get(n))*perValue)
		name := t.Name(n)
		var c rgb
		switch {
		case t.Diff():
			c = diffColor(delta(n), maxDelta)
		case n == 0:
			c = rgb{230, 230, 230}
		default:
			c = frameColor(o.Palette, name, int(d))
		}
		shown := displayName(name)
		if n == 0 {
			shown = "all"
		}
		buf = append(buf[:0], "<g><title>"...)
		buf = appendText(buf, shown)
		buf = append(buf, " ("...)
		buf = appendCount(buf, t.value.get(n))
		buf = append(buf, ' ')
		buf = appendText(buf, o.CountName)
		buf = append(buf, ", "...)
		buf = appendPercent(buf, t.value.get(n), total)
		if t.Diff() {
			buf = append(buf, "; "...)
			buf = appendDelta(buf, delta(n), float64(total))
		}
		buf = append(buf, ")</title><rect x=\""...)
		buf = strconv.AppendFloat(buf, left, 'f', 1, 64)
		buf = append(buf, "\" y=\""...)
		y := frameY(d)
		buf = strconv.AppendFloat(buf, y, 'f', -1, 64)
		buf = append(buf, "\" width=\""...)
		buf = strconv.AppendFloat(buf, right-left, 'f', 1, 64)
		buf = append(buf, "\" height=\""...)
		buf = strconv.AppendInt(buf, int64(o.Height-1), 10)
		buf = append(buf, "\" fill=\""...)
		buf = append(buf, c.hex()...)
		buf = append(buf, "\"/>"...)
		if label := fitName(shown, right-left, fs); label != "" {
			buf = append(buf, "<text x=\""...)
			buf = strconv.AppendFloat(buf, left+3, 'f', 1, 64)
			buf = append(buf, "\" y=\""...)
			buf = strconv.AppendFloat(buf, y+float64(o.Height)/2+fs/2-1.5, 'f', 1, 64)
			buf = append(buf, "\">"...)
			buf = appendText(buf, label)
			buf = append(buf, "</text>"...)
		}
		buf = append(buf, "</g>\n"...)
		w.Write(buf)
	}
	w.WriteString("</g>\n<script><![CDATA[\n")
	w.WriteString(svgScript)
	w.WriteString("]]></script>\n</svg>\n")
	return w.Flush()
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// fitName is as much of a name as fits a frame of the given width, cut
// with "..": nothing when fewer than three characters fit.
func fitName(name string, width, fontSize float64) string {
	chars := int((width - 6) / (fontSize * fontWidth))
	if chars < 3 {
		return ""
	}
	if utf8.RuneCountInString(name) <= chars {
		return name
	}
	r := []rune(name)
	return string(r[:chars-2]) + ".."
}

// appendCount writes n with thousands separators, as the classic flame
// graph does.
func appendCount(b []byte, n int64) []byte {
	s := strconv.FormatInt(n, 10)
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, byte(c))
	}
	return b
}

func appendPercent(b []byte, n, total int64) []byte {
	p := 100.0
	if total > 0 {
		p = 100 * float64(n) / float64(total)
	}
	b = strconv.AppendFloat(b, p, 'f', 2, 64)
	return append(b, '%')
}

// appendDelta writes a differential frame's change, in percent of the
// total.
func appendDelta(b []byte, d, total float64) []byte {
	p := 0.0
	if total > 0 {
		p = 100 * d / total
	}
	if p >= 0 {
		b = append(b, '+')
	}
	b = strconv.AppendFloat(b, p, 'f', 2, 64)
	return append(b, '%')
}

// appendText writes s escaped for XML text, with invalid UTF-8 replaced.
func appendText(b []byte, s string) []byte {
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch r {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '"':
			b = append(b, "&quot;"...)
		default:
			if r < 0x20 && r != '\t' {
				r = '\uFFFD'
			}
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

func text(s string) string { return string(appendText(nil, s)) }

func attr(s string) string { return html.EscapeString(strings.ToValidUTF8(s, "\uFFFD")) }
