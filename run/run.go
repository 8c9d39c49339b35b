// Package run loads a compiled script into the kernel, attaches it, feeds
// the events it sends to the printer, and takes everything out of the
// kernel again when the script ends. While it runs, its maps may be read,
// printed and cleared from other goroutines (Instance).
package run

import (
	"cmp"
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
	// Attached announces how many probes were attached.
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
	// Probes attaches the script's points.
	Probes *probe.Resolver

	Quiet   bool // no "Attached N probes"
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
	// Preset are map entries set once the maps exist, before the BEGIN
	// probes run.
	Preset []Preset
	// Finish, when set, is called once the script has ended and its
	// events and maps are handled, before its maps go: the last moment to
	// read them.
	Finish func() error
	// PollInterval is how long an event may wait in the ring buffer
	// before it is read, when the BPF side does not wake the reader (a
	// quarter of the buffer is full); 0 is pollInterval. A collector that
	// prints nothing as it goes waits longer, and wakes less.
	PollInterval time.Duration
}

// Preset is an entry of a map (not a per-CPU one) set before the script
// runs: key and value laid out as the map's types.
type Preset struct {
	Map        *codegen.Map
	Key, Value []byte
}

// pollInterval bounds how long an event waits in the ring buffer: the BPF
// side does not wake the reader for every record, so the reader looks on
// its own this often. bpftrace polls as often; each look costs friday a
// few system calls, which scripts that trace every process see.
const pollInterval = 100 * time.Millisecond

// ErrEnded is what an Instance's map operations return once the script has
// ended and its maps are gone.
var ErrEnded = errors.New("the script has ended")

// Instance is a script running in the kernel. Its maps may be read,
// printed and cleared from any goroutine while it runs; the events it
// sends are handled by a goroutine of its own.
type Instance struct {
	s    *state
	stop context.CancelFunc
	done chan struct{}
	err  error

	// mapsMu is held to read or change the maps from outside the script,
	// and to take them out of the kernel, after which closed is set. The
	// printer may ask for the maps while it prints an event: the handling
	// of events holds s.mu, which is taken before mapsMu.
	mapsMu sync.RWMutex
	closed bool
}

// Start loads obj, runs its BEGIN probes, attaches the others and returns
// while the script runs, until exit(), the end of ctx or Stop, the exit of
// opts.Command or opts.Pid, or an error. Then its END probes run, its maps
// are printed, and it is taken out of the kernel again, on every path.
// With opts.DryRun it is taken out right after loading.
func Start(ctx context.Context, obj *codegen.Object, opts Options) (in *Instance, err error) {
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.Probes == nil {
		opts.Probes = probe.NewResolver(nil)
	}
	s := &state{obj: obj, opts: opts, events: map[uint64]*codegen.Event{}}
	ctx, stop := context.WithCancel(ctx)
	in = &Instance{s: s, stop: stop, done: make(chan struct{})}
	defer func() {
		if err != nil {
			stop()
			s.close()
		}
	}()
	for _, ev := range obj.Events {
		s.events[ev.ID] = ev
	}
	if opts.Pid != 0 {
		if s.pidExit, err = watchPid(opts.Pid); err != nil {
			return nil, err
		}
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	if opts.Stacks != nil {
		opts.Stacks.set(obj, s.maps)
	}
	for _, p := range opts.Preset {
		if err := s.maps[p.Map.Name].Update(p.Key, p.Value, ebpf.UpdateAny); err != nil {
			return nil, fmt.Errorf("cannot set an entry of %s: %w", p.Map.Name, err)
		}
	}
	if opts.DryRun {
		in.end(nil)
		return in, nil
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	go func() { in.end(s.loop(ctx)) }()
	return in, nil
}

// end takes the script out of the kernel once it has ended with err.
func (in *Instance) end(err error) {
	in.s.mu.Lock()
	in.mapsMu.Lock()
	if cerr := in.s.close(); err == nil {
		err = cerr
	}
	in.closed = true
	in.mapsMu.Unlock()
	in.s.mu.Unlock()
	if err == nil && in.s.exitCode != 0 {
		err = ExitStatus(in.s.exitCode)
	}
	in.err = err
	in.stop()
	close(in.done)
}

// Wait waits for the script to end and returns why it did when that was
// not its normal end: an error, or ExitStatus after exit() with a code
// other than 0.
func (in *Instance) Wait() error {
	<-in.done
	return in.err
}

// Stop ends the script as an interrupt does: its END probes run and its
// maps are printed. Wait tells when it is over.
func (in *Instance) Stop() { in.stop() }

// Entries reads all of a map, per-CPU values combined, in the kernel's
// order. The printer may call it while it prints.
func (in *Instance) Entries(m *codegen.Map) ([]Entry, error) {
	in.mapsMu.RLock()
	defer in.mapsMu.RUnlock()
	if in.closed {
		return nil, ErrEnded
	}
	return in.s.entries(m)
}

// PrintMap prints a map through the printer as print(@m, top, div) does,
// between the events the script sends. The printer itself must not call
// it.
func (in *Instance) PrintMap(m *codegen.Map, top, div uint64) error {
	in.s.mu.Lock()
	defer in.s.mu.Unlock()
	in.mapsMu.RLock()
	defer in.mapsMu.RUnlock()
	if in.closed {
		return ErrEnded
	}
	if err := in.s.printMap(m, top, div); err != nil {
		return err
	}
	if in.s.opts.Buffering == "full" {
		return nil
	}
	return in.s.opts.Printer.Flush()
}

// DeleteKeys deletes keys, laid out as the kernel holds them (Entry.Key),
// from a map: those the program deleted meanwhile included.
func (in *Instance) DeleteKeys(m *codegen.Map, keys [][]byte) error {
	in.mapsMu.RLock()
	defer in.mapsMu.RUnlock()
	if in.closed {
		return ErrEnded
	}
	if len(keys) == 0 {
		return nil
	}
	return deleteKeys(in.s.maps[m.Name], rows(keys))
}

// ClearMap empties a map as clear(@m) does.
func (in *Instance) ClearMap(m *codegen.Map) error {
	in.mapsMu.RLock()
	defer in.mapsMu.RUnlock()
	if in.closed {
		return ErrEnded
	}
	return in.s.resetMap(m, true)
}

// Lost is the number of events the kernel could not hand over so far.
func (in *Instance) Lost() (uint64, error) {
	in.mapsMu.RLock()
	defer in.mapsMu.RUnlock()
	if in.closed {
		return 0, ErrEnded
	}
	return in.s.lost()
}

// ProgramStats are the kernel's run-time statistics of one of a script's
// programs. They count only while BPF statistics are enabled
// (ebpf.EnableStats, or the kernel.bpf_stats_enabled setting).
type ProgramStats struct {
	Program  *codegen.Program
	RunCount uint64
	Runtime  time.Duration
	// Missed counts the times the kernel did not run the program when its
	// probe fired: another BPF program was running on the CPU.
	Missed uint64
}

// Stats reads the run-time statistics of the script's programs, in the
// object's order.
func (in *Instance) Stats() ([]ProgramStats, error) {
	in.mapsMu.RLock()
	defer in.mapsMu.RUnlock()
	if in.closed {
		return nil, ErrEnded
	}
	out := make([]ProgramStats, 0, len(in.s.progs))
	for i, p := range in.s.progs {
		st, err := p.Stats()
		if err != nil {
			return nil, fmt.Errorf("reading the statistics of %s: %w", in.s.obj.Programs[i].Name, err)
		}
		out = append(out, ProgramStats{Program: in.s.obj.Programs[i], RunCount: st.RunCount, Runtime: st.Runtime,
			Missed: st.RecursionMisses})
	}
	return out, nil
}

// ExitStatus is what Wait returns when the script ended with exit(code) and
// a code other than 0: the status friday exits with, as bpftrace does.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

type state struct {
	obj    *codegen.Object
	opts   Options
	events map[uint64]*codegen.Event
	// unpacked holds the last record with packed strings put back
	// together.
	unpacked []byte
	// records and ringBytes count the records read and the ring buffer
	// space they took (with each one's 8-byte header), which -v reports.
	records, ringBytes uint64

	// mu is held while the events are handled and the printer used, and
	// released while the reader waits for events: the goroutine handling
	// the events and callers of Instance.PrintMap take turns.
	mu sync.Mutex

	maps     map[string]*ebpf.Map
	progs    []*ebpf.Program // parallel to obj.Programs
	links    []probe.Link
	iters    []probe.Link // the iterators among links
	end      []*ebpf.Program
	self     []*ebpf.Program
	reader   *ringbuf.Reader
	rec      ringbuf.Record
	wait     *ringWait  // nil: the reader blocks on its own
	skb      *skbWriter // skboutput()'s packets, when the script has any
	exiting  bool       // exit() was called
	exitCode int        // the code given to exit()
	pidExit  *pidWatch
	usr1     chan os.Signal // SIGUSR1, for self:signal probes
}

// start runs the BEGIN probes and attaches the others.
func (s *state) start() error {
	var begin []*ebpf.Program
	n := 0
	for i, p := range s.obj.Programs {
		for _, pt := range p.Points {
			n++
			switch pt.Provider {
			case "begin":
				begin = append(begin, s.progs[i])
			case "end":
				s.end = append(s.end, s.progs[i])
			case "self":
				s.self = append(s.self, s.progs[i])
			}
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
	// self:signal:SIGUSR1 probes run each time the signal comes, from
	// before BEGIN (which may send it); without them, SIGUSR1 keeps its
	// default action, as in bpftrace.
	if len(s.self) > 0 {
		s.usr1 = make(chan os.Signal, 1)
		signal.Notify(s.usr1, syscall.SIGUSR1)
	}
	// BEGIN fires before the other probes are attached, as in bpftrace: what
	// it sets up is there when they first fire, and an exit() in it means
	// nothing else is attached.
	if err := s.runOnce(begin, "BEGIN"); err != nil {
		return err
	}
	// Attached one at a time in the order the kernel needs to run the
	// programs of one point in script order.
	type attachment struct {
		pt   *probe.Point
		prog *ebpf.Program
	}
	var todo []attachment
	var points []*probe.Point
	for i, p := range s.obj.Programs {
		for _, pt := range p.Points {
			if pt.Provider == "begin" || pt.Provider == "end" || pt.Provider == "self" {
				continue
			}
			todo = append(todo, attachment{pt, s.progs[i]})
			points = append(points, pt)
		}
	}
	for _, i := range probe.AttachOrder(points) {
		if s.exiting {
			break
		}
		pt := todo[i].pt
		l, err := s.opts.Probes.Attach(pt, todo[i].prog)
		if err != nil {
			if !strings.HasPrefix(err.Error(), pt.Name) {
				err = fmt.Errorf("%s: %w", pt.Name, err)
			}
			// Left out, the point is not counted as attached.
			switch s.obj.MissingProbes {
			case "warn":
				fmt.Fprintf(s.opts.Log, "WARNING: %v\nWARNING: Unable to attach probe: %s. Skipping.\n", err, pt.Name)
				n--
				continue
			case "ignore":
				n--
				continue
			}
			return &AttachError{Err: err, Point: pt.Name}
		}
		s.links = append(s.links, l)
		if pt.Provider == "iter" {
			s.iters = append(s.iters, l)
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
	return nil
}

// AttachError is an attach point the kernel refused, which ends the
// script unless the config setting missing_probes says otherwise.
type AttachError struct {
	Point string // as the probe builtin names it
	Err   error
}

func (e *AttachError) Error() string { return e.Err.Error() }
func (e *AttachError) Unwrap() error { return e.Err }

// loop handles the events of the attached script until it ends, then
// finishes it.
func (s *state) loop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.iters) > 0 {
		return s.runIterators(s.iters, s.end)
	}
	end := s.end
	// A script with nothing to wait for (only BEGIN and END probes, or
	// none attached) ends after BEGIN, as in bpftrace; one with -c or -p
	// still ends when that process does.
	if len(s.links) == 0 && len(s.self) == 0 && s.opts.Command == nil && s.pidExit == nil {
		return s.finish(!s.exiting, end)
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
	for !s.exiting {
		select {
		case <-s.usr1:
			if err := s.runOnce(s.self, "self"); err != nil {
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
	if s.opts.Verbose && s.reader != nil {
		fmt.Fprintf(s.opts.Log, "%d events read, %d bytes of ring buffer\n", s.records, s.ringBytes)
	}
	if err := s.printMaps(); err != nil {
		return err
	}
	if err := s.opts.Printer.Flush(); err != nil {
		return err
	}
	if s.opts.Finish != nil {
		return s.opts.Finish()
	}
	return nil
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

func (s *state) pollInterval() time.Duration { return cmp.Or(s.opts.PollInterval, pollInterval) }

// poll waits up to pollInterval for events and handles them. It is
// called with s.mu held, which it releases while it waits.
func (s *state) poll() error {
	if s.reader == nil {
		s.mu.Unlock()
		time.Sleep(s.pollInterval())
		s.mu.Lock()
		return nil
	}
	if s.wait == nil {
		// The reader waits on its own: the first record is read unlocked,
		// the rest of the batch with it.
		s.reader.SetDeadline(time.Now().Add(s.pollInterval()))
		s.mu.Unlock()
		err := s.reader.ReadInto(&s.rec)
		s.mu.Lock()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		if err := s.handle(&s.rec); err != nil {
			return err
		}
		return s.drain(true)
	}
	s.mu.Unlock()
	s.wait.wait(s.pollInterval())
	s.mu.Lock()
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
	for !s.exiting {
		err := s.reader.ReadInto(&s.rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		if err := s.handle(&s.rec); err != nil {
			return err
		}
	}
	if s.opts.Buffering != "full" {
		return s.opts.Printer.Flush()
	}
	return nil
}

// handle dispatches one record and writes out what it printed as the
// buffering mode says.
func (s *state) handle(rec *ringbuf.Record) error {
	s.records++
	s.ringBytes += uint64(len(rec.RawSample)+8+7) &^ 7
	if err := s.dispatch(rec.RawSample); err != nil {
		return err
	}
	if s.opts.Buffering == "none" || (s.opts.Buffering != "full" && rec.Remaining == 0) {
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
	if s.usr1 != nil {
		signal.Stop(s.usr1)
	}
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
