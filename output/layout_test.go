package output

import (
	"math"
	"testing"
)

// Every value must land in the bucket whose printed range contains it,
// and buckets must follow each other without gaps.
func TestHistBucketRanges(t *testing.T) {
	values := []int64{-1 << 63, -5, -1, 0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 1000, 1023, 1024, 1 << 32, 1<<32 + 12345, 1<<62 - 1, 1 << 62, math.MaxInt64}
	for bits := 0; bits <= MaxHistBits; bits++ {
		for _, v := range values {
			idx := HistBucket(v, bits)
			if idx < 0 || idx >= HistBuckets(bits) {
				t.Fatalf("bits %d: value %d in bucket %d of %d", bits, v, idx, HistBuckets(bits))
			}
			lo, hi, neg := HistRange(idx, bits)
			if neg != (v < 0) || !neg && (v < lo || v > hi) {
				t.Errorf("bits %d: value %d in bucket %d = [%d, %d] neg %v", bits, v, idx, lo, hi, neg)
			}
		}
		next := int64(0)
		for idx := 1; idx < HistBuckets(bits); idx++ {
			lo, hi, _ := HistRange(idx, bits)
			if lo != next || hi < lo {
				t.Fatalf("bits %d: bucket %d is [%d, %d], want it to start at %d", bits, idx, lo, hi, next)
			}
			next = hi + 1
		}
		if next != math.MinInt64 { // the last bucket ends at MaxInt64
			t.Errorf("bits %d: buckets end before %d", bits, next-1)
		}
	}
}

// bpftrace's classic log2 buckets.
func TestHistBucketClassic(t *testing.T) {
	for _, c := range []struct {
		v   int64
		idx int
	}{{-3, 0}, {0, 1}, {1, 2}, {2, 3}, {3, 3}, {4, 4}, {7, 4}, {8, 5}, {1023, 11}, {1024, 12}, {math.MaxInt64, 64}} {
		if got := HistBucket(c.v, 0); got != c.idx {
			t.Errorf("HistBucket(%d, 0) = %d, want %d", c.v, got, c.idx)
		}
	}
}

func TestLhistBucket(t *testing.T) {
	for _, c := range []struct {
		v, min, max, step int64
		idx               int
	}{
		{-1, 0, 100, 5, 0}, {0, 0, 100, 5, 1}, {4, 0, 100, 5, 1}, {5, 0, 100, 5, 2},
		{99, 0, 100, 5, 20}, {100, 0, 100, 5, 21}, {1 << 40, 0, 100, 5, 21},
		{9, 0, 10, 3, 4}, {10, 0, 10, 3, 4}, {8, 0, 10, 3, 3},
		{-10, -10, 10, 5, 1}, {-11, -10, 10, 5, 0},
	} {
		if got := LhistBucket(c.v, c.min, c.max, c.step); got != c.idx {
			t.Errorf("LhistBucket(%d, %d, %d, %d) = %d, want %d", c.v, c.min, c.max, c.step, got, c.idx)
		}
		if n := LhistBuckets(c.min, c.max, c.step); LhistBucket(c.max, c.min, c.max, c.step) != n-1 {
			t.Errorf("lhist(%d, %d, %d): overflow bucket is not the last of %d", c.min, c.max, c.step, n)
		}
	}
}
