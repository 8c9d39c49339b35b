package symbol

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// process is the address space of one process as captured from
// /proc/PID/maps, with the mapped binaries already opened so that their
// symbols stay readable after the process exits.
type process struct {
	maps    []mapping // executable mappings, sorted by start
	perf    []perfSym
	exe     fileKey      // the program the process ran then
	checked atomic.Int64 // unix nanoseconds when exe was last compared
	// read is when the maps were last read, or tried to be (unix
	// nanoseconds): a process that exited is not asked about again for
	// each of its addresses that no mapping holds.
	read atomic.Int64
}

// newProcess is a process's snapshot as it is taken now.
func newProcess(pid int) *process {
	p := &process{exe: exeKey(pid)}
	now := time.Now().UnixNano()
	p.checked.Store(now)
	p.read.Store(now)
	return p
}

// rereadDue tells whether the maps may be read again, and if so takes the
// turn: at most once in refreshAfter.
func (p *process) rereadDue() bool {
	now, last := time.Now().UnixNano(), p.read.Load()
	return now-last > int64(refreshAfter) && p.read.CompareAndSwap(last, now)
}

type mapping struct {
	start, end, off uint64
	path            string
	bin             *Binary // nil for anonymous memory or unreadable files
}

// mapsLine is one parsed line of /proc/PID/maps.
type mapsLine struct {
	start, end, off uint64
	perms, path     string
	// node is the file's device and inode as the line gives them,
	// "fd:01 1234"; "" for memory that is no file's.
	node string
}

func parseMapsLine(line string) (mapsLine, error) {
	// start-end perms offset dev inode [path]; the path may contain spaces.
	var m mapsLine
	f := strings.Fields(line)
	if len(f) < 5 {
		return m, fmt.Errorf("bad maps line %q", line)
	}
	se := strings.SplitN(f[0], "-", 2)
	if len(se) != 2 {
		return m, fmt.Errorf("bad maps range %q", f[0])
	}
	var err1, err2, err3 error
	m.start, err1 = strconv.ParseUint(se[0], 16, 64)
	m.end, err2 = strconv.ParseUint(se[1], 16, 64)
	m.off, err3 = strconv.ParseUint(f[2], 16, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return m, fmt.Errorf("bad maps line %q", line)
	}
	m.perms = f[1]
	if f[4] != "0" {
		m.node = f[3] + " " + f[4]
	}
	if len(f) > 5 {
		// Cut after the inode field, keeping the path's own spaces.
		rest := line
		for i := 0; i < 5; i++ {
			rest = strings.TrimLeft(rest, " \t")
			rest = rest[strings.IndexAny(rest+" ", " \t"):]
		}
		m.path = strings.TrimSpace(rest)
	}
	return m, nil
}

// snapshot reads the maps of pid and opens the binaries of its executable
// mappings, sharing already-open binaries through the resolver's cache.
func (r *Resolver) snapshot(pid int) (*process, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("process %d does not exist", pid)
		}
		return nil, err
	}
	return r.snapshotMaps(pid, data)
}

// execLines keeps the lines of a maps text that map code: only changes
// to those call for a new snapshot.
func execLines(maps []byte) []byte {
	var out []byte
	for line := range bytes.Lines(maps) {
		if f := bytes.Fields(line); len(f) > 1 && bytes.IndexByte(f[1], 'x') >= 0 {
			out = append(out, line...)
		}
	}
	return out
}

func (r *Resolver) snapshotMaps(pid int, data []byte) (*process, error) {
	p := newProcess(pid)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		ml, err := parseMapsLine(sc.Text())
		if err != nil {
			return nil, err
		}
		if !strings.Contains(ml.perms, "x") {
			continue
		}
		m := mapping{start: ml.start, end: ml.end, off: ml.off, path: ml.path}
		switch {
		case ml.path == "[vdso]":
			m.bin = r.vdso(pid, ml)
		case strings.HasPrefix(ml.path, "/"):
			m.bin = r.binary(pid, ml)
		}
		p.maps = append(p.maps, m)
	}
	sort.Slice(p.maps, func(i, j int) bool { return p.maps[i].start < p.maps[j].start })
	// Reading the JIT map now keeps it even if the runtime removes it at
	// exit.
	p.perf = readPerfMap(pid)
	return p, nil
}

type fileKey struct {
	dev, ino uint64
	mtime    int64
	size     int64
}

func statKey(fi os.FileInfo) (fileKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{uint64(st.Dev), st.Ino, fi.ModTime().UnixNano(), fi.Size()}, true
}

// exeKey identifies the program a process runs; it changes at exec.
func exeKey(pid int) fileKey {
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return fileKey{}
	}
	k, _ := statKey(fi)
	return k
}

// binary is the file a mapping maps. A file already open is known by its
// device, inode and path without opening it again: on a busy machine
// processes start by the hundred, mapping the same few files. (A file that
// replaces another may get its inode, but seldom at the same path.)
func (r *Resolver) binary(pid int, ml mapsLine) *Binary {
	node := ml.node + " " + ml.path
	r.mu.Lock()
	b := r.byNode[node]
	r.mu.Unlock()
	if b != nil {
		return b
	}
	b = r.openMapped(pid, ml)
	if b != nil && ml.node != "" {
		r.mu.Lock()
		r.byNode[node] = b
		r.mu.Unlock()
	}
	return b
}

// openMapped opens a mapped file through /proc so that files of other
// mount namespaces and deleted-but-mapped files are still found.
func (r *Resolver) openMapped(pid int, ml mapsLine) *Binary {
	path := strings.TrimSuffix(ml.path, " (deleted)")
	candidates := []string{
		fmt.Sprintf("/proc/%d/map_files/%x-%x", pid, ml.start, ml.end),
		filepath.Join(fmt.Sprintf("/proc/%d/root", pid), path),
	}
	for _, c := range candidates {
		f, err := os.Open(c)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		key, ok := statKey(fi)
		if !ok {
			f.Close()
			continue
		}
		r.mu.Lock()
		b, ok := r.byFile[key]
		r.mu.Unlock()
		if ok {
			f.Close()
			return b
		}
		b, err = newBinary(path, f, f.Close)
		if err != nil {
			f.Close()
			return nil
		}
		b.noDWARF = r.noDWARF
		return r.remember(key, b)
	}
	return nil
}

// remember caches b under its file identity, reusing an already loaded
// binary with the same build-id (the same library seen through another
// path or container) so that its symbols are read once.
func (r *Resolver) remember(key fileKey, b *Binary) *Binary {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byFile[key]; ok {
		b.Close()
		return old
	}
	if b.BuildID != "" {
		if old, ok := r.byBuildID[b.BuildID]; ok {
			b.Close()
			r.byFile[key] = old
			return old
		}
		r.byBuildID[b.BuildID] = b
	}
	r.byFile[key] = b
	return b
}

// vdso reads the kernel-provided vDSO image out of the process's memory;
// it is not a file, but it is an ELF image with symbols. Every process
// maps the same image, so it is read once.
func (r *Resolver) vdso(pid int, ml mapsLine) *Binary {
	r.mu.Lock()
	b := r.vdsoBin
	r.mu.Unlock()
	if b != nil {
		return b
	}
	b = r.readVDSO(pid, ml)
	if b != nil {
		r.mu.Lock()
		r.vdsoBin = b
		r.mu.Unlock()
	}
	return b
}

func (r *Resolver) readVDSO(pid int, ml mapsLine) *Binary {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	img := make([]byte, ml.end-ml.start)
	if _, err := f.ReadAt(img, int64(ml.start)); err != nil {
		return nil
	}
	b, err := newBinary("[vdso]", bytes.NewReader(img), nil)
	if err != nil {
		return nil
	}
	if b.BuildID == "" {
		return b
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byBuildID[b.BuildID]; ok {
		return old
	}
	r.byBuildID[b.BuildID] = b
	return b
}

func (p *process) find(addr uint64) *mapping {
	i := sort.Search(len(p.maps), func(i int) bool { return p.maps[i].end > addr })
	if i < len(p.maps) && p.maps[i].start <= addr {
		return &p.maps[i]
	}
	return nil
}

// resolve symbolizes addr within the captured address space.
func (p *process) resolve(addr uint64) (Frame, bool) {
	m := p.find(addr)
	if m != nil && m.bin != nil {
		if va, ok := m.bin.FileOffsetToAddr(addr - m.start + m.off); ok {
			if f, ok := m.bin.Lookup(va); ok {
				return f, true
			}
		}
		return Frame{Module: m.path}, false
	}
	if f, ok := lookupPerfMap(p.perf, addr); ok {
		return f, true
	}
	if m != nil {
		return Frame{Module: m.path}, false
	}
	return Frame{}, false
}
