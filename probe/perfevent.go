package probe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"friday/internal/cpus"
	"friday/syntax"
)

// perfLinks is the attachment of one program to perf events: the BPF
// links and the perf event descriptors they hold.
type perfLinks struct {
	links []link.Link
	fds   []int
}

// Close detaches everything; it keeps going past errors so that nothing is
// left behind, and reports the first.
func (l *perfLinks) Close() error {
	var errs []error
	for _, lk := range l.links {
		errs = append(errs, lk.Close())
	}
	for _, fd := range l.fds {
		errs = append(errs, unix.Close(fd))
	}
	l.links, l.fds = nil, nil
	return errors.Join(errs...)
}

// attachPerfEvents opens the perf event attr describes on each of cpus (for
// all processes) and links prog to every one.
func attachPerfEvents(p *Point, prog *ebpf.Program, attr *unix.PerfEventAttr, cpus []int) (Link, error) {
	attr.Size = uint32(unsafe.Sizeof(*attr))
	l := &perfLinks{}
	for _, cpu := range cpus {
		fd, err := unix.PerfEventOpen(attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			l.Close()
			return nil, perfOpenError(p, cpu, err)
		}
		l.fds = append(l.fds, fd)
		lk, err := link.AttachRawLink(link.RawLinkOptions{
			Target:  fd,
			Program: prog,
			Attach:  ebpf.AttachPerfEvent,
		})
		if err != nil {
			l.Close()
			return nil, attachError(p, err)
		}
		l.links = append(l.links, lk)
	}
	return l, nil
}

func perfOpenError(p *Point, cpu int, err error) error {
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		return needPrivilege(p)
	case p.Provider == "hardware" && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODEV)):
		return fmt.Errorf("%s: hardware event %s is not available: this machine has no hardware performance counters (PMU) for it", p.Name, p.Target)
	}
	return fmt.Errorf("%s: opening perf event on CPU %d: %w", p.Name, cpu, err)
}

func attachError(p *Point, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return needPrivilege(p)
	}
	return fmt.Errorf("%s: attaching: %w", p.Name, err)
}

func needPrivilege(p *Point) error {
	return fmt.Errorf("%s: attaching needs root (or CAP_BPF and CAP_PERFMON)", p.Name)
}

// counterEvent is a software or hardware perf event as scripts name it.
type counterEvent struct {
	name         string
	alias        string
	config       uint64
	defaultCount uint64
}

// counterProvider is the shape software and hardware share:
// "provider:event[:count]", one perf event per online CPU.
func counterProvider(name, alias string, perfType uint32, events []counterEvent) *provider {
	byName := map[string]*counterEvent{}
	for i := range events {
		ev := &events[i]
		byName[ev.name] = ev
		if ev.alias != "" {
			byName[ev.alias] = ev
		}
	}
	expand := func(_ *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
		if len(args) < 1 || len(args) > 2 || args[0] == "" {
			return nil, argCountError(ap, name, "an event and an optional count ("+name+":"+events[0].name+":1000)")
		}
		ev := byName[args[0]]
		if ev == nil {
			names := make([]string, len(events))
			for i, e := range events {
				names[i] = e.name
			}
			return nil, fmt.Errorf("%s: unknown %s event %q (known: %s)", ap.Raw, name, args[0], strings.Join(names, ", "))
		}
		count := ev.defaultCount
		if len(args) == 2 && args[1] != "" {
			n, err := parseCount(args[1])
			if err != nil {
				return nil, fmt.Errorf("%s: %v", ap.Raw, err)
			}
			count = n
		}
		return []*Point{{
			Provider:   name,
			Target:     ev.name,
			Func:       strconv.FormatUint(count, 10),
			Name:       fullName(name, args),
			Period:     count,
			PerfType:   perfType,
			PerfConfig: ev.config,
		}}, nil
	}
	// Listed as bpftrace lists them: each event, and its alias as an
	// event of its own.
	list := func(*resolver) ([]string, error) {
		var names []string
		for _, e := range events {
			names = append(names, name+":"+e.name+":")
			if e.alias != "" {
				names = append(names, name+":"+e.alias+":")
			}
		}
		return names, nil
	}
	return &provider{
		name:     name,
		aliases:  []string{alias},
		progType: ebpf.PerfEvent,
		expand:   expand,
		list:     list,
		attach:   attachEveryCPU,

		newestFirst: countsSoftware,
	}
}

// countsSoftware reports a software event the kernel counts in its list of
// such events per CPU, which it walks newest first; the clocks are timers
// of their own, and hardware counters overflow each on its own.
func countsSoftware(p *Point) bool {
	return p.PerfType == unix.PERF_TYPE_SOFTWARE && p.PerfConfig != unix.PERF_COUNT_SW_CPU_CLOCK && p.PerfConfig != unix.PERF_COUNT_SW_TASK_CLOCK
}

// attachEveryCPU samples on every online CPU, each Period events, or for
// a frequency (Hz) in the kernel's frequency mode, as perf does.
func attachEveryCPU(_ *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	cpus, err := cpus.Online()
	if err != nil {
		return nil, err
	}
	attr := unix.PerfEventAttr{Type: p.PerfType, Config: p.PerfConfig, Sample: p.Period}
	if p.Hz != 0 {
		attr.Sample = p.Hz
		attr.Bits |= unix.PerfBitFreq
	}
	return attachPerfEvents(p, prog, &attr, cpus)
}
