// Package flame merges stacks into a tree and draws it as a flame graph:
// an interactive SVG in the classic style, and an HTML viewer for large
// profiles.
package flame

import (
	"slices"
	"strings"
)

// Tree is stacks merged by their common prefixes: node 0 is the root, all
// the stacks; a node is a frame called from its parent's. Its memory is a
// few arrays indexed by node, not a struct per node, for profiles with
// millions of frames. Stacks added are kept in sorted runs (see
// stackStore) until the tree is first drawn or walked: they are then
// merged into nodes in preorder, a node's children in name order.
type Tree struct {
	names   []string
	nameIDs map[string]int32

	// stacks holds the stacks until the tree is finished; added is the
	// one added last, as name ids.
	stacks *stackStore
	added  []int32

	// key holds a node's parent (high half) and name (low half).
	key column[uint64]
	// value is the value of all the stacks through a node; before the
	// same for the first profile of a differential one, nil if no stack
	// had a value there.
	value, before *column[int64]

	finished   bool
	built      int64   // the smallest value of the nodes kept
	rank       []int32 // a name's place in name order
	stackCount int
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	t := &Tree{nameIDs: map[string]int32{}, stacks: &stackStore{}}
	t.names = append(t.names, "all")
	return t
}

// Add adds a stack, frames root first (leaf first when reverse), with its
// value. before is its value in the first profile of a differential one
// (0 otherwise). same says how many of the first frames are those of the
// stack added before, as folded.Stack's Same does (0 when not known):
// they are not looked up again. Stacks are added before the tree is drawn
// or walked.
func (t *Tree) Add(frames [][]byte, same int, value, before int64, reverse bool) {
	if reverse {
		same = 0
	}
	ids := t.added[:min(same, len(t.added), len(frames))]
	for i := len(ids); i < len(frames); i++ {
		f := frames[i]
		if reverse {
			f = frames[len(frames)-1-i]
		}
		id, ok := t.nameIDs[string(f)]
		if !ok {
			id = t.newName(string(f))
		}
		ids = append(ids, id)
	}
	t.added = ids
	t.store(ids, value, before)
}

// AddStrings is Add for frames held as strings.
func (t *Tree) AddStrings(frames []string, value int64) {
	ids := t.added[:0]
	for _, f := range frames {
		id, ok := t.nameIDs[f]
		if !ok {
			id = t.newName(f)
		}
		ids = append(ids, id)
	}
	t.added = ids
	t.store(ids, value, 0)
}

func (t *Tree) store(ids []int32, value, before int64) {
	if t.finished {
		panic("flame: stack added to a finished tree")
	}
	t.stacks.add(ids, value, before, t.compareNames)
}

func (t *Tree) compareNames(a, b int32) int {
	if a == b {
		return 0
	}
	return strings.Compare(t.names[a], t.names[b])
}

func (t *Tree) newName(s string) int32 {
	id := int32(len(t.names))
	t.names = append(t.names, s)
	t.nameIDs[s] = id
	return id
}

func nodeKey(parent, name int32) uint64 { return uint64(uint32(parent))<<32 | uint64(uint32(name)) }

func (t *Tree) parentOf(n int32) int32 { return int32(t.key.get(n) >> 32) }

func (t *Tree) nameOf(n int32) int32 { return int32(uint32(t.key.get(n))) }

// Len is the number of nodes, the root included: of all the stacks, or
// those an SVG drawn before kept.
func (t *Tree) Len() int {
	t.finish(t.built)
	return t.key.len()
}

// Stacks is the number of stacks added.
func (t *Tree) Stacks() int {
	if t.finished {
		return t.stackCount
	}
	return t.stacks.count
}

// Diff says whether stacks had two values.
func (t *Tree) Diff() bool {
	if t.finished {
		return t.before != nil
	}
	return t.stacks.totalBefore != 0
}

// Total is the value of all the stacks.
func (t *Tree) Total() int64 {
	if t.finished {
		return t.value.get(0)
	}
	return t.stacks.total
}

// TotalBefore is the value of all the stacks in the first profile of a
// differential one.
func (t *Tree) TotalBefore() int64 {
	if t.finished {
		return t.beforeOf(0)
	}
	return t.stacks.totalBefore
}

func (t *Tree) beforeOf(n int32) int64 {
	if t.before == nil {
		return 0
	}
	return t.before.get(n)
}

// finish merges the stacks into nodes: those of every frame, or when min
// is over 1 only those whose value, or value before, is at least min. A
// drawing keeps only the frames wide enough to draw: an SVG of a million
// stacks draws ten thousand of their millions of frames, and the others
// are never made. The stacks are kept after such a tree is made, for a
// later drawing of narrower frames; once every frame has its node they
// are let go as they are merged.
//
// The merge gives the stacks in the order of a walk of the tree, each
// node's children in name order: a node is opened at the first stack
// through it, and closed, its value known, when the walk leaves it. Its
// place in preorder among the nodes kept is known when it opens: its
// depth (its ancestors are kept if it is) plus the nodes kept that were
// closed before.
func (t *Tree) finish(min int64) {
	if t.finished && t.built <= min {
		return
	}
	if !t.finished {
		t.finished = true
		t.nameIDs, t.added = nil, nil
		t.stackCount = t.stacks.count
		order := make([]int32, len(t.names))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(a, b int32) int { return strings.Compare(t.names[a], t.names[b]) })
		t.rank = make([]int32, len(t.names))
		for r, id := range order {
			t.rank[id] = int32(r)
		}
	}
	all := min <= 1
	if all {
		min = 0
	}
	t.built = min
	t.key, t.value, t.before = column[uint64]{}, &column[int64]{}, nil
	if t.stacks.totalBefore != 0 {
		t.before = &column[int64]{}
	}
	type open struct {
		name, place   int32
		value, before int64
	}
	// path is the nodes open, from the root; kept counts the nodes kept
	// that are closed.
	path := []open{{}}
	kept := int32(0)
	close := func() {
		o := path[len(path)-1]
		path = path[:len(path)-1]
		p := &path[len(path)-1]
		p.value += o.value
		p.before += o.before
		if (o.value > 0 || o.before > 0) && (o.value >= min || o.before >= min) {
			t.setNode(o.place, p.place, o.name, o.value, o.before)
			kept++
		}
	}
	var names []int32
	t.stacks.merge(t.rank, t.compareNames, all, func(ids []int32, value, before int64) {
		c := sharedIDs(ids, names)
		for len(path) > c+1 {
			close()
		}
		for i, id := range ids[c:] {
			path = append(path, open{name: id, place: int32(c+i+1) + kept})
		}
		names = append(names[:c], ids[c:]...)
		o := &path[len(ids)]
		o.value += value
		o.before += before
	})
	for len(path) > 1 {
		close()
	}
	if all {
		t.stacks, t.rank = nil, nil
	}
	t.setNode(0, -1, 0, path[0].value, path[0].before)
}

// setNode sets node n, which may come before nodes set earlier.
func (t *Tree) setNode(n, parent, name int32, value, before int64) {
	t.key.set(n, nodeKey(parent, name))
	t.value.set(n, value)
	if t.before != nil {
		t.before.set(n, before)
	}
}

// preorder lists the nodes whose value is at least min (and the root),
// each before its children, children ordered by name: the order the nodes
// are in. depth[i] is the depth of the i-th node listed (the root's is 0).
func (t *Tree) preorder(min int64) (nodes []int32, depth []int32) {
	t.finish(min)
	size := 1
	if min <= 1 {
		size = t.key.len()
	}
	nodes, depth = make([]int32, 1, size), make([]int32, 1, size)
	// path is the nodes listed from the root to the one listed last: a
	// node's parent is on it, as the parent of a node kept is kept.
	path := []int32{0}
	for i := int32(1); i < t.key.n; i++ {
		if v := t.value.get(i); v < min || v == 0 && t.beforeOf(i) == 0 {
			continue
		}
		p := t.parentOf(i)
		for path[len(path)-1] != p {
			path = path[:len(path)-1]
		}
		nodes = append(nodes, i)
		depth = append(depth, int32(len(path)))
		path = append(path, i)
	}
	return nodes, depth
}

// Name is the name of node n as the stacks had it.
func (t *Tree) Name(n int32) string { return t.names[t.nameOf(n)] }

// Walk calls f once for each stack in the tree with a value of its own
// (the stacks added, merged), with its frames root first.
func (t *Tree) Walk(f func(frames []string, value, before int64) error) error {
	nodes, depth := t.preorder(0)
	self := selfValues(nodes, depth, t.value)
	selfBefore := make([]int64, len(nodes))
	if t.before != nil {
		selfBefore = selfValues(nodes, depth, t.before)
	}
	var frames []string
	for i, n := range nodes {
		if i == 0 {
			continue
		}
		frames = append(frames[:depth[i]-1], t.Name(n))
		if self[i] > 0 || selfBefore[i] > 0 {
			if err := f(frames, self[i], selfBefore[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
