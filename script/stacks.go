package script

import (
	"encoding/binary"
	"sync"
	"syscall"

	"friday/output"
	"friday/run"
	"friday/types"
)

// Stack is a kstack or ustack value as RunOptions.RawStacks decodes it:
// the addresses the kernel recorded, for a caller that symbolizes them
// itself (Host.Symbols).
type Stack struct {
	User bool
	// Pid is the process whose address space a user stack is in.
	Pid uint32
	// ID identifies the stack among those of its kind (User) that the
	// script records at its depth: the hash of its frames.
	ID uint64
	// Addrs are the frames' addresses, innermost first. Those above the
	// innermost are return addresses, one past their call. With
	// RunOptions.LazyStacks they are nil until Run.FillStacks.
	Addrs []uint64
	// Errno is why the kernel recorded no stack, 0 when it did: EFAULT
	// when there was none to record (the kernel stack of a sample in user
	// space, the user stack of a kernel thread), E2BIG when the stack map
	// was full.
	Errno syscall.Errno

	depth int
}

// Lost reports a stack the kernel had to leave out for want of room in
// its stack map: one that had no frames to record is not lost.
func (s Stack) Lost() bool { return s.Errno != 0 && s.Errno != syscall.EFAULT }

// stackReader reads the addresses of stack values from the running
// script's stack maps. A stack's id never changes (it is the hash of its
// frames), so each is read from the kernel once; lazily, not at all until
// FillStacks reads them all.
type stackReader struct {
	stacks *run.Stacks
	lazy   bool
	mu     sync.Mutex
	cache  map[stackKey][]uint64
}

type stackKey struct {
	user  bool
	depth int
	id    uint64
}

func newStackReader(s *run.Stacks, lazy bool) *stackReader {
	return &stackReader{stacks: s, lazy: lazy, cache: map[stackKey][]uint64{}}
}

// stack decodes a kstack or ustack value of type t laid out in b.
func (r *stackReader) stack(t *types.Type, b []byte) Stack {
	ne := binary.NativeEndian
	id := ne.Uint64(b)
	s := Stack{User: t.Kind == types.UStack, depth: t.StackDepth}
	if s.User {
		s.Pid = ne.Uint32(b[output.UStackPidOff:])
	}
	if int64(id) < 0 {
		s.Errno = syscall.Errno(-int64(id))
		return s
	}
	s.ID = id
	if r.lazy {
		return s
	}
	k := stackKey{s.User, t.StackDepth, id}
	r.mu.Lock()
	addrs, ok := r.cache[k]
	if !ok {
		addrs = r.stacks.Stack(s.User, t.StackDepth, id)
		if len(addrs) > 0 {
			r.cache[k] = addrs
		}
	}
	r.mu.Unlock()
	s.Addrs = addrs
	return s
}

// fill sets the addresses of stacks, reading each map they are in once.
func (r *stackReader) fill(stacks []Stack) error {
	type kind struct {
		user  bool
		depth int
	}
	maps := map[kind]map[uint64][]uint64{}
	for i := range stacks {
		s := &stacks[i]
		if s.Errno != 0 || s.Addrs != nil {
			continue
		}
		k := kind{s.User, s.depth}
		all, ok := maps[k]
		if !ok {
			var err error
			if all, err = r.stacks.All(s.User, s.depth); err != nil {
				return err
			}
			maps[k] = all
		}
		s.Addrs = all[s.ID]
	}
	return nil
}
