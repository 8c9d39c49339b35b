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
// from the first line.
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
	skipped int
	err     error
}

// NewReader reads stacks from in; name (a file name) prefixes errors.
func NewReader(in io.Reader, name string) *Reader {
	return &Reader{in: bufio.NewReaderSize(in, 256<<10), name: name}
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
			}
		}
		var ok bool
		switch r.format {
		case lines:
			ok = r.parseLine(line)
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

// cutCount splits "text COUNT" at its last blank.
func cutCount(b []byte) (rest []byte, n int64, ok bool) {
	i := bytes.LastIndexAny(b, " \t")
	if i <= 0 {
		return nil, 0, false
	}
	n, ok = parseCount(b[i+1:])
	if !ok {
		return nil, 0, false
	}
	return bytes.TrimRight(b[:i], " \t"), n, true
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
