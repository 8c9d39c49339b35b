package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"friday/internal/cpus"
	"friday/syntax"
)

func init() {
	for _, name := range []string{"watchpoint", "asyncwatchpoint"} {
		register(&provider{
			name:     name,
			aliases:  []string{map[string]string{"watchpoint": "w", "asyncwatchpoint": "aw"}[name]},
			progType: ebpf.PerfEvent,
			expand:   expandWatchpoint(name),
			attach:   attachWatchpoint,
		})
	}
}

// Watch is the memory a watchpoint watches with a hardware breakpoint.
type Watch struct {
	Addr uint64
	Len  int
	Mode string // "r", "w", "x" or a combination of r and w, as written
}

// Breakpoint types of perf_event_attr.bp_type.
const (
	bpRead  = 1
	bpWrite = 2
	bpExec  = 4
)

func expandWatchpoint(provider string) func(*resolver, *syntax.AttachPoint, []string) ([]*Point, error) {
	return func(_ *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
		if len(args) != 3 {
			return nil, argCountError(ap, provider, "an address, a length and a mode ("+provider+":0x10000000:8:rw)")
		}
		addr, err := strconv.ParseUint(args[0], 0, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: bad address %q: watchpoints take an absolute address (0x...)", ap.Raw, args[0])
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || (n != 1 && n != 2 && n != 4 && n != 8) {
			return nil, fmt.Errorf("%s: bad length %q (a watchpoint watches 1, 2, 4 or 8 bytes)", ap.Raw, args[1])
		}
		if _, err := bpType(args[2]); err != nil {
			return nil, fmt.Errorf("%s: %v", ap.Raw, err)
		}
		return []*Point{{
			Provider: provider,
			Target:   args[0],
			Func:     args[2],
			Name:     fullName(provider, args),
			Watch:    &Watch{Addr: addr, Len: n, Mode: args[2]},
		}}, nil
	}
}

// bpType turns a mode ("rw") into perf_event_attr.bp_type.
func bpType(mode string) (uint32, error) {
	var t uint32
	for _, c := range mode {
		bit := map[rune]uint32{'r': bpRead, 'w': bpWrite, 'x': bpExec}[c]
		if bit == 0 || t&bit != 0 {
			return 0, fmt.Errorf("bad mode %q (use r, w, x or rw)", mode)
		}
		t |= bit
	}
	if t == 0 || t&bpExec != 0 && t != bpExec {
		return 0, fmt.Errorf("bad mode %q (use r, w, x or rw; x cannot be combined)", mode)
	}
	return t, nil
}

// attachWatchpoint sets the breakpoint on every CPU, for every process:
// the watched address is looked at whoever touches it.
func attachWatchpoint(r *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	if p.Watch == nil {
		return nil, fmt.Errorf("%s: watchpoint without address", p.Name)
	}
	typ, err := bpType(p.Watch.Mode)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", p.Name, err)
	}
	if err := r.breakpointsFire(); err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	cpus, err := cpus.Online()
	if err != nil {
		return nil, err
	}
	attr := unix.PerfEventAttr{
		Type:    unix.PERF_TYPE_BREAKPOINT,
		Bp_type: typ,
		Ext1:    p.Watch.Addr,
		Ext2:    uint64(p.Watch.Len),
		Sample:  1,
		Wakeup:  1,
	}
	l, err := attachPerfEvents(p, prog, &attr, cpus)
	if err != nil {
		return nil, watchpointError(p, err)
	}
	return l, nil
}

func watchpointError(p *Point, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("%s: %w", p.Name, errNoBreakpoints)
	case errors.Is(err, unix.ENOSPC):
		return fmt.Errorf("%s: no free hardware debug register for another watchpoint", p.Name)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%s: the kernel refused this watchpoint (on x86, read-only watches do not exist, and the address must be aligned to the length)", p.Name)
	}
	return err
}

// breakpointsFire reports whether hardware breakpoints work here. Some
// hypervisors accept breakpoint events but never deliver their debug
// exceptions: a watchpoint would then wait silently forever. The answer
// is asked once.
func (r *Resolver) breakpointsFire() error {
	r.breakpoints.once.Do(func() { r.breakpoints.err = breakpointsFire(&r.breakpoints.word) })
	return r.breakpoints.err
}

// breakpointCheck is what breakpointsFire keeps.
type breakpointCheck struct {
	once sync.Once
	err  error
	// word is written once under a breakpoint to see it fire; it lives
	// in the heap, where it does not move.
	word uint64
}

// breakpointsFire watches writes to *word and writes it once.
func breakpointsFire(word *uint64) error {
	attr := unix.PerfEventAttr{
		Type:    unix.PERF_TYPE_BREAKPOINT,
		Bp_type: bpWrite,
		Ext1:    uint64(uintptr(unsafe.Pointer(word))),
		Ext2:    8,
	}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EOPNOTSUPP) {
			return errNoBreakpoints
		}
		// Let attaching report privileges and the like.
		return nil
	}
	defer unix.Close(fd)
	atomic.StoreUint64(word, 1)
	var buf [8]byte
	if n, err := unix.Read(fd, buf[:]); err != nil || n != 8 {
		return nil
	}
	if binary.NativeEndian.Uint64(buf[:]) == 0 {
		return errors.New("hardware breakpoints do not fire on this machine (its hypervisor does not deliver debug exceptions); use uprobe: or tracepoint: probes instead")
	}
	return nil
}

var errNoBreakpoints = errors.New("this kernel has no hardware breakpoints (CONFIG_HAVE_HW_BREAKPOINT is off); use uprobe: or tracepoint: probes instead")
