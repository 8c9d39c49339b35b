package output

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"friday/codegen"
	"friday/run"
	"friday/types"
)

// clockTAIOffset is how far CLOCK_TAI runs ahead of the wall clock: the
// intervals of tseries() are counted in TAI time.
func clockTAIOffset() time.Duration {
	var tai, wall unix.Timespec
	if unix.ClockGettime(unix.CLOCK_TAI, &tai) != nil || unix.ClockGettime(unix.CLOCK_REALTIME, &wall) != nil {
		return 0
	}
	// The offset is a whole number of (leap) seconds.
	return time.Duration(tai.Nano() - wall.Nano()).Round(time.Second)
}

// tseriesKey is one key of a tseries map and its intervals in the range
// printed.
type tseriesKey struct {
	key    []byte
	pts    []codegen.TseriesPoint
	latest uint64 // the latest epoch of the key
}

// tseriesMap prints a tseries map. The range shown ends at the latest
// interval any key has a value in and spans the number of intervals the
// map keeps; each key's chart starts at its first value in that range.
// Keys come from the least to the most recently updated; tseries ignores
// print's top and div, as bpftrace's does.
func (p *Printer) tseriesMap(m *codegen.Map, entries []run.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	t := m.Value
	if t.Step < 1 || t.Max < 1 {
		return fmt.Errorf("internal error: map %s has tseries interval %d and %d intervals", m.Name, t.Step, t.Max)
	}
	size := codegen.TseriesSize(t)
	keySize := 0
	if m.Key != nil {
		keySize = m.Key.Size
	}
	keys := make([]*tseriesKey, len(entries))
	var last uint64
	for i, e := range entries {
		if len(e.Value) < size || len(e.Key) < keySize {
			return fmt.Errorf("internal error: map %s has an entry of %d+%d bytes", m.Name, len(e.Key), len(e.Value))
		}
		k := &tseriesKey{key: e.Key, pts: codegen.TseriesPoints(t, e.Value[:size])}
		if n := len(k.pts); n > 0 {
			k.latest = k.pts[n-1].Epoch
		}
		last = max(last, k.latest)
		keys[i] = k
	}
	first := uint64(1)
	if last >= uint64(t.Max) {
		first = last - uint64(t.Max) + 1
	}
	for _, k := range keys {
		i := 0
		for i < len(k.pts) && k.pts[i].Epoch < first {
			i++
		}
		k.pts = k.pts[i:]
	}
	slices.SortStableFunc(keys, func(a, b *tseriesKey) int {
		if c := cmp.Compare(a.latest, b.latest); c != 0 {
			return c
		}
		return p.compareKeys(m.Key, a.key, b.key)
	})
	b := p.buf[:0]
	if p.json {
		b = appendJSONMap(p, b, "tseries", m, keys, func(k *tseriesKey) []byte { return k.key },
			func(b []byte, k *tseriesKey) []byte { return p.appendTseriesJSON(b, t, k.pts) })
	} else {
		for _, k := range keys {
			b = p.appendEntryName(b, m, k.key)
			b = append(b, ":\n"...)
			if len(k.pts) == 0 {
				b = append(b, "<no data>\n"...)
				continue
			}
			b = p.appendTseriesText(b, t, k.pts, last)
			b = append(b, '\n')
		}
	}
	p.buf = b
	_, err := p.w.Write(b)
	return err
}

// intervalStart is the wall-clock time an interval starts at.
func (p *Printer) intervalStart(t *types.Type, epoch uint64) time.Time {
	return time.Unix(0, int64(epoch*uint64(t.Step))).Add(-p.taiOffset)
}

// appendTseriesJSON writes the intervals that hold a value as a JSON
// array of {"interval_start", "value"} objects; the start is the UTC time
// with nanoseconds, as C++ prints a system_clock time point.
func (p *Printer) appendTseriesJSON(dst []byte, t *types.Type, pts []codegen.TseriesPoint) []byte {
	dst = append(dst, '[')
	for i, pt := range pts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"interval_start":"`...)
		dst = p.intervalStart(t, pt.Epoch).UTC().AppendFormat(dst, "2006-01-02 15:04:05.000000000")
		dst = append(dst, `","value":`...)
		dst = appendTseriesValue(dst, t, pt.Value)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func appendTseriesValue(dst []byte, t *types.Type, v uint64) []byte {
	if t.Signed {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	return strconv.AppendUint(dst, v, 10)
}

// Geometry of the chart: the plot is chartWidth columns between and
// including its borders; the minimum's label takes labelWidth of them.
const (
	chartWidth = 53
	labelWidth = 21
)

// appendTseriesText draws the chart of one key: a row per interval from
// its first value to the latest interval of the map, the value as a '*'
// on a scale from the smallest to the largest value, a '.' column at zero
// when the scale crosses it, and "-" for intervals without a value.
func (p *Printer) appendTseriesText(dst []byte, t *types.Type, pts []codegen.TseriesPoint, last uint64) []byte {
	lo, hi := pts[0].Value, pts[0].Value
	less := func(a, b uint64) bool {
		if t.Signed {
			return int64(a) < int64(b)
		}
		return a < b
	}
	for _, pt := range pts {
		if less(pt.Value, lo) {
			lo = pt.Value
		}
		if less(hi, pt.Value) {
			hi = pt.Value
		}
	}
	if lo == hi {
		// Leave room on both sides of a flat line where the type allows.
		minimum, maximum := uint64(0), uint64(math.MaxUint64)
		if t.Signed {
			minimum, maximum = 1<<63, math.MaxInt64
		}
		if lo != minimum {
			lo--
		}
		if hi != maximum {
			hi++
		}
	}
	// The time column shows the fractions of a second the interval
	// needs. bpftrace derives the interval from the rows, so a single row
	// shows nanoseconds.
	rows := last - pts[0].Epoch + 1
	interval := uint64(0)
	if rows > 1 {
		interval = uint64(t.Step)
	}
	digits, unit := 9, "ns"
	switch {
	case interval >= uint64(time.Second):
		digits, unit = 0, ""
	case interval >= uint64(time.Millisecond):
		digits, unit = 3, "ms"
	case interval >= uint64(time.Microsecond):
		digits, unit = 6, "μs"
	}
	header := "hh:mm:ss"
	timeWidth := len(header)
	if digits > 0 {
		header += "." + unit
		timeWidth += 1 + digits
	}

	labels := func(dst []byte) []byte {
		l := appendTseriesValue(nil, t, lo)
		dst = append(dst, l...)
		dst = appendSpaces(dst, labelWidth-len(l))
		r := appendTseriesValue(nil, t, hi)
		dst = appendSpaces(dst, chartWidth-labelWidth-len(r))
		dst = append(dst, r...)
		return append(dst, '\n')
	}
	dst = appendSpaces(dst, timeWidth+1)
	dst = labels(dst)
	dst = append(dst, header...)
	dst = appendSpaces(dst, timeWidth+1-len(header))
	dst = append(dst, '|')
	dst = append(dst, strings.Repeat("_", chartWidth-2)...)
	dst = append(dst, "|\n"...)

	// Positions are computed in single precision, as bpftrace does, so
	// that values on the edge of two columns fall on the same side.
	span := float32(int64(lo - hi))
	zero := 0
	if t.Signed && int64(lo) < 0 && int64(hi) > 0 {
		zero = int(float32(float32(chartWidth)*float32(int64(lo))) / span)
	}
	row := make([]byte, chartWidth)
	next := 0
	for epoch := pts[0].Epoch; epoch <= last; epoch++ {
		dst = p.appendIntervalTime(dst, t, epoch, digits)
		dst = append(dst, ' ')
		for i := range row {
			row[i] = ' '
		}
		row[0], row[chartWidth-1] = '|', '|'
		if zero > 0 {
			row[zero] = '.'
		}
		if next >= len(pts) || pts[next].Epoch != epoch {
			dst = append(dst, row...)
			dst = append(dst, " -\n"...)
			continue
		}
		v := pts[next].Value
		next++
		pos := chartWidth / 2
		if lo != hi {
			pos = int(float32(float32(chartWidth-1)*float32(int64(lo-v))) / span)
		}
		row[min(max(pos, 0), chartWidth-1)] = '*'
		dst = append(dst, row...)
		dst = append(dst, ' ')
		dst = appendTseriesValue(dst, t, v)
		dst = append(dst, '\n')
	}
	dst = appendSpaces(dst, timeWidth+1)
	dst = append(dst, 'v')
	dst = append(dst, strings.Repeat("_", chartWidth-2)...)
	dst = append(dst, "v\n"...)
	dst = appendSpaces(dst, timeWidth+1)
	return labels(dst)
}

// appendIntervalTime writes the local time an interval starts at with
// digits digits of the second's fraction.
func (p *Printer) appendIntervalTime(dst []byte, t *types.Type, epoch uint64, digits int) []byte {
	at := p.intervalStart(t, epoch).In(p.loc)
	dst = at.AppendFormat(dst, "15:04:05")
	if digits == 0 {
		return dst
	}
	frac := strconv.Itoa(at.Nanosecond() / int(math.Pow10(9-digits)))
	dst = append(dst, '.')
	dst = append(dst, bytes.Repeat([]byte{'0'}, digits-len(frac))...)
	return append(dst, frac...)
}

func appendSpaces(dst []byte, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, ' ')
	}
	return dst
}
