package check

import (
	"strings"
	"testing"

	"friday/probe"
	"friday/syntax"
	"friday/usdt"
)

// TestUSDTArgs types USDT arguments from the argument specs of the sites a
// point resolves to.
func TestUSDTArgs(t *testing.T) {
	site := &usdt.Probe{Path: "/bin/app", Provider: "app", Name: "req",
		Args: []usdt.Arg{{Text: "-4@%eax", Size: 4, Signed: true}, {Text: "8@%rdx", Size: 8}}}
	expand := func(ap *syntax.AttachPoint) ([]*probe.Point, error) {
		return []*probe.Point{{Provider: "usdt", Name: ap.Raw, USDT: site}}, nil
	}
	for _, tc := range []struct{ src, want string }{
		{`usdt:/bin/app:app:req { $a = arg0; $b = arg1 }`, "$a: int64\n  $b: uint64"},
		{`usdt:/bin/app:app:req { $c = arg2 }`, "usdt probe usdt:/bin/app:app:req has 2 arguments: arg2 does not exist"},
	} {
		f, err := syntax.Parse("stdin", []byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		prog, err := Check(f, Options{Expand: expand})
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = prog.Dump()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s:\ngot %s\nwant %s", tc.src, got, tc.want)
		}
	}
}
