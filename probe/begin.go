package probe

import (
	"fmt"

	"github.com/cilium/ebpf"

	"friday/syntax"
)

func init() {
	for _, name := range []string{"begin", "end"} {
		register(&provider{
			name:     name,
			aliases:  []string{map[string]string{"begin": "BEGIN", "end": "END"}[name]},
			progType: ebpf.RawTracepoint,
			expand:   expandBeginEnd(name),
			attach:   attachBeginEnd,
		})
	}
	register(&provider{
		name:     "self",
		progType: ebpf.RawTracepoint,
		expand:   expandSelf,
		attach:   attachBeginEnd,
	})
}

// expandSelf resolves self:signal:SIGUSR1, a probe the runtime runs each
// time friday receives the signal; it is the only one bpftrace has.
func expandSelf(_ *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
	if len(args) != 2 || args[0] != "signal" {
		return nil, fmt.Errorf("%s: self probes are written self:signal:SIGUSR1", ap.Raw)
	}
	if args[1] != "SIGUSR1" {
		return nil, fmt.Errorf("%s: signal %s is not supported: only SIGUSR1 is", ap.Raw, args[1])
	}
	return []*Point{{Provider: "self", Name: "self:signal:SIGUSR1"}}, nil
}

// expandBeginEnd keeps the spelling used ("BEGIN" or "begin") as the name
// the probe builtin prints.
func expandBeginEnd(provider string) func(*resolver, *syntax.AttachPoint, []string) ([]*Point, error) {
	return func(_ *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
		if len(args) != 0 {
			return nil, fmt.Errorf("%s: %s takes no arguments", ap.Raw, provider)
		}
		return []*Point{{Provider: provider, Name: ap.Raw}}, nil
	}
}

func attachBeginEnd(_ *Resolver, p *Point, _ *ebpf.Program) (Link, error) {
	return nil, fmt.Errorf("%s is not attached to the kernel: the runtime runs it", p.Name)
}
