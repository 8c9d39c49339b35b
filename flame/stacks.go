package flame

import "slices"

// stackStore holds the stacks added to a tree until it is finished, each
// as the ids of its frames' names, in runs sorted by name, frame by frame:
// the tree is then made by merging the runs as sorted lists are merged,
// each node made once, in preorder, without looking any up. Folded lines
// come sorted in batches (package folded sorts them), each a run here;
// stacks in no order are sorted here, a segment at a time.
//
// A stack is a record of int32s: the number of its first ids that are
// those of the stack before (0 at the start of a run), the number of its
// other ids (with hasBeforeBit when it has a value before), its value in
// two words, its value before in two more if any, then its other ids:
// sorted stacks share most of their frames with the one before, and a
// million of them take tens of megabytes.
type stackStore struct {
	// pages hold the records, which do not cross pages: a merge that
	// makes every node lets a page go as soon as it has read it.
	pages [][]int32
	runs  []storePos // where each run starts
	// last is the stack stored last.
	last []int32
	// The stacks' count, and the sums of their values.
	count              int
	total, totalBefore int64
	// The current segment: where it starts, the stack before it (its
	// first stack may share frames with it), its stacks and runs.
	segStart          storePos
	segBefore         []int32
	segStacks, segRun int
}

// storePos is where a record is: page and offset.
type storePos struct{ page, off int32 }

func (p storePos) less(q storePos) bool {
	return p.page < q.page || p.page == q.page && p.off < q.off
}

const (
	storePage = 1 << 16
	// A record's second word: its length, and whether it has a value
	// in the first profile of a differential one.
	hasBeforeBit = 1 << 31
	// A segment of stacks in more runs than this is sorted.
	segmentStacks = 1 << 13
	segmentRuns   = 16
)

// add stores a stack; cmp orders names.
func (s *stackStore) add(ids []int32, value, before int64, cmp func(a, b int32) int) {
	c, i := compareIDs(ids, s.last, cmp)
	if c < 0 || len(s.pages) == 0 {
		i = 0
		s.segRun++
	}
	s.count++
	s.total += value
	s.totalBefore += before
	pos := s.write(ids, i, value, before)
	if i == 0 {
		s.runs = append(s.runs, pos)
	}
	if s.segStacks == 0 {
		s.segStart = pos
		s.segBefore = append(s.segBefore[:0], s.last...)
	}
	s.last = append(s.last[:i], ids[i:]...)
	s.segStacks++
	if s.segStacks == segmentStacks {
		s.endSegment(cmp)
	}
}

// write appends a record and says where it is.
func (s *stackStore) write(ids []int32, shared int, value, before int64) storePos {
	size := 4 + len(ids) - shared
	if before != 0 {
		size += 2
	}
	if n := len(s.pages); n == 0 || cap(s.pages[n-1])-len(s.pages[n-1]) < size {
		s.pages = append(s.pages, make([]int32, 0, max(storePage, size)))
	}
	n := len(s.pages) - 1
	p := s.pages[n]
	pos := storePos{int32(n), int32(len(p))}
	head := uint32(len(ids) - shared)
	if before != 0 {
		head |= hasBeforeBit
	}
	p = append(p, int32(shared), int32(head), int32(value), int32(value>>32))
	if before != 0 {
		p = append(p, int32(before), int32(before>>32))
	}
	s.pages[n] = append(p, ids[shared:]...)
	return pos
}

// endSegment sorts the segment just stored when it is in too many runs.
func (s *stackStore) endSegment(cmp func(a, b int32) int) {
	if s.segRun > segmentRuns {
		type stack struct {
			ids           []int32
			value, before int64
		}
		var stacks []stack
		c := &cursor{pos: s.segStart, end: s.end(), path: s.segBefore}
		for c.next(s) {
			stacks = append(stacks, stack{slices.Clone(c.path), c.value, c.before})
		}
		slices.SortStableFunc(stacks, func(a, b stack) int {
			c, _ := compareIDs(a.ids, b.ids, cmp)
			return c
		})
		for len(s.runs) > 0 && !s.runs[len(s.runs)-1].less(s.segStart) {
			s.runs = s.runs[:len(s.runs)-1]
		}
		s.pages = s.pages[:s.segStart.page+1]
		s.pages[s.segStart.page] = s.pages[s.segStart.page][:s.segStart.off]
		s.last = s.last[:0]
		for i, st := range stacks {
			_, shared := compareIDs(st.ids, s.last, cmp)
			if i == 0 {
				shared = 0
				s.runs = append(s.runs, s.write(st.ids, 0, st.value, st.before))
			} else {
				s.write(st.ids, shared, st.value, st.before)
			}
			s.last = append(s.last[:shared], st.ids[shared:]...)
		}
	}
	s.segStacks, s.segRun = 0, 0
}

// end is where the next record would go if its page had room.
func (s *stackStore) end() storePos {
	n := len(s.pages) - 1
	return storePos{int32(n), int32(len(s.pages[n]))}
}

// compareIDs orders stacks of name ids by cmp, frame by frame, a stack
// before those it is the beginning of; i is how many ids they share.
func compareIDs(a, b []int32, cmp func(a, b int32) int) (c, i int) {
	i = sharedIDs(a, b)
	switch {
	case i < min(len(a), len(b)):
		return cmp(a[i], b[i]), i
	case len(a) < len(b):
		return -1, i
	case len(a) > len(b):
		return 1, i
	}
	return 0, i
}

// sharedIDs is how many ids a and b start with alike.
func sharedIDs(a, b []int32) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// cursor reads the stacks of a run.
type cursor struct {
	pos, end      storePos
	path          []int32
	value, before int64
	done          bool
}

// next reads the next stack into path, value and before, or reports false
// at the end of the run.
func (c *cursor) next(s *stackStore) bool {
	if c.pos == c.end {
		c.done = true
		return false
	}
	p := s.pages[c.pos.page]
	r := p[c.pos.off:]
	shared, head := r[0], uint32(r[1])
	c.value = int64(uint32(r[2])) | int64(r[3])<<32
	r = r[4:]
	c.before = 0
	if head&hasBeforeBit != 0 {
		c.before = int64(uint32(r[0])) | int64(r[1])<<32
		r = r[2:]
	}
	n := int(head &^ hasBeforeBit)
	c.path = append(c.path[:shared], r[:n]...)
	c.pos.off = int32(len(p) - len(r) + n)
	if int(c.pos.off) == len(p) && int(c.pos.page) < len(s.pages)-1 {
		c.pos = storePos{c.pos.page + 1, 0}
	}
	return true
}

// merge calls f with every stack stored, in name order (by rank, or cmp
// for the last segment), equal stacks one after the other; with release,
// it lets the pages go as it reads them.
func (s *stackStore) merge(rank []int32, cmp func(a, b int32) int, release bool, f func(ids []int32, value, before int64)) {
	if len(s.pages) == 0 {
		return
	}
	s.endSegment(cmp)
	end := s.end()
	// refs counts the runs on each page not yet read past it.
	refs := make([]int32, len(s.pages))
	cursors := make([]*cursor, len(s.runs))
	for i, from := range s.runs {
		to := end
		if i+1 < len(s.runs) {
			to = s.runs[i+1]
		}
		last := to.page
		if to.off == 0 {
			last--
		}
		for p := from.page; p <= last; p++ {
			refs[p]++
		}
		cursors[i] = &cursor{pos: from, end: to}
	}
	done := func(page int32) {
		if refs[page]--; refs[page] == 0 && release {
			s.pages[page] = nil
		}
	}
	byRank := func(a, b int32) int { return int(rank[a] - rank[b]) }
	less := func(a, b int) bool {
		ca, cb := cursors[a], cursors[b]
		if ca.done || cb.done {
			return cb.done && !ca.done
		}
		c, _ := compareIDs(ca.path, cb.path, byRank)
		return c < 0 || c == 0 && a < b
	}
	advance := func(i int) {
		c := cursors[i]
		page := c.pos.page
		c.next(s)
		if c.done {
			if c.pos.off > 0 {
				done(c.pos.page)
			}
		} else if c.pos.page != page {
			done(page)
		}
	}
	// A tree of losers: loser[j] lost the match at node j of a tournament
	// whose leaves are the cursors; loser[0] won it all.
	k := len(cursors)
	loser := make([]int, k)
	winner := make([]int, 2*k)
	for i := range cursors {
		advance(i)
		winner[k+i] = i
	}
	for j := k - 1; j >= 1; j-- {
		a, b := winner[2*j], winner[2*j+1]
		if less(b, a) {
			a, b = b, a
		}
		winner[j], loser[j] = a, b
	}
	loser[0] = winner[1]
	for {
		w := loser[0]
		c := cursors[w]
		if c.done {
			return
		}
		f(c.path, c.value, c.before)
		advance(w)
		for j := (k + w) / 2; j >= 1; j /= 2 {
			if less(loser[j], w) {
				loser[j], w = w, loser[j]
			}
		}
		loser[0] = w
	}
}
