package run

import (
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"friday/codegen"
	"friday/internal/testenv"
)

// All reads a stack map laid out as the compiler makes it, larger than
// one batch, with stacks of every length up to the map's depth: each
// comes back with its frames, up to the first zero.
func TestStacksAll(t *testing.T) {
	testenv.BPF(t)
	const depth, n = 127, 3*stackBatch + 5
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 8, ValueSize: 8 * depth,
		MaxEntries: 16384, Flags: unix.BPF_F_NO_PREALLOC})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want := map[uint64][]uint64{}
	for i := range uint64(n) {
		id := i*0x9e3779b97f4a7c15 | 1
		v := make([]uint64, depth)
		for j := range int(i % (depth + 1)) {
			v[j] = 0xffffffff81000000 + i<<8 + uint64(j)
		}
		if err := m.Put(id, v); err != nil {
			t.Fatal(err)
		}
		want[id] = v[:int(i%(depth+1))]
	}
	name := codegen.StackMapName(false, false, depth)
	s := &Stacks{maps: map[string]*ebpf.Map{name: m}}
	got, err := s.All(false, depth)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d stacks, want %d", len(got), n)
	}
	for id, w := range want {
		if !slices.Equal(got[id], w) {
			t.Fatalf("stack %#x: %x, want %x", id, got[id], w)
		}
	}
	if other, err := s.All(true, depth); other != nil || err != nil {
		t.Errorf("a map the script lacks: %v, %v", other, err)
	}
}
