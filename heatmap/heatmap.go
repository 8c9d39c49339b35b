// Package heatmap draws heat maps: time across, a value up (latency on a
// log scale, or the offset of a sample within its second), and the count
// of samples in each cell as its color. Collectors feed it samples as they
// come (Latencies.Add); Grid buckets them; WriteSVG and WriteHTML draw.
package heatmap

import (
	"math"
	"slices"
	"time"
)

// Grid is the counts of samples in cells: Cols columns of time, each Rows
// cells of value, counted in Counts[col*Rows+row], row 0 the lowest value.
type Grid struct {
	Title    string  `json:"title"`
	Subtitle string  `json:"subtitle,omitempty"`
	Cols     int     `json:"cols"`
	Rows     int     `json:"rows"`
	Counts   []int64 `json:"counts"`
	// Start is the time of the first column's left edge, in nanoseconds
	// from the first sample (or of the wall clock when StartTime is set);
	// Step is a column's width in nanoseconds.
	Start int64 `json:"start"`
	Step  int64 `json:"step"`
	// StartTime is the wall clock time of Start when known.
	StartTime time.Time `json:"startTime,omitzero"`
	// Edges are the Rows+1 bounds of the rows' values, in YUnit.
	Edges []float64 `json:"edges"`
	YUnit string    `json:"yUnit"`
	YName string    `json:"yName"`
	// Log says the rows are spaced on a log scale.
	Log bool `json:"log"`
	// Offsets says rows are offsets within a second, drawn from the top.
	Offsets bool `json:"offsets,omitempty"`
	// Below and Above count the samples outside the rows' range.
	Below int64 `json:"below,omitempty"`
	Above int64 `json:"above,omitempty"`
}

// Max is the largest count of a cell.
func (g *Grid) Max() int64 {
	if len(g.Counts) == 0 {
		return 0
	}
	return slices.Max(g.Counts)
}

// Total is the number of samples in cells.
func (g *Grid) Total() int64 {
	var n int64
	for _, c := range g.Counts {
		n += c
	}
	return n
}

// Latencies collects (time, latency) samples for a latency heat map.
type Latencies struct {
	times, lats []int64
	// counts are how many samples each (time, latency) stands for; nil
	// while every one is one.
	counts []int64
	n      int64
}

// Add adds a sample: when it happened and how long it took, both in
// nanoseconds (the time from any fixed point: boot, the epoch, the start).
func (l *Latencies) Add(at, latency int64) { l.AddN(at, latency, 1) }

// AddN adds n samples of one time and latency, as a collector that
// counts them in the kernel by time slot and latency bucket gives them.
func (l *Latencies) AddN(at, latency, n int64) {
	if n != 1 && l.counts == nil {
		l.counts = make([]int64, len(l.times), cap(l.times))
		for i := range l.counts {
			l.counts[i] = 1
		}
	}
	l.times = append(l.times, at)
	l.lats = append(l.lats, latency)
	if l.counts != nil {
		l.counts = append(l.counts, n)
	}
	l.n += n
}

// Len is the number of samples.
func (l *Latencies) Len() int64 { return l.n }

// LatencyOptions set a latency heat map's cells. Zero values choose.
type LatencyOptions struct {
	// Step is a column's width: chosen for about Columns columns when 0.
	Step    time.Duration
	Columns int // 120 by default
	// RowsPerDecade is how many rows a tenfold latency spans: 10.
	RowsPerDecade int
	// Min and Max bound the latencies drawn: those of the samples when 0.
	Min, Max time.Duration
}

// Grid buckets the samples: columns of time from the first sample, rows
// of latency on a log scale, in the unit that suits their range.
func (l *Latencies) Grid(o LatencyOptions) *Grid {
	g := &Grid{YName: "latency", Log: true}
	if len(l.times) == 0 {
		g.Cols, g.Rows, g.Step, g.Edges, g.YUnit = 1, 1, int64(time.Second), []float64{1, 10}, "us"
		g.Counts = make([]int64, 1)
		return g
	}
	t0, t1 := slices.Min(l.times), slices.Max(l.times)
	cols := o.Columns
	if cols <= 0 {
		cols = 120
	}
	step := int64(o.Step)
	if step <= 0 {
		step = niceStep((t1 - t0 + 1) / int64(cols))
	}
	g.Start, g.Step = (t0/step)*step, step
	g.Cols = int((t1-g.Start)/step) + 1

	lo, hi := int64(o.Min), int64(o.Max)
	if lo <= 0 || hi <= 0 {
		mn, mx := int64(math.MaxInt64), int64(1)
		for _, v := range l.lats {
			if v > 0 {
				mn = min(mn, v)
			}
			mx = max(mx, v)
		}
		if mn == math.MaxInt64 {
			mn = 1
		}
		if lo <= 0 {
			lo = mn
		}
		if hi <= 0 {
			hi = mx
		}
	}
	perDecade := o.RowsPerDecade
	if perDecade <= 0 {
		perDecade = 10
	}
	// Rows start at a power of ten at or below the smallest latency.
	base := math.Pow(10, math.Floor(math.Log10(float64(lo))))
	g.Rows = max(1, int(math.Ceil(math.Log10(float64(hi)/base)*float64(perDecade)+1e-9)))
	if float64(hi) >= base*math.Pow(10, float64(g.Rows)/float64(perDecade)) {
		g.Rows++
	}
	unit, scale := latencyUnit(hi)
	g.YUnit = unit
	g.Edges = make([]float64, g.Rows+1)
	for i := range g.Edges {
		g.Edges[i] = base * math.Pow(10, float64(i)/float64(perDecade)) / scale
	}
	g.Counts = make([]int64, g.Cols*g.Rows)
	for i, t := range l.times {
		v, n := l.lats[i], int64(1)
		if l.counts != nil {
			n = l.counts[i]
		}
		if v < lo {
			g.Below += n
			continue
		}
		if v > hi {
			g.Above += n
			continue
		}
		r := int(math.Floor(math.Log10(float64(max(v, 1))/base) * float64(perDecade)))
		r = min(max(r, 0), g.Rows-1)
		c := int((t - g.Start) / step)
		g.Counts[c*g.Rows+r] += n
	}
	return g
}

// Offsets buckets sample times (nanoseconds from the start of the
// profile) as FlameScope draws them: a column a second, rows the offset
// within that second, rowsPerSecond of them (50: 20 ms each), each sample
// counting value.
func Offsets(times, values []int64, rowsPerSecond int) *Grid {
	if rowsPerSecond <= 0 {
		rowsPerSecond = 50
	}
	g := &Grid{Rows: rowsPerSecond, Step: int64(time.Second), YUnit: "ms", YName: "offset", Offsets: true}
	end := int64(0)
	for _, t := range times {
		end = max(end, t)
	}
	g.Cols = int(end/int64(time.Second)) + 1
	g.Edges = make([]float64, g.Rows+1)
	for i := range g.Edges {
		g.Edges[i] = 1000 * float64(i) / float64(g.Rows)
	}
	g.Counts = make([]int64, g.Cols*g.Rows)
	rowNs := int64(time.Second) / int64(g.Rows)
	for i, t := range times {
		if t < 0 {
			continue
		}
		c, r := int(t/int64(time.Second)), int(t%int64(time.Second)/rowNs)
		r = min(r, g.Rows-1)
		v := int64(1)
		if values != nil {
			v = values[i]
		}
		g.Counts[c*g.Rows+r] += v
	}
	return g
}

// niceStep rounds a column width up to 1, 2 or 5 times a power of ten
// nanoseconds, at least a millisecond.
func niceStep(ns int64) int64 {
	if ns < int64(time.Millisecond) {
		return int64(time.Millisecond)
	}
	p := int64(1)
	for p*10 <= ns {
		p *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= ns {
			return m * p
		}
	}
	return 10 * p
}

// latencyUnit is the unit latencies up to max nanoseconds read best in,
// and its size in nanoseconds.
func latencyUnit(max int64) (string, float64) {
	switch {
	case max >= 10*int64(time.Second):
		return "s", 1e9
	case max >= 10*int64(time.Millisecond):
		return "ms", 1e6
	case max >= 10*int64(time.Microsecond):
		return "us", 1e3
	}
	return "ns", 1
}
