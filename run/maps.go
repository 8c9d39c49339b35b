package run

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf"

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
		if err := s.printMap(m, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

func (s *state) printMap(m *codegen.Map, top, div uint64) error {
	entries, err := s.entries(m)
	if err != nil {
		return err
	}
	return s.opts.Printer.Map(m, entries, top, div)
}

// entries reads all of a map, combining per-CPU values into one.
func (s *state) entries(m *codegen.Map) ([]Entry, error) {
	bm := s.maps[m.Name]
	var out []Entry
	key := make([]byte, bm.KeySize())
	var prev any // nil: start from the first key
	for {
		err := bm.NextKey(prev, &key)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading map %s: %w", m.Name, err)
		}
		k := bytes.Clone(key)
		prev = k
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
	entries, err := s.entries(m)
	if err != nil {
		return err
	}
	isArray := bm.Type() == ebpf.Array || bm.Type() == ebpf.PerCPUArray
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
		if remove && !isArray {
			err = bm.Delete(e.Key)
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				err = nil
			}
		} else {
			err = bm.Update(e.Key, zeros, ebpf.UpdateExist)
		}
		if err != nil {
			return fmt.Errorf("resetting map %s: %w", m.Name, err)
		}
	}
	return nil
}

// reportLost reports events the BPF side could not put into the ring
// buffer, summed over the counters of the object's lost-event map.
func (s *state) reportLost() error {
	name := s.obj.LostMap
	if name == "" {
		return nil
	}
	bm := s.maps[name]
	if bm == nil {
		return fmt.Errorf("internal error: lost-event map %q not in the object", name)
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return err
	}
	vals := make([]uint64, ncpu)
	var total uint64
	for key := uint32(0); key < bm.MaxEntries(); key++ {
		if err := bm.Lookup(key, vals); err != nil {
			return fmt.Errorf("reading lost events: %w", err)
		}
		for _, v := range vals {
			total += v
		}
	}
	if total == 0 {
		return nil
	}
	return s.opts.Printer.Lost(total)
}
