package stackprof

import (
	"fmt"

	"friday/profile"
	"friday/script"
	"friday/types"
)

// HoldsStacks tells whether a map's key holds a kstack or ustack, which
// AddMap can make a profile of.
func HoldsStacks(m *script.Map) bool {
	if m.Key == nil || !numeric(m.Value) {
		return false
	}
	parts := []*types.Type{m.Key}
	if m.Key.Kind == types.Tuple {
		parts = nil
		for _, f := range m.Key.Fields {
			parts = append(parts, f.Type)
		}
	}
	for _, t := range parts {
		if (t.Kind == types.KStack || t.Kind == types.UStack) && t.Stack != types.StackBuildID {
			return true
		}
	}
	return false
}

// numeric tells the values AddMap takes: counts, sums, integers.
func numeric(t *types.Type) bool {
	switch t.Kind {
	case types.Count, types.Sum, types.Int:
		return true
	}
	return false
}

// AddEntries adds the entries of a map HoldsStacks is true of, decoded
// with script.RunOptions.RawStacks, to the Symbolizer's profile: a sample
// of each entry's value, of the frames of its key, root first, as
// bpftrace's printed maps are read for flame graphs (package folded): the
// key's other parts, in its order, then its stacks, the last nearest the
// root. A frame named prefix comes first when it is not empty.
func (y *Symbolizer) AddEntries(entries []script.Entry, prefix string) {
	var frames []profile.Frame
	for _, e := range entries {
		frames = frames[:0]
		if prefix != "" {
			frames = append(frames, profile.Frame{Name: prefix})
		}
		var stacks []script.Stack
		for _, part := range e.Key {
			if s, ok := part.(script.Stack); ok {
				stacks = append(stacks, s)
				continue
			}
			frames = append(frames, profile.Frame{Name: fmt.Sprint(part)})
		}
		for i := len(stacks) - 1; i >= 0; i-- {
			frames = y.Frames(frames, stacks[i])
		}
		var value int64
		switch v := e.Value.(type) {
		case uint64:
			value = int64(v)
		case int64:
			value = v
		}
		y.p.Add(0, frames, profile.Task{}, value)
	}
}
