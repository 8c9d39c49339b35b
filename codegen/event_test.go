package codegen

import (
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"friday/check"
	"friday/internal/testenv"
	"friday/syntax"
)

// Events that do not fit into a full ring are counted, per event ID, in
// the lost-event map; none goes missing unaccounted.
func TestLostEvents(t *testing.T) {
	testenv.BPF(t)
	const n = 400
	src := "BEGIN { printf(\"first\\n\"); for ($i : 0..400) { printf(\"%d\\n\", $i); } }"
	f, err := syntax.Parse("test.bt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := check.Check(f, check.Options{Expand: expand})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := Generate(p, Options{RingBufSize: os.Getpagesize(), Kernel: kernel})
	if err != nil {
		t.Fatal(err)
	}
	coll, err := load(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	rd, err := ringbuf.NewReader(coll.Maps[obj.RingBuf])
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if _, err := coll.Programs[obj.Programs[0].Name].Run(&ebpf.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := map[uint64]uint64{}
	recs, err := readRecords(rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		got[uint64(rec[0])]++
	}
	lost := map[uint64]uint64{}
	for id := range obj.Events {
		var vals []uint64
		if err := coll.Maps[obj.LostMap].Lookup(uint32(id), &vals); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			lost[uint64(id)] += v
		}
	}
	if got[0] != 1 || lost[0] != 0 {
		t.Errorf("first event: %d received, %d lost; want 1, 0", got[0], lost[0])
	}
	if lost[1] == 0 || got[1]+lost[1] != n {
		t.Errorf("loop events: %d received + %d lost, want some lost and %d in all", got[1], lost[1], n)
	}
}
