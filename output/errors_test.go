package output

import (
	"bytes"
	"strings"
	"testing"

	"friday/codegen"
	"friday/run"
	"friday/types"
)

// Malformed input from the kernel side or the code generator must give an
// error, never a panic.
func TestBadInput(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "xml", nil, nil); err == nil {
		t.Error("New accepted output format xml")
	}
	p, err := New(&bytes.Buffer{}, "text", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pair := types.TupleOf(types.I64, types.StringOf(8))
	hist := &types.Type{Kind: types.Hist, Size: 8}
	events := []struct {
		name string
		ev   *codegen.Event
		args []byte
		err  string
	}{
		{"short record", &codegen.Event{ID: 1, Kind: codegen.Printf, Format: "%d %s\n", Layout: pair}, make([]byte, 10), "has 10 bytes of arguments, want 16"},
		{"too few arguments", &codegen.Event{ID: 2, Kind: codegen.Printf, Format: "%d %s %d\n", Layout: pair}, make([]byte, 16), "format has 3 conversions, 2 arguments given"},
		{"bad format", &codegen.Event{ID: 3, Kind: codegen.Printf, Format: "%q", Pos: "x.bt:1:2", Layout: types.TupleOf(types.I64)}, make([]byte, 8), "x.bt:1:2: unsupported format specifier"},
		{"print without value", &codegen.Event{ID: 4, Kind: codegen.Print, Layout: types.TupleOf()}, nil, "has no value"},
		{"bad integer", &codegen.Event{ID: 5, Kind: codegen.Print, Layout: types.TupleOf(&types.Type{Kind: types.Int, Size: 3})}, make([]byte, 8), "integer of 3 bytes"},
		{"small ksym", &codegen.Event{ID: 6, Kind: codegen.Print, Layout: types.TupleOf(&types.Type{Kind: types.Ksym, Size: 4})}, make([]byte, 8), "ksym value of 4 bytes, want 8"},
		{"exit", &codegen.Event{ID: 7, Kind: codegen.Exit}, nil, "cannot handle events of kind"},
	}
	for _, c := range events {
		err := p.Event(c.ev, c.args)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.err)
		}
	}
	bucket := func(idx uint64) run.Entry {
		k := make([]byte, 8)
		ne.PutUint64(k, idx)
		return run.Entry{Key: k, Value: make([]byte, 8)}
	}
	maps := []struct {
		name    string
		m       *codegen.Map
		entries []run.Entry
		err     string
	}{
		{"bucket out of range", &codegen.Map{Name: "@h", Value: hist}, []run.Entry{bucket(65)}, "bucket 65 of 65"},
		{"short hist key", &codegen.Map{Name: "@h", Key: types.I64, Value: hist}, []run.Entry{bucket(1)}, "entry of 8+8 bytes"},
		{"bad lhist", &codegen.Map{Name: "@l", Value: &types.Type{Kind: types.Lhist, Size: 8, Min: 0, Max: 10}}, []run.Entry{bucket(1)}, "lhist bounds 0, 10, 0"},
		{"short value", &codegen.Map{Name: "@a", Value: &types.Type{Kind: types.Avg, Size: 8}}, []run.Entry{bucket(1)}, "entry of 8+8 bytes"},
		{"no value type", &codegen.Map{Name: "@x"}, []run.Entry{bucket(1)}, "missing type"},
	}
	for _, c := range maps {
		err := p.Map(c.m, c.entries, 0, 0)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.err)
		}
	}
}
