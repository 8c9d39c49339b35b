package tools

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"friday/internal/testenv"
	"friday/script"
	"friday/tool"
)

// BenchmarkSnoopEvent measures what a line of a snoop tool costs friday
// from the ring buffer record to standard output: killsnoop traces this
// process's kill(pid, 0) calls, an operation being one call and its line.
// allocs/op are the allocations per event of the whole path (reading,
// decoding, the tool's row, its text or JSON); ns/op has the kernel's
// part too.
func BenchmarkSnoopEvent(b *testing.B) {
	testenv.BPF(b)
	host := script.NewHost()
	pid := os.Getpid()
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			out := &lineCounter{}
			stderr := newLineWriter(banner)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int, 1)
			go func() {
				done <- killsnoop.Main(ctx, tool.Env{Stdout: out, Stderr: stderr, Host: host},
					[]string{"-p", strconv.Itoa(pid), "-f", format})
			}()
			defer func() {
				cancel()
				<-done
			}()
			select {
			case <-stderr.seen:
			case <-done:
				b.Fatalf("killsnoop ended: %s", stderr)
			case <-time.After(10 * time.Second):
				b.Fatalf("killsnoop did not start: %s", stderr)
			}
			// The header, in text.
			for deadline := time.Now().Add(time.Second); format == "text" && out.n.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			base := out.n.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := unix.Kill(pid, 0); err != nil {
					b.Fatal(err)
				}
			}
			for deadline := time.Now().Add(10 * time.Second); out.n.Load()-base < int64(b.N); {
				if time.Now().After(deadline) {
					b.Fatalf("%d lines for %d calls", out.n.Load()-base, b.N)
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
		})
	}
}

// lineCounter counts the lines written to it.
type lineCounter struct{ n atomic.Int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n.Add(int64(bytes.Count(p, []byte{'\n'})))
	return len(p), nil
}
