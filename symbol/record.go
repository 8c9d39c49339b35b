package symbol

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"friday/internal/cpus"
)

// Recorder records, through the kernel's perf records on every CPU, the
// code every process maps from its start on (exec, fork, mmap of
// executable files), as perf record does: the addresses of a process that
// started while it records resolve however soon the process exits,
// without the process having been snapshotted while it lived, once Sync
// has applied the records. Processes that were running before keep being
// snapshotted (Snapshot), as their first mappings are in no record.
type Recorder struct {
	r     *Resolver
	mu    sync.Mutex
	rings [][]byte // per CPU: the metadata page, then the data pages
	fds   []int
	// pending are the records read and not yet applied, in no order
	// across CPUs; procs, what they told of each process.
	pending []record
	procs   map[int]*recorded
	lost    uint64
	stop    chan struct{}
	stopped chan struct{}
	close   sync.Once
}

// recorded is a process as the records tell it.
type recorded struct {
	maps []mapsLine
	// complete says the process started while recording (it was forked
	// from a recorded one, or exec'd): its mappings are all known.
	complete bool
	dirty    bool
}

type record struct {
	time uint64
	typ  uint32
	misc uint16
	pid  int // the process (for a fork, the new one)
	ppid int // of a fork
	ml   mapsLine
}

// recordPages is the size of each CPU's record buffer in pages (a power
// of two): a process that starts maps a few dozen files, and the buffers
// are read every recordEvery (a thousand processes a second fit).
const (
	recordPages = 128
	recordEvery = 500 * time.Millisecond
)

// Record starts recording the code that processes map, on every CPU.
func (r *Resolver) Record() (*Recorder, error) {
	rec := &Recorder{r: r, procs: map[int]*recorded{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_SOFTWARE,
		Config:      unix.PERF_COUNT_SW_DUMMY,
		Size:        uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Sample_type: unix.PERF_SAMPLE_TIME,
		// Executable mappings only (no MmapData), with their device and
		// inode; execs and forks; each record's time, to order the CPUs'.
		Bits: unix.PerfBitMmap | unix.PerfBitMmap2 | unix.PerfBitComm | unix.PerfBitCommExec |
			unix.PerfBitTask | unix.PerfBitSampleIDAll,
	}
	cpus, err := cpus.Online()
	if err != nil {
		return nil, err
	}
	size := (1 + recordPages) * os.Getpagesize()
	for _, cpu := range cpus {
		fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			rec.Close()
			return nil, fmt.Errorf("cannot record the mappings of processes: %w", err)
		}
		ring, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			unix.Close(fd)
			rec.Close()
			return nil, fmt.Errorf("cannot record the mappings of processes: %w", err)
		}
		rec.fds, rec.rings = append(rec.fds, fd), append(rec.rings, ring)
	}
	go rec.loop()
	return rec, nil
}

// loop reads the buffers before they fill, until Close.
func (rec *Recorder) loop() {
	defer close(rec.stopped)
	t := time.NewTicker(recordEvery)
	defer t.Stop()
	for {
		select {
		case <-rec.stop:
			return
		case <-t.C:
			rec.mu.Lock()
			rec.read()
			rec.mu.Unlock()
		}
	}
}

// Known tells whether process pid started while recording: all its
// mappings are in the records read so far (reading those pending costs no
// system call).
func (rec *Recorder) Known(pid int) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.read()
	rec.apply()
	p := rec.procs[pid]
	return p != nil && p.complete
}

// Sync applies the records read so far to the resolver: each process that
// started while recording is then resolved by what they tell.
func (rec *Recorder) Sync() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.read()
	rec.apply()
	for pid, rp := range rec.procs {
		if !rp.complete || !rp.dirty {
			continue
		}
		rp.dirty = false
		p := newProcess(pid)
		for _, ml := range rp.maps {
			m := mapping{start: ml.start, end: ml.end, off: ml.off, path: ml.path}
			m.bin = rec.r.binary(pid, ml)
			if m.bin == nil {
				// The process is gone: the file by its path.
				m.bin = rec.r.binary(os.Getpid(), mapsLine{path: ml.path, node: ml.node})
			}
			p.maps = append(p.maps, m)
		}
		rec.r.mu.Lock()
		rec.r.procs[pid] = p
		rec.r.mu.Unlock()
	}
}

// Lost is the number of records the kernel could not write for want of
// room in a buffer.
func (rec *Recorder) Lost() uint64 {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.lost
}

// apply applies the pending records in the order of their times.
func (rec *Recorder) apply() {
	slices.SortStableFunc(rec.pending, func(a, b record) int { return cmp.Compare(a.time, b.time) })
	for _, r := range rec.pending {
		switch r.typ {
		case unix.PERF_RECORD_FORK:
			if r.pid == r.ppid {
				continue // a thread
			}
			parent := rec.procs[r.ppid]
			if parent == nil || !parent.complete {
				// Forked from a process running before: snapshotted
				// like it, unless it execs.
				delete(rec.procs, r.pid)
				continue
			}
			rec.procs[r.pid] = &recorded{maps: slices.Clone(parent.maps), complete: true, dirty: true}
		case unix.PERF_RECORD_COMM:
			if r.misc&unix.PERF_RECORD_MISC_COMM_EXEC != 0 {
				rec.procs[r.pid] = &recorded{complete: true, dirty: true}
			}
		case unix.PERF_RECORD_MMAP2:
			if p := rec.procs[r.pid]; p != nil {
				p.maps = addMapping(p.maps, r.ml)
				p.dirty = true
			}
		}
	}
	rec.pending = rec.pending[:0]
}

// addMapping adds a file mapping to a process's, replacing those it
// covers (a later exec or mmap over the same addresses).
func addMapping(maps []mapsLine, ml mapsLine) []mapsLine {
	if len(ml.path) == 0 || ml.path[0] != '/' {
		// Anonymous code and the vDSO are not files to read symbols from.
		return maps
	}
	kept := maps[:0]
	for _, m := range maps {
		if m.end <= ml.start || m.start >= ml.end {
			kept = append(kept, m)
		}
	}
	maps = append(kept, ml)
	slices.SortFunc(maps, func(a, b mapsLine) int { return cmp.Compare(a.start, b.start) })
	return maps
}

// read consumes the records in the buffers into pending.
func (rec *Recorder) read() {
	for _, ring := range rec.rings {
		data := ring[os.Getpagesize():]
		size := uint64(len(data))
		head := atomic.LoadUint64((*uint64)(unsafe.Pointer(&ring[perfDataHead])))
		tail := binary.NativeEndian.Uint64(ring[perfDataTail:])
		var buf []byte
		at := func(off, n uint64) []byte {
			buf = buf[:0]
			for i := uint64(0); i < n; i++ {
				buf = append(buf, data[(off+i)%size])
			}
			return buf
		}
		for tail+8 <= head {
			hdr := at(tail, 8)
			typ, misc, n := binary.NativeEndian.Uint32(hdr), binary.NativeEndian.Uint16(hdr[4:]), uint64(binary.NativeEndian.Uint16(hdr[6:]))
			if n < 16 || tail+n > head {
				break
			}
			rec.parse(typ, misc, at(tail+8, n-8))
			tail += n
		}
		atomic.StoreUint64((*uint64)(unsafe.Pointer(&ring[perfDataTail])), tail)
	}
}

// parse reads one record's body: the fields of its type, then (with
// sample_id_all and PERF_SAMPLE_TIME) its time.
func (rec *Recorder) parse(typ uint32, misc uint16, b []byte) {
	ne := binary.NativeEndian
	r := record{typ: typ, misc: misc, time: ne.Uint64(b[len(b)-8:])}
	switch typ {
	case unix.PERF_RECORD_LOST:
		if len(b) >= 16 {
			rec.lost += ne.Uint64(b[8:])
		}
		return
	case unix.PERF_RECORD_FORK:
		if len(b) < 16 {
			return
		}
		r.pid, r.ppid = int(ne.Uint32(b)), int(ne.Uint32(b[4:]))
	case unix.PERF_RECORD_COMM:
		r.pid = int(ne.Uint32(b))
	case unix.PERF_RECORD_MMAP2:
		// pid, tid, addr, len, pgoff, maj, min, ino, ino_generation,
		// prot, flags, then the file name.
		const nameAt = 64
		if len(b) < nameAt+8 {
			return
		}
		r.pid = int(ne.Uint32(b))
		addr, length := ne.Uint64(b[8:]), ne.Uint64(b[16:])
		r.ml = mapsLine{start: addr, end: addr + length, off: ne.Uint64(b[24:]), perms: "r-xp"}
		if ino := ne.Uint64(b[40:]); ino != 0 {
			r.ml.node = fmt.Sprintf("%02x:%02x %d", ne.Uint32(b[32:]), ne.Uint32(b[36:]), ino)
		}
		name := b[nameAt : len(b)-8]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		r.ml.path = string(name)
	default:
		return
	}
	rec.pending = append(rec.pending, r)
}

// Close stops recording; what Sync applied stays.
func (rec *Recorder) Close() error {
	rec.close.Do(func() {
		if rec.stopped != nil && len(rec.rings) > 0 {
			close(rec.stop)
			<-rec.stopped
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for i, ring := range rec.rings {
			unix.Munmap(ring)
			unix.Close(rec.fds[i])
		}
		rec.rings, rec.fds = nil, nil
	})
	return nil
}
