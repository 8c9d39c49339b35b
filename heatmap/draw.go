package heatmap

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Layout of a drawing, in pixels.
const (
	left   = 70 // room for the value labels
	right  = 20
	top    = 50 // title and subtitle
	bottom = 50 // time labels and the details line
)

// size is the plot's width and height for a grid, cells at least a pixel.
func (g *Grid) size(width int) (w, h float64) {
	w = float64(max(width-left-right, g.Cols))
	h = math.Min(600, math.Max(200, float64(g.Rows*8)))
	return w, h
}

// color is a cell's color: empty cells are white, and the scale is
// logarithmic, so that a cell of one sample (an outlier) is a clearly
// visible light orange next to white, and the busiest cells dark red.
func color(count, max int64) string {
	if count <= 0 {
		return "#ffffff"
	}
	v := 1.0
	if max > 1 {
		v = math.Log(float64(count)) / math.Log(float64(max))
	}
	lerp := func(a, b float64) int { return int(math.Round(a + (b-a)*v)) }
	return fmt.Sprintf("#%02x%02x%02x", lerp(253, 150), lerp(190, 0), lerp(110, 20))
}

// CellText describes a cell: its time range, its value range and count.
func (g *Grid) CellText(c, r int) string {
	return fmt.Sprintf("%s, %s %s: %d", g.timeRange(c), g.YName, g.valueRange(r), g.Counts[c*g.Rows+r])
}

func (g *Grid) timeRange(c int) string {
	t0 := g.Start + int64(c)*g.Step
	return g.timeLabel(t0, true) + " to " + g.timeLabel(t0+g.Step, true)
}

// timeLabel is a column edge: the wall clock when known, else the time
// since the first sample.
func (g *Grid) timeLabel(t int64, precise bool) string {
	if !g.StartTime.IsZero() {
		at := g.StartTime.Add(time.Duration(t - g.Start))
		if precise && g.Step < int64(time.Second) {
			return at.Format("15:04:05.000")
		}
		return at.Format("15:04:05")
	}
	return formatDuration(t-g.Start, g.Step)
}

func (g *Grid) valueRange(r int) string {
	return fmt.Sprintf("%s-%s %s", formatValue(g.Edges[r]), formatValue(g.Edges[r+1]), g.YUnit)
}

// formatDuration writes a time offset in seconds, with as many decimals
// as the step needs.
func formatDuration(ns, step int64) string {
	decimals := 0
	for s := step; s < int64(time.Second) && decimals < 9; s *= 10 {
		decimals++
	}
	return strconv.FormatFloat(float64(ns)/1e9, 'f', decimals, 64) + "s"
}

func formatValue(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// ticks are the rows whose lower edges get a label: decades on a log
// scale, tenths of a second for offsets, else about eight.
func (g *Grid) ticks() []int {
	var rows []int
	for r := 0; r <= g.Rows; r++ {
		e := g.Edges[r]
		switch {
		case g.Log:
			l := math.Log10(e)
			if math.Abs(l-math.Round(l)) < 1e-6 {
				rows = append(rows, r)
			}
		case g.Offsets:
			if r%max(1, g.Rows/10) == 0 {
				rows = append(rows, r)
			}
		default:
			if r%max(1, g.Rows/8) == 0 {
				rows = append(rows, r)
			}
		}
	}
	return rows
}

//go:embed heatmap.js
var script string

// Script is the JavaScript that draws a grid on a canvas in a page, for
// other pages that show a heat map: fridayHeatmap(box, grid, options).
var Script = script

// WriteSVG draws the grid as an SVG, width pixels wide: hovering over a
// cell shows its time, value range and count.
func (g *Grid) WriteSVG(out io.Writer, width int) error {
	w := bufio.NewWriter(out)
	pw, ph := g.size(width)
	W, H := left+pw+right, top+ph+bottom
	cw, ch := pw/float64(g.Cols), ph/float64(g.Rows)
	fmt.Fprintf(w, `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" xmlns="http://www.w3.org/2000/svg">
<style>
text{font-family:Verdana,"DejaVu Sans",sans-serif;font-size:12px}
#title{font-size:17px;text-anchor:middle}
#subtitle{fill:#666;text-anchor:middle}
.yl{text-anchor:end}
.xl{text-anchor:middle}
#cells rect:hover{stroke:#000;stroke-width:1}
</style>
<rect width="100%%" height="100%%" fill="#f8f8f8"/>
<text id="title" x="%.0f" y="22">%s</text>
`, W, H, W, H, W/2, esc(g.Title))
	if g.Subtitle != "" {
		fmt.Fprintf(w, "<text id=\"subtitle\" x=\"%.0f\" y=\"40\">%s</text>\n", W/2, esc(g.Subtitle))
	}
	fmt.Fprintf(w, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\" stroke=\"#bbb\"/>\n", left, top, pw, ph)
	rowY := func(r int) float64 { // top edge of row r's cell
		if g.Offsets {
			return top + float64(r)*ch
		}
		return top + ph - float64(r+1)*ch
	}
	mx := g.Max()
	w.WriteString("<g id=\"cells\">\n")
	for c := 0; c < g.Cols; c++ {
		for r := 0; r < g.Rows; r++ {
			n := g.Counts[c*g.Rows+r]
			if n == 0 {
				continue
			}
			fmt.Fprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"><title>%s</title></rect>\n",
				left+float64(c)*cw, rowY(r), cw, ch, color(n, mx), esc(g.CellText(c, r)))
		}
	}
	w.WriteString("</g>\n")
	for _, r := range g.ticks() {
		y := rowY(r) + ch
		if g.Offsets {
			y = rowY(r)
		}
		fmt.Fprintf(w, "<text class=\"yl\" x=\"%d\" y=\"%.1f\">%s %s</text>\n", left-6, y+4, formatValue(g.Edges[r]), g.YUnit)
	}
	every := int(math.Ceil(90 / cw))
	for c := 0; c <= g.Cols; c += max(every, 1) {
		fmt.Fprintf(w, "<text class=\"xl\" x=\"%.1f\" y=\"%.0f\">%s</text>\n", left+float64(c)*cw, top+ph+16, g.timeLabel(g.Start+int64(c)*g.Step, false))
	}
	fmt.Fprintf(w, "<text x=\"%d\" y=\"%.0f\" id=\"details\">%s</text>\n", left, H-10, esc(g.summary()))
	w.WriteString("</svg>\n")
	return w.Flush()
}

// summary says how many samples the map holds, and how many fell outside.
func (g *Grid) summary() string {
	s := fmt.Sprintf("%d samples, %d per cell at most", g.Total(), g.Max())
	if g.Below+g.Above > 0 {
		s += fmt.Sprintf("; %d below and %d above the range drawn", g.Below, g.Above)
	}
	return s
}

// WriteHTML writes a page that draws the grid on a canvas: hovering over a
// cell shows its time, value range and count.
func (g *Grid) WriteHTML(out io.Writer, width int) error {
	data, err := json.Marshal(g)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>
body { margin: 0; background: #f8f8f8; font: 13px Verdana, "DejaVu Sans", sans-serif; }
h1 { font-size: 17px; font-weight: normal; text-align: center; margin: 8px 0 2px; }
#subtitle { text-align: center; color: #666; }
#map { padding: 6px 10px; }
</style></head><body>
<h1>%s</h1>
<div id="subtitle">%s</div>
<div id="map"></div>
<script>
%s</script>
<script>
fridayHeatmap(document.getElementById("map"), %s, { width: %d });
</script>
</body></html>
`, esc(g.Title), esc(g.Title), esc(g.Subtitle), Script, data, width)
	return w.Flush()
}

func esc(s string) string { return html.EscapeString(strings.ToValidUTF8(s, "\uFFFD")) }
