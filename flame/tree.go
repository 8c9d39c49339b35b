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
// millions of frames.
type Tree struct {
	names   []string
	nameIDs map[string]int32

	name   []int32
	parent []int32
	// self is the value of the stacks that end at the node; before the
	// same in the first profile of a differential one.
	self, before []int64
	// children finds a node's child by name: an open-addressing table of
	// node indexes (0 is free: the root is nobody's child).
	children []int32
	diff     bool

	// Set by finish.
	total, totalBefore []int64
	rank               []int32 // a name's place in sorted order
	finished           bool
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	t := &Tree{nameIDs: map[string]int32{}, children: make([]int32, 1024)}
	t.names = append(t.names, "all")
	t.name = append(t.name, 0)
	t.parent = append(t.parent, -1)
	t.self = append(t.self, 0)
	t.before = append(t.before, 0)
	return t
}

// Add adds a stack, frames root first (leaf first when reverse), with its
// value. before is its value in the first profile of a differential one
// (0 otherwise).
func (t *Tree) Add(frames [][]byte, value, before int64, reverse bool) {
	n := int32(0)
	for i := range frames {
		f := frames[i]
		if reverse {
			f = frames[len(frames)-1-i]
		}
		n = t.child(n, t.intern(f))
	}
	t.self[n] += value
	if before != 0 {
		t.before[n] += before
		t.diff = true
	}
	t.finished = false
}

// AddStrings is Add for frames held as strings.
func (t *Tree) AddStrings(frames []string, value int64) {
	n := int32(0)
	for _, f := range frames {
		id, ok := t.nameIDs[f]
		if !ok {
			id = t.newName(f)
		}
		n = t.child(n, id)
	}
	t.self[n] += value
	t.finished = false
}

func (t *Tree) intern(f []byte) int32 {
	if id, ok := t.nameIDs[string(f)]; ok {
		return id
	}
	return t.newName(string(f))
}

func (t *Tree) newName(s string) int32 {
	id := int32(len(t.names))
	t.names = append(t.names, s)
	t.nameIDs[s] = id
	return id
}

func hashChild(parent, name int32) uint64 {
	return (uint64(uint32(parent))<<32 | uint64(uint32(name))) * 0x9e3779b97f4a7c15
}

// child returns the child of parent named name, making it if needed.
func (t *Tree) child(parent, name int32) int32 {
	mask := uint64(len(t.children) - 1)
	for i := hashChild(parent, name) >> 20 & mask; ; i = (i + 1) & mask {
		c := t.children[i]
		if c == 0 {
			break
		}
		if t.parent[c] == parent && t.name[c] == name {
			return c
		}
	}
	c := int32(len(t.name))
	t.name = append(t.name, name)
	t.parent = append(t.parent, parent)
	t.self = append(t.self, 0)
	t.before = append(t.before, 0)
	if 4*len(t.name) > 3*len(t.children) {
		t.grow()
	} else {
		t.place(c)
	}
	return c
}

func (t *Tree) place(c int32) {
	mask := uint64(len(t.children) - 1)
	i := hashChild(t.parent[c], t.name[c]) >> 20 & mask
	for t.children[i] != 0 {
		i = (i + 1) & mask
	}
	t.children[i] = c
}

func (t *Tree) grow() {
	t.children = make([]int32, 2*len(t.children))
	for c := 1; c < len(t.name); c++ {
		t.place(int32(c))
	}
}

// Len is the number of nodes, the root included.
func (t *Tree) Len() int { return len(t.name) }

// Diff says whether stacks had two values.
func (t *Tree) Diff() bool { return t.diff }

// Total is the value of all the stacks.
func (t *Tree) Total() int64 {
	t.finish()
	return t.total[0]
}

// TotalBefore is the value of all the stacks in the first profile of a
// differential one.
func (t *Tree) TotalBefore() int64 {
	t.finish()
	return t.totalBefore[0]
}

// finish sums the values of subtrees and ranks names. A child comes after
// its parent in the node arrays, so one pass from the end sums them.
func (t *Tree) finish() {
	if t.finished {
		return
	}
	t.finished = true
	t.total = slices.Clone(t.self)
	for i := len(t.total) - 1; i > 0; i-- {
		t.total[t.parent[i]] += t.total[i]
	}
	if t.diff {
		t.totalBefore = slices.Clone(t.before)
		for i := len(t.totalBefore) - 1; i > 0; i-- {
			t.totalBefore[t.parent[i]] += t.totalBefore[i]
		}
	} else {
		t.totalBefore = make([]int64, 1)
	}
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

// Trim drops what Add needs and the tree's drawing does not: call it once
// all stacks are in, to lower the memory a large profile holds.
func (t *Tree) Trim() {
	t.finish()
	t.children = nil
	t.nameIDs = nil
	if !t.diff {
		t.before = nil
	}
}

// preorder lists the nodes whose value is at least min (and the root),
// each before its children, children ordered by name. depth[i] is the
// depth of the i-th node listed (the root's is 0).
func (t *Tree) preorder(min int64) (nodes []int32, depth []int32) {
	t.finish()
	// Counting sorts: the kept nodes by name rank, then stably by parent,
	// group each node's children in name order.
	var kept []int32
	for i := 1; i < len(t.name); i++ {
		if t.total[i] >= min && (t.total[i] > 0 || t.diff && t.totalBefore[i] > 0) {
			kept = append(kept, int32(i))
		}
	}
	byRank := countingSort(kept, len(t.names), func(n int32) int32 { return t.rank[t.name[n]] })
	byParent := countingSort(byRank, len(t.name), func(n int32) int32 { return t.parent[n] })
	// first[p] is where p's children start in byParent.
	first := make([]int32, len(t.name)+1)
	for _, n := range byParent {
		first[t.parent[n]+1]++
	}
	for i := 1; i < len(first); i++ {
		first[i] += first[i-1]
	}
	nodes = make([]int32, 0, len(kept)+1)
	depth = make([]int32, 0, len(kept)+1)
	type frame struct{ node, next, end, depth int32 }
	stack := []frame{{0, first[0], first[1], 0}}
	nodes = append(nodes, 0)
	depth = append(depth, 0)
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next == top.end {
			stack = stack[:len(stack)-1]
			continue
		}
		c := byParent[top.next]
		top.next++
		d := top.depth + 1
		nodes = append(nodes, c)
		depth = append(depth, d)
		stack = append(stack, frame{c, first[c], first[c+1], d})
	}
	return nodes, depth
}

// countingSort orders nodes stably by key, which is below n.
func countingSort(nodes []int32, n int, key func(int32) int32) []int32 {
	count := make([]int32, n+1)
	for _, x := range nodes {
		count[key(x)+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	out := make([]int32, len(nodes))
	for _, x := range nodes {
		k := key(x)
		out[count[k]] = x
		count[k]++
	}
	return out
}

// Name is the name of node n as the stacks had it.
func (t *Tree) Name(n int32) string { return t.names[t.name[n]] }

// Frames is the stack of node n, root first, without the root.
func (t *Tree) Frames(n int32) []string {
	var f []string
	for ; n > 0; n = t.parent[n] {
		f = append(f, t.names[t.name[n]])
	}
	slices.Reverse(f)
	return f
}

// Walk calls f for each stack in the tree with a value of its own (the
// stacks added, merged), in name order, with its frames root first.
func (t *Tree) Walk(f func(frames []string, value, before int64) error) error {
	nodes, depth := t.preorder(1)
	var frames []string
	for i, n := range nodes {
		if n == 0 {
			continue
		}
		frames = append(frames[:depth[i]-1], t.Name(n))
		var before int64
		if t.diff {
			before = t.before[n]
		}
		if t.self[n] > 0 || before > 0 {
			if err := f(frames, t.self[n], before); err != nil {
				return err
			}
		}
	}
	return nil
}
