package script

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"friday/codegen"
	"friday/output"
	"friday/run"
	"friday/types"
)

// Map is a snapshot of one of a script's maps.
type Map struct {
	Name  string      // as the script names it: "@name", or "@"
	Key   *types.Type // nil for a map without keys
	Value *types.Type
	// Raw are the entries as the kernel holds them, in its order, per-CPU
	// values combined: keys and values laid out as Key and Value (see
	// codegen's layout.go), except that a hist or lhist map holds an
	// entry per key and bucket, whose key is the script's key followed by
	// the bucket's index (codegen.HistKey) and whose value is the bucket's
	// count.
	Raw []run.Entry

	dec *decoder
}

// Entry is one key of a map and its value, decoded.
type Entry struct {
	// Key holds the key's parts: one for a single key, one per element
	// of a key of several; none for a map without keys.
	Key   []any
	Value any
}

// Field is a member of a decoded struct or record.
type Field struct {
	Name  string
	Value any
}

// Stats is a stats() value. Total and Average (rounded towards zero) are
// int64 or uint64, as the values given to stats() are signed or not.
type Stats struct {
	Count          uint64
	Total, Average any
}

// Bucket is one bucket of a hist() or lhist(): the values from Min to Max,
// both included, and how many fell into it. The buckets below and above
// all others reach math.MinInt64 and math.MaxInt64.
type Bucket struct {
	Min, Max int64
	Count    uint64
}

// Entries decodes the snapshot. A value decodes as its type says:
//
//   - integers and pointers: int64 when signed, else uint64; bool: bool
//   - string: string; buf(): []byte; arrays and tuples: []any; structs
//     and records: []Field
//   - count(): uint64; sum(), min(), max(), avg() (the mean, rounded
//     towards zero): int64 or uint64 as their values are signed or not;
//     stats(): Stats
//   - hist(), lhist(): []Bucket, every bucket; the entries of one key
//     make one Entry
//   - tseries(): []codegen.TseriesPoint, the intervals that hold a value
//   - kstack, ustack: with RunOptions.RawStacks a Stack, else as below
//   - what the text output resolves (stacks, ksym(), usym(), ntop(),
//     enums, strftime(), ...): the text it shows, symbols resolved
//
// Entries come in the kernel's order.
func (m *Map) Entries() ([]Entry, error) {
	m.dec.mu.Lock()
	m.dec.printer.PrepareSymbols(m.Key, m.Value, m.Raw)
	m.dec.mu.Unlock()
	if m.Value.Kind == types.Hist || m.Value.Kind == types.Lhist {
		return m.histEntries()
	}
	vsize := codegen.ValueSize(m.Value)
	out := make([]Entry, 0, len(m.Raw))
	for _, e := range m.Raw {
		if len(e.Value) < vsize || m.Key != nil && len(e.Key) < m.Key.Size {
			return nil, fmt.Errorf("map %s has an entry of %d+%d bytes", m.Name, len(e.Key), len(e.Value))
		}
		out = append(out, Entry{Key: m.dec.key(m.Key, e.Key), Value: m.dec.value(m.Value, e.Value)})
	}
	return out, nil
}

// histEntries gathers the bucket entries of a hist or lhist map by key.
func (m *Map) histEntries() ([]Entry, error) {
	t := m.Value
	var n int
	switch {
	case t.Kind == types.Hist:
		n = output.HistBuckets(t.Bits)
	case t.Step > 0 && t.Max > t.Min:
		n = output.LhistBuckets(t.Min, t.Max, t.Step)
	default:
		return nil, fmt.Errorf("map %s has lhist bounds %d, %d, %d", m.Name, t.Min, t.Max, t.Step)
	}
	keySize := 0
	if m.Key != nil {
		keySize = m.Key.Size
	}
	var out []Entry
	byKey := map[string]int{} // index in out
	for _, e := range m.Raw {
		if len(e.Key) < keySize+8 || len(e.Value) < 8 {
			return nil, fmt.Errorf("map %s has an entry of %d+%d bytes", m.Name, len(e.Key), len(e.Value))
		}
		idx := binary.NativeEndian.Uint64(e.Key[len(e.Key)-8:])
		if idx >= uint64(n) {
			return nil, fmt.Errorf("map %s has bucket %d of %d", m.Name, idx, n)
		}
		k := e.Key[:keySize]
		i, ok := byKey[string(k)]
		if !ok {
			i = len(out)
			byKey[string(k)] = i
			out = append(out, Entry{Key: m.dec.key(m.Key, k), Value: buckets(t, n)})
		}
		out[i].Value.([]Bucket)[idx].Count += binary.NativeEndian.Uint64(e.Value)
	}
	return out, nil
}

// buckets are the n empty buckets of a hist or lhist of type t.
func buckets(t *types.Type, n int) []Bucket {
	bs := make([]Bucket, n)
	for i := range bs {
		b := &bs[i]
		switch {
		case t.Kind == types.Hist:
			lo, hi, neg := output.HistRange(i, t.Bits)
			b.Min, b.Max = lo, hi
			if neg {
				b.Min = math.MinInt64
			}
		case i == 0:
			b.Min, b.Max = math.MinInt64, t.Min-1
		case i == n-1:
			// As bpftrace shows it: values from the last full step up
			// count here too.
			b.Min, b.Max = t.Max, math.MaxInt64
		default:
			b.Min = t.Min + int64(i-1)*t.Step
			b.Max = b.Min + t.Step - 1
		}
	}
	return bs
}

// decoder turns raw values into Go values. What the text output resolves
// it hands to a printer of its own, which is not safe for concurrent use.
type decoder struct {
	mu      sync.Mutex
	printer *output.Printer
	// stacks, when not nil, has kstack and ustack values decoded as Stack.
	stacks *stackReader
}

// key decodes a map key into its parts.
func (d *decoder) key(t *types.Type, b []byte) []any {
	switch {
	case t == nil:
		return nil
	case t.Kind == types.Tuple:
		parts := make([]any, len(t.Fields))
		for i, f := range t.Fields {
			parts[i] = d.value(f.Type, b[f.Offset:])
		}
		return parts
	}
	return []any{d.value(t, b)}
}

// value decodes a value as Map.Entries says.
func (d *decoder) value(t *types.Type, b []byte) any {
	ne := binary.NativeEndian
	switch t.Kind {
	case types.Int:
		return number(intBits(t, b), t.Signed)
	case types.Pointer:
		return ne.Uint64(b)
	case types.Bool:
		return b[0] != 0
	case types.String:
		n := 0
		for n < t.Size && b[n] != 0 {
			n++
		}
		return string(b[:n])
	case types.Buffer:
		n := min(int(b[0]), t.Size-output.BufferLenSize)
		return append([]byte(nil), b[output.BufferLenSize:][:n]...)
	case types.Array:
		elems := make([]any, t.Len)
		for i := range elems {
			elems[i] = d.value(t.Elem, b[i*t.Elem.Size:])
		}
		return elems
	case types.Tuple:
		elems := make([]any, len(t.Fields))
		for i, f := range t.Fields {
			elems[i] = d.value(f.Type, b[f.Offset:])
		}
		return elems
	case types.Struct, types.Record:
		if t.Kind == types.Record || !hasBitfields(t) {
			fields := make([]Field, len(t.Fields))
			for i, f := range t.Fields {
				fields[i] = Field{f.Name, d.value(f.Type, b[f.Offset:])}
			}
			return fields
		}
	case types.Count:
		return ne.Uint64(b)
	case types.Sum, types.Min, types.Max:
		return number(ne.Uint64(b), t.Signed)
	case types.Avg:
		return number(mean(t, b), t.Signed)
	case types.Stats:
		return Stats{Count: ne.Uint64(b), Total: number(ne.Uint64(b[8:]), t.Signed), Average: number(mean(t, b), t.Signed)}
	case types.Tseries:
		return codegen.TseriesPoints(t, b)
	case types.KStack, types.UStack:
		if d.stacks != nil && t.Stack != types.StackBuildID {
			return d.stacks.stack(t, b)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.printer.ValueText(t, b)
}

// hasBitfields reports whether a struct has members that are bitfields,
// which the text output extracts for itself.
func hasBitfields(t *types.Type) bool {
	for _, f := range t.Fields {
		if f.BitSize > 0 {
			return true
		}
	}
	return false
}

// intBits reads an integer of t's size, sign-extended when t is signed.
func intBits(t *types.Type, b []byte) uint64 {
	ne := binary.NativeEndian
	var v uint64
	switch t.Size {
	case 1:
		v = uint64(b[0])
	case 2:
		v = uint64(ne.Uint16(b))
	case 4:
		v = uint64(ne.Uint32(b))
	default:
		return ne.Uint64(b)
	}
	if shift := 64 - 8*t.Size; t.Signed {
		v = uint64(int64(v<<shift) >> shift)
	}
	return v
}

// number is v as int64 when signed, else as uint64.
func number(v uint64, signed bool) any {
	if signed {
		return int64(v)
	}
	return v
}

// mean is the average of an avg or stats value, {count, total}, rounded
// towards zero as bpftrace does.
func mean(t *types.Type, b []byte) uint64 {
	count, total := binary.NativeEndian.Uint64(b), binary.NativeEndian.Uint64(b[8:])
	switch {
	case count == 0:
		return 0
	case t.Signed:
		return uint64(int64(total) / int64(count))
	}
	return total / count
}
