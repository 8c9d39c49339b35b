package probe

import "golang.org/x/sys/unix"

// The default counts are bpftrace's.
func init() {
	register(counterProvider("hardware", "h", unix.PERF_TYPE_HARDWARE, []counterEvent{
		{"cpu-cycles", "cycles", unix.PERF_COUNT_HW_CPU_CYCLES, 1_000_000},
		{"instructions", "", unix.PERF_COUNT_HW_INSTRUCTIONS, 1_000_000},
		{"cache-references", "", unix.PERF_COUNT_HW_CACHE_REFERENCES, 1_000_000},
		{"cache-misses", "", unix.PERF_COUNT_HW_CACHE_MISSES, 1_000_000},
		{"branch-instructions", "branches", unix.PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 100_000},
		{"branch-misses", "", unix.PERF_COUNT_HW_BRANCH_MISSES, 100_000},
		{"bus-cycles", "", unix.PERF_COUNT_HW_BUS_CYCLES, 100_000},
		{"frontend-stalls", "", unix.PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, 1_000_000},
		{"backend-stalls", "", unix.PERF_COUNT_HW_STALLED_CYCLES_BACKEND, 1_000_000},
		{"ref-cycles", "", unix.PERF_COUNT_HW_REF_CPU_CYCLES, 1_000_000},
	}))
}
