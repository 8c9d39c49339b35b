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
	// ends[i] is where Frames[i] ends in the stack's text: the next
	// line's frames are the same as far as both texts are.
	ends    []int
	skipped int
	err     error
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
// share, at the cost of memory (three batches are held): a batch is a
// 64th of the input when its size is known, 256 KiB to 16 MiB; else the
// batches start at 256 KiB and double up to 16 MiB.
const (
	minBatch = 256 << 10
	maxBatch = 16 << 20
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
}

// lineStack is a folded line's stack: its text, buf[start:end], without
// the counts, and the counts.
type lineStack struct {
	start, end    int
	value, before int64
	diff          bool
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
		slices.SortFunc(b.stacks, func(x, y lineStack) int { return compareStacks(buf[x.start:x.end], buf[y.start:y.end]) })
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
// bytes at a time: stacks that sort together share hundreds of bytes.
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
			var prev []byte
			if r.batchNext > 0 {
				p := b.stacks[r.batchNext-1]
				prev = b.buf[p.start:p.end]
			}
			ls := b.stacks[r.batchNext]
			r.batchNext++
			s := &r.stack
			s.Value, s.Before, s.Diff = ls.value, ls.before, ls.diff
			r.split(prev, b.buf[ls.start:ls.end])
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

// split cuts a stack's text into frames. The frames it shares with the
// text of the stack before, prev (nil for none), are kept: they are the
// same bytes, in the same batch.
func (r *Reader) split(prev, text []byte) {
	s := &r.stack
	same, pos := 0, 0
	if prev != nil {
		m := mismatch(prev, text)
		for same < len(s.Frames) && r.ends[same] < m {
			same++
		}
		// A frame that ends where the texts part is whole in both
		// when each ends there or goes on to another frame.
		if same < len(s.Frames) && r.ends[same] == m && (m == len(text) || text[m] == ';') && (m == len(prev) || prev[m] == ';') {
			same++
		}
		if same > 0 {
			pos = r.ends[same-1]
		}
	}
	s.Frames, r.ends, s.Same = s.Frames[:same], r.ends[:same], same
	for pos < len(text) {
		i := bytes.IndexByte(text[pos:], ';')
		end := pos + i
		if i < 0 {
			end = len(text)
		}
		if end > pos {
			s.Frames = append(s.Frames, text[pos:end])
			r.ends = append(r.ends, end)
		}
		pos = end + 1
	}
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
