// Package run loads a compiled script into the kernel, attaches it, feeds
// the events it sends to the printer, and takes everything out of the
// kernel again when the script ends.
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"friday/codegen"
	"friday/probe"
)

// Printer turns what the runtime reads from the kernel into text or JSON.
// Package output implements it.
type Printer interface {
	// Attached announces how many probes are about to be attached.
	Attached(n int) error
	// Event prints one record of an event whose output the printer owns
	// (printf, print, time, join, errorf, ...). args is laid out as
	// ev.Layout.
	Event(ev *codegen.Event, args []byte) error
	// Format renders a printf-style event to a string, for system and cat.
	Format(ev *codegen.Event, args []byte) (string, error)
	// Map prints a map as print(@m, top, div) does; top and div are 0 when
	// not given. Entries hold per-CPU values already combined, in the
	// kernel's order; there may be none.
	Map(m *codegen.Map, entries []Entry, top, div uint64) error
	// Text prints bytes as they are (cat).
	Text(b []byte) error
	// Syscall prints the output of a command run by system().
	Syscall(b []byte) error
	// ExitMaps prints what precedes the maps printed at exit.
	ExitMaps() error
	// Lost reports events the kernel could not hand over.
	Lost(n uint64) error
	// Flush writes out what is buffered.
	Flush() error
}

// Entry is one key and its value, both as raw bytes laid out as the map's
// Key and Value types.
type Entry struct {
	Key, Value []byte
}

// Options say how to run a script.
type Options struct {
	Printer Printer
	// Log receives diagnostics (verifier statistics with Verbose).
	Log io.Writer

	Quiet   bool // no "Attaching N probes..."
	Verbose bool // verifier statistics, full verifier log on rejection
	DryRun  bool // load and unload, attach nothing, run nothing
	Unsafe  bool // allow system()

	// Command is the -c command; it is released once the probes are
	// attached and the script ends when it exits.
	Command *Command
	// Pid is the -p process: the script ends when it exits.
	Pid int
	// Stacks, when not nil, is filled in with the script's stack maps.
	Stacks *Stacks
	// Flush says when printed output is written: "line" after each batch of
	// events, "none" after each event, "full" when the buffer fills or at
	// exit.
	Buffering string
	// OnMainThread runs a function on the thread BEGIN and END fire on
	// (bpftrace's main thread, where tid == pid); nil runs it in place.
	OnMainThread func(func())
}

// pollInterval bounds how long an event waits in the ring buffer: the BPF
// side does not wake the reader for every record, so the reader looks on
// its own this often. bpftrace polls as often; each look costs friday a
// few system calls, which scripts that trace every process see.
const pollInterval = 100 * time.Millisecond

// Run loads obj, runs it until exit(), the end of ctx (SIGINT, SIGTERM), the
// exit of opts.Command, or an error, and removes it from the kernel again
// on every path.
func Run(ctx context.Context, obj *codegen.Object, opts Options) (err error) {
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	s := &state{obj: obj, opts: opts, events: map[uint64]*codegen.Event{}}
	defer func() {
		if cerr := s.close(); err == nil {
			err = cerr
		}
	}()
	for _, ev := range obj.Events {
		s.events[ev.ID] = ev
	}
	if opts.Pid != 0 {
		if s.pidExit, err = watchPid(opts.Pid); err != nil {
			return err
		}
	}
	if err := s.load(); err != nil {
		return err
	}
	if opts.Stacks != nil {
		opts.Stacks.set(obj, s.maps)
	}
	if opts.DryRun {
		return nil
	}
	if err := s.run(ctx); err != nil {
		return err
	}
	if s.exitCode != 0 {
		return ExitStatus(s.exitCode)
	}
	return nil
}

// ExitStatus is what Run returns when the script ended with exit(code) and
// a code other than 0: the status friday exits with, as bpftrace does.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

type state struct {
	obj    *codegen.Object
	opts   Options
	events map[uint64]*codegen.Event

	maps     map[string]*ebpf.Map
	progs    []*ebpf.Program // parallel to obj.Programs
	links    []probe.Link
	reader   *ringbuf.Reader
	wait     *ringWait  // nil: the reader blocks on its own
	skb      *skbWriter // skboutput()'s packets, when the script has any
	exiting  bool       // exit() was called
	exitCode int        // the code given to exit()
	pidExit  *pidWatch
}

func (s *state) run(ctx context.Context) error {
	var begin, end, self []*ebpf.Program
	n := 0
	for i, p := range s.obj.Programs {
		for _, pt := range p.Points {
			n++
			switch pt.Provider {
			case "begin":
				begin = append(begin, s.progs[i])
			case "end":
				end = append(end, s.progs[i])
			case "self":
				self = append(self, s.progs[i])
			}
		}
	}
	if !s.opts.Quiet {
		if err := s.opts.Printer.Attached(n); err != nil {
			return err
		}
		if err := s.opts.Printer.Flush(); err != nil {
			return err
		}
	}
	if s.obj.RingBuf != "" {
		m := s.maps[s.obj.RingBuf]
		if m == nil {
			return fmt.Errorf("internal error: ring buffer map %q not in the object", s.obj.RingBuf)
		}
		rd, err := ringbuf.NewReader(m)
		if err != nil {
			return fmt.Errorf("cannot read ring buffer: %w", err)
		}
		s.reader = rd
		s.wait = newRingWait(m)
	}
	if s.obj.SkbMap != "" {
		w, err := startSkbWriter(s.maps[s.obj.SkbMap], s.obj.SkbFiles)
		if err != nil {
			return err
		}
		s.skb = w
	}
	if c := s.opts.Command; c != nil {
		c.waitHeld()
	}
	// BEGIN fires before the other probes are attached, as in bpftrace: what
	// it sets up is there when they first fire, and an exit() in it means
	// nothing else is attached.
	if err := s.runOnce(begin, "BEGIN"); err != nil {
		return err
	}
	var iters []probe.Link
	for i, p := range s.obj.Programs {
		for _, pt := range p.Points {
			if s.exiting || pt.Provider == "begin" || pt.Provider == "end" || pt.Provider == "self" {
				continue
			}
			l, err := probe.Attach(pt, s.progs[i])
			if err != nil {
				if !strings.HasPrefix(err.Error(), pt.Name) {
					err = fmt.Errorf("%s: %w", pt.Name, err)
				}
				switch s.obj.MissingProbes {
				case "warn":
					fmt.Fprintf(s.opts.Log, "WARNING: %v\n", err)
					continue
				case "ignore":
					continue
				}
				return err
			}
			s.links = append(s.links, l)
			if pt.Provider == "iter" {
				iters = append(iters, l)
			}
		}
	}
	if len(iters) > 0 {
		return s.runIterators(iters, end)
	}
	var cmdDone <-chan struct{}
	if c := s.opts.Command; c != nil {
		if !s.exiting {
			if err := c.Release(); err != nil {
				return err
			}
		}
		cmdDone = c.Done()
	}
	var pidDone <-chan struct{}
	if s.pidExit != nil {
		pidDone = s.pidExit.done
	}
	// self:signal:SIGUSR1 probes run each time the signal comes; without
	// them, SIGUSR1 keeps its default action, as in bpftrace.
	var usr1 chan os.Signal
	if len(self) > 0 {
		usr1 = make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		defer signal.Stop(usr1)
	}
	for !s.exiting {
		select {
		case <-usr1:
			if err := s.runOnce(self, "self"); err != nil {
				s.finish(true, end)
				return err
			}
			continue
		case <-ctx.Done():
			return s.finish(true, end)
		case <-cmdDone:
			return s.finish(true, end)
		case <-pidDone:
			return s.finish(true, end)
		default:
		}
		if err := s.poll(); err != nil {
			// END and the maps may still tell what was gathered; the first
			// error is the one to report.
			s.finish(true, end)
			return err
		}
	}
	return s.finish(false, end)
}

// finish stops the script: it detaches the probes, handles what they sent
// before (or, after exit(), drops what they sent after the exit), runs the
// END probes and prints the maps.
func (s *state) finish(keep bool, end []*ebpf.Program) error {
	if err := s.detach(); err != nil {
		return err
	}
	if err := s.drain(keep); err != nil {
		return err
	}
	if err := s.finishSkb(); err != nil {
		return err
	}
	s.exiting = false
	if err := s.runOnce(end, "END"); err != nil {
		return err
	}
	// Lost events are part of the event stream, which ends here; the maps
	// come after.
	if err := s.reportLost(); err != nil {
		return err
	}
	if err := s.printMaps(); err != nil {
		return err
	}
	return s.opts.Printer.Flush()
}

// runOnce runs BEGIN or END programs in the kernel, in script order, and
// handles the events each sends before the next runs.
func (s *state) runOnce(progs []*ebpf.Program, what string) error {
	for _, p := range progs {
		if s.exiting {
			return nil
		}
		var err error
		s.onMainThread(func() { _, err = p.Run(&ebpf.RunOptions{}) })
		if err != nil {
			return fmt.Errorf("cannot run %s probe: %w", what, err)
		}
		// exit() in one stops the others.
		if err := s.drain(true); err != nil {
			return err
		}
	}
	return nil
}

func (s *state) onMainThread(f func()) {
	if s.opts.OnMainThread == nil {
		f()
		return
	}
	s.opts.OnMainThread(f)
}

// poll waits up to pollInterval for events and handles them.
func (s *state) poll() error {
	if s.reader == nil {
		time.Sleep(pollInterval)
		return nil
	}
	if s.wait == nil {
		s.reader.SetDeadline(time.Now().Add(pollInterval))
		return s.read()
	}
	s.wait.wait(pollInterval)
	return s.drain(true)
}

// drain handles (keep) or drops the events already in the ring buffer
// without waiting for more.
func (s *state) drain(keep bool) error {
	if s.reader == nil {
		return nil
	}
	s.reader.SetDeadline(time.Now())
	if keep {
		return s.read()
	}
	var rec ringbuf.Record
	for {
		if err := s.reader.ReadInto(&rec); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return err
		}
	}
}

// read handles records until the reader's deadline passes or exit() is
// called.
func (s *state) read() error {
	var rec ringbuf.Record
	for !s.exiting {
		err := s.reader.ReadInto(&rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		if err := s.dispatch(rec.RawSample); err != nil {
			return err
		}
		if s.opts.Buffering == "none" || (s.opts.Buffering != "full" && rec.Remaining == 0) {
			if err := s.opts.Printer.Flush(); err != nil {
				return err
			}
		}
	}
	if s.opts.Buffering != "full" {
		return s.opts.Printer.Flush()
	}
	return nil
}

func (s *state) detach() error {
	// Each close waits for the kernel's RCU grace period (15-20 ms here):
	// closing the links together lets those waits overlap instead of
	// adding up.
	errs := make([]error, len(s.links))
	var wg sync.WaitGroup
	for i, l := range s.links {
		wg.Go(func() { errs[i] = l.Close() })
	}
	wg.Wait()
	s.links = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detaching: %w", err)
	}
	return nil
}

// close takes everything out of the kernel. It is safe to call on a
// partly set up state.
func (s *state) close() error {
	first := s.detach()
	s.opts.Stacks.stop()
	if s.opts.Command != nil {
		s.opts.Command.Stop()
	}
	if s.pidExit != nil {
		s.pidExit.close()
	}
	if s.reader != nil {
		s.reader.Close()
		s.reader = nil
	}
	if s.wait != nil {
		s.wait.close()
		s.wait = nil
	}
	s.finishSkb()
	for _, p := range s.progs {
		if p != nil {
			p.Close()
		}
	}
	s.progs = nil
	for _, m := range s.maps {
		m.Close()
	}
	s.maps = nil
	return first
}
