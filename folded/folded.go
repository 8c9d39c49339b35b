// Package folded reads and writes stacks in the folded format flame graphs
// are drawn from, and reads the stack maps bpftrace prints.
//
// A folded line is a stack, its frames root first and separated by
// semicolons, then a space and a count:
//
//	bash-1234/1234;main;run;read_input;read_kernel_[k] 17
//
// A second count after the first makes a differential line: the first count
// is the "before" profile, the second the "after" one. Frame names may hold
// spaces; the count is what follows the last one. Frames may end in an
// annotation that tells where the code runs: _[k] kernel, _[j] compiled
// just in time, _[i] inlined, _[w] waker (perf's and bcc's -a convention).
// A frame that is a lone "-" separates user from kernel frames (bcc's -d):
// the frames after it are the kernel's.
//
// The root frame of friday's own stacks names the task the stack was taken
// in, as perf's collapsers do with --pid and --tid: "comm-PID" for a
// process, "comm-PID/TID" for a thread. Task parses it.
//
// Reader also takes bpftrace's printed maps whose keys hold stacks, such as
// the output of
//
//	bpftrace -e 'profile:hz:99 { @[kstack] = count(); }'
//
// in its text and JSON (-f json) forms: each entry becomes a stack whose
// value is the entry's. A key's other parts (comm, pid) become frames at
// the root, in the key's order; a key with several stacks puts the last one
// nearest the root, so that @[kstack, ustack] reads innermost first as each
// stack does. Frame offsets (+123) are dropped, addresses without a symbol
// become "[unknown]", kstack(perf) frames at kernel addresses are marked
// _[k], and so is every frame of a stack whose outermost frame is a kernel
// entry point (a system call, an interrupt, a kernel thread's start).
package folded

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Stack is one stack and the count of the samples (or the time, the bytes)
// that had it.
type Stack struct {
	// Frames are root first. They point into the Reader's buffers and are
	// valid until its next call of Next.
	Frames [][]byte
	// Same is how many of the first Frames are those of the stack read
	// before, byte for byte: folded lines come sorted in batches, so
	// that a tree merging them need not look those frames up again.
	Same  int
	Value int64
	// Before is the first count of a differential line; Diff says there
	// was one.
	Before int64
	Diff   bool
}

// format is what a Reader found its input to be.
type format int

const (
	unknown format = iota
	lines          // folded lines
	bpfText        // bpftrace's printed maps
	bpfJSON        // bpftrace's -f json output
)

// Reader reads stacks from folded lines or bpftrace output, telling which
// from the first line. It reads folded lines ahead, in another goroutine,
// and hands out each batch of them sorted: Close stops it when the input
// is not read to its end.
type Reader struct {
	in     *bufio.Reader
	name   string
	format format
	line   int
	long   []byte // a line longer than in's buffer
	stack  Stack
	// scratch holds the frames of stacks that are built rather than
	// sliced out of a line: bpftrace's, which span lines.
	scratch []byte
	spans   [][2]int
	json    *jsonMaps
	// Folded lines are read ahead in batches, each sorted, by another
	// goroutine: batch is the one being parsed, batchNext the index of
	// its next line; batches brings the next, done stops the reading.
	batch      *batch
	batchNext  int
	batchBytes int
	growBatch  bool
	batches    chan *batch
	free       chan *batch
	done       chan struct{}
	skipped    int
	err        error
}

// NewReader reads stacks from in; name (a file name) prefixes errors.
func NewReader(in io.Reader, name string) *Reader {
	return NewReaderSize(in, name, 0)
}

// NewReaderSize is NewReader for an input of size bytes, 0 if unknown.
func NewReaderSize(in io.Reader, name string, size int64) *Reader {
	batch := int(min(max(size/64, minBatch), maxBatch))
	return &Reader{in: bufio.NewReaderSize(in, 256<<10), name: name, batchBytes: batch, growBatch: size <= 0}
}

// Next reads the next stack, reporting false at the end of the input or
// on an error, which Err returns.
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	for {
		if r.json != nil && len(r.json.pending) > 0 {
			if ok, _ := r.parseJSONLine(nil); ok {
				return true
			}
			continue
		}
		if r.format == lines {
			return r.nextLine()
		}
		line, err := r.readLine()
		if err != nil {
			if err != io.EOF {
				r.err = fmt.Errorf("%s: %w", r.name, err)
			} else if r.format == bpfText && len(r.spans) > 0 {
				r.err = fmt.Errorf("%s:%d: the map entry does not end", r.name, r.line)
			}
			return false
		}
		if r.format == unknown {
			t := bytes.TrimSpace(line)
			switch {
			case len(t) == 0:
				continue
			case t[0] == '@' || bytes.HasPrefix(t, []byte("Attaching ")):
				r.format = bpfText
			case t[0] == '{':
				r.format = bpfJSON
				r.json = &jsonMaps{}
			default:
				r.format = lines
				r.startBatches(line)
				return r.nextLine()
			}
		}
		var ok bool
		switch r.format {
		case bpfText:
			ok, err = r.parseMapLine(line)
		case bpfJSON:
			ok, err = r.parseJSONLine(line)
		}
		if err != nil {
			r.err = fmt.Errorf("%s:%d: %w", r.name, r.line, err)
			return false
		}
		if ok {
			return true
		}
	}
}

// Folded lines are read ahead and sorted in batches: stacks that follow
// one another then share their first frames, which a tree merges without
// looking them up again, and a tree can merge the sorted batches as sorted
// lists are merged. Collapsers often sort their output; others (bcc's, a
// concatenation of files) do not. The larger the batch, the more stacks
// share, at the cost of memory (three batches are held) and of time past
// a few megabytes, when a batch no longer fits the processor's caches: a
// batch is a 64th of the input when its size is known, 256 KiB to 4 MiB;
// else the batches start at 256 KiB and double up to 4 MiB.
const (
	minBatch = 256 << 10
	maxBatch = 4 << 20
)

// batch is lines of folded input, read and sorted by the goroutine that
// reads ahead: buf holds the lines, stacks the stack of each line that is
// one, sorted. end says there are no more, err why.
type batch struct {
	buf     []byte
	stacks  []lineStack
	skipped int
	end     bool
	err     error
	// The frames of the stacks but those each shares with the one
	// before, in order.
	frames []span
	// Room for sorting and splitting.
	order  []sortEntry
	sorted []lineStack
	ends   []int
}

// span is where a frame is in a batch's buf.
type span struct{ start, end int }

// lineStack is a folded line's stack: its text, buf[start:end], without
// the counts, and the counts. Once sorted, shared is how many bytes of its
// text are those of the stack before, same how many frames, and its other
// frames are the batch's frames[from:to].
type lineStack struct {
	start, end     int
	shared         int
	value, before  int64
	same, from, to int32
	diff           bool
}

// add reads the line buf[start:end] of the batch, or counts it skipped.
func (b *batch) add(start, end int) {
	line := trimBlanks(bytes.TrimSuffix(b.buf[start:end], []byte{'\r'}))
	if len(line) == 0 {
		return
	}
	text, value, ok := cutCount(line)
	if !ok {
		b.skipped++
		return
	}
	s := lineStack{value: value}
	if rest, before, ok := cutCount(text); ok {
		text, s.before, s.diff = rest, before, true
	}
	if len(bytes.Trim(text, ";")) == 0 {
		b.skipped++
		return
	}
	s.start, s.end = start, start+len(text)
	b.stacks = append(b.stacks, s)
}

// startBatches starts reading the lines that follow first in batches.
func (r *Reader) startBatches(first []byte) {
	r.batches, r.free, r.done = make(chan *batch, 1), make(chan *batch, 2), make(chan struct{})
	r.free <- &batch{}
	r.free <- &batch{}
	b := &batch{buf: slices.Clone(first)}
	b.add(0, len(first))
	b.split()
	r.batch = b
	go r.readBatches()
}

// readBatches reads the input into free batches, whole lines each, sorts
// their stacks, and hands them over, until the end of the input or Close.
// The lines stay where they were read: a line cut by the end of a batch
// starts the next one.
func (r *Reader) readBatches() {
	size := r.batchBytes
	var carry []byte
	for {
		var b *batch
		select {
		case b = <-r.free:
		case <-r.done:
			return
		}
		if cap(b.buf) < size {
			b.buf = make([]byte, 0, size)
		}
		buf := append(b.buf[:0], carry...)
		b.stacks, b.skipped = b.stacks[:0], 0
		for {
			n, err := io.ReadFull(r.in, buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				b.end = true
				if err != io.EOF && err != io.ErrUnexpectedEOF {
					b.err = err
				}
				break
			}
			if bytes.IndexByte(buf[len(buf)-n:], '\n') >= 0 {
				break
			}
			// A line longer than the buffer.
			buf = slices.Grow(buf, len(buf))
		}
		b.buf = buf
		end := len(buf)
		if !b.end {
			end = bytes.LastIndexByte(buf, '\n') + 1
		}
		carry = buf[end:]
		for pos := 0; pos < end; {
			i := bytes.IndexByte(buf[pos:end], '\n')
			if i < 0 {
				i = end - pos
			}
			b.add(pos, pos+i)
			pos += i + 1
		}
		b.sort()
		b.split()
		select {
		case r.batches <- b:
		case <-r.done:
			return
		}
		if b.end {
			return
		}
		if r.growBatch {
			size = min(2*size, maxBatch)
		}
	}
}

// sort sorts the batch's stacks by their texts, frame by frame, and tells
// each how much of its text it shares with the one before.
//
// The stacks are sorted eight bytes at a time, most significant first (a
// radix sort): all of them by their first eight bytes, then those alike by
// the next eight, and so on. Each stack's bytes are read once, in order,
// at the place where it parts from the others, whereas comparing stacks
// two by two reads the hundreds of bytes they share again and again. Where
// two stacks part is known at once.
func (b *batch) sort() {
	b.order = b.order[:0]
	for i := range b.stacks {
		b.order = append(b.order, sortEntry{line: int32(i)})
	}
	b.sortFrom(b.order, 0)
	b.sorted = b.sorted[:0]
	for _, e := range b.order {
		s := b.stacks[e.line]
		s.shared = int(e.shared)
		b.sorted = append(b.sorted, s)
	}
	b.stacks, b.sorted = b.sorted, b.stacks
}

// sortEntry is a stack being sorted: the eight bytes of its text at the
// depth being sorted by, as sortKey makes them, and how many bytes it
// shares with the one before.
type sortEntry struct {
	key    uint64
	line   int32
	shared int32
}

// smallSort is the size of a group of stacks sorted by comparison.
const smallSort = 12

// sortFrom sorts stacks whose texts are alike in their first depth bytes,
// and sets what each but the first shares with the one before.
func (b *batch) sortFrom(order []sortEntry, depth int) {
	text := func(e sortEntry) []byte {
		s := b.stacks[e.line]
		return b.buf[s.start+depth : s.end]
	}
	if len(order) <= smallSort {
		for i := 1; i < len(order); i++ {
			for j := i; j > 0 && compareStacks(text(order[j]), text(order[j-1])) < 0; j-- {
				order[j], order[j-1] = order[j-1], order[j]
			}
		}
		for i := 1; i < len(order); i++ {
			order[i].shared = int32(depth + mismatch(text(order[i-1]), text(order[i])))
		}
		return
	}
	// Stacks often share long beginnings (a thread's frames, a
	// program's main loops): the bytes all the texts share are skipped.
	first := text(order[0])
	common := len(first)
	for _, e := range order[1:] {
		t := text(e)
		common = mismatch(first[:common], t[:min(common, len(t))])
	}
	if common > 0 {
		b.sortFrom(order, depth+common)
		return
	}
	for i := range order {
		order[i].key = sortKey(text(order[i]))
	}
	slices.SortFunc(order, func(x, y sortEntry) int { return cmp.Compare(x.key, y.key) })
	var prev uint64
	for i := 0; i < len(order); {
		key := order[i].key
		j := i + 1
		for j < len(order) && order[j].key == key {
			j++
		}
		// Texts that end in these eight bytes come first, each alike
		// with the others as far as the shorter goes.
		g := order[i:j]
		ended := 0
		for k := range g {
			if len(text(g[k])) <= 8 {
				g[ended], g[k] = g[k], g[ended]
				ended++
			}
		}
		if len(g)-ended > 1 {
			b.sortFrom(g[ended:], depth+8)
		}
		// Entries move as they are sorted: what each shares with the
		// one before is set once it is in place. A semicolon and the
		// end of a text are alike in keys: where texts part is no
		// further than the shorter's end.
		if i > 0 {
			g[0].shared = int32(depth + bits.LeadingZeros64(prev^key)/8)
		}
		for k := 1; k <= ended && k < len(g); k++ {
			g[k].shared = int32(depth + min(len(text(g[k-1])), len(text(g[k]))))
		}
		prev = key
		i = j
	}
}

// sortKey is the first eight bytes of a text as a number whose order is
// the texts' frame by frame: a semicolon (the end of a frame) becomes 0,
// the bytes below it one more, and the end of the text is 0 too. Each of
// the eight bytes is changed at once, in the number's bits.
func sortKey(t []byte) uint64 {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
		low  = 0x7f7f7f7f7f7f7f7f
	)
	var x, valid uint64
	if len(t) >= 8 {
		x, valid = binary.BigEndian.Uint64(t), ^uint64(0)
	} else {
		for i, c := range t {
			x |= uint64(c) << (56 - 8*i)
		}
		valid = ^(^uint64(0) >> (8 * len(t)))
	}
	// Bytes below ';' (0x3b): under 0x80, and under 0x80 still when
	// 0x45 is added. Bytes that are ';': zero once ';' is taken away.
	below := ^((x & low) + 0x45*ones | x) & high
	y := x ^ ';'*ones
	semi := ^((y & low) + low | y) & high
	x += below >> 7
	x &^= (semi >> 7) * 0xff
	return x & valid
}

// compareStacks orders stack texts frame by frame, each frame's bytes in
// order: a frame before one it is the beginning of, a stack before those
// it is the beginning of. Byte order would not do: "f;g" would come after
// "f.1;g" and before "f;h", parting the stacks through f.
func compareStacks(a, b []byte) int {
	m := mismatch(a, b)
	switch {
	case m == len(a) && m == len(b):
		return 0
	case m == len(a):
		return -1
	case m == len(b):
		return 1
	case a[m] == ';':
		return -1
	case b[m] == ';':
		return 1
	case a[m] < b[m]:
		return -1
	}
	return 1
}

// mismatch is the length of the common beginning of a and b, found eight
// bytes at a time.
func mismatch(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// nextLine returns the next stack of folded lines.
func (r *Reader) nextLine() bool {
	for {
		b := r.batch
		if r.batchNext < len(b.stacks) {
			ls := b.stacks[r.batchNext]
			r.batchNext++
			s := &r.stack
			s.Value, s.Before, s.Diff = ls.value, ls.before, ls.diff
			s.Frames, s.Same = s.Frames[:ls.same], int(ls.same)
			for _, f := range b.frames[ls.from:ls.to] {
				s.Frames = append(s.Frames, b.buf[f.start:f.end])
			}
			return true
		}
		r.skipped += b.skipped
		if b.end {
			if b.err != nil {
				r.err = fmt.Errorf("%s: %w", r.name, b.err)
			}
			return false
		}
		// The stack handed out last points into b: b is free once the
		// next one is asked for, which is now.
		r.batch, r.batchNext = <-r.batches, 0
		r.free <- b
	}
}

// split cuts the sorted stacks' texts into frames, but for those the text
// of a stack shares with the one before, which it keeps.
func (b *batch) split() {
	b.frames = b.frames[:0]
	ends := b.ends[:0] // where each frame of the stack before ends
	var prev []byte
	for i := range b.stacks {
		ls := &b.stacks[i]
		text := b.buf[ls.start:ls.end]
		same, pos := 0, 0
		if i > 0 {
			m := min(ls.shared, len(prev), len(text))
			for same < len(ends) && ends[same] < m {
				same++
			}
			// A frame that ends where the texts part is whole in
			// both when each ends there or goes on to another frame.
			if same < len(ends) && ends[same] == m && (m == len(text) || text[m] == ';') && (m == len(prev) || prev[m] == ';') {
				same++
			}
			if same > 0 {
				pos = ends[same-1]
			}
		}
		ends = ends[:same]
		ls.same, ls.from = int32(same), int32(len(b.frames))
		for pos < len(text) {
			i := bytes.IndexByte(text[pos:], ';')
			end := pos + i
			if i < 0 {
				end = len(text)
			}
			if end > pos {
				b.frames = append(b.frames, span{ls.start + pos, ls.start + end})
				ends = append(ends, end)
			}
			pos = end + 1
		}
		ls.to = int32(len(b.frames))
		prev = text
	}
	b.ends = ends
}

// Close stops the reading ahead of a Reader not read to its end.
func (r *Reader) Close() {
	if r.done != nil {
		select {
		case <-r.done:
		default:
			close(r.done)
		}
	}
}

// Stack is the stack Next read.
func (r *Reader) Stack() *Stack { return &r.stack }

// Err is the error that stopped Next, or nil at the end of the input.
func (r *Reader) Err() error { return r.err }

// Skipped counts the lines that were neither a stack nor part of one
// (blank lines aside): flame graph tools skip them, as friday does, and
// say how many.
func (r *Reader) Skipped() int { return r.skipped }

// readLine returns the next line without its newline; it is valid until
// the next call.
func (r *Reader) readLine() ([]byte, error) {
	r.line++
	line, err := r.in.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.in.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
	}
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// trimBlanks drops the blanks that end a line.
func trimBlanks(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// cutCount splits "text COUNT" at the blank before the count. It looks
// only at the characters a count may hold, from the end: a line holds a
// stack of hundreds of bytes, and is looked at twice, for a second count.
func cutCount(b []byte) (rest []byte, n int64, ok bool) {
	i := len(b)
	for i > 0 && isCountByte(b[i-1]) {
		i--
	}
	if i == len(b) || i < 2 || b[i-1] != ' ' && b[i-1] != '\t' {
		return nil, 0, false
	}
	n, ok = parseCount(b[i:])
	if !ok {
		return nil, 0, false
	}
	return trimBlanks(b[:i-1]), n, true
}

func isCountByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// parseCount reads a non-negative decimal count. Some collapsers write
// fractional counts (scaled samples): those round to the nearest integer.
func parseCount(b []byte) (int64, bool) {
	if n, ok := parseDigits(b); ok {
		return n, true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || !(f >= 0 && f < 1<<62) {
		return 0, false
	}
	return int64(math.Round(f)), true
}

// parseDigits reads up to 18 decimal digits: the common case, without
// strconv's allocation of a string.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Write writes one folded line: the frames, root first, and the values
// (two for a differential line, "before" first).
func Write(w *bufio.Writer, frames []string, values ...int64) error {
	for i, f := range frames {
		if i > 0 {
			w.WriteByte(';')
		}
		w.WriteString(f)
	}
	for _, v := range values {
		w.WriteByte(' ')
		w.WriteString(strconv.FormatInt(v, 10))
	}
	return w.WriteByte('\n')
}

// Task reads the task a root frame names in perf's style, "comm-PID" or
// "comm-PID/TID"; ok is false for other frames. tid is 0 for a process.
func Task(frame string) (comm string, pid, tid int, ok bool) {
	rest := frame
	if i := strings.LastIndexByte(rest, '/'); i > 0 {
		t, err := strconv.Atoi(rest[i+1:])
		if err != nil || t < 0 || rest[i+1] == '+' {
			return "", 0, 0, false
		}
		tid, rest = t, rest[:i]
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return "", 0, 0, false
	}
	p, err := strconv.Atoi(rest[i+1:])
	if err != nil || p < 0 || rest[i+1] == '+' {
		return "", 0, 0, false
	}
	return rest[:i], p, tid, true
}

// TaskFrame is the root frame naming a task, as Task reads it.
func TaskFrame(comm string, pid, tid int) string {
	if tid == 0 {
		return comm + "-" + strconv.Itoa(pid)
	}
	return comm + "-" + strconv.Itoa(pid) + "/" + strconv.Itoa(tid)
}
