package codegen

import (
	"fmt"
	"strings"
	"testing"

	"friday/types"
)

// TestTseriesMerge merges per-CPU copies of a 3-slot tseries. A copy is
// written as "epoch:value:aux" per slot ("-" for an unused slot); the
// result is the intervals' "epoch=value", oldest first.
func TestTseriesMerge(t *testing.T) {
	cases := []struct {
		agg    string
		signed bool
		cpus   []string
		want   string
	}{
		{"sum", true, []string{"3:5:0 - -", "3:-7:0 4:1:0 -"}, "3=-2 4=1"},
		// A CPU that last stored into a slot an interval ago holds a stale
		// value there: the other CPU's newer interval replaces it.
		{"sum", true, []string{"6:5:0 - -", "3:9:0 - -"}, "6=5"},
		{"sum", true, []string{"3:9:0 - -", "6:5:0 - -"}, "6=5"},
		{"avg", true, []string{"3:10:2 - -", "3:-1:1 - 5:7:2"}, "3=3 5=3"},
		{"avg", false, []string{"3:10:3 - -"}, "3=3"},
		{"min", true, []string{"3:-1:0 - -", "3:-5:0 - -", "3:2:0 - -"}, "3=-5"},
		{"min", false, []string{"3:18446744073709551615:0 - -", "3:1:0 - -"}, "3=1"},
		{"max", true, []string{"3:-1:0 - -", "3:-5:0 - -"}, "3=-1"},
		{"max", false, []string{"3:1:0 - -", "3:18446744073709551615:0 - -"}, "3=18446744073709551615"},
		// The last value is the one stored latest, whichever CPU did.
		{"", true, []string{"3:1:200 - -", "3:2:100 - -"}, "3=1"},
		{"", true, []string{"3:1:100 - -", "3:2:200 - -"}, "3=2"},
		{"", true, []string{"- - -", "- - -"}, ""},
	}
	for _, c := range cases {
		ty := &types.Type{Kind: types.Tseries, Size: 8, Signed: c.signed, Step: 1000, Max: 3, Agg: c.agg}
		var vals [][]byte
		for _, cpu := range c.cpus {
			v := make([]byte, TseriesSize(ty))
			for i, slot := range strings.Fields(cpu) {
				if slot == "-" {
					continue
				}
				var epoch, aux uint64
				var value int64
				var uvalue uint64
				if _, err := fmt.Sscanf(slot, "%d:%d:%d", &epoch, &value, &aux); err != nil {
					if _, err := fmt.Sscanf(slot, "%d:%d:%d", &epoch, &uvalue, &aux); err != nil {
						t.Fatalf("bad slot %q: %v", slot, err)
					}
					value = int64(uvalue)
				}
				hostOrder.PutUint64(v[i*TseriesSlot:], epoch)
				hostOrder.PutUint64(v[i*TseriesSlot+8:], uint64(value))
				hostOrder.PutUint64(v[i*TseriesSlot+16:], aux)
			}
			vals = append(vals, v)
		}
		var got []string
		for _, pt := range TseriesPoints(ty, TseriesMerge(ty, vals)) {
			if c.signed {
				got = append(got, fmt.Sprintf("%d=%d", pt.Epoch, int64(pt.Value)))
			} else {
				got = append(got, fmt.Sprintf("%d=%d", pt.Epoch, pt.Value))
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s %q: got %q, want %q", c.agg, c.cpus, g, c.want)
		}
	}
}
