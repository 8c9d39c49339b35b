package probe

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"friday/syntax"
)

func init() {
	register(&provider{
		name:     "interval",
		aliases:  []string{"i"},
		progType: ebpf.PerfEvent,
		expand:   expandInterval,
		list:     listClock("interval"),
		attach:   attachInterval,
	})
}

// listClock lists the units of an interval or profile provider as
// bpftrace lists them, "interval:s:": the count is the user's to give.
func listClock(provider string) func(*resolver) ([]string, error) {
	return func(*resolver) ([]string, error) {
		var names []string
		for _, unit := range []string{"hz", "ms", "s", "us"} {
			names = append(names, provider+":"+unit+":")
		}
		return names, nil
	}
}

// nanosPerUnit are the time units interval and profile accept.
var nanosPerUnit = map[string]uint64{
	"s":  1_000_000_000,
	"ms": 1_000_000,
	"us": 1_000,
	"ns": 1,
}

// rate is a parsed "unit:count", "count<unit>" or "count" (nanoseconds):
// the unit ("s", "ms", "us", "ns" or "hz") and the count.
type rate struct {
	unit  string
	count uint64
}

func parseRate(ap *syntax.AttachPoint, provider string, args []string) (rate, error) {
	var unit, num string
	switch len(args) {
	case 2:
		unit, num = args[0], args[1]
		if _, ok := nanosPerUnit[unit]; !ok && unit != "hz" {
			return rate{}, fmt.Errorf("%s: %s: unknown unit %q (use s, ms, us, ns or hz)", ap.Raw, provider, unit)
		}
	case 1:
		num, unit = splitUnitSuffix(args[0])
	default:
		return rate{}, argCountError(ap, provider, "a rate: "+provider+":s:1, "+provider+":hz:99 or "+provider+":1s")
	}
	n, err := parseCount(num)
	if err != nil {
		return rate{}, fmt.Errorf("%s: %s: %v", ap.Raw, provider, err)
	}
	return rate{unit: unit, count: n}, nil
}

// splitUnitSuffix splits "100ms" into "100" and "ms"; a bare number is in
// nanoseconds.
func splitUnitSuffix(s string) (num, unit string) {
	for _, u := range []string{"ms", "us", "ns", "hz", "s"} {
		if n, ok := strings.CutSuffix(s, u); ok && n != "" {
			return n, u
		}
	}
	return s, "ns"
}

// parseCount parses a positive count: decimal with optional '_'
// separators, or scientific "1e6".
func parseCount(s string) (uint64, error) {
	clean := strings.ReplaceAll(s, "_", "")
	var n uint64
	var err error
	if m, e, ok := strings.Cut(clean, "e"); ok {
		var mant, exp uint64
		if mant, err = strconv.ParseUint(m, 10, 64); err == nil {
			exp, err = strconv.ParseUint(e, 10, 8)
		}
		if err == nil {
			n = mant
			for range exp {
				if n > math.MaxUint64/10 {
					return 0, fmt.Errorf("count %q is too large", s)
				}
				n *= 10
			}
		}
	} else {
		n, err = strconv.ParseUint(clean, 10, 64)
	}
	if err != nil || clean == "" {
		return 0, fmt.Errorf("%q is not a count", s)
	}
	if n == 0 {
		return 0, fmt.Errorf("count must be positive, not %q", s)
	}
	return n, nil
}

// periodNanos turns a time rate into its period in nanoseconds.
func (r rate) periodNanos(ap *syntax.AttachPoint) (uint64, error) {
	mul := nanosPerUnit[r.unit]
	if r.count > math.MaxUint64/mul {
		return 0, fmt.Errorf("%s: period is too long", ap.Raw)
	}
	return r.count * mul, nil
}

// clockPoint parses "provider:unit:count" into a point fired by the CPU
// clock, for the provider to set its period or frequency from the rate.
func clockPoint(ap *syntax.AttachPoint, provider string, args []string) (*Point, rate, error) {
	r, err := parseRate(ap, provider, args)
	if err != nil {
		return nil, r, err
	}
	return &Point{
		Provider:   provider,
		Target:     r.unit,
		Func:       strconv.FormatUint(r.count, 10),
		Name:       fullName(provider, args),
		PerfType:   unix.PERF_TYPE_SOFTWARE,
		PerfConfig: unix.PERF_COUNT_SW_CPU_CLOCK,
	}, r, nil
}

func expandInterval(_ *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
	p, r, err := clockPoint(ap, "interval", args)
	if err != nil {
		return nil, err
	}
	// One CPU fires an interval, so a frequency is just another period.
	if r.unit == "hz" {
		if r.count > 1_000_000_000 {
			return nil, fmt.Errorf("%s: frequency above 1 GHz", ap.Raw)
		}
		p.Hz = r.count
		p.Period = 1_000_000_000 / r.count
	} else if p.Period, err = r.periodNanos(ap); err != nil {
		return nil, err
	}
	return []*Point{p}, nil
}

// attachInterval fires the program from a CPU clock on CPU 0 only: an
// interval runs once per period, not once per CPU.
func attachInterval(_ *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	attr := unix.PerfEventAttr{Type: p.PerfType, Config: p.PerfConfig, Sample: p.Period}
	return attachPerfEvents(p, prog, &attr, []int{0})
}
