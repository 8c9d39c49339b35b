package output

// This file says how the values the formatter reads are laid out in BPF
// maps and ring buffer records, as the code generator writes them. Map keys
// and aggregation values (count, sum, min/max with their "set" word,
// avg/stats as {count, total}, hist/lhist as one u64 count per (key,
// bucket) entry whose key ends in the u64 bucket index) are described in
// codegen's layout.go; the bucket indexes are computed by HistBucket and
// LhistBucket below. All integers are in the machine's byte order.
//
// Values of the special kinds, inside map keys, map values and records:
//
//   - Buffer: a u8 length, then the data; Type.Size counts both, so
//     buf(x, n) has Size n+1 (types.BufferOf). Only the first length
//     bytes are printed.
//   - KStack: u64 stack id in the kernel stack map (the hash of the
//     frames; negative, an error, when none were recorded; for
//     ustack(build_id) the id bpf_get_stackid gives).
//   - UStack: u64 stack id in the user stack map, u32 pid, u32 zero.
//   - Ksym: u64 address. Usym: u64 address, u32 pid, u32 zero.
//   - Inet: u64 address family (AF_INET or AF_INET6), then 16 address
//     bytes (an IPv4 address uses the first 4).
//   - Timestamp: u64 format id, the ID of the codegen Event (kind
//     Strftime) whose Format is the strftime format, with TimestampEpoch
//     or-ed in when the time counts from the Unix epoch; then u64
//     nanoseconds, otherwise of CLOCK_MONOTONIC (what nsecs gives).
//   - CgroupPath: u64 filter id, then u64 cgroup id. The filter id is 0
//     when cgroup_path() has no filter, else 1 + the ID of the codegen
//     Event (kind CgroupFilter) whose Format is the filter.
//   - MacAddr: 6 bytes as read.
//   - Username: u64 uid. Strerror: u64 errno. Signal: u64 signal number. Syscall: u64 system
//     call number. Probe: u64 index into
//     codegen.Object.ProbeNames.
//
// The record of a join event holds one Array of String: the strings in
// order, an empty one ending the list early (as the NULL pointer ends the
// array join() reads).
const (
	BufferLenSize  = 1
	UStackPidOff   = 8
	UsymPidOff     = 8
	InetAddrOff    = 8
	TimestampNsOff = 8
	CgroupIDOff    = 8

	// TimestampEpoch is or-ed into a Timestamp's format id when the
	// nanoseconds count from the Unix epoch instead of from boot.
	TimestampEpoch = 1 << 63

	AFInet  = 2
	AFInet6 = 10

	// MaxHistBits is the largest second argument of hist().
	MaxHistBits = 5
)

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

// HistRange is the inclusive range of values of a hist bucket; neg is set
// for bucket 0 (all negative values).
func HistRange(idx, bits int) (lo, hi int64, neg bool) {
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
