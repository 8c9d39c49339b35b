package run

import (
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"friday/codegen"
	"friday/types"
)

// Stacks reads the stacks a running script stored with kstack and ustack.
// Make one, hand it to the symbolizer the printer uses and to Start through
// Options; Start fills it in once the maps exist.
type Stacks struct {
	// Seen, when set, is called while the script runs with the pid of
	// every process whose user stack a map key holds, once per pid and
	// soon after the key appears: a process that exits before the maps
	// are printed can only be symbolized from what was read of it while
	// it lived (see symbol.Resolver.Snapshot).
	Seen func(pid uint32)

	maps map[string]*ebpf.Map // stack maps by name (codegen.StackMapName)

	stopScan func()
}

// scanEvery is how often map keys are read for the pids of user stacks,
// at most: a scan costs a system call per key, so the pause after one is at
// least scanCost times as long as the scan took, which keeps friday's own
// CPU use near 1% however many stacks a map holds.
const (
	scanEvery = 100 * time.Millisecond
	scanCost  = 100
)

// set finds the stack maps among the loaded ones and, when Seen is set,
// starts watching the user maps whose keys hold user stacks.
func (s *Stacks) set(obj *codegen.Object, maps map[string]*ebpf.Map) {
	s.maps = map[string]*ebpf.Map{}
	for _, m := range obj.Maps {
		if m.Internal && codegen.IsStackMap(m.Name) && maps[m.Name] != nil {
			s.maps[m.Name] = maps[m.Name]
		}
	}
	if s.Seen == nil {
		return
	}
	var scans []pidScan
	for _, m := range obj.Maps {
		if m.Internal || m.Key == nil || maps[m.Name] == nil {
			continue
		}
		if offs := ustackPids(m.Key, 0, nil); len(offs) > 0 {
			scans = append(scans, pidScan{maps[m.Name], int(m.Spec.KeySize), offs})
		}
	}
	if len(scans) == 0 {
		return
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		seen := map[uint32]bool{}
		for {
			start := time.Now()
			for _, sc := range scans {
				sc.scan(seen, s.Seen)
			}
			select {
			case <-done:
				return
			case <-time.After(max(scanEvery, scanCost*time.Since(start))):
			}
		}
	}()
	s.stopScan = sync.OnceFunc(func() {
		close(done)
		<-stopped
	})
}

// stop ends the watching of map keys; the maps may be closed after.
func (s *Stacks) stop() {
	if s != nil && s.stopScan != nil {
		s.stopScan()
	}
}

// pidScan finds the pids of user stacks in the keys of one map.
type pidScan struct {
	m       *ebpf.Map
	keySize int
	offs    []int // offsets of the pids in a key
}

func (sc pidScan) scan(seen map[uint32]bool, fn func(uint32)) {
	// Keys only: the values of per-CPU maps would need reading per CPU.
	var prev []byte
	for {
		key := make([]byte, sc.keySize)
		var err error
		if prev == nil {
			err = sc.m.NextKey(nil, &key)
		} else {
			err = sc.m.NextKey(prev, &key)
		}
		if err != nil {
			return
		}
		for _, off := range sc.offs {
			pid := binary.NativeEndian.Uint32(key[off:])
			if pid != 0 && !seen[pid] {
				seen[pid] = true
				fn(pid)
			}
		}
		prev = key
	}
}

// ustackPids appends the offsets, within a value of type t at off, of the
// pids of the user stacks it holds.
func ustackPids(t *types.Type, off int, offs []int) []int {
	switch t.Kind {
	case types.UStack:
		// The stack id, then the pid (codegen's layout of ustack).
		offs = append(offs, off+8)
	case types.Tuple, types.Record, types.Struct:
		for _, f := range t.Fields {
			offs = ustackPids(f.Type, off+f.Offset, offs)
		}
	case types.Array:
		for i := 0; i < t.Len; i++ {
			offs = ustackPids(t.Elem, off+i*t.Elem.Size, offs)
		}
	}
	return offs
}

// Stack returns the addresses stored under id in the stack map of kstack
// (user false) or ustack values of depth, innermost first; nil when there
// are none (the id is an error: no stack was recorded). Each depth has a
// map of its own, and the same id in another map is another stack.
func (s *Stacks) Stack(user bool, depth int, id uint64) []uint64 {
	return frames(s.lookup(codegen.StackMapName(user, false, depth), id))
}

// frames are the addresses of a stack map's value, up to the first zero.
func frames(buf []byte) []uint64 {
	var addrs []uint64
	for i := 0; i+8 <= len(buf); i += 8 {
		a := binary.NativeEndian.Uint64(buf[i:])
		if a == 0 {
			break
		}
		addrs = append(addrs, a)
	}
	return addrs
}

// All reads every stack the map of kstack (user false) or ustack values of
// depth holds, by id, innermost frame first: one pass over the map, in
// batches where the kernel can, costs a few system calls for thousands of
// stacks, where Stack costs one each. The kernel writes each batch into
// one buffer, used again for the next: only the frames are kept, each
// batch's in one array.
func (s *Stacks) All(user bool, depth int) (map[uint64][]uint64, error) {
	m := s.maps[codegen.StackMapName(user, false, depth)]
	if m == nil {
		return nil, nil
	}
	out := map[uint64][]uint64{}
	words := int(m.ValueSize()) / 8
	// The kernel writes the values in place into a slice of arrays of
	// the map's depth (a batch takes as many values as keys), read as
	// one slice of addresses.
	row := reflect.ArrayOf(words, reflect.TypeFor[uint64]())
	var keys, vals []uint64
	var batch any
	alloc := func(n int) {
		b := reflect.MakeSlice(reflect.SliceOf(row), n, n)
		keys, vals, batch = make([]uint64, n), unsafe.Slice((*uint64)(b.UnsafePointer()), n*words), b.Interface()
	}
	chunk := min(int(m.MaxEntries()), stackBatch)
	alloc(chunk)
	cursor := new(ebpf.MapBatchCursor)
	for {
		n, err := m.BatchLookup(cursor, keys, batch, nil)
		if errors.Is(err, unix.ENOSPC) && n == 0 {
			// A bucket holds more keys than a chunk.
			chunk *= 2
			alloc(chunk)
			continue
		}
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			if len(out) == 0 && n == 0 {
				return s.walk(m)
			}
			return nil, err
		}
		total := 0
		for i := range n {
			total += stackLen(vals[i*words : (i+1)*words])
		}
		frames := make([]uint64, 0, total)
		for i := range n {
			v := vals[i*words : (i+1)*words]
			at := len(frames)
			frames = append(frames, v[:stackLen(v)]...)
			out[keys[i]] = frames[at:len(frames):len(frames)]
		}
		if err != nil {
			return out, nil
		}
	}
}

// stackBatch is how many stacks All asks the kernel for at a time: a
// buffer of 1 MB at the deepest, a few system calls for a busy machine's
// profile.
const stackBatch = 1024

// stackLen is the number of addresses of a stack map's value: up to the
// first zero.
func stackLen(v []uint64) int {
	if n := slices.Index(v, 0); n >= 0 {
		return n
	}
	return len(v)
}

// walk is All for kernels without batch lookups: from key to next key.
func (s *Stacks) walk(m *ebpf.Map) (map[uint64][]uint64, error) {
	out := map[uint64][]uint64{}
	var id uint64
	buf := make([]byte, m.ValueSize())
	it := m.Iterate()
	for it.Next(&id, &buf) {
		out[id] = frames(buf)
	}
	return out, it.Err()
}

// lookup is the value under stack id in the stack map name; nil when
// there is none. Ids that are errors are negative.
func (s *Stacks) lookup(name string, id uint64) []byte {
	if s == nil || int64(id) < 0 {
		return nil
	}
	m := s.maps[name]
	if m == nil {
		return nil
	}
	buf := make([]byte, m.ValueSize())
	var err error
	if m.KeySize() == 4 {
		// A stack trace map (of build ids) counts its ids in 32 bits.
		if id > 1<<31 {
			return nil
		}
		err = m.Lookup(uint32(id), &buf)
	} else {
		err = m.Lookup(id, &buf)
	}
	if err != nil {
		return nil
	}
	return buf
}

// BuildIDFrame is a frame of a ustack(build_id) value, as the kernel
// records it (struct bpf_stack_build_id).
type BuildIDFrame struct {
	// Valid says the frame is ID and Offset; otherwise the kernel could
	// not read the binary's build id and Offset is the address.
	Valid  bool
	ID     [20]byte
	Offset uint64
}

// BuildIDStack returns the frames stored under id in the stack map of
// ustack(build_id) values of depth, innermost first.
func (s *Stacks) BuildIDStack(depth int, id uint64) []BuildIDFrame {
	buf := s.lookup(codegen.StackMapName(true, true, depth), id)
	var frames []BuildIDFrame
	for i := 0; i+codegen.BuildIDFrameSize <= len(buf); i += codegen.BuildIDFrameSize {
		const (
			empty = 0 // BPF_STACK_BUILD_ID_EMPTY: past the last frame
			valid = 1 // BPF_STACK_BUILD_ID_VALID
		)
		fr := buf[i : i+codegen.BuildIDFrameSize]
		status := int32(binary.NativeEndian.Uint32(fr))
		if status == empty {
			break
		}
		f := BuildIDFrame{Valid: status == valid, Offset: binary.NativeEndian.Uint64(fr[24:])}
		copy(f.ID[:], fr[4:24])
		frames = append(frames, f)
	}
	return frames
}
