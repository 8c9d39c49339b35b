package output

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"friday/codegen"
	"friday/run"
	"friday/types"
)

// Map prints a map as print(@m, top, div) does, and as the maps printed at
// exit (top and div 0). Entries are sorted by value, ties by key; top keeps
// the top largest, div divides the printed values.
func (p *Printer) Map(m *codegen.Map, entries []run.Entry, top, div uint64) error {
	if err := checkType(m.Value); err != nil {
		return fmt.Errorf("internal error: map %s: %v", m.Name, err)
	}
	if m.Key != nil {
		if err := checkType(m.Key); err != nil {
			return fmt.Errorf("internal error: map %s: %v", m.Name, err)
		}
	}
	p.PrepareSymbols(m.Key, m.Value, entries)
	if m.Value.Kind == types.Hist || m.Value.Kind == types.Lhist {
		return p.histMap(m, entries, top, div)
	}
	if m.Value.Kind == types.Tseries {
		return p.tseriesMap(m, entries)
	}
	if len(entries) == 0 {
		return nil
	}
	vsize := codegen.ValueSize(m.Value)
	for _, e := range entries {
		if len(e.Value) < vsize || (m.Key != nil && len(e.Key) < m.Key.Size) {
			return fmt.Errorf("internal error: map %s has an entry of %d+%d bytes", m.Name, len(e.Key), len(e.Value))
		}
	}
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b run.Entry) int {
		if c := compareValues(m.Value, a.Value, b.Value); c != 0 {
			return c
		}
		return p.compareKeys(m.Key, a.Key, b.Key)
	})
	if m.Value.Kind == types.Stats {
		// bpftrace ignores top and div for stats maps.
		top, div = 0, 0
	}
	if top > 0 && top < uint64(len(sorted)) {
		sorted = sorted[len(sorted)-int(top):]
	}
	b := p.buf[:0]
	if p.json {
		typ := "map"
		if m.Value.Kind == types.Avg || m.Value.Kind == types.Stats {
			typ = "stats"
		}
		b = appendJSONMap(p, b, typ, m, sorted, func(e run.Entry) []byte { return e.Key },
			func(b []byte, e run.Entry) []byte { return p.appendJSON(b, m.Value, divided(m.Value, e.Value, div)) })
	} else {
		for _, e := range sorted {
			b = p.appendEntryName(b, m, e.Key)
			b = append(b, ": "...)
			b = p.appendText(b, m.Value, divided(m.Value, e.Value, div))
			b = append(b, '\n')
		}
	}
	p.buf = b
	_, err := p.w.Write(b)
	return err
}

// PrepareSymbols hands the symbolizer the ksym() addresses in the keys
// and values of entries, laid out as key and value, before they are
// printed one by one.
func (p *Printer) PrepareSymbols(key, value *types.Type, entries []run.Entry) {
	inKey, inValue := hasKsym(key), hasKsym(value)
	if !inKey && !inValue {
		return
	}
	var addrs []uint64
	for _, e := range entries {
		if inKey {
			addrs = appendKsyms(addrs, key, e.Key)
		}
		if inValue {
			addrs = appendKsyms(addrs, value, e.Value)
		}
	}
	if len(addrs) > 0 {
		p.sym.PrepareKernel(addrs)
	}
}

// hasKsym reports whether values of t hold a ksym().
func hasKsym(t *types.Type) bool {
	switch {
	case t == nil:
		return false
	case t.Kind == types.Ksym:
		return true
	case t.Kind == types.Array:
		return hasKsym(t.Elem)
	}
	return slices.ContainsFunc(t.Fields, func(f types.Field) bool { return hasKsym(f.Type) })
}

// appendKsyms appends the ksym() addresses in b, laid out as t.
func appendKsyms(dst []uint64, t *types.Type, b []byte) []uint64 {
	switch t.Kind {
	case types.Ksym:
		if len(b) >= 8 {
			dst = append(dst, u64(b))
		}
	case types.Array:
		for i := 0; i < t.Len && (i+1)*t.Elem.Size <= len(b); i++ {
			dst = appendKsyms(dst, t.Elem, b[i*t.Elem.Size:])
		}
	case types.Struct, types.Tuple, types.Record:
		for _, f := range t.Fields {
			if f.BitSize == 0 && f.Offset < len(b) {
				dst = appendKsyms(dst, f.Type, b[f.Offset:])
			}
		}
	}
	return dst
}

// appendJSONMap writes a map as bpftrace's JSON output does: an object
// of the given type holding the map's name and its value, which for a
// keyed map is an object of the entries, in order, by key text: the text
// output's without the blanks between the elements of tuples. (bpftrace
// takes out every blank, those inside strings too.)
func appendJSONMap[E any](p *Printer, b []byte, typ string, m *codegen.Map, entries []E, key func(E) []byte, value func([]byte, E) []byte) []byte {
	b = append(b, `{"type": "`+typ+`", "data": {`...)
	b = appendJSONString(b, []byte(m.Name))
	b = append(b, ": "...)
	if m.Key != nil {
		b = append(b, '{')
	}
	for i, e := range entries {
		if i > 0 {
			b = append(b, ", "...)
		}
		if m.Key != nil {
			b = appendJSONString(b, p.keyText(nil, m.Key, key(e), ","))
			b = append(b, ": "...)
		}
		b = value(b, e)
	}
	if m.Key != nil {
		b = append(b, '}')
	}
	return append(b, "}}\n"...)
}

// appendEntryName writes the text name of an entry of m: @name, or
// @name[key] for a keyed map.
func (p *Printer) appendEntryName(b []byte, m *codegen.Map, key []byte) []byte {
	b = append(b, m.Name...)
	if m.Key != nil {
		b = append(b, '[')
		b = p.keyText(b, m.Key, key, ", ")
		b = append(b, ']')
	}
	return b
}

// keyText formats a map key: a tuple of several keys without its
// parentheses, its elements and those of tuples inside separated by sep.
func (p *Printer) keyText(dst []byte, t *types.Type, b []byte, sep string) []byte {
	if t.Kind != types.Tuple {
		return p.appendText(dst, t, b)
	}
	for i, f := range t.Fields {
		if i > 0 {
			dst = append(dst, sep...)
		}
		if f.Type.Kind == types.Tuple {
			dst = append(dst, '(')
			dst = p.keyText(dst, f.Type, b[f.Offset:], sep)
			dst = append(dst, ')')
			continue
		}
		dst = p.appendText(dst, f.Type, b[f.Offset:])
	}
	return dst
}

// sortValue is the number a map's entries are sorted by, and whether the
// value kind is sorted by value at all: integers and aggregations are, as
// in bpftrace; bools, pointers and the rest by key.
func sortValue(t *types.Type, b []byte) (v uint64, signed, ok bool) {
	switch t.Kind {
	case types.Count:
		return u64(b), false, true
	case types.Sum, types.Min, types.Max, types.Avg, types.Stats:
		return aggValue(t, b), t.Signed, true
	case types.Int, types.Enum:
		return intBits(b, t.Size, t.Signed), t.Signed, true
	}
	return 0, false, false
}

func compareValues(t *types.Type, a, b []byte) int {
	x, signed, ok := sortValue(t, a)
	if !ok {
		return 0
	}
	y, _, _ := sortValue(t, b)
	if signed {
		return cmp.Compare(int64(x), int64(y))
	}
	return cmp.Compare(x, y)
}

// compareKeys orders keys: integers by value, strings as text, tuples
// element by element, anything else by its bytes.
func (p *Printer) compareKeys(t *types.Type, a, b []byte) int {
	if t == nil {
		return 0
	}
	switch t.Kind {
	case types.Int, types.Bool, types.Enum:
		x, y := intBits(a, t.Size, t.Signed), intBits(b, t.Size, t.Signed)
		if t.Signed {
			return cmp.Compare(int64(x), int64(y))
		}
		return cmp.Compare(x, y)
	case types.String:
		return bytes.Compare(cString(a[:t.Size]), cString(b[:t.Size]))
	case types.Tuple, types.Record:
		for _, f := range t.Fields {
			if c := p.compareKeys(f.Type, a[f.Offset:], b[f.Offset:]); c != 0 {
				return c
			}
		}
		return 0
	}
	return bytes.Compare(a[:t.Size], b[:t.Size])
}

// divided is a value with its number divided by div (print's third
// argument); values without a single number are returned as they are.
func divided(t *types.Type, b []byte, div uint64) []byte {
	if div <= 1 {
		return b
	}
	out := make([]byte, max(len(b), 8))
	switch t.Kind {
	case types.Count, types.Sum, types.Min, types.Max:
		copy(out, b)
		ne.PutUint64(out, divide(u64(b), div, t.Signed && t.Kind != types.Count))
	case types.Avg:
		// Keep the count and make the total give the divided average.
		count := u64(b)
		ne.PutUint64(out, 1)
		ne.PutUint64(out[8:], divide(aggValue(t, b), div, t.Signed))
		if count == 0 {
			ne.PutUint64(out, 0)
		}
	case types.Int:
		v := divide(intBits(b, t.Size, t.Signed), div, t.Signed)
		ne.PutUint64(out, v)
		return out[:8:8]
	default:
		return b
	}
	return out
}

func divide(v, div uint64, signed bool) uint64 {
	if signed {
		return uint64(int64(v) / int64(div))
	}
	return v / div
}

// histGroup is the buckets of one key of a hist or lhist map.
type histGroup struct {
	key    []byte
	counts []uint64
	total  uint64
}

func (p *Printer) histMap(m *codegen.Map, entries []run.Entry, top, div uint64) error {
	if len(entries) == 0 {
		return nil
	}
	t := m.Value
	nb := HistBuckets(t.Bits)
	if t.Kind == types.Lhist {
		if t.Step <= 0 || t.Max <= t.Min {
			return fmt.Errorf("internal error: map %s has lhist bounds %d, %d, %d", m.Name, t.Min, t.Max, t.Step)
		}
		nb = LhistBuckets(t.Min, t.Max, t.Step)
	}
	keySize := 0
	if m.Key != nil {
		keySize = m.Key.Size
	}
	var groups []*histGroup
	byKey := map[string]*histGroup{}
	for _, e := range entries {
		if len(e.Key) < keySize+8 || len(e.Value) < 8 {
			return fmt.Errorf("internal error: map %s has an entry of %d+%d bytes", m.Name, len(e.Key), len(e.Value))
		}
		k := e.Key[:keySize]
		g := byKey[string(k)]
		if g == nil {
			g = &histGroup{key: k, counts: make([]uint64, nb)}
			byKey[string(k)] = g
			groups = append(groups, g)
		}
		idx := u64(e.Key[len(e.Key)-8:])
		if idx >= uint64(nb) {
			return fmt.Errorf("internal error: map %s has bucket %d of %d", m.Name, idx, nb)
		}
		c := u64(e.Value)
		g.counts[idx] += c
		g.total += c
	}
	slices.SortStableFunc(groups, func(a, b *histGroup) int {
		if c := cmp.Compare(a.total, b.total); c != 0 {
			return c
		}
		return p.compareKeys(m.Key, a.key, b.key)
	})
	if top > 0 && top < uint64(len(groups)) {
		groups = groups[len(groups)-int(top):]
	}
	b := p.buf[:0]
	if p.json {
		b = appendJSONMap(p, b, "hist", m, groups, func(g *histGroup) []byte { return g.key },
			func(b []byte, g *histGroup) []byte { return appendHistJSON(b, t, g.counts, div) })
	} else {
		for _, g := range groups {
			b = p.appendEntryName(b, m, g.key)
			b = append(b, ":\n"...)
			b = appendHistText(b, t, g.counts, div)
			b = append(b, '\n')
		}
	}
	p.buf = b
	_, err := p.w.Write(b)
	return err
}

// usedRange is the buckets printed: from the first to the last non-zero
// one; empty when all are zero.
func usedRange(counts []uint64) (lo, hi int) {
	lo, hi = -1, -1
	for i, c := range counts {
		if c != 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	return lo, hi + 1
}

const barWidth = 52

// appendHistText writes the rows of a histogram. Bars are scaled to the
// largest count before div is applied, as bpftrace does.
func appendHistText(dst []byte, t *types.Type, counts []uint64, div uint64) []byte {
	lo, hi := usedRange(counts)
	var most uint64
	for _, c := range counts {
		most = max(most, c)
	}
	for i := max(lo, 0); i < hi; i++ {
		label := bucketLabel(t, i, len(counts))
		dst = append(dst, label...)
		for n := len(label); n < 16; n++ {
			dst = append(dst, ' ')
		}
		c := counts[i]
		shown := c
		if div > 1 {
			shown /= div
		}
		num := strconv.FormatUint(shown, 10)
		for n := len(num); n < 8; n++ {
			dst = append(dst, ' ')
		}
		dst = append(dst, num...)
		dst = append(dst, " |"...)
		bar := int(c * barWidth / most)
		dst = append(dst, strings.Repeat("@", bar)...)
		dst = append(dst, strings.Repeat(" ", barWidth-bar)...)
		dst = append(dst, "|\n"...)
	}
	return dst
}

// bucketLabel is the text label of bucket i of n.
func bucketLabel(t *types.Type, i, n int) string {
	if t.Kind == types.Lhist {
		switch i {
		case 0:
			return "(..., " + sizeLabel(t.Min) + ")"
		case n - 1:
			return "[" + sizeLabel(t.Max) + ", ...)"
		}
		lo := t.Min + int64(i-1)*t.Step
		return "[" + sizeLabel(lo) + ", " + sizeLabel(lo+t.Step) + ")"
	}
	lo, hi, neg := HistRange(i, t.Bits)
	switch {
	case neg:
		return "(..., 0)"
	case lo == hi:
		return "[" + sizeLabel(lo) + "]"
	}
	// The last bucket ends at 2^63, past int64.
	return "[" + sizeLabel(lo) + ", " + usizeLabel(uint64(hi)+1) + ")"
}

// sizeLabel writes multiples of 1024 with a K, M, G, ... suffix.
func sizeLabel(v int64) string {
	if v < 0 {
		return "-" + usizeLabel(-uint64(v))
	}
	return usizeLabel(uint64(v))
}

func usizeLabel(v uint64) string {
	const suffixes = "KMGTPE"
	s := 0
	for v != 0 && v%1024 == 0 && s < len(suffixes) {
		v /= 1024
		s++
	}
	if s == 0 {
		return strconv.FormatUint(v, 10)
	}
	return strconv.FormatUint(v, 10) + suffixes[s-1:s]
}

// appendHistJSON writes the buckets of a histogram as a JSON array of
// {"min", "max", "count"} objects; open-ended buckets lack min or max.
func appendHistJSON(dst []byte, t *types.Type, counts []uint64, div uint64) []byte {
	lo, hi := usedRange(counts)
	dst = append(dst, '[')
	for i := max(lo, 0); i < hi; i++ {
		if i > lo {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		var min, max int64
		hasMin, hasMax := true, true
		if t.Kind == types.Lhist {
			switch i {
			case 0:
				hasMin, max = false, t.Min-1
			case len(counts) - 1:
				hasMax, min = false, t.Max
			default:
				min = t.Min + int64(i-1)*t.Step
				max = min + t.Step - 1
			}
		} else {
			var neg bool
			min, max, neg = HistRange(i, t.Bits)
			hasMin = !neg
		}
		if hasMin {
			dst = append(dst, `"min": `...)
			dst = appendJSONInt(dst, uint64(min), true)
			dst = append(dst, ", "...)
		}
		if hasMax {
			dst = append(dst, `"max": `...)
			dst = appendJSONInt(dst, uint64(max), true)
			dst = append(dst, ", "...)
		}
		c := counts[i]
		if div > 1 {
			c /= div
		}
		dst = append(dst, `"count": `...)
		dst = strconv.AppendUint(dst, c, 10)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
