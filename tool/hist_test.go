package tool

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"friday/script"
)

// bcc's layout: the slot bounds right- and left-aligned in 10 columns,
// the count in 8, a bar of 40 for the largest count, rows up to the last
// that counts; a label line per histogram when there are several.
func TestWriteHists(t *testing.T) {
	for _, c := range []struct {
		name, unit, label string
		hs                []Hist
		want              string
	}{
		{
			name: "lone", unit: "msecs",
			hs: []Hist{{Slots: []uint64{36, 1, 3, 17, 33, 7, 6, 0}}},
			want: `
     msecs               : count     distribution
         0 -> 1          : 36       |****************************************|
         2 -> 3          : 1        |*                                       |
         4 -> 7          : 3        |***                                     |
         8 -> 15         : 17       |******************                      |
        16 -> 31         : 33       |************************************    |
        32 -> 63         : 7        |*******                                 |
        64 -> 127        : 6        |******                                  |
`,
		},
		{
			name: "per disk", unit: "usecs", label: "disk",
			hs: []Hist{{Key: "vdb", Slots: []uint64{0, 0, 4}}, {Key: "vda", Slots: []uint64{2}}, {Key: "sdz"}},
			want: `

disk = vdb
     usecs               : count     distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 0        |                                        |
         4 -> 7          : 4        |****************************************|

disk = vda
     usecs               : count     distribution
         0 -> 1          : 2        |****************************************|

disk = sdz
`,
		},
		{
			name: "beyond 2^32", unit: "nsecs",
			hs: func() []Hist {
				s := make([]uint64, 34)
				s[0], s[33] = 1, 2
				return []Hist{{Slots: s}}
			}(),
			want: "\n               nsecs                         : count     distribution\n" +
				"                   0 -> 1                    : 1        |**********          |\n",
		},
		{
			name: "linear", unit: "msecs",
			hs: []Hist{{Slots: []uint64{1, 0, 3}, Min: 10, Step: 5}},
			want: `
     msecs         : count     distribution
        10         : 1        |*************                           |
        15         : 0        |                                        |
        20         : 3        |****************************************|
`,
		},
	} {
		var b bytes.Buffer
		if err := writeHists(&b, c.unit, c.label, c.hs); err != nil {
			t.Fatal(err)
		}
		got := "\n" + b.String() // the wants start with a newline, for the layout
		if c.name == "beyond 2^32" {
			lines := strings.Split(got, "\n")
			if len(lines) != 37 || !strings.HasPrefix(got, c.want) ||
				lines[35] != "          8589934592 -> 17179869183          : 2        |********************|" {
				t.Errorf("%s:\n%s", c.name, got)
			}
			for _, l := range lines {
				if len(l) >= 80 {
					t.Errorf("%s: line of %d columns: %q", c.name, len(l), l)
				}
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
}

// A script's hist() has buckets [0], [1], [2, 4), [4, 8)...; bcc's first
// slot holds 0 and 1.
func TestLog2(t *testing.T) {
	bs := []script.Bucket{
		{Min: math.MinInt64, Max: -1, Count: 9},
		{Min: 0, Max: 0, Count: 1},
		{Min: 1, Max: 1, Count: 2},
		{Min: 2, Max: 3, Count: 3},
		{Min: 4, Max: 7, Count: 0},
		{Min: 8, Max: 15, Count: 4},
	}
	if got, want := Log2(bs), []uint64{3, 3, 0, 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("Log2 = %v, want %v", got, want)
	}
	lin := []script.Bucket{
		{Min: math.MinInt64, Max: 9, Count: 5},
		{Min: 10, Max: 19, Count: 1},
		{Min: 20, Max: 29, Count: 2},
		{Min: 30, Max: math.MaxInt64, Count: 3},
	}
	slots, lo, step := Linear(lin)
	if !reflect.DeepEqual(slots, []uint64{1, 2, 3}) || lo != 10 || step != 10 {
		t.Errorf("Linear = %v, %d, %d", slots, lo, step)
	}
}

func TestHistJSON(t *testing.T) {
	h := Hist{Key: "sda", Slots: []uint64{1, 0, 2, 0}}
	for _, c := range []struct {
		l    labelled
		want string
	}{
		{labelled{"disk", h.Key, "", h.json("usecs")}, `{"disk":"sda","unit":"usecs","buckets":[{"min":0,"max":1,"count":1},{"min":2,"max":3,"count":0},{"min":4,"max":7,"count":2}]}`},
		{labelled{"pid", 42, "sh", Hist{Slots: []uint64{1}}.json("msecs")}, `{"pid":42,"comm":"sh","unit":"msecs","buckets":[{"min":0,"max":1,"count":1}]}`},
	} {
		b, err := json.Marshal(c.l)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("got %s\nwant %s", b, c.want)
		}
	}
}
