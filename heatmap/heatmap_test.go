package heatmap

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"friday/internal/casetest"
)

// Each .in of testdata is lines read with the options its first line
// names; .want is each line's time and latency, or "skip".
func TestParseLine(t *testing.T) {
	casetest.Run(t, "testdata/*.txtar", func(in string) string {
		lines := strings.Split(strings.TrimSuffix(in, "\n"), "\n")
		o := LineOptions{}
		for _, opt := range strings.Fields(strings.TrimPrefix(lines[0], "#")) {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "latency-unit":
				o.LatencyUnit = v
			case "time-unit":
				o.TimeUnit = v
			case "fields":
				a, b, _ := strings.Cut(v, ",")
				o.TimeField, _ = strconv.Atoi(a)
				o.LatencyField, _ = strconv.Atoi(b)
			}
		}
		var got strings.Builder
		for _, l := range lines[1:] {
			if tm, lat, ok := parseLine(l, o); ok {
				fmt.Fprintf(&got, "%d %d\n", tm, lat)
			} else {
				got.WriteString("skip\n")
			}
		}
		return got.String()
	})
}

// Samples land in the column of their time and the row of their latency
// on a log scale; the ranges follow the samples.
func TestLatencyGrid(t *testing.T) {
	var l Latencies
	for i := range 1000 {
		l.Add(int64(i)*int64(time.Millisecond), 150*int64(time.Microsecond)) // 0.15 ms, all along
	}
	l.Add(500*int64(time.Millisecond), 80*int64(time.Millisecond)) // one outlier
	g := l.Grid(LatencyOptions{Step: 100 * time.Millisecond, RowsPerDecade: 10})
	if g.Cols != 10 || g.YUnit != "ms" {
		t.Fatalf("%d columns in %s, want 10 in ms", g.Cols, g.YUnit)
	}
	if g.Total() != 1001 || g.Max() != 100 {
		t.Errorf("total %d, max %d", g.Total(), g.Max())
	}
	row := func(lat float64) int {
		for r := 0; r < g.Rows; r++ {
			if g.Edges[r] <= lat && lat < g.Edges[r+1] {
				return r
			}
		}
		return -1
	}
	if n := g.Counts[5*g.Rows+row(80)]; n != 1 {
		t.Errorf("outlier cell holds %d", n)
	}
	if n := g.Counts[3*g.Rows+row(0.15)]; n != 100 {
		t.Errorf("cell of 0.15 ms in column 3 holds %d", n)
	}
	if g.Edges[0] > 0.15 || g.Edges[g.Rows] < 80 {
		t.Errorf("rows span %v to %v ms", g.Edges[0], g.Edges[g.Rows])
	}
}

func TestOffsets(t *testing.T) {
	g := Offsets([]int64{0, 10e6, 999e6, 1500e6, 2020e6}, nil, 50)
	if g.Cols != 3 || g.Rows != 50 {
		t.Fatalf("%dx%d", g.Cols, g.Rows)
	}
	for _, c := range []struct{ col, row int }{{0, 0}, {0, 49}, {1, 25}, {2, 1}} {
		if g.Counts[c.col*50+c.row] == 0 {
			t.Errorf("cell %v is empty", c)
		}
	}
	if g.Counts[0] != 2 || g.Total() != 5 {
		t.Errorf("counts %v", g.Counts)
	}
}
