package heatmap

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// LineOptions tell how to read a time and a latency from lines of text.
type LineOptions struct {
	// TimeField and LatencyField are the 1-based fields to read; 0 picks
	// the first numeric field for the time and the last for the latency.
	TimeField, LatencyField int
	// TimeUnit is the unit of times written without one: "s", "ms",
	// "us", "ns", or "" to tell by the number: an integer is nanoseconds
	// (bpftrace's nsecs and elapsed), a decimal fraction seconds (bcc's
	// timestamps).
	TimeUnit string
	// LatencyUnit is the unit of latencies written without one: "us"
	// when empty.
	LatencyUnit string
}

var unitNs = map[string]float64{"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}

// CheckUnit says whether u names a unit of time.
func CheckUnit(u string) bool { _, ok := unitNs[u]; return ok }

// ReadLatencies reads a time and a latency from each line of r, adding
// them to l. Each line is fields separated by blanks or commas; a field is
// a number, optionally with a unit (250us, 1.5ms), or name=number, or, for
// the time, a time of day HH:MM:SS[.fraction] as bcc's -T prints. Lines
// without two numbers (headers, blank lines) are skipped and counted.
func ReadLatencies(r io.Reader, name string, o LineOptions, l *Latencies) (skipped int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t, lat, ok := parseLine(sc.Text(), o)
		if !ok {
			if strings.TrimSpace(sc.Text()) != "" {
				skipped++
			}
			continue
		}
		l.Add(t, lat)
	}
	if err := sc.Err(); err != nil {
		return skipped, fmt.Errorf("%s:%d: %v", name, line, err)
	}
	return skipped, nil
}

// parseLine reads the time and latency of a line, in nanoseconds.
func parseLine(s string, o LineOptions) (t, lat int64, ok bool) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
	type num struct {
		v       float64
		unit    string
		integer bool
		clock   bool
	}
	var nums []num
	var at []int // field index of each number
	for i, f := range fields {
		if _, v, found := strings.Cut(f, "="); found {
			f = v
		}
		if n, ok := parseClock(f); ok {
			nums = append(nums, num{v: n, unit: "s", clock: true})
			at = append(at, i+1)
			continue
		}
		num0 := strings.TrimRightFunc(f, func(r rune) bool { return r == 's' || r == 'n' || r == 'u' || r == 'm' || r == 'µ' })
		unit := f[len(num0):]
		if unit != "" && !CheckUnit(unit) {
			continue
		}
		v, err := strconv.ParseFloat(num0, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			continue
		}
		nums = append(nums, num{v: v, unit: unit, integer: !strings.ContainsAny(num0, ".eE")})
		at = append(at, i+1)
	}
	pick := func(field, def int) (num, bool) {
		if field == 0 {
			if def < 0 || def >= len(nums) {
				return num{}, false
			}
			return nums[def], true
		}
		for k, f := range at {
			if f == field {
				return nums[k], true
			}
		}
		return num{}, false
	}
	if len(nums) < 2 && (o.TimeField == 0 || o.LatencyField == 0) {
		return 0, 0, false
	}
	tn, ok1 := pick(o.TimeField, 0)
	ln, ok2 := pick(o.LatencyField, len(nums)-1)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	tu := tn.unit
	if tu == "" {
		tu = o.TimeUnit
	}
	if tu == "" {
		tu = "s"
		if tn.integer {
			tu = "ns"
		}
	}
	lu := ln.unit
	if lu == "" {
		lu = o.LatencyUnit
	}
	if lu == "" {
		lu = "us"
	}
	return int64(tn.v * unitNs[tu]), int64(math.Round(ln.v * unitNs[lu])), true
}

// parseClock reads HH:MM:SS[.fraction] as seconds of the day.
func parseClock(f string) (float64, bool) {
	parts := strings.Split(f, ":")
	if len(parts) != 3 {
		return 0, false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	s, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s >= 61 {
		return 0, false
	}
	return float64(h*3600+m*60) + s, true
}
