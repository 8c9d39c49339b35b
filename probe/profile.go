package probe

import (
	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"friday/syntax"
)

func init() {
	register(&provider{
		name:     "profile",
		aliases:  []string{"p"},
		progType: ebpf.PerfEvent,
		expand:   expandProfile,
		attach:   attachProfile,
	})
}

func expandProfile(_ *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
	p, r, err := clockPoint(ap, "profile", args)
	if err != nil {
		return nil, err
	}
	if r.unit == "hz" {
		p.Hz = r.count
	} else if p.Period, err = r.periodNanos(ap); err != nil {
		return nil, err
	}
	return []*Point{p}, nil
}

// attachProfile samples every online CPU; a frequency is left to the
// kernel's frequency mode, as perf does.
func attachProfile(p *Point, prog *ebpf.Program) (Link, error) {
	cpus, err := onlineCPUs()
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
