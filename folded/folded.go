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
	"fmt"
	"io"
	"math"
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
	Value  int64
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
	return &Reader{in: bufio.NewReaderSize(in, 256<<10), name: name, batchBytes: batch}
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
// looking them up again. Collapsers often sort their output; others (bcc's,
// a concatenation of files) do not. The larger the batch, the more stacks
// share, at the cost of memory (three batches are held): a batch is a
// 64th of the input when its size is known, 256 KiB to 16 MiB.
const (
	minBatch = 256 << 10
	maxBatch = 16 << 20
)

// batch is lines of folded input, as spans of buf, sorted. end says
// there are no more, err why.
type batch struct {
	buf   []byte
	lines [][2]int
	end   bool
	err   error
}

func (b *batch) add(line []byte) {
	start := len(b.buf)
	b.buf = append(b.buf, line...)
	b.lines = append(b.lines, [2]int{start, len(b.buf)})
}

// startBatches starts reading the lines that follow first in batches.
func (r *Reader) startBatches(first []byte) {
	r.batches, r.free, r.done = make(chan *batch, 1), make(chan *batch, 2), make(chan struct{})
	r.free <- &batch{}
	r.free <- &batch{}
	b := &batch{}
	b.add(first)
	r.batch = b
	go r.readBatches()
}

// readBatches reads lines into free batches, sorts them, and hands them
// over, until the end of the input or Close.
func (r *Reader) readBatches() {
	for {
		var b *batch
		select {
		case b = <-r.free:
		case <-r.done:
			return
		}
		if b.buf == nil {
			// Room for a batch and the line that ends it, so that
			// the buffer never doubles.
			b.buf = make([]byte, 0, r.batchBytes+64<<10)
		}
		b.buf, b.lines = b.buf[:0], b.lines[:0]
		for len(b.buf) < r.batchBytes {
			line, err := r.readLine()
			if err != nil {
				b.end = true
				if err != io.EOF {
					b.err = err
				}
				break
			}
			b.add(line)
		}
		buf := b.buf
		slices.SortFunc(b.lines, func(x, y [2]int) int { return bytes.Compare(buf[x[0]:x[1]], buf[y[0]:y[1]]) })
		select {
		case r.batches <- b:
		case <-r.done:
			return
		}
		if b.end {
			return
		}
	}
}

// nextLine returns the next stack of folded lines.
func (r *Reader) nextLine() bool {
	for {
		b := r.batch
		for r.batchNext < len(b.lines) {
			sp := b.lines[r.batchNext]
			r.batchNext++
			if r.parseLine(b.buf[sp[0]:sp[1]]) {
				return true
			}
		}
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

// parseLine reads a folded line into r.stack.
func (r *Reader) parseLine(line []byte) bool {
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 {
		return false
	}
	stack, value, ok := cutCount(line)
	if !ok {
		r.skipped++
		return false
	}
	s := &r.stack
	s.Value, s.Before, s.Diff = value, 0, false
	if rest, before, ok := cutCount(stack); ok {
		stack, s.Before, s.Diff = rest, before, true
	}
	s.Frames = s.Frames[:0]
	for len(stack) > 0 {
		i := bytes.IndexByte(stack, ';')
		if i < 0 {
			s.Frames = append(s.Frames, stack)
			break
		}
		if i > 0 {
			s.Frames = append(s.Frames, stack[:i])
		}
		stack = stack[i+1:]
	}
	if len(s.Frames) == 0 {
		r.skipped++
		return false
	}
	return true
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
	return bytes.TrimRight(b[:i-1], " \t"), n, true
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
