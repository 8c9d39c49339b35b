// Package stackprof turns the stacks scripts record (kstack and ustack
// values decoded as script.Stack) into the frames of friday profiles
// (package profile): symbolized once per distinct address, with the calls
// the compiler inlined, source lines, and the file mappings of user code
// that pprof lists. It also makes a profile of a script's maps keyed by
// stacks, for `friday trace -o out.svg`.
package stackprof

import (
	"strings"

	"friday/profile"
	"friday/script"
	"friday/symbol"
)

// Frames of stacks the kernel could not record (its stack map was full),
// as bcc's tools name them.
const (
	MissedKernel = "[Missed Kernel Stack]"
	MissedUser   = "[Missed User Stack]"
	// Unknown is a frame whose address no symbol covers.
	Unknown = "[unknown]"
)

// Symbolizer symbolizes stacks into profile frames. It remembers each
// address it resolved, so a profile's repeated frames cost one lookup.
// It is not safe for concurrent use.
type Symbolizer struct {
	res      *symbol.Resolver
	p        *profile.Profile
	mappings map[symbol.Mapping]int // index+1 in p.Mappings
	kernel   map[uint64]*addrFrames
	user     map[userAddr]*addrFrames
	missed   [2]*addrFrames // of lost kernel and user stacks
}

// addrFrames are the frames of an address: its function's, then the
// calls inlined at it.
type addrFrames struct {
	frames []profile.Frame
	// ids are the frames' indexes in the profile, once asked for.
	ids []int
}

type userAddr struct {
	pid   uint32
	addr  uint64
	outer bool // a return address: its call gives the line
}

// NewSymbolizer symbolizes through res for the profile p, whose
// Mappings it adds the mappings of user frames to.
func NewSymbolizer(res *symbol.Resolver, p *profile.Profile) *Symbolizer {
	return &Symbolizer{
		res: res, p: p, mappings: map[symbol.Mapping]int{},
		kernel: map[uint64]*addrFrames{}, user: map[userAddr]*addrFrames{},
	}
}

// Frames are the frames of s, root first, appended to dst: each address
// its function's frame followed by the calls inlined at it, outermost
// first; a kernel stack taken in a tracepoint without the frames of the
// tracing itself (see tracing). A stack the kernel could not record is one frame, MissedKernel
// or MissedUser; one with no frames (the kernel stack of a sample in user
// space) is none.
func (y *Symbolizer) Frames(dst []profile.Frame, s script.Stack) []profile.Frame {
	y.each(s, func(a *addrFrames) { dst = append(dst, a.frames...) })
	return dst
}

// FrameIDs are the indexes in the profile (profile.Profile.FrameID) of
// the frames Frames gives, appended to dst, listing those that are new:
// each address's frames are indexed once, however many stacks hold it.
func (y *Symbolizer) FrameIDs(dst []int, s script.Stack) []int {
	y.each(s, func(a *addrFrames) {
		if a.ids == nil {
			for _, f := range a.frames {
				a.ids = append(a.ids, y.p.FrameID(f))
			}
		}
		dst = append(dst, a.ids...)
	})
	return dst
}

// each calls f with the frames of each address of s, root first, as
// Frames lists them.
func (y *Symbolizer) each(s script.Stack, f func(*addrFrames)) {
	if s.Lost() {
		k := 0
		name := MissedKernel
		if s.User {
			k, name = 1, MissedUser
		}
		if y.missed[k] == nil {
			y.missed[k] = &addrFrames{frames: []profile.Frame{{Name: name, Kind: kind(s.User)}}}
		}
		f(y.missed[k])
		return
	}
	inner := 0
	if !s.User {
		// The BPF program itself may not resolve: its symbol is gone
		// once it is unloaded. The frames up to the last of the tracing
		// machinery's near the top go.
		for i := range min(len(s.Addrs), maxTracingFrames) {
			if tracing(y.kernelFrames(s.Addrs[i]).frames[0].Name) {
				inner = i + 1
			}
		}
	}
	for i := len(s.Addrs) - 1; i >= inner; i-- {
		addr := s.Addrs[i]
		if s.User {
			f(y.userFrames(s.Pid, addr, i > 0))
		} else {
			f(y.kernelFrames(addr))
		}
	}
}

// Warm looks the user addresses of stacks up ahead, all at once and in
// parallel (symbol.Resolver.Warm), as Frames will: return addresses at
// their calls too.
func (y *Symbolizer) Warm(stacks []script.Stack) {
	user := map[int][]uint64{}
	for _, s := range stacks {
		if !s.User || s.Lost() {
			continue
		}
		for i, a := range s.Addrs {
			user[int(s.Pid)] = append(user[int(s.Pid)], a)
			if i > 0 {
				user[int(s.Pid)] = append(user[int(s.Pid)], a-1)
			}
		}
	}
	y.res.Warm(user)
}

// maxTracingFrames bounds how deep into a kernel stack frames of the
// tracing machinery are looked for.
const maxTracingFrames = 6

// tracing tells the kernel's frames of the tracing itself, which a stack
// taken in a tracepoint starts with: the BPF program, the code that runs
// it, the tracepoint's own. They are left out: they are not the traced
// code, and they differ from one program to the next.
func tracing(name string) bool {
	for _, p := range []string{"bpf_prog_", "bpf_trace_run", "__bpf_trace_", "__traceiter_", "trace_call_bpf", "perf_trace_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func kind(user bool) string {
	if user {
		return profile.User
	}
	return profile.Kernel
}

func (y *Symbolizer) kernelFrames(addr uint64) *addrFrames {
	if a, ok := y.kernel[addr]; ok {
		return a
	}
	f := y.res.Kernel(addr)
	fr := profile.Frame{Name: f.Name, Kind: profile.Kernel, Address: addr}
	if fr.Name == "" {
		fr.Name = Unknown
	}
	a := &addrFrames{frames: []profile.Frame{fr}}
	y.kernel[addr] = a
	return a
}

// userFrames symbolizes a user address; outer says it is a return
// address, one past its call: the call (addr-1) tells the source line and
// the inlined calls that made it.
func (y *Symbolizer) userFrames(pid uint32, addr uint64, outer bool) *addrFrames {
	k := userAddr{pid, addr, outer}
	if a, ok := y.user[k]; ok {
		return a
	}
	f := y.res.User(int(pid), addr)
	at := f
	if outer && f.Name != "" {
		at = y.res.User(int(pid), addr-1)
	}
	fr := profile.Frame{Name: f.Name, Kind: profile.User, File: at.File, Line: at.Line, Address: addr}
	switch {
	case f.Module == "[jit]":
		fr.Kind = profile.JIT
	case fr.Name == "":
		fr.Name = Unknown
	}
	if m, ok := y.res.Mapping(int(pid), addr); ok {
		fr.Mapping = y.mapping(m)
	}
	fs := []profile.Frame{fr}
	for i := len(at.Inlined) - 1; i >= 0; i-- {
		in := at.Inlined[i]
		fs = append(fs, profile.Frame{Name: in.Name, Kind: profile.Inlined, File: in.File, Line: in.Line})
	}
	a := &addrFrames{frames: fs}
	y.user[k] = a
	return a
}

// mapping is the 1-based index of m in the profile's mappings, added if
// new.
func (y *Symbolizer) mapping(m symbol.Mapping) int {
	if i, ok := y.mappings[m]; ok {
		return i
	}
	y.p.Mappings = append(y.p.Mappings, profile.Mapping{Start: m.Start, Limit: m.Limit, Offset: m.Offset, File: m.File, BuildID: m.BuildID})
	i := len(y.p.Mappings)
	y.mappings[m] = i
	return i
}
