// Package stackgen makes large sets of distinct folded stacks, the same on
// every run, for benchmarks of the flame graph drawing: random walks down a
// fixed call graph whose callees are picked with a skew, as in real
// programs, so that stacks share prefixes and differ towards the leaf.
package stackgen

import (
	"bufio"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"strconv"
)

// Shape is how the stacks are made.
type Shape int

const (
	// Walks start at one of a few entry points and go down the call
	// graph 8 to 33 calls: stacks share a few frames, about 600 bytes a
	// line.
	Walks Shape = iota
	// Deep stacks are as a server's profile has them: a thread's frame
	// and a long common trunk (the runtime's and the server's loops, 12
	// to 20 frames that seldom differ), then 6 to 25 calls down the call
	// graph, and for a third of them the kernel's frames of a system
	// call: 20 to 55 frames, about 1,000 bytes a line.
	Deep
)

// Shapes names the shapes.
var Shapes = map[string]Shape{"walks": Walks, "deep": Deep}

// Write writes n distinct folded stacks of a shape to w.
func Write(w io.Writer, n int, shape Shape) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	g := newGraph()
	rng := rand.New(rand.NewPCG(1, 2))
	seen := make(map[uint64]bool, n)
	seed := maphash.MakeSeed()
	var path []int32
	var line []byte
	for len(seen) < n {
		if shape == Deep {
			path = g.deep(rng, path[:0])
		} else {
			path = g.walk(rng, path[:0], int32(rng.IntN(8)), 8+rng.IntN(26))
		}
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

// graph is a call graph: callees[f] are the functions f calls. Besides
// the functions, names holds the frames of deep stacks' threads, trunks
// and system calls.
type graph struct {
	names   []string
	callees [][]int32
	// Deep stacks: threads' frames, the trunk's functions, and kernel
	// call chains, as indexes of names.
	threads  []int32
	trunk    []int32
	syscalls [][]int32
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
	name := func(s string) int32 {
		g.names = append(g.names, s)
		return int32(len(g.names) - 1)
	}
	for i := range 16 {
		g.threads = append(g.threads, name(fmt.Sprintf("server-4100/%d", 4100+i)))
	}
	for i := range 20 {
		g.trunk = append(g.trunk, name(fmt.Sprintf("main.(*Server).serveLoop%d", i)))
	}
	kernel := []string{"vfs_read", "vfs_write", "ksys_read", "ksys_write", "__x64_sys_futex", "do_futex", "futex_wait",
		"__x64_sys_epoll_wait", "do_epoll_wait", "ep_poll", "schedule", "__schedule", "tcp_sendmsg", "tcp_recvmsg",
		"sock_read_iter", "sock_write_iter", "copy_user_generic", "ext4_file_read_iter", "filemap_read", "pick_next_task_fair"}
	for range 200 {
		chain := []int32{name("entry_SYSCALL_64_after_hwframe_[k]"), name("do_syscall_64_[k]")}
		for range 2 + rng.IntN(7) {
			chain = append(chain, name(kernel[rng.IntN(len(kernel))]+"_[k]"))
		}
		g.syscalls = append(g.syscalls, chain)
	}
	return g
}

// walk appends a stack of depth calls down the graph from f, each callee
// picked with a skew towards the first ones.
func (g *graph) walk(rng *rand.Rand, path []int32, f int32, depth int) []int32 {
	for range depth {
		path = append(path, f)
		c := g.callees[f]
		i := int(float64(len(c)) * rng.Float64() * rng.Float64() * rng.Float64())
		f = c[i]
	}
	return path
}

// deep appends a deep stack: a thread, the trunk (a frame of it left out
// now and then), calls down the graph, and maybe a system call.
func (g *graph) deep(rng *rand.Rand, path []int32) []int32 {
	t := min(rng.IntN(len(g.threads)), rng.IntN(len(g.threads)))
	path = append(path, g.threads[t])
	for i, f := range g.trunk[:12+rng.IntN(9)] {
		if i < 4 || rng.IntN(25) > 0 {
			path = append(path, f)
		}
	}
	path = g.walk(rng, path, int32(rng.IntN(16)), 6+rng.IntN(20))
	if rng.IntN(3) == 0 {
		s := g.syscalls[rng.IntN(len(g.syscalls))]
		path = append(path, s...)
	}
	return path
}
