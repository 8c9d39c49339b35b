// Package flame merges stacks into a tree and draws it as a flame graph:
// an interactive SVG in the classic style, and an HTML viewer for large
// profiles.
package flame

import (
	"runtime"
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

	// key holds a node's parent (high half) and name (low half): one
	// array, so that finding a child touches one cache line, not two.
	key column[uint64]
	// value is the value of the stacks that end at the node until the
	// tree is finished, then that of all the stacks through it; before is
	// the same for the first profile of a differential one, nil until a
	// stack has a value there. Most nodes end no stack: while the tree is
	// built, the values wait in pending, a pair a stack added, until they
	// outnumber the nodes (value is nil until then).
	value, before *column[int64]
	pending       []pendingValue
	// children finds a node's child by name: an open-addressing table of
	// node indexes (0 is free: the root is nobody's child).
	children []int32
	tags     []uint8
	last     lastStack

	finished bool
	rank     []int32 // a name's place in sorted order, once finished
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	t := &Tree{nameIDs: map[string]int32{}, children: make([]int32, 1024), tags: make([]uint8, 1024)}
	t.names = append(t.names, "all")
	t.key.add(nodeKey(-1, 0))
	return t
}

// Add adds a stack, frames root first (leaf first when reverse), with its
// value. before is its value in the first profile of a differential one
// (0 otherwise). Stacks are added before the tree is drawn or walked.
func (t *Tree) Add(frames [][]byte, value, before int64, reverse bool) {
	n := int32(0)
	// Collapsers write stacks sorted, so a stack often starts as the one
	// before did: the nodes of that common part are known already. The new
	// stack is written over the last one: while they are the same, each
	// frame overwrites itself.
	last := &t.last
	same := true
	path := last.nodes[:0]
	buf := last.buf[:0]
	for i := range frames {
		f := frames[i]
		if reverse {
			f = frames[len(frames)-1-i]
		}
		if same && i < len(last.ends) && string(f) == string(last.buf[last.start(i):last.ends[i]]) {
			n = last.nodes[i]
		} else {
			same = false
			n = t.child(n, t.intern(f))
		}
		path = append(path, n)
		buf = append(buf, f...)
		last.newEnds = append(last.newEnds, len(buf))
	}
	last.nodes, last.buf = path, buf
	last.ends, last.newEnds = last.newEnds, last.ends[:0]
	t.addValue(n, value, before)
}

// lastStack is the stack Add added last: its frames' bytes one after the
// other, where each ends, and its nodes.
type lastStack struct {
	buf           []byte
	ends, newEnds []int
	nodes         []int32
}

func (l *lastStack) start(i int) int {
	if i == 0 {
		return 0
	}
	return l.ends[i-1]
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
	t.addValue(n, value, 0)
}

func (t *Tree) addValue(n int32, value, before int64) {
	if t.finished {
		panic("flame: stack added to a finished tree")
	}
	if t.value != nil {
		*t.value.at(n) += value
	} else if value != 0 {
		t.pending = append(t.pending, pendingValue{n, value})
		if len(t.pending) > t.key.len() {
			t.settle()
		}
	}
	if before != 0 {
		if t.before == nil {
			t.before = zeros(t.key.n)
		}
		*t.before.at(n) += before
	}
}

type pendingValue struct {
	node  int32
	value int64
}

// settle moves the pending values into the value column.
func (t *Tree) settle() {
	if t.value != nil {
		return
	}
	t.value = zeros(t.key.n)
	for _, p := range t.pending {
		*t.value.at(p.node) += p.value
	}
	t.pending = nil
}

func zeros(n int32) *column[int64] {
	c := &column[int64]{}
	for range n {
		c.add(0)
	}
	return c
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

func nodeKey(parent, name int32) uint64 { return uint64(uint32(parent))<<32 | uint64(uint32(name)) }

func (t *Tree) parentOf(n int32) int32 { return int32(t.key.get(n) >> 32) }

func (t *Tree) nameOf(n int32) int32 { return int32(uint32(t.key.get(n))) }

func hashKey(k uint64) uint64 { return k * 0x9e3779b97f4a7c15 }

// slot is where a key's search starts in a table of 2^bits (mask) slots,
// and tag the byte of its hash that the tags keep: a slot whose tag
// differs holds another key, which spares reading that node's key, a
// cache miss, on most of the slots a search passes.
func slot(h, mask uint64) uint64 { return h >> 20 & mask }

func tag(h uint64) uint8 { return uint8(h>>56) | 1 }

// child returns the child of parent named name, making it if needed.
func (t *Tree) child(parent, name int32) int32 {
	k := nodeKey(parent, name)
	h := hashKey(k)
	tg := tag(h)
	mask := uint64(len(t.children) - 1)
	for i := slot(h, mask); ; i = (i + 1) & mask {
		x := t.tags[i]
		if x == 0 {
			break
		}
		if x == tg {
			if c := t.children[i]; t.key.get(c) == k {
				return c
			}
		}
	}
	c := t.key.n
	t.key.add(k)
	if t.value != nil {
		t.value.add(0)
	}
	if t.before != nil {
		t.before.add(0)
	}
	if 4*t.key.len() > 3*len(t.children) {
		t.grow()
	} else {
		t.place(c)
	}
	return c
}

func (t *Tree) place(c int32) {
	mask := uint64(len(t.children) - 1)
	h := hashKey(t.key.get(c))
	i := slot(h, mask)
	for t.tags[i] != 0 {
		i = (i + 1) & mask
	}
	t.children[i] = c
	t.tags[i] = tag(h)
}

func (t *Tree) grow() { t.rehash(2 * len(t.children)) }

// Reserve makes room in the index of children for about n nodes, sparing
// its regrowth (every node placed again each time it doubles, a second a
// million stacks) when the size of the input tells how large the tree will
// be.
func (t *Tree) Reserve(n int) {
	size := len(t.children)
	for 3*size < 4*n {
		size *= 2
	}
	if size > len(t.children) {
		t.rehash(size)
	}
}

// rehash makes an index of size slots from the nodes' keys alone: the old
// one is let go first, and when large collected, so that the two are never
// held at once (the peak memory of building a large tree).
func (t *Tree) rehash(size int) {
	old := len(t.children)
	t.children, t.tags = nil, nil
	if old >= 1<<20 {
		runtime.GC()
	}
	t.children = make([]int32, size)
	t.tags = make([]uint8, size)
	for c := int32(1); c < t.key.n; c++ {
		t.place(c)
	}
}

// Len is the number of nodes, the root included.
func (t *Tree) Len() int { return t.key.len() }

// Diff says whether stacks had two values.
func (t *Tree) Diff() bool { return t.before != nil }

// Total is the value of all the stacks.
func (t *Tree) Total() int64 {
	t.finish()
	return t.value.get(0)
}

// TotalBefore is the value of all the stacks in the first profile of a
// differential one.
func (t *Tree) TotalBefore() int64 {
	t.finish()
	return t.beforeOf(0)
}

func (t *Tree) beforeOf(n int32) int64 {
	if t.before == nil {
		return 0
	}
	return t.before.get(n)
}

// finish turns the values of stacks into those of subtrees, ranks names,
// and drops what only Add needs. A child comes after its parent in the
// node arrays, so one pass from the end sums subtrees.
func (t *Tree) finish() {
	if t.finished {
		return
	}
	t.finished = true
	t.children, t.tags = nil, nil
	t.nameIDs = nil
	t.settle()
	sumUp := func(v *column[int64]) {
		for i := v.n - 1; i > 0; i-- {
			*v.at(t.parentOf(i)) += v.get(i)
		}
	}
	sumUp(t.value)
	if t.before != nil {
		sumUp(t.before)
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

// preorder lists the nodes whose value is at least min (and the root),
// each before its children, children ordered by name. depth[i] is the
// depth of the i-th node listed (the root's is 0).
func (t *Tree) preorder(min int64) (nodes []int32, depth []int32) {
	t.finish()
	// Counting sorts: the kept nodes by name rank, then stably by parent,
	// group each node's children in name order.
	var kept []int32
	for i := int32(1); i < t.key.n; i++ {
		if v := t.value.get(i); v >= min && (v > 0 || t.beforeOf(i) > 0) {
			kept = append(kept, i)
		}
	}
	byRank := countingSort(kept, len(t.names), func(n int32) int32 { return t.rank[t.nameOf(n)] })
	byParent := countingSort(byRank, t.key.len(), t.parentOf)
	// first[p] is where p's children start in byParent.
	first := make([]int32, t.key.len()+1)
	for _, n := range byParent {
		first[t.parentOf(n)+1]++
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
func (t *Tree) Name(n int32) string { return t.names[t.nameOf(n)] }

// Frames is the stack of node n, root first, without the root.
func (t *Tree) Frames(n int32) []string {
	var f []string
	for ; n > 0; n = t.parentOf(n) {
		f = append(f, t.Name(n))
	}
	slices.Reverse(f)
	return f
}

// Walk calls f once for each stack in the tree with a value of its own
// (the stacks added, merged), with its frames root first.
func (t *Tree) Walk(f func(frames []string, value, before int64) error) error {
	nodes, depth := t.preorder(1)
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
