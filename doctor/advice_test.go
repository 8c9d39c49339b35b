package doctor

import (
	"regexp"
	"strings"
	"testing"

	"friday/probe"
	"friday/syntax"
)

// probeTypeWord is a probe type as advice names one: "rawtracepoint:".
var probeTypeWord = regexp.MustCompile(`\b([a-z_]+):`)

// TestAdviceNamesRealProbeTypes: a failing check that sends the user to
// other probe types must name ones friday trace accepts.
func TestAdviceNamesRealProbeTypes(t *testing.T) {
	r := hostRun(t)
	probes := probe.NewResolver(nil)
	for _, c := range r.Checks {
		for _, m := range probeTypeWord.FindAllStringSubmatch(c.Fix, -1) {
			raw := m[1] + ":sched_switch"
			_, err := probes.Expand(&syntax.AttachPoint{Raw: raw}, probe.UserOptions{})
			if err != nil && strings.Contains(err.Error(), "unknown probe type") {
				t.Errorf("%s: advice names %s, which friday trace does not know: %s", c.Name, m[0], c.Fix)
			}
		}
	}
}
