package symbol

import (
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Follower records, through the kernel's perf mmap records, the code a
// process maps from its next exec on. Unlike polling /proc/PID/maps it
// misses nothing, however soon the process exits: a traced command that
// runs for a millisecond still has its stacks resolved when they are
// printed after its end.
type Follower struct {
	r   *Resolver
	pid int

	mu    sync.Mutex
	fd    int
	ring  []byte // metadata page, then the data pages
	maps  []mapsLine
	dirty bool
}

// followPages is the size of the record buffer in pages (a power of two):
// a record per code mapping, of which a process has a few dozen.
const followPages = 16

// Follow starts recording the code mappings of pid; it must be called
// before the process execs the program whose addresses are to resolve (a
// command held before its exec). The recording applies to the resolver on
// Sync. Mappings made by other threads than the one that execs are not
// recorded; those are found in /proc as long as the process lives.
func (r *Resolver) Follow(pid int) (*Follower, error) {
	attr := unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_SOFTWARE,
		Config: unix.PERF_COUNT_SW_DUMMY,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		// Executable mappings only, from the exec on.
		Bits: unix.PerfBitMmap | unix.PerfBitDisabled | unix.PerfBitEnableOnExec,
	}
	fd, err := unix.PerfEventOpen(&attr, pid, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cannot follow the mappings of process %d: %w", pid, err)
	}
	ring, err := unix.Mmap(fd, 0, (1+followPages)*os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cannot follow the mappings of process %d: %w", pid, err)
	}
	return &Follower{r: r, pid: pid, fd: fd, ring: ring}, nil
}

// Offsets of data_head and data_tail in the metadata page
// (struct perf_event_mmap_page).
const (
	perfDataHead = 1024
	perfDataTail = 1032
)

// perfRecordMmap is PERF_RECORD_MMAP: pid, tid, addr, len, pgoff (in
// bytes), then the NUL-terminated file name.
const perfRecordMmap = 1

// Sync reads the mappings recorded since the last call and, if there are
// new ones, makes them the resolver's view of the process. Call it before
// symbolizing addresses of the process.
func (f *Follower) Sync() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ring == nil {
		return
	}
	f.read()
	if !f.dirty {
		return
	}
	f.dirty = false
	p := newProcess(f.pid)
	for _, ml := range f.maps {
		m := mapping{start: ml.start, end: ml.end, off: ml.off, path: ml.path}
		// Through the process while it lives; by path once it is gone.
		if m.bin = f.r.openMapped(f.pid, ml); m.bin == nil {
			m.bin = f.r.openMapped(os.Getpid(), mapsLine{path: ml.path})
		}
		p.maps = append(p.maps, m)
	}
	f.r.mu.Lock()
	f.r.procs[f.pid] = p
	f.r.mu.Unlock()
}

// read consumes the records in the ring buffer.
func (f *Follower) read() {
	data := f.ring[os.Getpagesize():]
	size := uint64(len(data))
	head := atomic.LoadUint64((*uint64)(unsafe.Pointer(&f.ring[perfDataHead])))
	tail := binary.NativeEndian.Uint64(f.ring[perfDataTail:])
	at := func(off, n uint64) []byte {
		out := make([]byte, n)
		for i := range out {
			out[i] = data[(off+uint64(i))%size]
		}
		return out
	}
	for tail+8 <= head {
		hdr := at(tail, 8)
		typ, n := binary.NativeEndian.Uint32(hdr), uint64(binary.NativeEndian.Uint16(hdr[6:]))
		if n < 8 || tail+n > head {
			break
		}
		if rec := at(tail+8, n-8); typ == perfRecordMmap && len(rec) > 32 {
			ml := mapsLine{perms: "r-xp"}
			addr, length := binary.NativeEndian.Uint64(rec[8:]), binary.NativeEndian.Uint64(rec[16:])
			ml.start, ml.end, ml.off = addr, addr+length, binary.NativeEndian.Uint64(rec[24:])
			name := rec[32:]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			ml.path = string(name)
			f.add(ml)
		}
		tail += n
	}
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&f.ring[perfDataTail])), tail)
}

// add records a file mapping, replacing those it covers (a later exec or
// mmap over the same addresses).
func (f *Follower) add(ml mapsLine) {
	if len(ml.path) == 0 || ml.path[0] != '/' {
		// Anonymous code and the vDSO are not files to read symbols from.
		return
	}
	kept := f.maps[:0]
	for _, m := range f.maps {
		if m.end <= ml.start || m.start >= ml.end {
			kept = append(kept, m)
		}
	}
	f.maps = append(kept, ml)
	sort.Slice(f.maps, func(i, j int) bool { return f.maps[i].start < f.maps[j].start })
	f.dirty = true
}

// Close stops recording; what Sync applied stays.
func (f *Follower) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ring == nil {
		return nil
	}
	unix.Munmap(f.ring)
	f.ring = nil
	return unix.Close(f.fd)
}
