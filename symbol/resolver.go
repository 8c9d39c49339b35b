// Package symbol turns kernel and user-space addresses into function
// names, the way stack and ksym/usym output needs them: kernel symbols
// from /proc/kallsyms, user symbols from the ELF files a process maps
// (symbol tables, separate debug files, Go's pclntab and DWARF for lines
// and inlined calls) and from JIT perf maps, with C++ and Rust names
// demangled.
package symbol

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Frame is one symbolized address. Name is empty when nothing is known
// about Addr. For code that the compiler inlined, Name is the function
// the code physically belongs to (Offset is relative to its start, File
// and Line give the call site in it) and Inlined lists the inlined calls
// at Addr, innermost first, each with its own source position. Frames
// are shared with the resolver's cache: treat Inlined as read-only.
type Frame struct {
	Addr    uint64
	Name    string
	Offset  uint64
	Module  string // kernel module or user binary path; "" for the core kernel
	File    string
	Line    int
	Inlined []Frame
}

// Resolver symbolizes addresses of the kernel and of any process. It is
// safe for concurrent use. Binaries are cached by build-id, or by file
// identity when they have none, across all processes.
type Resolver struct {
	// kernel is the kernel's symbol table, read on first use; kernelRead
	// tells when it has been.
	kernel     func() (*Kernel, error)
	kernelRead atomic.Bool
	// kframes are kernel addresses resolved by PrepareKernel without the
	// table; kmu guards them, apart from mu, which user lookups hold while
	// they read binaries.
	kmu     sync.Mutex
	kframes map[uint64]Frame

	mu        sync.Mutex
	procs     map[int]*process
	byFile    map[fileKey]*Binary
	byBuildID map[string]*Binary
	byNode    map[string]*Binary // by mapsLine.node and path
	vdsoBin   *Binary
	noDWARF   bool
}

// refreshAfter bounds how often a process's maps are re-read when an
// address misses them (code loaded by dlopen or a JIT after the snapshot).
const refreshAfter = time.Second

// NewResolver returns an empty resolver; it reads symbols as lookups need
// them.
func NewResolver() *Resolver {
	r := &Resolver{
		kframes:   make(map[uint64]Frame),
		procs:     make(map[int]*process),
		byFile:    make(map[fileKey]*Binary),
		byBuildID: make(map[string]*Binary),
		byNode:    make(map[string]*Binary),
	}
	r.kernel = sync.OnceValues(func() (*Kernel, error) {
		defer r.kernelRead.Store(true)
		return ReadKallsyms()
	})
	return r
}

// SkipDWARF has the resolver leave DWARF out: the source lines and
// inlined calls of C, C++ and Rust code. Reading it takes seconds for a
// large library (or its separate debug file), where symbol tables and Go's
// pclntab (which gives Go's inlined calls) take milliseconds: a profile of
// the whole system symbolizes in a second without it. Call it before the
// first lookup.
func (r *Resolver) SkipDWARF() { r.noDWARF = true }

// KernelSymbols is the kernel's symbol table, read on first use.
func (r *Resolver) KernelSymbols() (*Kernel, error) { return r.kernel() }

// PrepareKernel resolves kernel addresses that are about to be looked up
// (the ksym() values of a map being printed) in one pass over kallsyms
// that keeps only their frames (LookupKallsyms), unless the table is read
// already: a few addresses do not pay for the table.
func (r *Resolver) PrepareKernel(addrs []uint64) {
	if r.kernelRead.Load() {
		return
	}
	r.kmu.Lock()
	var missing []uint64
	for _, a := range addrs {
		if _, ok := r.kframes[a]; !ok {
			missing = append(missing, a)
		}
	}
	r.kmu.Unlock()
	if len(missing) == 0 {
		return
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return // Kernel reports nothing for them, as the table would
	}
	defer f.Close()
	frames, err := LookupKallsyms(f, missing)
	if err != nil {
		return
	}
	r.kmu.Lock()
	for _, fr := range frames {
		r.kframes[fr.Addr] = fr
	}
	r.kmu.Unlock()
}

// Kernel symbolizes a kernel address.
func (r *Resolver) Kernel(addr uint64) Frame {
	r.kmu.Lock()
	f, ok := r.kframes[addr]
	r.kmu.Unlock()
	if ok {
		return f
	}
	f = Frame{Addr: addr}
	k, err := r.kernel()
	if err != nil {
		return f
	}
	if name, off, mod, ok := k.Lookup(addr); ok {
		f.Name, f.Offset, f.Module = name, off, mod
	}
	return f
}

// KernelAddr is the address of a kernel symbol, for kaddr().
func (r *Resolver) KernelAddr(name string) (uint64, error) {
	k, err := r.kernel()
	if err != nil {
		return 0, err
	}
	a, ok := k.Addr(name)
	if !ok {
		return 0, fmt.Errorf("kernel symbol %q not found", name)
	}
	return a, nil
}

// Snapshot captures the address space of a live process and opens its
// binaries, so that its addresses still resolve after it exits. Call it
// as soon as a process is seen (e.g. when its first event arrives, or at
// exec); User snapshots on its own for processes still alive.
func (r *Resolver) Snapshot(pid int) error {
	p, err := r.snapshot(pid)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.procs[pid] = p
	r.mu.Unlock()
	return nil
}

// Watch keeps the snapshot of pid current while the process lives, so
// that a short-lived process, such as a traced command that exits before
// its stacks are printed, still resolves: the code it maps after exec or
// dlopen is captured within milliseconds. A command held before its exec
// can be watched from the start: polling stays fast until it has exec'd
// (for up to watchExec) and for a second after each change. The returned
// function stops watching; watching also ends when the process exits.
func (r *Resolver) Watch(pid int) (stop func()) {
	done := make(chan struct{})
	go func() {
		path := fmt.Sprintf("/proc/%d/maps", pid)
		var last []byte
		start, first := time.Now(), exeKey(pid)
		delay, changed, execd := watchMin, start, false
		for {
			data, err := os.ReadFile(path)
			if (err != nil || len(data) == 0) && exited(pid) {
				return
			}
			// In the middle of an exec the maps can read empty or fail
			// for a moment; only a change to code mappings counts.
			if code := execLines(data); len(code) > 0 && !bytes.Equal(code, last) {
				if p, err := r.snapshotMaps(pid, data); err == nil {
					r.mu.Lock()
					r.procs[pid] = p
					r.mu.Unlock()
				}
				last, delay, changed = code, watchMin, time.Now()
			} else {
				execd = execd || exeKey(pid) != first
				limit := watchIdle
				if time.Since(changed) < time.Second || !execd && time.Since(start) < watchExec {
					limit = watchBusy
				}
				delay = min(2*delay, limit)
			}
			select {
			case <-done:
				return
			case <-time.After(delay):
			}
		}
	}()
	return sync.OnceFunc(func() { close(done) })
}

// exited tells whether pid is gone or a zombie, whose memory the kernel
// has already released.
func exited(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which ends at the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// A watched process is polled often in the second after a change (exec,
// then the dynamic loader mapping libraries) and less often once settled.
const (
	watchMin  = time.Millisecond
	watchBusy = 5 * time.Millisecond
	watchIdle = 100 * time.Millisecond
	watchExec = 30 * time.Second
)

// Forget drops what is known about a process, e.g. after it exited and
// its stacks were printed. Binaries stay cached for other processes.
func (r *Resolver) Forget(pid int) {
	r.mu.Lock()
	delete(r.procs, pid)
	r.mu.Unlock()
}

// User symbolizes an address in the address space of process pid.
// Stack frames above the innermost hold return addresses, one past the
// call; names and offsets of the raw address are what bpftrace prints,
// while addr-1 gives the call's own line and inlined calls.
func (r *Resolver) User(pid int, addr uint64) Frame {
	p := r.process(pid)
	if p == nil {
		return Frame{Addr: addr}
	}
	f, ok := p.resolve(addr)
	if m := p.find(addr); !ok && (m == nil || m.bin == nil) && p.rereadDue() {
		// The process may have mapped new code since, or a JIT may have
		// added to its perf map; if it has exited, the old snapshot stays.
		if r.Snapshot(pid) == nil {
			f, _ = r.process(pid).resolve(addr)
		}
	}
	f.Addr = addr
	return f
}

// process returns the snapshot of pid, taking one if there is none yet.
// A snapshot older than refreshAfter is retaken if the process has
// exec'd another program since: a traced command is seen first as the
// tracer's own child before it execs.
func (r *Resolver) process(pid int) *process {
	r.mu.Lock()
	p := r.procs[pid]
	r.mu.Unlock()
	if now := time.Now().UnixNano(); p != nil && now-p.checked.Load() > int64(refreshAfter) {
		p.checked.Store(now)
		if exe := exeKey(pid); exe != (fileKey{}) && exe != p.exe {
			p = nil
		}
	}
	if p == nil {
		if err := r.Snapshot(pid); err != nil {
			// Gone, or never was: known as such, with nothing mapped,
			// until the checks above find a program running there.
			r.mu.Lock()
			r.procs[pid] = newProcess(pid)
			r.mu.Unlock()
			return nil
		}
		r.mu.Lock()
		p = r.procs[pid]
		r.mu.Unlock()
	}
	return p
}

// Warm reads the kernel's symbols and looks up the user addresses given,
// by process, so that the lookups that follow hit the caches: a profile
// knows all its addresses at once. The binaries behind them may be many,
// and a few of them hold most addresses: the lookups are spread over as
// many goroutines as GOMAXPROCS, in chunks.
func (r *Resolver) Warm(user map[int][]uint64) {
	byBin := map[*Binary]map[uint64]bool{}
	for pid, addrs := range user {
		p := r.process(pid)
		if p == nil {
			continue
		}
		for _, a := range addrs {
			m := p.find(a)
			if m == nil || m.bin == nil {
				continue
			}
			if va, ok := m.bin.FileOffsetToAddr(a - m.start + m.off); ok {
				if byBin[m.bin] == nil {
					byBin[m.bin] = map[uint64]bool{}
				}
				byBin[m.bin][va] = true
			}
		}
	}
	work := make(chan func())
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Go(func() {
			for f := range work {
				f()
			}
		})
	}
	work <- func() { r.kernel() }
	for b, set := range byBin {
		// In address order, a chunk's lookups share the pages they read.
		vas := slices.Sorted(maps.Keys(set))
		for chunk := range slices.Chunk(vas, warmChunk) {
			work <- func() {
				for _, va := range chunk {
					b.Lookup(va)
				}
			}
		}
	}
	close(work)
	wg.Wait()
}

// warmChunk is how many lookups in one binary Warm hands out at a time:
// enough to make handing them out cheap, few enough to share them out.
const warmChunk = 128

// FormatKsym formats a frame as ksym() and usym() print it: the bare
// name, or the address in hex when it is unknown.
func FormatKsym(f Frame) string {
	if f.Name == "" {
		return fmt.Sprintf("0x%x", f.Addr)
	}
	return f.Name
}

// FormatStackFrame formats a frame as a line of kstack/ustack shows it:
// name+offset, or the hex address when it is unknown.
func FormatStackFrame(f Frame) string {
	if f.Name == "" {
		return fmt.Sprintf("0x%x", f.Addr)
	}
	return fmt.Sprintf("%s+%d", f.Name, f.Offset)
}

// FormatPerf formats a frame the way perf-style stacks show it:
// "address name+offset (module)".
func FormatPerf(f Frame) string {
	name, mod := "[unknown]", f.Module
	if f.Name != "" {
		name = fmt.Sprintf("%s+%d", f.Name, f.Offset)
	}
	if mod == "" {
		mod = "[unknown]"
		if f.Name != "" {
			mod = "[kernel.kallsyms]"
		}
	}
	return fmt.Sprintf("%x %s (%s)", f.Addr, name, mod)
}

// Mapping is a file mapped into a process's memory, as pprof lists it.
type Mapping struct {
	Start, Limit, Offset uint64
	File                 string
	BuildID              string // hex, "" when unknown
}

// Mapping is the file mapping of process pid that holds addr; false for
// anonymous memory (JIT code) and addresses outside any mapping.
func (r *Resolver) Mapping(pid int, addr uint64) (Mapping, bool) {
	p := r.process(pid)
	if p == nil {
		return Mapping{}, false
	}
	m := p.find(addr)
	if m == nil || m.path == "" || m.path[0] != '/' {
		return Mapping{}, false
	}
	out := Mapping{Start: m.start, Limit: m.end, Offset: m.off, File: m.path}
	if m.bin != nil {
		out.BuildID = m.bin.BuildID
	}
	return out, true
}
