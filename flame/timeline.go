package flame

import (
	"encoding/json"
	"fmt"
	"io"

	"friday/heatmap"
)

// Timeline is the time of each sample of a profile: with it, the HTML
// viewer shows a heat map of the samples' times above the flame graph, and
// a time range picked on it draws the flame graph of that range alone.
type Timeline struct {
	// Grid is the heat map to pick from, usually heatmap.Offsets.
	Grid *heatmap.Grid
	// Stacks are the distinct stacks of the samples, frames root first as
	// they were added to the tree.
	Stacks [][]string
	// Per sample: its time in nanoseconds from the start (as the grid
	// counts them), its stack, and its value.
	Time  []int64
	Stack []int32
	Value []int64
}

// WriteTimelineHTML writes the HTML viewer of the tree with the timeline
// of its samples.
func (t *Tree) WriteTimelineHTML(out io.Writer, o Options, tl *Timeline) error {
	ids := make(map[string]int32, len(t.names))
	for i, n := range t.names {
		ids[n] = int32(i)
	}
	stacks := make([][]int32, len(tl.Stacks))
	for i, s := range tl.Stacks {
		stacks[i] = make([]int32, len(s))
		for j, f := range s {
			id, ok := ids[f]
			if !ok {
				return fmt.Errorf("flame: timeline frame %q is not in the tree", f)
			}
			stacks[i][j] = id
		}
	}
	data, err := json.Marshal(struct {
		Grid   *heatmap.Grid `json:"grid"`
		Stacks [][]int32     `json:"stacks"`
		Time   []int64       `json:"time"`
		Stack  []int32       `json:"stack"`
		Value  []int64       `json:"value"`
	}{tl.Grid, stacks, tl.Time, tl.Stack, tl.Value})
	if err != nil {
		return err
	}
	return t.writeHTML(out, o, data)
}
