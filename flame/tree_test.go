package flame_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"friday/flame"
	"friday/folded"
)

// merged is stacks merged by hand: the frames joined by newlines, and the
// values (after, before) of each.
type merged map[string][2]int64

func (m merged) add(frames []string, value, before int64) {
	k := strings.Join(frames, "\n")
	v := m[k]
	m[k] = [2]int64{v[0] + value, v[1] + before}
}

// walk is what Tree.Walk gives, checking that the stacks come in frame
// order, each after those it is the beginning of.
func walk(t *testing.T, tree *flame.Tree) merged {
	t.Helper()
	got := merged{}
	var last []string
	tree.Walk(func(frames []string, value, before int64) error {
		if slices.Compare(last, frames) >= 0 {
			t.Errorf("stack %q after %q", frames, last)
		}
		last = slices.Clone(frames)
		got.add(frames, value, before)
		return nil
	})
	return got
}

func compareMerged(t *testing.T, got, want merged) {
	t.Helper()
	for k, v := range want {
		if v != [2]int64{} && got[k] != v {
			t.Errorf("stack %q: %v, want %v", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("stack %q (%v) was not added", k, v)
		}
	}
}

// randomStacks makes stacks from a few names that begin one another
// ("f", "f.1", "f;g" order traps), with repeats, in no order.
func randomStacks(rng *rand.Rand, n int) [][]string {
	names := []string{"f", "f.1", "f1", "g", "g h", "main", "main.run", "a", "ab", "[unknown]", "x_[k]", "é"}
	var stacks [][]string
	for range n {
		s := make([]string, 1+rng.IntN(12))
		for i := range s {
			s[i] = names[min(rng.IntN(len(names)), rng.IntN(len(names)))]
		}
		stacks = append(stacks, s)
	}
	return stacks
}

// Stacks added in any order, more than the tree sorts at once, merge into
// the tree of their common prefixes, walked in frame order; so do stacks
// reversed, and the two values of a differential profile.
func TestTreeMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	stacks := randomStacks(rng, 30000)
	tree, rev, diff := flame.NewTree(), flame.NewTree(), flame.NewTree()
	want, wantRev, wantDiff := merged{}, merged{}, merged{}
	for i, s := range stacks {
		v := int64(1 + i%7)
		tree.AddStrings(s, v)
		want.add(s, v, 0)

		frames := make([][]byte, len(s))
		for j, f := range s {
			frames[j] = []byte(f)
		}
		rev.Add(frames, 0, v, 0, true)
		r := slices.Clone(s)
		slices.Reverse(r)
		wantRev.add(r, v, 0)

		before := int64(i % 3)
		if i%5 == 0 {
			v = 0
		}
		diff.Add(frames, 0, v, before, false)
		wantDiff.add(s, v, before)
	}
	compareMerged(t, walk(t, tree), want)
	compareMerged(t, walk(t, rev), wantRev)
	compareMerged(t, walk(t, diff), wantDiff)
	if !diff.Diff() || tree.Diff() {
		t.Errorf("Diff: %v for the differential tree, %v for the other", diff.Diff(), tree.Diff())
	}
}

// The folded reader's sorted batches and the frames it tells are those of
// the stack before give the same tree as the lines split by hand, for
// lines whose frames begin one another, hold digits, blanks, NUL bytes,
// empty frames or carriage returns, over several batches.
func TestTreeFromReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var in bytes.Buffer
	want := merged{}
	for i, s := range randomStacks(rng, 60000) {
		line := strings.Join(s, ";")
		switch i % 50 {
		case 1:
			line = ";" + strings.ReplaceAll(line, ";", ";;")
		case 2:
			line += "\x00"
			s[len(s)-1] += "\x00"
		}
		v := int64(1 + i%9)
		end := "\n"
		if i%40 == 3 {
			end = "\r\n"
		}
		fmt.Fprintf(&in, "%s %d%s", line, v, end)
		want.add(s, v, 0)
	}
	if in.Len() < 1<<20 {
		t.Fatalf("%d bytes of input: too few for several batches", in.Len())
	}
	tree := flame.NewTree()
	r := folded.NewReader(&in, "in")
	for r.Next() {
		s := r.Stack()
		tree.Add(s.Frames, s.Same, s.Value, 0, false)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	compareMerged(t, walk(t, tree), want)
}

// A tree drawn as an SVG, which makes only the frames it draws, is still
// whole for a drawing of narrower frames, and for the HTML page.
func TestTreePrunedThenWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tree := flame.NewTree()
	want := merged{}
	for _, s := range randomStacks(rng, 5000) {
		tree.AddStrings(s, 1)
		want.add(s, 1, 0)
	}
	var wide, narrow bytes.Buffer
	if err := tree.WriteSVG(&wide, flame.Options{MinWidth: 20}); err != nil {
		t.Fatal(err)
	}
	if err := tree.WriteSVG(&narrow, flame.Options{MinWidth: 0.01}); err != nil {
		t.Fatal(err)
	}
	if w, n := strings.Count(wide.String(), "<rect"), strings.Count(narrow.String(), "<rect"); w >= n {
		t.Errorf("%d frames 20 pixels wide or more, %d a hundredth of a pixel", w, n)
	}
	compareMerged(t, walk(t, tree), want)
}
