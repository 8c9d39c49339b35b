package run

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"friday/codegen"
	"friday/types"
)

func (s *state) userMap(ev *codegen.Event) (*codegen.Map, error) {
	for _, m := range s.obj.Maps {
		if m.Name == ev.Map {
			return m, nil
		}
	}
	return nil, fmt.Errorf("internal error: event %d names unknown map %q", ev.ID, ev.Map)
}

// UserMaps are the maps of obj that the script names, sorted by name.
func UserMaps(obj *codegen.Object) []*codegen.Map {
	var user []*codegen.Map
	for _, m := range obj.Maps {
		if !m.Internal && strings.HasPrefix(m.Name, "@") {
			user = append(user, m)
		}
	}
	sort.Slice(user, func(i, j int) bool { return user[i].Name < user[j].Name })
	return user
}

// printMaps prints every user map at exit, sorted by name. Empty maps are
// handed to the printer too: bpftrace marks them with an empty line.
func (s *state) printMaps() error {
	if s.obj.NoExitMaps {
		return nil
	}
	if err := s.opts.Printer.ExitMaps(); err != nil {
		return err
	}
	for _, m := range UserMaps(s.obj) {
		entries, err := s.entries(m)
		if err != nil {
			return err
		}
		if err := s.opts.Printer.Map(m, entries, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// printMap prints a map for print(). A map without keys that holds no
// value prints its type's zero value, as bpftrace's print() does, unless
// it is a histogram or time series.
func (s *state) printMap(m *codegen.Map, top, div uint64) error {
	entries, err := s.entries(m)
	if err != nil {
		return err
	}
	if len(entries) == 0 && m.Key == nil {
		switch m.Value.Kind {
		case types.Hist, types.Lhist, types.Tseries:
		default:
			entries = []Entry{{Value: make([]byte, codegen.ValueSize(m.Value))}}
		}
	}
	return s.opts.Printer.Map(m, entries, top, div)
}

// entries reads all of a map, combining per-CPU values into one. The
// program may add and delete keys meanwhile: every key present from start
// to end is read once, others may or may not be.
func (s *state) entries(m *codegen.Map) ([]Entry, error) {
	out, err := s.rawEntries(m)
	if err != nil {
		return nil, err
	}
	if m.Spec.Type == ebpf.PerCPUArray && m.Key != nil && m.Key.Size == 8 {
		// A declared array indexed by an integer: its uint32 indexes
		// widened to the key's type, as a hash would hold them.
		for i, e := range out {
			out[i].Key = binary.NativeEndian.AppendUint64(make([]byte, 0, m.Key.Size), uint64(binary.NativeEndian.Uint32(e.Key)))
		}
	}
	if !codegen.HistArray(m) {
		return out, nil
	}
	// A hist without keys held in an array: the buckets that counted,
	// keyed by their uint64 index as in a hash of buckets.
	buckets := out[:0]
	for _, e := range out {
		if binary.NativeEndian.Uint64(e.Value) == 0 {
			continue
		}
		key := binary.NativeEndian.AppendUint64(nil, uint64(binary.NativeEndian.Uint32(e.Key)))
		buckets = append(buckets, Entry{Key: key, Value: e.Value})
	}
	return buckets, nil
}

// rawEntries reads a map's entries with their keys as the kernel has
// them.
func (s *state) rawEntries(m *codegen.Map) ([]Entry, error) {
	bm := s.maps[m.Name]
	out, err := batchEntries(m, bm)
	if errors.Is(err, errNoBatch) {
		return s.walkEntries(m, bm)
	}
	if err != nil {
		return nil, fmt.Errorf("reading map %s: %w", m.Name, err)
	}
	return out, nil
}

// errNoBatch is batchEntries's error where the kernel cannot read the map
// in batches.
var errNoBatch = errors.New("no batch lookup")

// rows receives a batch of keys or values, each row as long as one.
type rows [][]byte

func (r rows) UnmarshalBinary(b []byte) error {
	for _, row := range r {
		b = b[copy(row, b):]
	}
	return nil
}

func (r rows) MarshalBinary() ([]byte, error) { return bytes.Join(r, nil), nil }

func newRows(n, size int) rows {
	r := make(rows, n)
	buf := make([]byte, n*size)
	for i := range r {
		r[i] = buf[i*size : (i+1)*size : (i+1)*size]
	}
	return r
}

// batchEntries reads a map with the kernel's batch lookup, which walks a
// hash map bucket by bucket: unlike a walk from key to next key, it does
// not start over when the program deletes the key it stands on.
func batchEntries(m *codegen.Map, bm *ebpf.Map) ([]Entry, error) {
	ncpu := 1
	if perCPU(bm) {
		var err error
		if ncpu, err = ebpf.PossibleCPU(); err != nil {
			return nil, err
		}
	}
	ksize, vsize := int(bm.KeySize()), int(bm.ValueSize())
	chunk := 256
	var out []Entry
	cursor := new(ebpf.MapBatchCursor)
	for {
		keys := newRows(chunk, ksize)
		var vals any = newRows(chunk, vsize)
		if perCPU(bm) {
			vals = make([][]byte, chunk*ncpu)
		}
		n, err := bm.BatchLookup(cursor, keys, vals, nil)
		if errors.Is(err, unix.ENOSPC) && n == 0 {
			// A bucket holds more keys than a chunk.
			chunk *= 2
			continue
		}
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			if len(out) == 0 && n == 0 {
				return nil, fmt.Errorf("%w: %w", errNoBatch, err)
			}
			return nil, err
		}
		for i := range n {
			e := Entry{Key: keys[i]}
			if v, ok := vals.(rows); ok {
				e.Value = v[i]
			} else {
				e.Value = combine(m.Value, vals.([][]byte)[i*ncpu:(i+1)*ncpu])
			}
			out = append(out, e)
		}
		if err != nil {
			return out, nil
		}
	}
}

// walkEntries reads a map from key to next key, for kernels without batch
// lookups. A walk whose key was deleted starts over from the first key:
// keys already read are skipped, and a map that keeps changing is read
// until a few times its size in steps.
func (s *state) walkEntries(m *codegen.Map, bm *ebpf.Map) ([]Entry, error) {
	var out []Entry
	seen := map[string]bool{}
	key := make([]byte, bm.KeySize())
	var prev any // nil: start from the first key
	for steps := 4*int(bm.MaxEntries()) + 16; steps > 0; steps-- {
		err := bm.NextKey(prev, &key)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading map %s: %w", m.Name, err)
		}
		k := bytes.Clone(key)
		prev = k
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		v, err := s.lookup(m, bm, k)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			continue // deleted while we read
		}
		if err != nil {
			return nil, fmt.Errorf("reading map %s: %w", m.Name, err)
		}
		out = append(out, Entry{Key: k, Value: v})
	}
	return out, nil
}

func (s *state) lookup(m *codegen.Map, bm *ebpf.Map, key []byte) ([]byte, error) {
	size := int(bm.ValueSize())
	if !perCPU(bm) {
		v := make([]byte, size)
		err := bm.Lookup(key, &v)
		return v, err
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, err
	}
	vals := make([][]byte, ncpu)
	for i := range vals {
		vals[i] = make([]byte, size)
	}
	if err := bm.Lookup(key, vals); err != nil {
		return nil, err
	}
	return combine(m.Value, vals), nil
}

// perCPU reports whether the kernel keeps one value per CPU in m; the map's
// type says so whatever the code generator marked.
func perCPU(m *ebpf.Map) bool {
	switch m.Type() {
	case ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash:
		return true
	}
	return false
}

// combine merges the per-CPU copies of an aggregation's value. Counters
// (count, sum, the buckets of hist and lhist, the count and total of avg
// and stats) add up word by word. min and max keep the extreme among the
// CPUs that saw a value; their second word says whether one did. tseries
// values merge interval by interval.
func combine(t *types.Type, vals [][]byte) []byte {
	if t.Kind == types.Tseries {
		return codegen.TseriesMerge(t, vals)
	}
	out := make([]byte, len(vals[0]))
	switch t.Kind {
	case types.Min, types.Max:
		set := false
		for _, v := range vals {
			if len(v) >= 16 && binary.NativeEndian.Uint64(v[8:]) == 0 {
				continue
			}
			if !set || better(t, v, out) {
				copy(out, v)
				set = true
			}
		}
		return out
	}
	for _, v := range vals {
		for i := 0; i+8 <= len(v); i += 8 {
			sum := binary.NativeEndian.Uint64(out[i:]) + binary.NativeEndian.Uint64(v[i:])
			binary.NativeEndian.PutUint64(out[i:], sum)
		}
	}
	return out
}

// better reports whether v beats cur for a min or max value.
func better(t *types.Type, v, cur []byte) bool {
	a, b := binary.NativeEndian.Uint64(v), binary.NativeEndian.Uint64(cur)
	var less bool
	if t.Signed {
		less = int64(a) < int64(b)
	} else {
		less = a < b
	}
	if t.Kind == types.Min {
		return less
	}
	return a != b && !less
}

// resetMap empties a map (clear) or sets all its values to zero (zero).
// Arrays cannot lose their elements, so clear zeroes them too.
func (s *state) resetMap(m *codegen.Map, remove bool) error {
	bm := s.maps[m.Name]
	entries, err := s.rawEntries(m)
	if err != nil {
		return err
	}
	if codegen.HistArray(m) {
		// Only the buckets that counted need zeroing.
		entries = slices.DeleteFunc(entries, func(e Entry) bool { return binary.NativeEndian.Uint64(e.Value) == 0 })
	}
	isArray := bm.Type() == ebpf.Array || bm.Type() == ebpf.PerCPUArray
	if remove && !isArray {
		keys := make(rows, len(entries))
		for i, e := range entries {
			keys[i] = e.Key
		}
		if err := deleteKeys(bm, keys); err != nil {
			return fmt.Errorf("resetting map %s: %w", m.Name, err)
		}
		return nil
	}
	zero := make([]byte, bm.ValueSize())
	var zeros any = zero
	if perCPU(bm) {
		ncpu, err := ebpf.PossibleCPU()
		if err != nil {
			return err
		}
		all := make([][]byte, ncpu)
		for i := range all {
			all[i] = zero
		}
		zeros = all
	}
	for _, e := range entries {
		// The program may have deleted the key meanwhile: it is as
		// zeroed as it gets.
		err := bm.Update(e.Key, zeros, ebpf.UpdateExist)
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("resetting map %s: %w", m.Name, err)
		}
	}
	return nil
}

// deleteKeys deletes keys from a map, those the program deleted meanwhile
// included; in batches where the kernel can.
func deleteKeys(bm *ebpf.Map, keys rows) error {
	for len(keys) > 0 {
		n, err := bm.BatchDelete(keys, nil)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ebpf.ErrKeyNotExist):
			// The batch stops at a key already gone.
			keys = keys[n+1:]
		case errors.Is(err, ebpf.ErrNotSupported) && n == 0:
			for _, k := range keys {
				if err := bm.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
					return err
				}
			}
			return nil
		default:
			return err
		}
	}
	return nil
}

// reportLost reports events the BPF side could not put into the ring
// buffer.
func (s *state) reportLost() error {
	total, err := s.lost()
	if err != nil || total == 0 {
		return err
	}
	return s.opts.Printer.Lost(total)
}

// lost sums the counters of the object's lost-event map.
func (s *state) lost() (uint64, error) {
	name := s.obj.LostMap
	if name == "" {
		return 0, nil
	}
	bm := s.maps[name]
	if bm == nil {
		return 0, fmt.Errorf("internal error: lost-event map %q not in the object", name)
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return 0, err
	}
	vals := make([]uint64, ncpu)
	var total uint64
	for key := uint32(0); key < bm.MaxEntries(); key++ {
		if err := bm.Lookup(key, vals); err != nil {
			return 0, fmt.Errorf("reading lost events: %w", err)
		}
		for _, v := range vals {
			total += v
		}
	}
	return total, nil
}
