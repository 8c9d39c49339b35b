// Package flamescope draws a profile with a time per sample as FlameScope
// does: a heat map of the samples, a column a second and a row an offset
// within it, over a flame graph of the time range picked on it.
package flamescope

import (
	"io"

	"friday/flame"
	"friday/heatmap"
	"friday/profile"
)

// Tree merges a profile's stacks, each under its task's frame.
func Tree(p *profile.Profile) *flame.Tree {
	t := flame.NewTree()
	p.Folded(0, 0, func(frames []string, value int64) { t.AddStrings(frames, value) })
	return t
}

// WriteHTML writes the HTML flame graph viewer of a profile with the heat
// map of its samples' offsets within their seconds (rowsPerSecond rows a
// second): a time range picked on the heat map draws the flame graph of
// its samples alone.
func WriteHTML(w io.Writer, p *profile.Profile, o flame.Options, rowsPerSecond int) error {
	t := Tree(p)
	tl := &flame.Timeline{Stack: make([]int32, len(p.Samples)), Time: make([]int64, len(p.Samples)), Value: make([]int64, len(p.Samples))}
	// A timeline stack is a task and a stack of the profile.
	type key struct{ stack, task int }
	index := map[key]int32{}
	for i, s := range p.Samples {
		k := key{s.Stack, s.Task}
		id, ok := index[k]
		if !ok {
			id = int32(len(tl.Stacks))
			tl.Stacks = append(tl.Stacks, p.FoldedFrames(nil, s.Stack, s.Task))
			index[k] = id
		}
		tl.Time[i], tl.Stack[i], tl.Value[i] = s.Time, id, s.Value
	}
	tl.Grid = heatmap.Offsets(tl.Time, tl.Value, rowsPerSecond)
	tl.Grid.Title = "Samples by second and offset within it"
	return t.WriteTimelineHTML(w, o, tl)
}
