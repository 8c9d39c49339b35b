package check

import (
	"fmt"
	"strings"
	"testing"

	"friday/probe"
	"friday/syntax"
)

// TestArgSpecSplit checks that points whose arguments are read differently
// (the sites of a USDT probe) get a checked probe each when the body reads
// arg0.., and share one otherwise.
func TestArgSpecSplit(t *testing.T) {
	for _, c := range []struct {
		body  string
		specs []string
		want  int
	}{
		{"printf(\"%d\\n\", arg0);", []string{"reg", "const"}, 2},
		{"@[sarg1] = count();", []string{"reg", "const", "reg"}, 3},
		{"printf(\"%d\\n\", arg0);", []string{"reg", "reg"}, 1},
		{"@ = count();", []string{"reg", "const"}, 1},
		{"@[argv] = count();", []string{"reg", "const"}, 1},
	} {
		expand := func(ap *syntax.AttachPoint) ([]*probe.Point, error) {
			var pts []*probe.Point
			for i, s := range c.specs {
				pts = append(pts, &probe.Point{Provider: "usdt", Name: fmt.Sprintf("usdt:/bin/x:p:n%d", i), ArgSpec: s})
			}
			return pts, nil
		}
		src := "usdt:/bin/x:p:n* { $argv = 1; " + strings.Replace(c.body, "argv", "$argv", 1) + " }"
		f, err := syntax.Parse("test.bt", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		prog, err := Check(f, Options{Expand: expand})
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := len(prog.Probes); got != c.want {
			t.Errorf("%s with specs %v: %d probes, want %d", src, c.specs, got, c.want)
		}
	}
}
