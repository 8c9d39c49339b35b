package codegen

import "friday/types"

// Layout of values in BPF maps, shared with the output formatter (which
// reads them back; the special kinds inside values are described in
// output/layout.go).
//
// Keys: a map without keys has an 8-byte key equal to zero. Otherwise the
// key is laid out as check.Map.Key (strings zero-padded to their capacity,
// tuples with zeroed padding).
//
// Aggregation values are per-CPU; each CPU's copy is:
//
//	count        uint64
//	sum          int64 (uint64 when unsigned)
//	min, max     {value int64, set uint64}: set is 1 once a value was stored
//	avg, stats   {count uint64, total int64}
//	hist, lhist  uint64 count of one bucket
//	tseries      a ring of intervals, see TseriesSlot
//
// hist and lhist maps have one entry per (key, bucket): the BPF key is the
// map's key followed by a uint64 bucket index at the next 8-byte boundary
// (just the bucket for a map without keys); see HistKey. Bucket indexes
// are output.HistBucket and output.LhistBucket.
const (
	MinMaxSize = 16 // bytes of a min/max value
	AvgSize    = 16 // bytes of an avg/stats value
)

// HistKey is the BPF key of a hist or lhist map whose script key is key
// (nil for a map without keys): the key followed by the uint64 bucket.
func HistKey(key *types.Type) *types.Type {
	if key == nil {
		return types.TupleOf(types.U64)
	}
	return types.TupleOf(key, types.U64)
}

// ValueSize is the size of one (per-CPU) value of a map with value type t.
func ValueSize(t *types.Type) int {
	switch t.Kind {
	case types.Count, types.Sum, types.Hist, types.Lhist:
		return 8
	case types.Min, types.Max:
		return MinMaxSize
	case types.Avg, types.Stats:
		return AvgSize
	case types.Tseries:
		return TseriesSize(t)
	}
	return t.Size
}

// KeySize is the size of the BPF key of a map with script key type key
// (nil when the map has no keys) and value type value.
func KeySize(key, value *types.Type) int {
	if value.Kind == types.Hist || value.Kind == types.Lhist {
		return HistKey(key).Size
	}
	if key == nil {
		return 8
	}
	return key.Size
}
