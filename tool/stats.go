package tool

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"friday/script"
)

// statistics are what --stats reports: the kernel's run-time statistics
// of the tool's BPF programs, which count only while enabled, and
// friday's own CPU time.
type statistics struct {
	on      bool
	verbose bool
	closer  io.Closer
	start   time.Time
	cpu0    time.Duration
}

// enableStats turns the kernel's BPF statistics on for as long as the
// tool runs, when --stats asks for them. The kernel counts for every
// program while anyone holds them on, and stops when the last lets go.
func (s *Session) enableStats() (*statistics, error) {
	st := &statistics{on: s.opts.stats, verbose: s.opts.verbose, start: time.Now(), cpu0: cpuTime()}
	if !st.on {
		return st, nil
	}
	c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return nil, fmt.Errorf("--stats: cannot enable the kernel's BPF statistics: %w", err)
	}
	st.closer = c
	return st, nil
}

func (st *statistics) close() {
	if st.closer != nil {
		st.closer.Close()
	}
}

// cpuTime is the user and system time friday has used.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// snapshot is what --stats prints.
type snapshot struct {
	events, lost uint64
	missed       uint64 // runs the kernel skipped
	runtime      time.Duration
	cpu          float64 // percent of one CPU
	programs     []string
	err          error
}

// read takes the statistics of the running script.
func (st *statistics) read(r *script.Run) snapshot {
	var snap snapshot
	if !st.on {
		return snap
	}
	progs, err := r.Stats()
	if err != nil {
		snap.err = err
		return snap
	}
	for _, p := range progs {
		snap.events += p.RunCount
		snap.runtime += p.Runtime
		snap.missed += p.Missed
		if st.verbose && len(p.Program.Points) > 0 {
			snap.programs = append(snap.programs, fmt.Sprintf("  %s: %d events, %s ns/event", p.Program.Points[0].Name, p.RunCount, perEvent(p.Runtime, p.RunCount)))
		}
	}
	if wall := time.Since(st.start); wall > 0 {
		snap.cpu = 100 * float64(cpuTime()-st.cpu0) / float64(wall)
	}
	return snap
}

func perEvent(d time.Duration, n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(uint64(d.Nanoseconds()) / n)
}

func (s snapshot) String() string {
	if s.err != nil {
		return "no statistics: " + s.err.Error()
	}
	line := fmt.Sprintf("%d events, %d lost, %s ns/event, %.1f%% CPU", s.events, s.lost, perEvent(s.runtime, s.events), s.cpu)
	if s.missed > 0 {
		// Probes that fired while another BPF program ran on the CPU:
		// the kernel does not nest them.
		line += fmt.Sprintf(", %d missed", s.missed)
	}
	if len(s.programs) > 0 {
		line += "\n" + strings.Join(s.programs, "\n")
	}
	return line
}
