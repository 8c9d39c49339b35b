package run

import (
	"encoding/binary"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
)

// Stacks reads the stacks a running script stored with kstack and ustack.
// Make one, hand it to the symbolizer the printer uses and to Run through
// Options; Run fills it in once the maps exist.
type Stacks struct {
	kernel, user []*ebpf.Map // deepest first
}

// set finds the stack trace maps among the loaded ones: the code generator
// names them "stack_k<depth>" and "stack_u<depth>".
func (s *Stacks) set(maps map[string]*ebpf.Map) {
	seen := map[*ebpf.Map]bool{}
	for name, m := range maps {
		if m.Type() != ebpf.StackTrace || seen[m] {
			continue
		}
		seen[m] = true
		if strings.HasPrefix(name, "stack_u") {
			s.user = append(s.user, m)
		} else {
			s.kernel = append(s.kernel, m)
		}
	}
	for _, l := range [][]*ebpf.Map{s.kernel, s.user} {
		sort.Slice(l, func(i, j int) bool { return l[i].ValueSize() > l[j].ValueSize() })
	}
}

// Stack returns the addresses stored under id, innermost first; nil when
// there are none (bpf_get_stackid failed, or the stack was evicted). With
// stacks of several depths, ids are looked up in the deepest map first:
// the printer cuts a stack to the depth its type asks for.
func (s *Stacks) Stack(user bool, id uint64) []uint64 {
	if s == nil || id > 1<<31 {
		return nil
	}
	maps := s.kernel
	if user {
		maps = s.user
	}
	for _, m := range maps {
		buf := make([]byte, m.ValueSize())
		if err := m.Lookup(uint32(id), &buf); err != nil {
			continue
		}
		var addrs []uint64
		for i := 0; i+8 <= len(buf); i += 8 {
			a := binary.NativeEndian.Uint64(buf[i:])
			if a == 0 {
				break
			}
			addrs = append(addrs, a)
		}
		return addrs
	}
	return nil
}
