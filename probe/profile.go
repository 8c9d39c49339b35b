package probe

import (
	"github.com/cilium/ebpf"

	"friday/syntax"
)

func init() {
	register(&provider{
		name:     "profile",
		aliases:  []string{"p"},
		progType: ebpf.PerfEvent,
		expand:   expandProfile,
		list:     listClock("profile"),
		attach:   attachEveryCPU,
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
