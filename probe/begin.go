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

func attachBeginEnd(p *Point, _ *ebpf.Program) (Link, error) {
	return nil, fmt.Errorf("%s is not attached to the kernel: the runtime runs it", p.Name)
}
