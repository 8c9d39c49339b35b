package output

import (
	"errors"
	"os"
	"strings"
	"testing"

	"friday/printf"
	"friday/tracefs"
	"friday/types"
)

// %gr spells GFP flags with the kernel's names, read once; without them it
// prints hex after one warning.
func TestGFPFlags(t *testing.T) {
	b, err := os.ReadFile("../tracefs/testdata/kmalloc.format")
	if err != nil {
		t.Fatal(err)
	}
	names, err := tracefs.PrintFlags(string(b), "gfp_flags")
	if err != nil {
		t.Fatal(err)
	}
	f, err := printf.Parse("[%gr] [%-14gr] [%gr]")
	if err != nil {
		t.Fatal(err)
	}
	arg := func(v uint32) Arg {
		b := make([]byte, 4)
		ne.PutUint32(b, v)
		return Arg{Type: types.U32, Data: b}
	}
	args := []Arg{arg(0xdc0), arg(0x820), arg(0)}
	for _, c := range []struct {
		names func() ([]tracefs.Flag, error)
		want  string
		log   string
	}{
		{func() ([]tracefs.Flag, error) { return names, nil }, "[GFP_KERNEL|__GFP_ZERO] [GFP_ATOMIC    ] [0]", ""},
		{func() ([]tracefs.Flag, error) { return nil, errors.New("no tracefs") }, "[0xdc0] [0x820         ] [0]", "WARNING: %gr prints GFP flags in hex: the kernel's names of them are unknown: no tracefs\n"},
	} {
		var log strings.Builder
		p, err := New(&strings.Builder{}, "text", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.Log, p.GFPFlags = &log, c.names
		for range 2 {
			got, err := p.Sprintf(f, args)
			if err != nil || got != c.want {
				t.Errorf("got %q, %v; want %q", got, err, c.want)
			}
		}
		if log.String() != c.log {
			t.Errorf("log %q, want %q", log.String(), c.log)
		}
	}
}
