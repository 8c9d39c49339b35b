package cpus

import (
	"slices"
	"testing"
)

func TestParseList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"0", []int{0}},
		{"0-3", []int{0, 1, 2, 3}},
		{"0-1,4,6-7", []int{0, 1, 4, 6, 7}},
		{"3-1", nil},
		{"a", nil},
		{"0-", nil},
	} {
		got, err := ParseList(c.in)
		if c.want == nil {
			if err == nil {
				t.Errorf("ParseList(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseList(%q) = %v, %v, want %v", c.in, got, err, c.want)
		}
	}
}
