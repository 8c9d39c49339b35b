package pprof_test

import (
	"bytes"
	"hash/maphash"
	"strings"
	"testing"
	"time"

	"friday/folded"
	"friday/internal/stackgen"
	"friday/pprof"
	"friday/profile"
)

// BenchmarkWrite converts and writes a profile the size of a busy
// machine's 30 s at 99 Hz: 4,000 distinct stacks of 20 to 55 frames with
// addresses, each sampled once or twice by one of 2,000 threads.
func BenchmarkWrite(b *testing.B) {
	p := benchProfile(b, 4000)
	b.ResetTimer()
	var out countWriter
	for b.Loop() {
		out = 0
		if err := pprof.Write(&out, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(out), "bytes")
}

// countWriter counts the bytes written to it.
type countWriter int

func (c *countWriter) Write(b []byte) (int, error) {
	*c += countWriter(len(b))
	return len(b), nil
}

func benchProfile(b *testing.B, n int) *profile.Profile {
	var in bytes.Buffer
	if err := stackgen.Write(&in, n, stackgen.Deep); err != nil {
		b.Fatal(err)
	}
	p := &profile.Profile{Type: "cpu", Unit: "samples", Frequency: 99, Period: int64(time.Second) / 99,
		Start: time.Unix(0, 0), Duration: 30 * time.Second,
		Mappings: []profile.Mapping{{Start: 0x400000, Limit: 0x8000000, File: "/usr/bin/app"}}}
	seed := maphash.MakeSeed()
	r := folded.NewReader(&in, "stacks")
	var frames []profile.Frame
	for i := 0; r.Next(); i++ {
		s := r.Stack()
		frames = frames[:0]
		for _, raw := range s.Frames {
			name := string(raw)
			f := profile.ParseFoldedFrame(name)
			if f.Kind == profile.User {
				f.Address, f.Mapping = 0x400000+maphash.String(seed, name)%0x7c00000, 1
				f.File, f.Line = strings.ToLower(name[:1])+".c", len(name)
			}
			frames = append(frames, f)
		}
		task := profile.Task{Pid: 100 + i%2000, Tid: 100 + i%2000, Comm: "app"}
		for range 1 + i%2 {
			p.Add(time.Duration(i)*time.Millisecond, frames, task, 1)
		}
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	return p
}
