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
	// Addrs are the frames' addresses, innermost first. Those above the
	// innermost are return addresses, one past their call.
	Addrs []uint64
	// Errno is why the kernel recorded no stack, 0 when it did: EFAULT
	// when there was none to record (the kernel stack of a sample in user
	// space, the user stack of a kernel thread), E2BIG when the stack map
	// was full.
	Errno syscall.Errno
}

// Lost reports a stack the kernel had to leave out for want of room in
// its stack map: one that had no frames to record is not lost.
func (s Stack) Lost() bool { return s.Errno != 0 && s.Errno != syscall.EFAULT }

// stackReader reads the addresses of stack values from the running
// script's stack maps. A stack's id never changes (it is the hash of its
// frames), so each is read from the kernel once.
type stackReader struct {
	stacks *run.Stacks
	mu     sync.Mutex
	cache  map[stackKey][]uint64
}

type stackKey struct {
	user  bool
	depth int
	id    uint64
}

func newStackReader(s *run.Stacks) *stackReader {
	return &stackReader{stacks: s, cache: map[stackKey][]uint64{}}
}

// stack decodes a kstack or ustack value of type t laid out in b.
func (r *stackReader) stack(t *types.Type, b []byte) Stack {
	ne := binary.NativeEndian
	id := ne.Uint64(b)
	s := Stack{User: t.Kind == types.UStack}
	if s.User {
		s.Pid = ne.Uint32(b[output.UStackPidOff:])
	}
	if int64(id) < 0 {
		s.Errno = syscall.Errno(-int64(id))
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
