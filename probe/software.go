package probe

import "golang.org/x/sys/unix"

// The default counts are bpftrace's, so that "s:faults" samples as often
// as it does there.
func init() {
	register(counterProvider("software", "s", unix.PERF_TYPE_SOFTWARE, []counterEvent{
		{"cpu-clock", "cpu", unix.PERF_COUNT_SW_CPU_CLOCK, 1_000_000},
		{"task-clock", "", unix.PERF_COUNT_SW_TASK_CLOCK, 1_000_000},
		{"page-faults", "faults", unix.PERF_COUNT_SW_PAGE_FAULTS, 100},
		{"context-switches", "cs", unix.PERF_COUNT_SW_CONTEXT_SWITCHES, 1_000},
		{"cpu-migrations", "", unix.PERF_COUNT_SW_CPU_MIGRATIONS, 1},
		{"minor-faults", "", unix.PERF_COUNT_SW_PAGE_FAULTS_MIN, 100},
		{"major-faults", "", unix.PERF_COUNT_SW_PAGE_FAULTS_MAJ, 1},
		{"alignment-faults", "", unix.PERF_COUNT_SW_ALIGNMENT_FAULTS, 1},
		{"emulation-faults", "", unix.PERF_COUNT_SW_EMULATION_FAULTS, 1},
		{"dummy", "", unix.PERF_COUNT_SW_DUMMY, 1},
		{"bpf-output", "", unix.PERF_COUNT_SW_BPF_OUTPUT, 1},
	}))
}
