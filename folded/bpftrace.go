package folded

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// parseMapLine reads one line of bpftrace's printed maps. An entry whose
// key holds a stack spans lines, from "@name[" to "]: value"; r.spans
// holds the key's lines read so far (as spans of r.scratch).
func (r *Reader) parseMapLine(line []byte) (bool, error) {
	if len(r.spans) == 0 {
		if len(line) == 0 || line[0] != '@' {
			if len(bytes.TrimSpace(line)) > 0 && !bytes.HasPrefix(line, []byte("Attaching ")) {
				r.skipped++
			}
			return false, nil
		}
		open := bytes.IndexByte(line, '[')
		if open < 0 {
			r.skipped++ // a map without keys
			return false, nil
		}
		r.scratch = r.scratch[:0]
		line = line[open+1:]
	}
	if key, value, ok := cutEntryEnd(line); ok {
		r.addKeyLine(key)
		lines := make([]string, len(r.spans))
		for i, s := range r.spans {
			lines[i] = string(r.scratch[s[0]:s[1]])
		}
		r.spans = r.spans[:0]
		v, isCount := parseDigits(value)
		if !isCount || !r.buildStack(lines, v) {
			r.skipped++
			return false, nil
		}
		return true, nil
	}
	r.addKeyLine(line)
	return false, nil
}

func (r *Reader) addKeyLine(b []byte) {
	start := len(r.scratch)
	r.scratch = append(r.scratch, b...)
	r.spans = append(r.spans, [2]int{start, len(r.scratch)})
}

// cutEntryEnd splits the last line of a map entry, "...]: value".
func cutEntryEnd(line []byte) (key, value []byte, ok bool) {
	i := bytes.LastIndex(line, []byte("]: "))
	if i < 0 {
		return nil, nil, false
	}
	return line[:i], bytes.TrimSpace(line[i+3:]), true
}

// buildStack makes r.stack from the lines of a map key: lines that start
// with a blank are frames of a stack, innermost first; the text between
// stacks holds the key's other parts, separated by commas.
func (r *Reader) buildStack(lines []string, value int64) bool {
	var scalars []string
	var stacks [][]string
	inStack := false
	for _, l := range lines {
		if l != "" && (l[0] == ' ' || l[0] == '\t') {
			if !inStack {
				stacks = append(stacks, nil)
				inStack = true
			}
			stacks[len(stacks)-1] = append(stacks[len(stacks)-1], l)
			continue
		}
		inStack = false
		for _, part := range strings.Split(l, ",") {
			if part = strings.TrimSpace(part); part != "" {
				scalars = append(scalars, part)
			}
		}
	}
	if len(stacks) == 0 {
		return false
	}
	frames := make([]string, 0, 64)
	frames = append(frames, scalars...)
	for i := len(stacks) - 1; i >= 0; i-- {
		frames = appendStackFrames(frames, stacks[i])
	}
	r.scratch = r.scratch[:0]
	r.spans = r.spans[:0]
	for _, f := range frames {
		start := len(r.scratch)
		r.scratch = append(r.scratch, f...)
		r.spans = append(r.spans, [2]int{start, len(r.scratch)})
	}
	s := &r.stack
	s.Frames = s.Frames[:0]
	for _, sp := range r.spans {
		s.Frames = append(s.Frames, r.scratch[sp[0]:sp[1]])
	}
	r.spans = r.spans[:0]
	s.Value, s.Before, s.Diff = value, 0, false
	return true
}

// appendStackFrames appends the frames of one printed stack, whose lines
// are innermost first, root first.
func appendStackFrames(frames []string, lines []string) []string {
	kernel := false
	if len(lines) > 0 {
		name, _, _ := parseFrameLine(lines[len(lines)-1])
		kernel = isKernelEntry(name)
	}
	for i := len(lines) - 1; i >= 0; i-- {
		name, k, inlined := parseFrameLine(lines[i])
		switch {
		case inlined:
			name += "_[i]"
		case k || kernel && name != "[unknown]":
			name += "_[k]"
		}
		frames = append(frames, name)
	}
	return frames
}

// parseFrameLine reads one line of a printed stack: "name+offset", a bare
// address, "name (inlined)", or in perf mode a tab, the address in hex and
// the frame, with " (binary)" after user frames.
func parseFrameLine(l string) (name string, kernel, inlined bool) {
	perf := strings.HasPrefix(l, "\t")
	l = strings.TrimSpace(l)
	if perf {
		addr, rest, _ := strings.Cut(l, " ")
		a, err := strconv.ParseUint(addr, 16, 64)
		kernel = err == nil && a >= 0xffff800000000000
		if !kernel && strings.HasSuffix(rest, ")") {
			if i := strings.LastIndex(rest, " ("); i >= 0 {
				rest = rest[:i]
			}
		}
		l = rest
	}
	if n, ok := strings.CutSuffix(l, " (inlined)"); ok {
		return n, kernel, true
	}
	if strings.HasPrefix(l, "0x") || l == "" {
		return "[unknown]", kernel, false
	}
	if i := strings.LastIndexByte(l, '+'); i > 0 && isOffset(l[i+1:]) {
		l = l[:i]
	}
	return l, kernel, false
}

func isOffset(s string) bool {
	if t, ok := strings.CutPrefix(s, "0x"); ok {
		_, err := strconv.ParseUint(t, 16, 64)
		return err == nil
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// kernelEntries are the functions a kernel stack starts from: system call
// and interrupt entries, the start of kernel threads and of CPUs (x86-64
// and arm64).
var kernelEntries = []string{
	"entry_SYSCALL", "entry_INT80", "entry_SYSENTER", "asm_", "ret_from_fork",
	"secondary_startup_64", "common_startup_64", "start_kernel",
	"x86_64_start_kernel", "el0t_64_", "el1h_64_", "secondary_start_kernel",
	"__primary_switched", "do_syscall_64", "xen_start_kernel",
}

func isKernelEntry(name string) bool {
	for _, p := range kernelEntries {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// jsonMaps holds the entries of a map that bpftrace -f json printed in one
// line, handed out one per call of Next.
type jsonMaps struct {
	pending []jsonEntry
}

type jsonEntry struct {
	key   string
	value int64
}

// parseJSONLine reads one line of bpftrace -f json output: a "map" record
// holds map names and, for each, its entries keyed by their key's text.
func (r *Reader) parseJSONLine(line []byte) (bool, error) {
	j := r.json
	if len(j.pending) == 0 {
		if len(bytes.TrimSpace(line)) == 0 {
			return false, nil
		}
		var rec struct {
			Type string                                `json:"type"`
			Data map[string]map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(line, &rec); err != nil || rec.Type != "map" {
			if err != nil && !json.Valid(line) {
				return false, fmt.Errorf("not bpftrace JSON output: %v", err)
			}
			if rec.Type != "map" {
				return false, nil
			}
			r.skipped++
			return false, nil
		}
		for _, entries := range rec.Data {
			for k, v := range entries {
				n, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil || n < 0 {
					r.skipped++
					continue
				}
				j.pending = append(j.pending, jsonEntry{k, n})
			}
		}
		slices.SortFunc(j.pending, func(a, b jsonEntry) int { return strings.Compare(a.key, b.key) })
	}
	for len(j.pending) > 0 {
		e := j.pending[0]
		j.pending = j.pending[1:]
		if r.buildStack(strings.Split(e.key, "\n"), e.value) {
			// The line is handed back for the entries still pending.
			return true, nil
		}
		r.skipped++
	}
	return false, nil
}
