// Package profiler collects profiles of stacks on the running system:
// CPU samples (bcc's profile) and the time threads spend blocked
// (offcputime, wakeuptime, offwaketime). Each collector's tracing is a
// script in the bpftrace language (the .bt files here) that friday
// compiles; the Go side gives it its options, gathers what it records
// into a friday profile (package profile), which keeps the time of each
// sample, and symbolizes its stacks once it ends. Text writes a profile
// as bcc's tools print theirs.
//
// A CPU sample is a record of its own, sent through the ring buffer with
// its time: the kernel aggregates nothing, and the time of every sample
// is kept exactly. At the sampling rates of a profiler this costs less
// than aggregating in a map (see bench/PROFILE.md). Blocked time comes
// from every context switch, far more often: the kernel sums it in a map
// by stack and task, and, when times are asked for, by time slot too.
package profiler

import (
	"cmp"
	"context"
	"embed"
	"fmt"

	"github.com/cilium/ebpf"
	"io"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"friday/profile"
	"friday/script"
	"friday/stackprof"
	"friday/symbol"
)

//go:embed *.bt
var scripts embed.FS

// Filter is which threads a collector follows: all when empty.
type Filter struct {
	Pids, Tids []int // of these processes, or threads, only
	// UserThreads and KernelThreads keep the threads of processes, or
	// the kernel's own, only (not CPU profiles).
	UserThreads, KernelThreads bool
}

// Stacks says which stacks a collector records: both when neither is set.
type Stacks struct {
	UserOnly, KernelOnly bool
}

// named are the script options a filter and stack choice give.
func (f Filter) named(s Stacks) map[string]string {
	named := map[string]string{}
	set := func(name string, on bool) {
		if on {
			named[name] = ""
		}
	}
	set("pids", len(f.Pids) > 0)
	set("tids", len(f.Tids) > 0)
	set("user-threads", f.UserThreads)
	set("kernel-threads", f.KernelThreads)
	set("user", s.UserOnly)
	set("kernel", s.KernelOnly)
	return named
}

// preset are the map entries of the filter's sets.
func (f Filter) preset() []script.MapEntry {
	var out []script.MapEntry
	for _, p := range f.Pids {
		out = append(out, script.MapEntry{Map: "@pids", Key: []any{p}, Value: true})
	}
	for _, t := range f.Tids {
		out = append(out, script.MapEntry{Map: "@tids", Key: []any{t}, Value: true})
	}
	return out
}

// session is one run of a collector's script.
type session struct {
	run  *script.Run
	host *script.Host
	// start is when the run began, on the wall clock and on the clock of
	// the script's nsecs (CLOCK_MONOTONIC), which sample times are from.
	start time.Time
	mono  int64
	// seen are the processes whose address spaces have been snapshotted,
	// or recorded from their start, so that their stacks resolve after
	// they exit.
	seen map[uint32]bool
	// rec records the code of the processes that start meanwhile; nil
	// where perf events cannot.
	rec *symbol.Recorder
	// ended is closed once the run is stopped (and its statistics read).
	ended chan struct{}
	// stats, with the statistics asked for, are filled in as the run
	// ends and the profile is made; statsOn keeps the kernel counting.
	stats       *Stats
	statsOn     io.Closer
	symbolizing time.Time
	symCPU      time.Duration
	unwatch     []func()
}

// config is what starting a collector's script takes.
type config struct {
	name      string // of the script, in scripts
	params    []string
	named     map[string]string
	filter    Filter
	stackSize int // 0 is bcc's 16384
	event     func(*script.Event) error
	maps      func(*script.Map) error
	// coll gathers what the script records; the addresses of its stacks
	// are read as the script ends.
	coll       *collector
	log        io.Writer
	onMainThrd func(func())
	stats      bool
}

// Stats are what a collection cost.
type Stats struct {
	// Runs and BPF are the runs of the script's BPF programs and their
	// run time in the kernel, from the kernel's statistics.
	Runs uint64
	BPF  time.Duration
	// Wall is the collection's length, from the probes' attaching;
	// Collect is friday's CPU time meanwhile.
	Wall, Collect time.Duration
	// Symbolize is friday's CPU time from the end of the collection to
	// the profile, stacks symbolized; SymbolizeWall its wall time.
	Symbolize, SymbolizeWall time.Duration
}

// start compiles and starts a collector's script, the session of c.coll;
// it returns once the probes are attached. The script runs until ctx ends.
func start(ctx context.Context, host *script.Host, c config) error {
	if c.stackSize == 0 {
		c.stackSize = 16384
	}
	kernelRead := make(chan struct{})
	if _, userOnly := c.named["user"]; !userOnly {
		// The kernel's symbols are read while the script compiles, not
		// once the profile ends, when they would be waited for.
		go func() {
			host.Symbols().KernelSymbols()
			close(kernelRead)
		}()
	} else {
		close(kernelRead)
	}
	src, err := scripts.ReadFile(c.name)
	if err != nil {
		return err
	}
	prog, err := script.Compile(c.name, src, script.Options{
		Host: host, Params: c.params, Named: c.named, StackMapSize: c.stackSize,
	})
	if err != nil {
		return err
	}
	s := &session{host: host, seen: map[uint32]bool{}, ended: make(chan struct{})}
	// Processes that start from now on are known from the records: only
	// those running before are snapshotted, at their first stack.
	if rec, err := host.Symbols().Record(); err == nil {
		s.rec = rec
		defer func() {
			if s.run == nil {
				rec.Close()
			}
		}()
	}
	if c.stats {
		// The kernel counts the programs' run time while this is open.
		statsOn, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			return fmt.Errorf("cannot enable BPF statistics: %w", err)
		}
		defer func() {
			if s.run == nil {
				statsOn.Close()
			}
		}()
		s.stats, s.statsOn = &Stats{}, statsOn
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return err
	}
	s.start, s.mono = time.Now(), ts.Nano()
	// Read before the probes attach, it costs the collection nothing.
	<-kernelRead
	started := make(chan struct{})
	run, err := prog.Start(context.WithoutCancel(ctx), script.RunOptions{
		Log: c.log, Quiet: true, RawStacks: true, LazyStacks: true, Preset: c.filter.preset(),
		Event: c.event, Map: c.maps, OnMainThread: c.onMainThrd,
		Finish: func() error {
			// The stacks' addresses are read once, all at the end.
			<-started
			return s.run.FillStacks(c.coll.stacks)
		},
		// Nothing is printed as it comes: friday wakes twice a second.
		PollInterval: 500 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	s.run, c.coll.s = run, s
	close(started)
	// The processes asked for ran before: their stacks must resolve
	// however soon they exit, before their first stack is read (blocked
	// time is read at the end).
	for _, pid := range c.filter.Pids {
		s.unwatch = append(s.unwatch, host.Symbols().Watch(pid))
	}
	attached, cpu := time.Now(), processCPU()
	// The run is stopped here rather than by ctx, so that the kernel's
	// statistics are read while its programs are loaded.
	go func() {
		defer close(s.ended)
		select {
		case <-ctx.Done():
		case <-run.Done():
			return
		}
		if st := s.stats; st != nil {
			st.Wall, st.Collect = time.Since(attached), processCPU()-cpu
			if progs, err := run.Stats(); err == nil {
				for _, p := range progs {
					st.Runs += p.RunCount
					st.BPF += p.Runtime
				}
			}
		}
		s.symbolizing, s.symCPU = time.Now(), processCPU()
		run.Stop()
	}()
	return nil
}

// wait waits for the run to end; finish, called once the collection's
// profile is made, closes its statistics.
func (s *session) wait() error {
	err := s.run.Wait()
	<-s.ended
	for _, stop := range s.unwatch {
		stop()
	}
	return err
}

func (s *session) finish() *Stats {
	if s.stats == nil {
		return nil
	}
	s.statsOn.Close()
	s.stats.Symbolize, s.stats.SymbolizeWall = processCPU()-s.symCPU, time.Since(s.symbolizing)
	return s.stats
}

// processCPU is friday's user and system time so far.
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// since is the time of a script's nsecs value from the start.
func (s *session) since(nsecs uint64) int64 { return int64(nsecs) - s.mono }

// see snapshots the address space of the process of a user stack the
// first time one of its stacks is seen, so that the stack resolves
// however soon the process exits.
func (s *session) see(st script.Stack) {
	if st.User && st.Errno == 0 && !s.seen[st.Pid] {
		s.seen[st.Pid] = true
		if s.rec == nil || !s.rec.Known(int(st.Pid)) {
			s.host.Symbols().Snapshot(int(st.Pid))
		}
	}
}

// Record is a stack of a collector's profile and its value over the whole
// run: what bcc's tools print.
type Record struct {
	// Task is the thread sampled, or blocked.
	Task profile.Task
	// Kernel and User are its stacks, root first; none when not recorded.
	Kernel, User []profile.Frame
	// Waker is the thread that woke it (wakeuptime, offwaketime); nil
	// when none did, such as for a thread preempted.
	Waker *Waker
	Value int64
}

// Waker is the thread that woke another, and its stacks then, root first.
type Waker struct {
	Task         profile.Task
	Kernel, User []profile.Frame
}

// Result is what a collector gathered.
type Result struct {
	// Profile holds every sample with its time (a CPU profile), or the
	// blocked time per time slot (with Slot set), or per stack and task.
	Profile *profile.Profile
	// Records are the stacks and their values over the whole run.
	Records []Record
	// LostStacks counts the stacks the kernel could not record for want
	// of room in its stack maps (see --stack-storage-size).
	LostStacks int
	// Stats, when asked for, are what the collection cost.
	Stats *Stats
}

// collector gathers what a script records, stacks as ids in a set of its
// own, and symbolizes them when it ends.
type collector struct {
	s       *session
	stacks  []script.Stack
	stackID map[stackKey]int32
	tasks   []task
	taskID  map[task]int32
	raws    []raw
	lost    int
}

// raw is a sample, or blocked time, as recorded.
type raw struct {
	at     int64 // nanoseconds from the start
	task   int32
	stacks pair
	waker  *rawWaker
	value  int64
}

type rawWaker struct {
	task   int32
	stacks pair
}

// pair are the ids of a kernel and a user stack; -1 for none.
type pair [2]int32

// stackKey identifies a stack: a user stack is of its process.
type stackKey struct {
	user  bool
	pid   uint32
	errno int32
	id    uint64
}

func newCollector() *collector {
	return &collector{stackID: map[stackKey]int32{}, taskID: map[task]int32{}}
}

// stack is the id of st; -1 for a stack with no frames to record. Its
// addresses are read when the script ends (script.RunOptions.LazyStacks).
func (c *collector) stack(st script.Stack) int32 {
	if st.Errno != 0 && !st.Lost() {
		return -1
	}
	if st.Lost() {
		c.lost++
	}
	k := stackKey{user: st.User, pid: st.Pid, errno: int32(st.Errno), id: st.ID}
	id, ok := c.stackID[k]
	if !ok {
		id = int32(len(c.stacks))
		c.stacks = append(c.stacks, st)
		c.stackID[k] = id
		c.s.see(st)
	}
	return id
}

// stackPair reads a kernel and a user stack from the values of a record,
// which holds one or both as the collector's Stacks say.
func (c *collector) stackPair(vals []any) (pair, error) {
	p := pair{-1, -1}
	for _, v := range vals {
		st, ok := v.(script.Stack)
		if !ok {
			return p, fieldErr("stack", v)
		}
		if st.User {
			p[1] = c.stack(st)
		} else {
			p[0] = c.stack(st)
		}
	}
	return p, nil
}

func (c *collector) task(pid, tid uint32, comm string) int32 {
	t := task{pid, tid, comm}
	id, ok := c.taskID[t]
	if !ok {
		id = int32(len(c.tasks))
		c.tasks = append(c.tasks, t)
		c.taskID[t] = id
	}
	return id
}

// symbolized holds the frames of a collector's stacks once symbolized,
// as their indexes in the profile p and as frames.
type symbolized struct {
	c      *collector
	p      *profile.Profile
	sym    *stackprof.Symbolizer
	frames [][]profile.Frame
	done   []bool
	ids    [][]int
	idDone []bool
}

func (c *collector) symbolize(p *profile.Profile) *symbolized {
	if rec := c.s.rec; rec != nil {
		rec.Sync()
		rec.Close()
	}
	sym := stackprof.NewSymbolizer(c.s.host.Symbols(), p)
	sym.Warm(c.stacks)
	n := len(c.stacks)
	return &symbolized{c: c, p: p, sym: sym, frames: make([][]profile.Frame, n), done: make([]bool, n),
		ids: make([][]int, n), idDone: make([]bool, n)}
}

// of is the frames of stack id, root first; none for -1.
func (y *symbolized) of(id int32) []profile.Frame {
	if id < 0 {
		return nil
	}
	if !y.done[id] {
		// The profile's frames, which its stacks' indexes are of.
		ids := y.idsOf(id)
		frames := make([]profile.Frame, len(ids))
		for i, f := range ids {
			frames[i] = y.p.Frames[f]
		}
		y.frames[id], y.done[id] = frames, true
	}
	return y.frames[id]
}

// idsOf is the indexes in the profile of the frames of stack id, root
// first; none for -1.
func (y *symbolized) idsOf(id int32) []int {
	if id < 0 {
		return nil
	}
	if !y.idDone[id] {
		y.ids[id] = y.sym.FrameIDs(nil, y.c.stacks[id])
		y.idDone[id] = true
	}
	return y.ids[id]
}

// rawKey is what tells a raw record's stack, task and waker apart.
type rawKey struct {
	task   int32
	stacks pair
	waker  rawWaker
	woken  bool
}

func (r *raw) key() rawKey {
	k := rawKey{task: r.task, stacks: r.stacks, woken: r.waker != nil}
	if r.waker != nil {
		k.waker = *r.waker
	}
	return k
}

// fill adds the raw records to prof as samples, each of the frames layout
// gives it as their indexes in prof, root first (made once for each
// distinct stacks and waker).
func (c *collector) fill(prof *profile.Profile, layout func(dst []int, r raw) []int) {
	ids := map[rawKey]int{}
	tasks := make([]int, len(c.tasks))
	for i, t := range c.tasks {
		tasks[i] = prof.TaskID(t.profile())
	}
	var frames []int
	for _, r := range c.raws {
		// The stacks and the waker, whatever the task.
		k := r.key()
		k.task = 0
		id, ok := ids[k]
		if !ok {
			frames = layout(frames[:0], r)
			id = prof.StackIDOf(frames)
			ids[k] = id
		}
		prof.Samples = append(prof.Samples, profile.Sample{Time: r.at, Stack: id, Task: tasks[r.task], Value: r.value})
	}
	slices.SortStableFunc(prof.Samples, func(a, b profile.Sample) int { return cmp.Compare(a.Time, b.Time) })
}

// records sums the raw records by task, stacks and waker.
func (c *collector) records(y *symbolized) []Record {
	index := map[rawKey]int{}
	var out []Record
	for _, r := range c.raws {
		k := r.key()
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			rec := Record{Task: c.tasks[r.task].profile(), Kernel: y.of(r.stacks[0]), User: y.of(r.stacks[1])}
			if w := r.waker; w != nil {
				rec.Waker = &Waker{Task: c.tasks[w.task].profile(), Kernel: y.of(w.stacks[0]), User: y.of(w.stacks[1])}
			}
			out = append(out, rec)
		}
		out[i].Value += r.value
	}
	return out
}

// task is a thread as a script identifies it.
type task struct {
	pid, tid uint32
	comm     string
}

func (t task) profile() profile.Task {
	return profile.Task{Pid: int(t.pid), Tid: int(t.tid), Comm: t.comm}
}

// u64 reads an integer a script decoded (uint64 or int64).
func u64(v any) uint64 {
	switch x := v.(type) {
	case uint64:
		return x
	case int64:
		return uint64(x)
	}
	return 0
}

// fieldErr reports a record of a script that is not laid out as its Go
// side reads it: a defect of friday's own.
func fieldErr(what string, v any) error {
	return fmt.Errorf("internal error: a collector's %s is a %T", what, v)
}

// newProfile is the profile of a session that has ended now.
func (s *session) newProfile(typ, unit string) *profile.Profile {
	return &profile.Profile{Type: typ, Unit: unit, Start: s.start, Duration: time.Since(s.start)}
}
