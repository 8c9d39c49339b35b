package flame_test

import (
	"io"
	"os"
	"testing"

	"friday/flame"
	"friday/folded"
)

func BenchmarkZZFile(b *testing.B) {
	for b.Loop() {
		f, _ := os.Open(os.Getenv("ZZFILE"))
		t := flame.NewTree()
		r := folded.NewReader(f, "x")
		for r.Next() {
			s := r.Stack()
			t.Add(s.Frames, s.Value, 0, false)
		}
		t.WriteSVG(io.Discard, flame.Options{})
		f.Close()
	}
}
