package tool

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"testing"
	"time"
)

// The cells RowOf formats itself print as fmt prints them.
func TestCellsAsFmt(t *testing.T) {
	formats := []string{"%-7d ", "%-16s ", "%s", "%4d ", "%3d ", "%-14.14s ", "%-11.6f ", "%7.2f",
		"%-14.9f", "%08o ", "%d,", "(%s)", "%-20s > ", "%1s> ", "%x", "%-3x", "%05d", "%-05d", "%.2s"}
	vals := []any{uint64(0), uint64(42), uint64(math.MaxUint64), int64(-1), int64(-123456), int64(7),
		0.0, 1.5, -2.25, 123456.789, math.Inf(1), math.NaN(), "", "bash", "systemd-journald-x",
		"héllo wörld ünïcode", []string{"a", "b c"}, true}
	for _, f := range formats {
		c := parseCell(f)
		for _, v := range vals {
			want := fmt.Sprintf(f, v)
			if l, ok := v.([]string); ok {
				want = fmt.Sprintf(f, l[0]+" "+l[1])
			}
			if got := string(c.append(nil, f, valueOf(v))); got != want {
				t.Errorf("%q of %#v: %q, want %q", f, v, got, want)
			}
		}
		if s, ok := vals[len(vals)-3].(string); ok {
			if got, want := string(c.append(nil, f, Bytes([]byte(s)))), fmt.Sprintf(f, s); got != want {
				t.Errorf("%q of bytes %q: %q, want %q", f, s, got, want)
			}
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	c := parseCell("%-9s ")
	if got := string(c.append(nil, "%-9s ", Clock(at, time.TimeOnly))); got != "03:04:05  " {
		t.Errorf("a clock: %q", got)
	}
	// A clock prints in its time's location.
	east := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("EAST", 3600))
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{Clock(east, time.TimeOnly), "03:04:05  "},
		{Clock(east.UTC(), time.TimeOnly), "02:04:05  "},
		{Argv([]byte("ls\x00-l\x00")), "ls -l     "},
		{Argv([]byte("\x00x\x00\x00")), " x        "},
		{Argv(nil), "          "},
	} {
		if got := string(c.append(nil, "%-9s ", tc.v)); got != tc.want {
			t.Errorf("%#v: %q, want %q", tc.v, got, tc.want)
		}
	}
}

// Values print in JSON as encoding/json prints them.
func TestValuesJSON(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{Argv([]byte("ls\x00-l \"x\"\x00")), `["ls", "-l \"x\""]`},
		{Argv([]byte("\x00")), `[""]`},
		{Argv(nil), `[]`},
		{Bool(true), `true`},
		{Bool(false), `false`},
		{Clock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("EAST", 3600)).UTC(), time.TimeOnly), `"02:04:05"`},
	} {
		got, err := tc.v.appendJSON(nil)
		if err != nil || string(got) != tc.want {
			t.Errorf("%#v: %s, %v; want %s", tc.v, got, err, tc.want)
		}
	}
}

// A row of values costs no allocation.
func TestRowOfAllocs(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		s := &Session{out: bufio.NewWriter(io.Discard)}
		s.opts.format = format
		s.Table(Column{Name: "TIME", Key: "time", Head: "%-9s ", Cell: "%-9s "},
			Column{Name: "PID", Key: "pid", Head: "%-7s ", Cell: "%-7d "},
			Column{Name: "COMM", Key: "comm", Head: "%-16s ", Cell: "%-16s "},
			Column{Name: "LAT(ms)", Key: "lat", Head: "%7s ", Cell: "%7.2f "},
			Column{Name: "ARGS", Key: "args", Head: "%s", Cell: "%s"},
			Column{Key: "core"})
		comm := []byte("bash")
		argv := []byte("ls\x00-l\x00")
		at := time.Now()
		n := testing.AllocsPerRun(100, func() {
			s.RowOf(Clock(at.UTC(), time.TimeOnly), Uint(4242), Bytes(comm), Float(1.25), Argv(argv), Bool(true))
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per row", format, n)
		}
	}
}
