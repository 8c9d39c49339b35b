package tool

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strings"

	"friday/script"
)

// Hist is one histogram of a summary, as bcc prints it: power-of-two
// slots, slot k counting the values from 2^k to 2^(k+1)-1 and slot 0 the
// values 0 and 1; or, with Step set, linear slots of Step values from
// Min on.
type Hist struct {
	// Key is what the histogram is for, among several ("sda" for a
	// histogram per disk); nil for a tool's lone histogram.
	Key any
	// Comm is the command of the process or thread Key is, shown after
	// it; empty for other keys.
	Comm  string
	Slots []uint64
	// Step and Min make the histogram linear.
	Step, Min int64
}

// Log2 regroups the buckets of a script's hist() into bcc's power-of-two
// slots. Negative values, which the tools' scripts do not measure, are
// left out.
func Log2(bs []script.Bucket) []uint64 {
	var slots []uint64
	for _, b := range bs {
		if b.Count == 0 || b.Max < 0 {
			continue
		}
		k := 0
		if b.Min > 1 {
			k = bits.Len64(uint64(b.Min)) - 1
		}
		for len(slots) <= k {
			slots = append(slots, 0)
		}
		slots[k] += b.Count
	}
	return slots
}

// Linear takes the buckets of a script's lhist(min, max, step) as bcc's
// linear slots: from min up, step values each; values below min are
// left out and those from max up counted in the last slot.
func Linear(bs []script.Bucket) (slots []uint64, lo, step int64) {
	for _, b := range bs {
		switch {
		case b.Min == math.MinInt64:
			continue
		case b.Max == math.MaxInt64 && len(slots) > 0:
			slots = append(slots, b.Count)
		default:
			if len(slots) == 0 {
				lo, step = b.Min, b.Max-b.Min+1
			}
			slots = append(slots, b.Count)
		}
	}
	return slots, lo, step
}

// stars is the bar of a count: width characters for the largest.
func stars(n, max uint64, width int) string {
	k := 0
	if max > 0 {
		k = int(float64(width) * float64(n) / float64(max))
	}
	return strings.Repeat("*", min(k, width))
}

// writeHist prints one histogram as bcc does, its slots up to the last
// that counts anything; nothing when none does.
func writeHist(w *bytes.Buffer, unit string, h Hist) {
	last := -1
	var max uint64
	for i, n := range h.Slots {
		if n > 0 {
			last = i
		}
		if n > max {
			max = n
		}
	}
	if last < 0 {
		return
	}
	if h.Step > 0 {
		fmt.Fprintf(w, "     %-13s : count     distribution\n", unit)
		for i := 0; i <= last; i++ {
			fmt.Fprintf(w, "        %-10d : %-8d |%-40s|\n", h.Min+int64(i)*h.Step, h.Slots[i], stars(h.Slots[i], max, 40))
		}
		return
	}
	// Slots beyond 2^32 need wider columns, and get half the bar to stay
	// within 80 columns.
	head, row, width := "     %-19s : count     distribution\n", "%10d -> %-10d : %-8d |%-*s|\n", 40
	if last >= 32 {
		head, row, width = "               %-29s : count     distribution\n", "%20d -> %-20d : %-8d |%-*s|\n", 20
	}
	fmt.Fprintf(w, head, unit)
	for i := 0; i <= last; i++ {
		lo, hi := uint64(1)<<i, uint64(1)<<(i+1)-1
		if i == 0 {
			lo = 0
		}
		fmt.Fprintf(w, row, lo, hi, h.Slots[i], width, stars(h.Slots[i], max, width))
	}
}

// sortHists orders histograms by key: numbers by value, others as text.
func sortHists(hs []Hist) {
	slices.SortStableFunc(hs, func(a, b Hist) int {
		an, aok := number(a.Key)
		bn, bok := number(b.Key)
		if aok && bok {
			return cmp.Compare(an, bn)
		}
		return strings.Compare(fmt.Sprint(a.Key), fmt.Sprint(b.Key))
	})
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	}
	return 0, false
}

// histJSON is a histogram as JSON shows it.
type histJSON struct {
	Unit    string       `json:"unit"`
	Buckets []bucketJSON `json:"buckets"`
}

type bucketJSON struct {
	Min   int64  `json:"min"`
	Max   int64  `json:"max"`
	Count uint64 `json:"count"`
}

func (h Hist) json(unit string) histJSON {
	last := -1
	for i, n := range h.Slots {
		if n > 0 {
			last = i
		}
	}
	j := histJSON{Unit: unit, Buckets: []bucketJSON{}}
	for i := 0; i <= last; i++ {
		b := bucketJSON{Count: h.Slots[i]}
		switch {
		case h.Step > 0:
			b.Min = h.Min + int64(i)*h.Step
			b.Max = b.Min + h.Step - 1
		case i == 0:
			b.Max = 1
		default:
			b.Min, b.Max = 1<<i, 1<<(i+1)-1
		}
		j.Buckets = append(j.Buckets, b)
	}
	return j
}

// writeHists prints histograms of unit as bcc does: each after a line
// "label = key" when label is not empty.
func writeHists(w io.Writer, unit, label string, hs []Hist) error {
	var b bytes.Buffer
	for _, h := range hs {
		if label != "" {
			fmt.Fprintf(&b, "\n%s = %v", label, h.Key)
			if h.Comm != "" {
				fmt.Fprintf(&b, " %s", h.Comm)
			}
			b.WriteByte('\n')
		}
		writeHist(&b, unit, h)
	}
	_, err := w.Write(b.Bytes())
	return err
}
