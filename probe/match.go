package probe

import (
	"iter"
	"strings"

	"friday/syntax"
)

// withPrefix lists what read returns, each name after prefix.
func withPrefix(prefix string, read func() ([]string, error)) ([]string, error) {
	names, err := read()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out, nil
}

// moduleTarget splits the arguments "[module:]name" of a provider whose
// targets may live in kernel modules; usage says what the provider takes.
func moduleTarget(ap *syntax.AttachPoint, provider, usage string, args []string) (module, name string, err error) {
	switch {
	case len(args) == 1 && args[0] != "":
		return "", args[0], nil
	case len(args) == 2 && args[0] != "" && args[1] != "":
		return args[0], args[1], nil
	}
	return "", "", argCountError(ap, provider, usage)
}

// hasWildcard reports whether s holds bpftrace's only wildcard, '*'.
// noMatch is bpftrace's error for an attach point without wildcards that
// names nothing ("No matches for tracepoint syscalls:nonsense."), then
// friday's suggestion of a near name, when there is one, and its hint.
func noMatch(kind, name, suggestion, hint string) error {
	e := &MissingError{Msg: "No matches for " + kind + " " + name + "."}
	if suggestion != "" {
		e.Extra = "Did you mean " + suggestion + "?"
	}
	if hint != "" {
		e.Extra = strings.TrimSpace(e.Extra + " (" + hint + ")")
	}
	return e
}

// noAttachPoints is bpftrace's error for an attach point whose wildcards
// match nothing, then what friday looked for and its hint.
func noAttachPoints(what, hint string) error {
	e := &MissingError{Msg: "Probe has no valid attach points.", Extra: "No " + what}
	if hint != "" {
		e.Extra += " (" + hint + ")"
	}
	return e
}

// MissingError is an attach point that names nothing on this machine:
// bpftrace's sentence, then what friday adds (a near name, a hint).
type MissingError struct {
	Msg, Extra string
}

func (e *MissingError) Error() string { return joinSentences(e.Msg, e.Extra) }

// Skipping is the warning for the attach point when the config setting
// missing_probes = warn leaves it out, in bpftrace's words.
func (e *MissingError) Skipping() string {
	return joinSentences(e.Msg+" Skipping.", e.Extra)
}

func joinSentences(a, b string) string {
	if b == "" {
		return a
	}
	return a + " " + b
}

func hasWildcard(s string) bool { return strings.Contains(s, "*") }

// wildcardMatch reports whether name matches pattern, where '*' matches any
// run of bytes (the empty one too) and every other byte itself.
func wildcardMatch(pattern, name string) bool {
	// Greedy matching with backtracking to the last '*' is linear enough for
	// names of a few dozen bytes.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			mark++
			p, n = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// editDistance is the Levenshtein distance between a and b, or limit when
// it is limit or more: a name is compared with tens of thousands of
// kernel functions, most of them far off, which a length too different or
// a row of the table all at limit tells early. rows is room for the table's
// rows, reused from call to call.
func editDistance(a, b string, limit int, rows *[]int) int {
	if abs(len(a)-len(b)) >= limit {
		return limit
	}
	if cap(*rows) < 2*len(b)+2 {
		*rows = make([]int, 2*len(b)+2)
	}
	prev, cur := (*rows)[:len(b)+1], (*rows)[len(b)+1:2*len(b)+2]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		low := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			low = min(low, cur[j])
		}
		if low >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

func abs(n int) int { return max(n, -n) }

// nearest returns the candidate closest to s by edit distance, or "" when
// none is close enough to be a plausible misspelling: a fifth of the name
// wrong at most, or one letter of a short name. Kernel functions renamed
// away between versions (tcp_drop, generic_make_request) would otherwise
// draw unrelated names that happen to share a suffix.
func nearest(s string, candidates iter.Seq[string]) string {
	best, bestDist := "", max(2, len(s)/5+1)
	var rows []int
	for c := range candidates {
		if d := editDistance(s, c, bestDist, &rows); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
