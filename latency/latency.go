// Package latency collects latencies on the running system for heat
// maps: block I/O, run queue latency, a system call's, off-CPU time. Each
// source is a script in the bpftrace language (the .bt files here) that
// counts latencies in the kernel by time slot and latency, in histograms
// of 8 buckets a power of two (hist(ns, 3): a bucket is an eighth of its
// power of two wide), so that the cost does not grow with the rate of
// events. Slots that are over are read and taken out of the kernel every
// second, the rest at the end, into a heatmap.Latencies: one goroutine
// reads and deletes, so nothing is counted twice.
package latency

import (
	"context"
	"embed"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"friday/heatmap"
	"friday/run"
	"friday/script"
)

//go:embed *.bt
var scripts embed.FS

// Sources are the names of the sources; "syscall" takes the name of a
// system call.
var Sources = []string{"bio", "runq", "syscall", "offcpu"}

// Titles are the heat maps' titles, by source.
var Titles = map[string]string{
	"bio":     "Block I/O Latency",
	"runq":    "Run Queue Latency",
	"syscall": "System Call Latency",
	"offcpu":  "Off-CPU Time",
}

// What says what a source measures, in a sentence.
var What = map[string]string{
	"bio":     "block I/O latency",
	"runq":    "run queue latency",
	"syscall": "system call latency",
	"offcpu":  "off-CPU time",
}

// Options say what to collect.
type Options struct {
	Source  string // one of Sources
	Syscall string // the system call of "syscall", as its tracepoints name it: read
	// Slot is the time slot latencies are counted by: the heat map's
	// columns are not narrower. 0 is 100 ms.
	Slot time.Duration
	// Log receives the run's warnings; nil is os.Stderr.
	Log          io.Writer
	OnMainThread func(func())
}

// Collection is a source being collected.
type Collection struct {
	run  *script.Run
	slot int64
	mono int64 // CLOCK_MONOTONIC at the start: times are from it

	lats heatmap.Latencies
	err  error
	done chan struct{}
}

// Start compiles and starts a source; it returns once the probes are
// attached. The collection ends with ctx.
func Start(ctx context.Context, host *script.Host, o Options) (*Collection, error) {
	if !slices.Contains(Sources, o.Source) {
		return nil, fmt.Errorf("unknown latency source %q (want one of %v)", o.Source, Sources)
	}
	var params []string
	if o.Source == "syscall" {
		if o.Syscall == "" {
			return nil, fmt.Errorf("the syscall source needs the name of a system call")
		}
		params = []string{o.Syscall}
	}
	src, err := scripts.ReadFile(o.Source + ".bt")
	if err != nil {
		return nil, err
	}
	c := &Collection{slot: int64(o.Slot), done: make(chan struct{})}
	if c.slot <= 0 {
		c.slot = int64(100 * time.Millisecond)
	}
	prog, err := script.Compile(o.Source+".bt", src, script.Options{
		Host: host, Params: params, Named: map[string]string{"slot": strconv.FormatInt(c.slot, 10)},
	})
	if err != nil {
		return nil, err
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, err
	}
	c.mono = ts.Nano()
	// The run is stopped once its map is read for the last time.
	c.run, err = prog.Start(context.WithoutCancel(ctx), script.RunOptions{
		Log: o.Log, Quiet: true, OnMainThread: o.OnMainThread,
	})
	if err != nil {
		return nil, err
	}
	go c.drain(ctx)
	return c, nil
}

// drain takes the slots that are over out of the kernel every second,
// which keeps the map small however long the collection runs, and all
// that is left at the end of ctx.
func (c *Collection) drain(ctx context.Context) {
	defer close(c.done)
	defer c.run.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		over := true
		select {
		case <-c.run.Done():
			return
		case <-ctx.Done():
			over = false
		case <-tick.C:
		}
		m, err := c.run.Map("@lat")
		if err == nil {
			err = c.take(m, over)
		}
		if err != nil || !over {
			c.err = err
			return
		}
	}
}

// take adds the latencies of the map @lat: with over, only those of slots
// that are over, which it deletes; else all of them.
func (c *Collection) take(m *script.Map, over bool) error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return err
	}
	// A slot is over once the next has begun too: a latency that ended
	// in it on another CPU has been counted by then.
	current := ts.Nano()/c.slot - 1
	keep := func(slot int64) bool { return !over || slot < current }
	entries, err := m.Entries()
	if err != nil {
		return err
	}
	for _, e := range entries {
		slot := int64(e.Key[0].(uint64))
		if !keep(slot) {
			continue
		}
		at := slot*c.slot - c.mono
		for _, b := range e.Value.([]script.Bucket) {
			if b.Count > 0 {
				c.lats.AddN(at, b.Min+(b.Max-b.Min)/2, int64(b.Count))
			}
		}
	}
	if !over {
		return nil
	}
	var done []run.Entry
	for _, e := range m.Raw {
		// A raw key is the slot, then the bucket's index.
		if keep(int64(binary.NativeEndian.Uint64(e.Key))) {
			done = append(done, e)
		}
	}
	return c.run.DeleteEntries(m.Name, done)
}

// Wait waits for the collection to end and returns the latencies: times
// are nanoseconds from the start.
func (c *Collection) Wait() (*heatmap.Latencies, error) {
	<-c.done
	err := c.run.Wait()
	if c.err != nil {
		err = c.err
	}
	return &c.lats, err
}
