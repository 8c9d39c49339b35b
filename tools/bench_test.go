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
	pid := os.Getpid()
	benchLines(b, killsnoop, []string{"-p", strconv.Itoa(pid)}, 1, func(b *testing.B) {
		if err := unix.Kill(pid, 0); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkTCPEvent is BenchmarkSnoopEvent for tcplife, whose lines have
// addresses: an operation is a loopback connection of this process,
// opened and closed from both ends, and its two lines. The connection's
// system calls allocate nothing in Go (no net package): allocs/op are
// the tool's.
func BenchmarkTCPEvent(b *testing.B) {
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(l)
	server := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(l, server); err != nil {
		b.Fatal(err)
	}
	if err := unix.Listen(l, 16); err != nil {
		b.Fatal(err)
	}
	sa, err := unix.Getsockname(l)
	if err != nil {
		b.Fatal(err)
	}
	server.Port = sa.(*unix.SockaddrInet4).Port
	client := &unix.SockaddrInet4{}
	n := 0
	benchLines(b, tcplife, []string{"-p", strconv.Itoa(os.Getpid())}, 2, func(b *testing.B) {
		// Each client has an address of loopback's of its own: the
		// connections closed wait in TIME_WAIT, and would take every
		// port of one address.
		n++
		client.Addr = [4]byte{127, 1 + byte(n>>16), byte(n >> 8), byte(n)}
		c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := unix.Bind(c, client); err != nil {
			b.Fatal(err)
		}
		if err := unix.Connect(c, server); err != nil {
			b.Fatal(err)
		}
		// accept4 without the peer's address, which unix.Accept4
		// would allocate.
		s, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(l), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
		if errno != 0 {
			b.Fatal(errno)
		}
		unix.Close(c)
		unix.Close(int(s))
	})
}

// benchLines runs tool t with args, in text and in JSON, over b.N runs of
// op, each of which makes perOp lines.
func benchLines(b *testing.B, t *tool.Tool, args []string, perOp int, op func(*testing.B)) {
	testenv.BPF(b)
	host := script.NewHost()
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			out := &lineCounter{}
			stderr := newLineWriter(banner)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int, 1)
			go func() {
				done <- t.Main(ctx, tool.Env{Stdout: out, Stderr: stderr, Host: host},
					append([]string{"-f", format}, args...))
			}()
			defer func() {
				cancel()
				<-done
			}()
			select {
			case <-stderr.seen:
			case <-done:
				b.Fatalf("%s ended: %s", t.Name, stderr)
			case <-time.After(10 * time.Second):
				b.Fatalf("%s did not start: %s", t.Name, stderr)
			}
			// The header, in text.
			for deadline := time.Now().Add(time.Second); format == "text" && out.n.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			base := out.n.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				op(b)
			}
			want := int64(perOp * b.N)
			for deadline := time.Now().Add(10 * time.Second); out.n.Load()-base < want; {
				if time.Now().After(deadline) {
					b.Fatalf("%d lines for %d operations", out.n.Load()-base, b.N)
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
