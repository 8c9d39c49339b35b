package output

import "friday/types"

// This file is the single place that says how values are laid out in BPF
// maps and ring buffer records. The code generator writes them this way and
// the formatter reads them back; both sides use these constants and the
// bucket functions below. All integers are in the machine's byte order
// (little endian on every architecture friday supports).
//
// Map keys
//
//   - A map without keys (@x = 1) has a single entry whose key is a u64 0.
//   - A map with one key uses the key's own bytes; several keys are laid out
//     as a types.Tuple of them.
//   - hist and lhist maps store one entry per (key, bucket): the BPF key is
//     the user's key (nothing for a keyless map) padded to a multiple of 8
//     bytes, followed by a u64 bucket index (HistBucket, LhistBucket). The
//     value is a u64 count. The formatter groups entries by user key.
//
// Map values by kind (see ValueSize)
//
//   - Int, String, Tuple, ...: the value's bytes, Type.Size of them.
//   - count, sum: one 64-bit integer (sum is signed when Type.Signed).
//   - min, max: {value i64/u64, set u64}. set is non-zero once a value was
//     stored; it lets per-CPU slots that never saw a value be ignored when
//     CPUs are combined, since 0 is a legitimate minimum.
//   - avg, stats: {count u64, total i64/u64}.
//   - hist, lhist: u64 count (one entry per bucket, see above).
//
// Per-CPU maps hold one such value per CPU; Combine merges them.
//
// Special value kinds (inside map keys, values and event records)
//
//   - Buffer: a u8 length followed by the data; Type.Size counts both, so
//     the capacity is Type.Size-1.
//   - KStack: u64 stack id from bpf_get_stackid into the kernel stack map.
//   - UStack: u64 stack id into the user stack map, u32 pid, u32 zero.
//   - Ksym: u64 address. Usym: u64 address, u32 pid, u32 zero.
//   - Inet: u32 address family (AF_INET or AF_INET6), then 16 address bytes
//     (an IPv4 address uses the first 4). No alignment is assumed.
//   - Timestamp: u64 id of the strftime format (the codegen Event ID of its
//     Strftime event), then u64 nanoseconds, relative to boot unless the
//     format id has the TimestampEpoch bit set.
//   - MacAddr: 6 bytes as read.
//   - Username: u64 uid. CgroupPath: u64 cgroup id. Strerror: u64 errno.
//     Probe: u64 probe id (resolved by the Symbolizer).

const (
	// KeylessKeySize is the key size of the single entry of a map without
	// keys (the key value is 0).
	KeylessKeySize = 8

	// HistBucketSize is the size of the bucket index that ends the key of
	// hist and lhist maps.
	HistBucketSize = 8

	CountSize   = 8
	SumSize     = 8
	MinMaxSize  = 16 // value, set flag
	AvgSize     = 16 // count, total
	StatsSize   = 16 // count, total
	HistValSize = 8  // count of one bucket

	// Offsets inside min/max and avg/stats values.
	MinMaxValueOff = 0
	MinMaxSetOff   = 8
	AvgCountOff    = 0
	AvgTotalOff    = 8

	BufferLenSize = 1 // u8 length before buffer data

	KStackSize     = 8
	UStackSize     = 16 // id, pid, pad
	UStackPidOff   = 8
	KsymSize       = 8
	UsymSize       = 16 // address, pid, pad
	UsymPidOff     = 8
	InetSize       = 20 // family, address
	InetAddrOff    = 4
	TimestampSize  = 16 // format id, nanoseconds
	TimestampNsOff = 8
	MacAddrSize    = 6
	UsernameSize   = 8
	CgroupSize     = 8
	StrerrorSize   = 8
	ProbeSize      = 8

	// TimestampEpoch is or-ed into a Timestamp's format id when the
	// nanoseconds count from the Unix epoch instead of from boot.
	TimestampEpoch = 1 << 63

	AFInet  = 2
	AFInet6 = 10

	// MaxHistBits is the largest second argument of hist().
	MaxHistBits = 5
)

// ValueSize is the size of one map value (one CPU's value in a per-CPU
// map) of a map whose values have type t.
func ValueSize(t *types.Type) int {
	switch t.Kind {
	case types.Count, types.Sum:
		return CountSize
	case types.Min, types.Max:
		return MinMaxSize
	case types.Avg, types.Stats:
		return AvgSize
	case types.Hist, types.Lhist:
		return HistValSize
	}
	return t.Size
}

// KeySize is the size of the BPF key of a map with user key type key (nil
// for a map without keys) and value type value.
func KeySize(key, value *types.Type) int {
	if value.Kind == types.Hist || value.Kind == types.Lhist {
		if key == nil {
			return HistBucketSize
		}
		return alignUp(key.Size, 8) + HistBucketSize
	}
	if key == nil {
		return KeylessKeySize
	}
	return key.Size
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// HistBuckets is the number of buckets of a hist with the given sub-bucket
// bits: bucket indexes are 0 .. HistBuckets(bits)-1.
func HistBuckets(bits int) int {
	return HistBucket(1<<63-1, bits) + 1
}

// HistBucket is the bucket index of v in a log2 histogram whose power-of-two
// ranges are split into 2^bits sub-buckets. Index 0 holds negative values;
// values below 2^bits get one bucket each (index v+1); after that each range
// [2^m, 2^(m+1)) has 2^bits buckets of equal width. With bits = 0 this is
// bpftrace's classic layout: 0 -> 1, 1 -> 2, [2,4) -> 3, [4,8) -> 4, ...
//
// In BPF: if v < 0 { 0 } else if v < 1<<bits { v+1 } else with m = log2(v):
// 1 + (m-bits+1)<<bits + ((v >> (m-bits)) & (1<<bits - 1)).
func HistBucket(v int64, bits int) int {
	if v < 0 {
		return 0
	}
	n := int64(1) << bits
	if v < n {
		return int(v) + 1
	}
	m := log2(uint64(v))
	sub := (v >> (m - bits)) & (n - 1)
	return 1 + (m-bits+1)<<bits + int(sub)
}

// histRange is the inclusive range of values of a hist bucket; neg is set
// for bucket 0 (all negative values).
func histRange(idx, bits int) (lo, hi int64, neg bool) {
	if idx == 0 {
		return 0, -1, true
	}
	n := 1 << bits
	if idx <= n {
		return int64(idx - 1), int64(idx - 1), false
	}
	j := idx - 1 - n
	m := bits + j>>bits
	sub := int64(j & (n - 1))
	width := int64(1) << (m - bits)
	lo = int64(1)<<m + sub*width
	return lo, lo + width - 1, false
}

// LhistBuckets is the number of buckets of lhist(v, min, max, step).
func LhistBuckets(min, max, step int64) int {
	return int((max-min)/step) + 2
}

// LhistBucket is the bucket index of v in lhist(v, min, max, step): 0 for
// v < min, 1 + (v-min)/step inside, and (max-min)/step + 1 for v >= max.
// Like bpftrace, when step does not divide max-min the last partial bucket
// is merged into the overflow bucket.
func LhistBucket(v, min, max, step int64) int {
	switch {
	case v < min:
		return 0
	case v >= max:
		return int((max-min)/step) + 1
	}
	return int((v-min)/step) + 1
}

func log2(v uint64) int {
	n := 0
	for v > 1 {
		v >>= 1
		n++
	}
	return n
}
