// Package stackgen makes large sets of distinct folded stacks, the same on
// every run, for benchmarks of the flame graph drawing: random walks down a
// fixed call graph whose callees are picked with a skew, as in real
// programs, so that stacks share long prefixes and differ towards the leaf.
package stackgen

import (
	"bufio"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"strconv"
)

// Write writes n distinct folded stacks to w.
func Write(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	g := newGraph()
	rng := rand.New(rand.NewPCG(1, 2))
	seen := make(map[uint64]bool, n)
	seed := maphash.MakeSeed()
	var path []int32
	var line []byte
	for len(seen) < n {
		path = g.walk(rng, path[:0])
		var h maphash.Hash
		h.SetSeed(seed)
		for _, f := range path {
			h.WriteString(g.names[f])
			h.WriteByte(';')
		}
		k := h.Sum64()
		if seen[k] {
			continue
		}
		seen[k] = true
		line = line[:0]
		for i, f := range path {
			if i > 0 {
				line = append(line, ';')
			}
			line = append(line, g.names[f]...)
		}
		line = append(line, ' ')
		line = strconv.AppendInt(line, 1+int64(rng.ExpFloat64()*20), 10)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// graph is a call graph: callees[f] are the functions f calls.
type graph struct {
	names   []string
	callees [][]int32
}

const functions = 30000

func newGraph() *graph {
	rng := rand.New(rand.NewPCG(3, 4))
	g := &graph{names: make([]string, functions), callees: make([][]int32, functions)}
	pkgs := []string{"net/http", "encoding/json", "runtime", "sync", "main", "store/db", "store/cache", "grpc", "internal/poll", "syscall"}
	verbs := []string{"Handle", "Serve", "Read", "Write", "Lookup", "Marshal", "Decode", "Flush", "Scan", "Exec", "Alloc", "Wait"}
	nouns := []string{"Request", "Conn", "Buffer", "Index", "Row", "Stream", "Table", "Frame", "Page", "Entry"}
	for i := range g.names {
		p := pkgs[rng.IntN(len(pkgs))]
		switch rng.IntN(3) {
		case 0:
			g.names[i] = fmt.Sprintf("%s.(*%s).%s%s%d", p, nouns[rng.IntN(len(nouns))], verbs[rng.IntN(len(verbs))], nouns[rng.IntN(len(nouns))], i)
		case 1:
			g.names[i] = fmt.Sprintf("%s.%s%s%d", p, verbs[rng.IntN(len(verbs))], nouns[rng.IntN(len(nouns))], i)
		default:
			g.names[i] = fmt.Sprintf("%s.%s%d.func%d", p, verbs[rng.IntN(len(verbs))], i, 1+rng.IntN(3))
		}
		n := 1 + rng.IntN(12)
		for range n {
			g.callees[i] = append(g.callees[i], int32(rng.IntN(functions)))
		}
	}
	return g
}

// walk appends a stack from the root: a task, then calls down the graph,
// each callee picked with a skew towards the first ones.
func (g *graph) walk(rng *rand.Rand, path []int32) []int32 {
	f := int32(rng.IntN(8)) // a few entry points
	depth := 8 + rng.IntN(26)
	for range depth {
		path = append(path, f)
		c := g.callees[f]
		i := int(float64(len(c)) * rng.Float64() * rng.Float64() * rng.Float64())
		f = c[i]
	}
	return path
}
