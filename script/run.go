package script

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"friday/codegen"
	"friday/output"
	"friday/run"
)

// RunOptions say how to run a program and where what it reports goes.
type RunOptions struct {
	// Output receives bpftrace's text output, or with Format "json" its
	// JSON output: what the script prints and its maps at exit. Nil
	// prints nothing: what the script sends goes to the callbacks only,
	// and is not formatted.
	Output io.Writer
	Format string // "text" (or "") or "json"
	// Buffering says when output is written: "line" (or "") after each
	// batch of events, "none" after each event, "full" when the buffer
	// fills or at exit.
	Buffering string
	// Log receives the messages of errorf() and warnf(), the ones the
	// runtime gives (a missing file for cat(), attach points left out)
	// and, with Verbose, verifier statistics; nil is os.Stderr.
	Log        io.Writer
	NoWarnings bool // leave out warnf()'s and the program's warnings
	Quiet      bool // no "Attached N probes"
	Verbose    bool // verifier statistics; the full verifier log on rejection
	// DryRun loads the programs into the kernel, whose verifier checks
	// them, and takes them out again: nothing is attached or run.
	DryRun bool
	// OnMainThread runs a function on the thread BEGIN and END probes
	// fire on, which bpftrace makes the main thread (tid == pid); nil
	// runs them on whichever thread runs the script.
	OnMainThread func(func())

	// Event, when set, is given each event the script sends to be
	// printed, before Output gets it.
	Event func(*Event) error
	// Map, when set, is given each map the script prints (print(@m), and
	// every map at exit), before Output gets it; Output does not when Map
	// returns SkipMap.
	Map func(*Map) error
	// Lost, when set, is given the number of events the kernel could not
	// hand over (the ring buffer was full), when the program ends and
	// some were, instead of Output.
	Lost func(n uint64) error
	// Flush, when set, is called after each batch of events has been
	// handed to Event: a caller that buffers what it prints writes it
	// out then.
	Flush func() error
	// RawStacks has Event and Map values of kstack and ustack decoded as
	// Stack (their addresses) instead of their text.
	RawStacks bool
	// LazyStacks, with RawStacks, leaves the addresses of stacks to
	// Run.FillStacks, which reads each stack map once: for a caller that
	// keeps many stacks and symbolizes them at the end, it spares a
	// system call for each new stack.
	LazyStacks bool
	// Finish, when set, is called once the program has ended and its
	// events and maps have been handled, before its maps go: the last
	// moment to read them (Run.FillStacks).
	Finish func() error
	// Preset are map entries set before the BEGIN probes run, such as
	// the members of a set a filter looks up (has_key(@pids, pid)).
	Preset []MapEntry
	// PollInterval is how long an event may wait in the kernel before it
	// is read (unless a quarter of the buffer is full); 0 is 100 ms.
	PollInterval time.Duration

	// Event, Map and Flush are called on the goroutine that handles the
	// script's events, between them: they may read and clear maps but
	// not print them (Run.PrintMap).
}

// Run is a program running in the kernel.
type Run struct {
	prog *Program
	in   *run.Instance
	dec  *decoder
	done chan struct{}
	err  error
}

// Run runs the program as Start and Wait do.
func (p *Program) Run(ctx context.Context, opts RunOptions) error {
	r, err := p.Start(ctx, opts)
	if err != nil {
		return err
	}
	return r.Wait()
}

// Start loads the program, runs its BEGIN probes, attaches the others and
// returns while it runs: until exit(), the end of ctx or Stop, the exit
// of the -c command or the -p process, or an error. Then its END probes
// run, its maps are printed, and it is taken out of the kernel again,
// however it ended. A program run with a -c command runs once.
func (p *Program) Start(ctx context.Context, opts RunOptions) (*Run, error) {
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	silent := opts.Output == nil
	if silent {
		opts.Output = io.Discard
	}
	res := p.host.symbols
	stacks := new(run.Stacks)
	syms := newSymbols(res, stacks)
	var stop []func()
	cleanup := func() {
		for i := len(stop) - 1; i >= 0; i-- {
			stop[i]()
		}
	}
	if c := p.cmd; c != nil && !opts.DryRun {
		// The command may exit before its stacks are printed: what it
		// maps is recorded from its exec on. Polling its maps is the
		// fallback where perf events are not allowed.
		if follow, err := res.Follow(c.Pid()); err == nil {
			syms.follow, syms.cpid = follow, uint32(c.Pid())
			stop = append(stop, func() { follow.Close() })
		} else {
			stop = append(stop, res.Watch(c.Pid()))
		}
	}
	if p.pid > 0 && !opts.DryRun {
		// Its stacks must resolve even if it exits before they print.
		stop = append(stop, res.Watch(p.pid))
	}
	bw := bufio.NewWriterSize(opts.Output, 64<<10)
	printer, err := output.New(bw, opts.Format, p.obj, syms)
	if err != nil {
		cleanup()
		return nil, err
	}
	printer.NoWarnings, printer.Log = opts.NoWarnings, opts.Log
	// Values are decoded for Go callers with a printer of their own: the
	// one above belongs to the goroutine handling the events.
	text, _ := output.New(io.Discard, "text", p.obj, syms)
	text.Log = opts.Log
	dec := &decoder{printer: text}
	if opts.RawStacks {
		dec.stacks = newStackReader(stacks, opts.LazyStacks)
	}
	preset, err := p.preset(opts.Preset)
	if err != nil {
		cleanup()
		return nil, err
	}
	in, err := run.Start(ctx, p.obj, run.Options{
		Printer:      &callbacks{Printer: printer, dec: dec, event: opts.Event, maps: opts.Map, flush: opts.Flush, lost: opts.Lost, silent: silent},
		Log:          opts.Log,
		Probes:       p.host.probes,
		Quiet:        opts.Quiet,
		Verbose:      opts.Verbose,
		DryRun:       opts.DryRun,
		Unsafe:       p.unsafe,
		Command:      p.cmd,
		Pid:          p.pid,
		Stacks:       stacks,
		Buffering:    opts.Buffering,
		OnMainThread: opts.OnMainThread,
		Preset:       preset,
		PollInterval: opts.PollInterval,
		Finish:       opts.Finish,
	})
	if err != nil {
		bw.Flush()
		cleanup()
		return nil, err
	}
	r := &Run{prog: p, in: in, dec: dec, done: make(chan struct{})}
	go func() {
		r.err = in.Wait()
		bw.Flush()
		cleanup()
		close(r.done)
	}()
	return r, nil
}

// Wait waits for the program to end and returns why it did when that was
// not its normal end: an error, or run.ExitStatus after exit() with a
// code other than 0.
func (r *Run) Wait() error {
	<-r.done
	return r.err
}

// Done is closed when the program has ended and its output is written.
func (r *Run) Done() <-chan struct{} { return r.done }

// Stop ends the program as an interrupt does: its END probes run and its
// maps are printed. Wait tells when it is over.
func (r *Run) Stop() { r.in.Stop() }

// Map reads the script's map name ("@name", or "@") while it runs.
func (r *Run) Map(name string) (*Map, error) {
	m, err := r.prog.userMap(name)
	if err != nil {
		return nil, err
	}
	entries, err := r.in.Entries(m)
	if err != nil {
		return nil, err
	}
	return r.dec.snapshot(m, entries), nil
}

// Maps reads all the script's maps while it runs, sorted by name.
func (r *Run) Maps() ([]*Map, error) {
	var out []*Map
	for _, m := range run.UserMaps(r.prog.obj) {
		entries, err := r.in.Entries(m)
		if err != nil {
			return nil, err
		}
		out = append(out, r.dec.snapshot(m, entries))
	}
	return out, nil
}

// Lost is the number of events the kernel could not hand over to the
// program so far: the ring buffer was full.
func (r *Run) Lost() (uint64, error) { return r.in.Lost() }

// Stats reads the kernel's run-time statistics of the program's BPF
// programs, which count only while BPF statistics are enabled
// (ebpf.EnableStats).
func (r *Run) Stats() ([]run.ProgramStats, error) { return r.in.Stats() }

// PrintMap prints a map to Output as print(@name) does, between the
// events the script sends. The Event and Map callbacks must not call it.
func (r *Run) PrintMap(name string) error {
	m, err := r.prog.userMap(name)
	if err != nil {
		return err
	}
	return r.in.PrintMap(m, 0, 0)
}

// FillStacks sets the addresses of stacks decoded with LazyStacks, reading
// each stack map of the program once, in batches. The maps exist until the
// program ends: call it from RunOptions.Finish at the latest.
func (r *Run) FillStacks(stacks []Stack) error {
	if r.dec.stacks == nil {
		return fmt.Errorf("stacks are decoded as addresses only with RunOptions.RawStacks")
	}
	return r.dec.stacks.fill(stacks)
}

// DeleteEntries deletes the keys of entries of the map name read with Map
// (Map.Raw): unlike ClearMap, the keys the program added or updated since
// stay. A reader of keys that the program stops updating, such as those
// of past time slots, loses nothing.
func (r *Run) DeleteEntries(name string, entries []run.Entry) error {
	m, err := r.prog.userMap(name)
	if err != nil {
		return err
	}
	keys := make([][]byte, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	return r.in.DeleteKeys(m, keys)
}

// ClearMap empties a map as clear(@name) does.
func (r *Run) ClearMap(name string) error {
	m, err := r.prog.userMap(name)
	if err != nil {
		return err
	}
	return r.in.ClearMap(m)
}

// userMap is the map the script names name.
func (p *Program) userMap(name string) (*codegen.Map, error) {
	for _, m := range run.UserMaps(p.obj) {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("the script has no map %s", name)
}

// snapshot makes a Map of entries read from m.
func (d *decoder) snapshot(m *codegen.Map, entries []run.Entry) *Map {
	return &Map{Name: m.Name, Key: m.Key, Value: m.Value, Raw: entries, dec: d}
}
