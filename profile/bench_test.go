package profile_test

import (
	"bytes"
	"testing"

	"friday/folded"
	"friday/internal/stackgen"
	"friday/profile"
)

// BenchmarkStackID lists 4,000 distinct stacks of 20 to 55 frames, each
// twice, as a profile of a busy machine's 30 s has them.
func BenchmarkStackID(b *testing.B) {
	var in bytes.Buffer
	if err := stackgen.Write(&in, 4000, stackgen.Deep); err != nil {
		b.Fatal(err)
	}
	var stacks [][]profile.Frame
	r := folded.NewReader(&in, "stacks")
	for r.Next() {
		var frames []profile.Frame
		for _, name := range r.Stack().Frames {
			frames = append(frames, profile.ParseFoldedFrame(string(name)))
		}
		stacks = append(stacks, frames)
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		p := &profile.Profile{}
		for range 2 {
			for _, s := range stacks {
				p.StackID(s)
			}
		}
	}
}
