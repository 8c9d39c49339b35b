package folded

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// A batch's stacks come out in frame order, each telling truly how much
// of its text it shares with the one before, whatever bytes frames hold.
func TestBatchSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte{';', ';', ';', ':', '<', 'a', 'b', '0', ' ', 0, 1, 0x3a, 0x3c, 0x7f, 0x80, 0xff}
	words := [][]byte{[]byte("main"), []byte("main.func1"), []byte("run"), []byte("runtime.goexit"), []byte("x")}
	for round := range 300 {
		b := &batch{}
		n := 1 + rng.IntN(300)
		trunk := make([]byte, rng.IntN(40))
		for i := range trunk {
			trunk[i] = alphabet[rng.IntN(len(alphabet))]
		}
		for range n {
			var text []byte
			if rng.IntN(2) == 0 {
				text = append(text, trunk...)
			}
			for range rng.IntN(6) {
				if rng.IntN(2) == 0 {
					text = append(text, words[rng.IntN(len(words))]...)
				} else {
					for range rng.IntN(12) {
						text = append(text, alphabet[rng.IntN(len(alphabet))])
					}
				}
				text = append(text, ';')
			}
			text = append(text, 'z')
			start := len(b.buf)
			b.buf = append(b.buf, text...)
			b.stacks = append(b.stacks, lineStack{start: start, end: len(b.buf)})
		}
		b.sort()
		for i := 1; i < len(b.stacks); i++ {
			x, y := b.stacks[i-1], b.stacks[i]
			p, q := b.buf[x.start:x.end], b.buf[y.start:y.end]
			if compareStacks(p, q) > 0 {
				t.Fatalf("round %d: %q before %q", round, p, q)
			}
			if m := mismatch(p, q); min(y.shared, len(p), len(q)) != m {
				t.Fatalf("round %d (%d stacks) at %d: %q and %q share %d bytes, told %d", round, len(b.stacks), i, p, q, m, y.shared)
			}
		}
	}
}

func TestSortKey(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
	}{
		{"", 0},
		{";", 0},
		{"a;b", 0x61_00_62 << 40},
		{"\x00:;<\xff", 0x01_3b_00_3c_ff << 24},
		{"abcdefghij", 0x6162636465666768},
	} {
		if got := sortKey([]byte(c.in)); got != c.want {
			t.Errorf("sortKey(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
	_ = bytes.Compare
}
