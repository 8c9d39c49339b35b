package tool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"friday/codegen"
	"friday/script"
	"friday/types"
)

// Env is what a tool runs with.
type Env struct {
	Stdout, Stderr io.Writer
	// Host is shared by the scripts of the process; nil makes one.
	Host *script.Host
}

// Session is one run of a tool: what its handler sees of the framework.
type Session struct {
	tool    *Tool
	handler Handler
	fs      *pflag.FlagSet
	opts    common
	stderr  io.Writer
	params  map[string]string

	// terminal says that standard output is a terminal.
	terminal bool

	// Interval is how often a Summarizer prints (0: only at the end),
	// Count how many times before the tool ends (0: until Ctrl-C), and
	// Duration how long the tool runs (0: until Ctrl-C). A tool with
	// Interval set gets them from [interval [count]]; Setup may set them
	// from flags of its own.
	Interval time.Duration
	Count    int
	Duration time.Duration

	banner string
	cols   []Column

	// mu guards the output, which the goroutine handling events and the
	// one printing summaries share.
	mu     sync.Mutex
	out    *bufio.Writer
	record []field // the JSON record of the summary being printed
	line   bytes.Buffer
	// What printing a row reuses: the cells' formats, parsed once, the
	// JSON record, the line.
	cells []cell
	row   []field
	buf   []byte

	run      *script.Run
	variant  *Variant
	variants []*Variant // the run's ladder, when Setup made it
	pid      int
	filter   *regexp.Regexp
	ready    chan struct{} // closed when the header is out: events may print
	start    time.Time
	first    uint64 // kernel time of the first event Since was asked about
	mono     int64  // the kernel's monotonic clock at start
	lost     uint64
}

type field struct {
	key string
	val Value
}

// Main runs the tool with the command line args (those after its name)
// until its work is done or ctx ends (Ctrl-C), and returns the exit
// status.
func (t *Tool) Main(ctx context.Context, env Env, args []string) int {
	s := &Session{tool: t, stderr: env.Stderr, params: map[string]string{}, ready: make(chan struct{}), start: time.Now(), terminal: isTerminal(env.Stdout)}
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	s.mono = ts.Nano()
	s.out = bufio.NewWriterSize(env.Stdout, 64<<10)
	s.fs = pflag.NewFlagSet(t.Name, pflag.ContinueOnError)
	s.fs.SortFlags = false
	s.fs.SetOutput(io.Discard)
	s.opts.declareHelp(s.fs)
	s.handler = t.New(s.fs)
	s.opts.declare(s.fs, t.Variants)
	if err := s.fs.Parse(args); err != nil {
		return s.usageError(err)
	}
	if s.opts.help {
		t.help(env.Stdout, s.fs)
		return 0
	}
	if err := s.parseTrailing(); err != nil {
		return s.usageError(err)
	}
	switch s.opts.format {
	case "text", "json":
	default:
		return s.usageError(fmt.Errorf("unknown output format %q (want text or json)", s.opts.format))
	}
	if err := s.handler.Setup(s); err != nil {
		if errors.Is(err, ErrDone) {
			if s.flush() != nil {
				return 1
			}
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			return s.usageError(err)
		}
		fmt.Fprintf(s.stderr, "friday %s: %v\n", t.Name, err)
		return 1
	}
	host := env.Host
	if host == nil {
		host = script.NewHost()
	}
	err := s.main(ctx, host)
	if ferr := s.flush(); err == nil {
		err = ferr
	}
	if err != nil && !errors.Is(err, syscall.EPIPE) {
		var se *script.Error
		if errors.As(err, &se) {
			se.Format(s.stderr)
		} else {
			fmt.Fprintf(s.stderr, "friday %s: %v\n", t.Name, err)
		}
		return 1
	}
	return 0
}

// ErrDone is what Setup returns when the tool has done what its flags
// asked without tracing (printed a list): it exits successfully.
var ErrDone = errors.New("done")

// usageError is a mistake on the command line.
type usageError struct{ error }

// Usage makes err a mistake on the command line, which the tool reports
// with its usage.
func Usage(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func (s *Session) usageError(err error) int {
	fmt.Fprintf(s.stderr, "%sfriday %s: error: %v\nRun 'friday %s -h' for help.\n", s.tool.synopsis(s.fs), s.tool.Name, err, s.tool.Name)
	return 2
}

func (s *Session) parseTrailing() error {
	args := s.fs.Args()
	if !s.tool.Interval {
		if len(args) > len(s.tool.Args) {
			return fmt.Errorf("unrecognized arguments: %s", strings.Join(args[len(s.tool.Args):], " "))
		}
		var missing []string
		for _, a := range s.tool.Args[len(args):] {
			if a.Required {
				missing = append(missing, a.Name)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("the following arguments are required: %s", strings.Join(missing, ", "))
		}
		return nil
	}
	interval, count, err := trailing(args)
	if err != nil {
		return err
	}
	s.Interval, s.Count = time.Duration(interval)*time.Second, count
	return nil
}

// Args are the positional arguments given to a tool that declares its
// own (Tool.Args).
func (s *Session) Args() []string {
	if s.tool.Interval {
		return nil
	}
	return s.fs.Args()
}

// Flag says whether the flag of long name name was given.
func (s *Session) Flag(name string) bool { return s.fs.Changed(name) }

// Param gives the scripts the named parameter name, which getopt(name)
// reads: a bool, an integer or a string. A variant whose script does not
// read it cannot serve the option, and the next one is tried.
func (s *Session) Param(name string, v any) {
	switch v := v.(type) {
	case bool:
		s.params[name] = strconv.FormatBool(v)
	default:
		s.params[name] = fmt.Sprint(v)
	}
}

// Ladder sets the variants of this run, most preferred first, for a tool
// whose attach points come from its arguments: Setup makes them of the
// tool's scripts with the points the arguments name (Variant.With).
func (s *Session) Ladder(vs ...*Variant) { s.variants = vs }

// Pid has the scripts' user-space probes fire in process pid only, and
// the tool end when it exits.
func (s *Session) Pid(pid int) { s.pid = pid }

// Filter keeps only the attach points whose name (as the probe builtin
// gives it) re matches.
func (s *Session) Filter(re *regexp.Regexp) { s.filter = re }

// Banner sets the line printed on standard error once the probes are
// attached; the default is "Tracing... Hit Ctrl-C to end.".
func (s *Session) Banner(text string) { s.banner = text }

// SetFormat sets the output format, "text" or "json", for a tool that
// takes the format with a flag of its own.
func (s *Session) SetFormat(format string) { s.opts.format = format }

// JSON says whether the tool prints JSON.
func (s *Session) JSON() bool { return s.opts.format == "json" }

// Variant is the variant running.
func (s *Session) Variant() *Variant { return s.variant }

// Warnf prints a warning on standard error.
func (s *Session) Warnf(format string, args ...any) {
	fmt.Fprintf(s.stderr, "WARNING: "+format+"\n", args...)
}

// Since is the time in seconds from the first event's kernel time stamp
// (nsecs) given to it, as bcc's TIME(s) columns count.
func (s *Session) Since(ns uint64) float64 {
	if s.first == 0 {
		s.first = ns
	}
	return float64(int64(ns-s.first)) / 1e9
}

// Started is when the tool started.
func (s *Session) Started() time.Time { return s.start }

// Wall is the wall-clock time of a kernel time stamp (nsecs, the
// monotonic clock).
func (s *Session) Wall(ns uint64) time.Time {
	return s.start.Add(time.Duration(int64(ns) - s.mono))
}

// Printf prints text to standard output (in text mode; see JSON).
func (s *Session) Printf(format string, args ...any) {
	fmt.Fprintf(s.out, format, args...)
}

// Set adds a key to the JSON object of the summary being printed.
func (s *Session) Set(key string, v any) {
	s.record = append(s.record, field{key, valueOf(v)})
}

// Map reads the map name ("@name") of the running script.
func (s *Session) Map(name string) ([]script.Entry, error) {
	m, err := s.run.Map(name)
	if err != nil {
		return nil, err
	}
	return m.Entries()
}

// ClearMap empties the map name of the running script.
func (s *Session) ClearMap(name string) error { return s.run.ClearMap(name) }

// Heading prints what comes before each summary in bcc's tools: a blank
// line, and with stamp the time (HH:MM:SS) on a line of its own. JSON has
// the time of each summary anyway.
func (s *Session) Heading(stamp bool) {
	if s.JSON() {
		return
	}
	s.Printf("\n")
	if stamp {
		s.Printf("%-8s\n", time.Now().Format("15:04:05"))
	}
}

// Task is what keyOf of HistMap returns for a histogram per process or
// thread: its ID, the histogram's Key, and its command, the Comm.
type Task struct {
	ID   int64
	Comm string
}

// HistMap reads the running script's hist() or lhist() map name as
// histograms, one per key, and empties it for the next interval. keyOf
// makes a histogram's Key of the parts of its map key (a Task sets Comm
// too); nil leaves Key nil (a map without keys).
func (s *Session) HistMap(name string, keyOf func(parts []any) any) ([]Hist, error) {
	m, err := s.run.Map(name)
	if err != nil {
		return nil, err
	}
	entries, err := m.Entries()
	if err != nil {
		return nil, err
	}
	if err := s.ClearMap(name); err != nil {
		return nil, err
	}
	hs := make([]Hist, len(entries))
	for i, e := range entries {
		bs := e.Value.([]script.Bucket)
		if m.Value.Kind == types.Lhist {
			hs[i].Slots, hs[i].Min, hs[i].Step = Linear(bs)
		} else {
			hs[i].Slots = Log2(bs)
		}
		if keyOf != nil {
			hs[i].Key = keyOf(e.Key)
			if t, ok := hs[i].Key.(Task); ok {
				hs[i].Key, hs[i].Comm = t.ID, t.Comm
			}
		}
	}
	return hs, nil
}

// PrintHistMap reads the histograms of map name (HistMap) and prints them
// (PrintHists): the summary of most histogram tools.
func (s *Session) PrintHistMap(name, unit, label string, keyOf func(parts []any) any) error {
	hs, err := s.HistMap(name, keyOf)
	if err != nil {
		return err
	}
	return s.PrintHists(unit, label, hs)
}

// PrintHists prints histograms of unit ("usecs"), each under a line
// "label = key" when label is set, as bcc does; in JSON they are the
// summary's "hists", each with its key under label in lower case, blanks
// made underscores ("Process Name" is "process_name").
func (s *Session) PrintHists(unit, label string, hs []Hist) error {
	sortHists(hs)
	if !s.JSON() {
		return writeHists(s.out, unit, label, hs)
	}
	list := make([]any, len(hs))
	for i, h := range hs {
		j := h.json(unit)
		if label == "" {
			list[i] = j
		} else {
			list[i] = labelled{strings.ReplaceAll(strings.ToLower(label), " ", "_"), h.Key, h.Comm, j}
		}
	}
	s.Set("hists", list)
	return nil
}

// labelled is a histogram with what it is for, as JSON shows it: the
// key under the label, and the command when known.
type labelled struct {
	label string
	key   any
	comm  string
	h     histJSON
}

func (l labelled) MarshalJSON() ([]byte, error) {
	k, err := json.Marshal(l.key)
	if err != nil {
		return nil, err
	}
	h, err := json.Marshal(l.h)
	if err != nil {
		return nil, err
	}
	q, _ := json.Marshal(l.label)
	b := append(append(append([]byte{'{'}, q...), ':'), k...)
	if l.comm != "" {
		c, _ := json.Marshal(l.comm)
		b = append(append(b, `,"comm":`...), c...)
	}
	return append(b, append([]byte{','}, h[1:]...)...), nil
}

func (s *Session) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Flush()
}

// main chooses the variant, runs it and prints until the end.
func (s *Session) main(ctx context.Context, host *script.Host) error {
	vs := s.tool.Variants
	if s.variants != nil {
		vs = s.variants
	}
	if s.opts.variant != "" {
		vs = slices.DeleteFunc(slices.Clone(vs), func(v *Variant) bool { return v.Name != s.opts.variant })
		if len(vs) == 0 {
			names := make([]string, len(s.tool.Variants))
			for i, v := range s.tool.Variants {
				names[i] = v.Name
				if v.Name == s.opts.variant {
					return fmt.Errorf("the %s variant does not serve these arguments", v.Name)
				}
			}
			return fmt.Errorf("no variant %q (the tool has %s)", s.opts.variant, strings.Join(names, ", "))
		}
	}
	stats, err := s.enableStats()
	if err != nil {
		return err
	}
	defer stats.close()

	opts := script.RunOptions{
		Quiet:  true,
		Log:    s.stderr,
		DryRun: s.opts.dryRun,
		Flush:  s.flush,
		Lost: func(n uint64) error {
			s.lost = n
			fmt.Fprintf(s.stderr, "Lost %d events\n", n)
			return nil
		},
	}
	if eh, ok := s.handler.(EventHandler); ok {
		opts.Event = func(e *script.Event) error {
			<-s.ready
			s.mu.Lock()
			defer s.mu.Unlock()
			// Warnings go to the log (RunOptions.Log), not to the tool.
			if e.Kind != codegen.Printf {
				return nil
			}
			return eh.Event(s, e)
		}
	}
	v, rungs := climb(vs, script.Options{Host: host, Named: s.params, Pid: s.pid, ProbeFilter: s.filter}, !s.opts.dryRun, func(p *script.Program) error {
		r, err := p.Start(context.Background(), opts)
		s.run = r
		return err
	})
	if s.opts.verbose || s.opts.dryRun {
		s.explain(rungs)
	}
	if v == nil {
		return failure(rungs)
	}
	s.variant = v
	if s.opts.dryRun {
		return s.run.Wait()
	}
	defer s.run.Stop()
	return s.loop(ctx, stats)
}

// explain says which variant runs and why those before it do not.
func (s *Session) explain(rungs []Rung) {
	for _, r := range rungs {
		if r.Err == nil {
			what := "runs"
			if s.opts.dryRun {
				what = "loads: the kernel's verifier accepts it"
			}
			fmt.Fprintf(s.stderr, "friday %s: %s %s\n", s.tool.Name, r.Variant.label(), what)
			if note := s.tool.Notes[r.Variant.Name]; note != "" {
				for _, l := range strings.Split(strings.TrimSpace(note), "\n") {
					fmt.Fprintf(s.stderr, "friday %s: %s\n", s.tool.Name, l)
				}
			}
			continue
		}
		fmt.Fprintf(s.stderr, "friday %s: %s left: %v\n", s.tool.Name, r.Variant.label(), firstLine(r.Err))
	}
}

func firstLine(err error) string {
	msg := err.Error()
	if i := bytes.IndexByte([]byte(msg), '\n'); i >= 0 {
		return msg[:i]
	}
	return msg
}

// loop prints the banner and the header, then the summaries each
// interval, until the end.
func (s *Session) loop(ctx context.Context, stats *statistics) error {
	banner := s.banner
	if banner == "" {
		banner = "Tracing... Hit Ctrl-C to end."
	}
	fmt.Fprintln(s.stderr, banner)
	s.mu.Lock()
	if len(s.cols) > 0 && !s.JSON() {
		s.header()
	}
	err := s.out.Flush()
	s.mu.Unlock()
	close(s.ready)
	if err != nil {
		return err
	}
	sum, _ := s.handler.(Summarizer)
	var tick <-chan time.Time
	if s.Interval > 0 && sum != nil {
		t := time.NewTicker(s.Interval)
		defer t.Stop()
		tick = t.C
	}
	var deadline <-chan time.Time
	if s.Duration > 0 {
		t := time.NewTimer(s.Duration)
		defer t.Stop()
		deadline = t.C
	}
	for n := 0; ; {
		select {
		case <-tick:
			if err := s.summary(sum); err != nil {
				return err
			}
			if n++; s.Count > 0 && n >= s.Count {
				return s.end(nil, stats)
			}
			continue
		case <-deadline:
		case <-ctx.Done():
		case <-s.run.Done():
			// The script ended on its own: an error.
			return s.run.Wait()
		}
		return s.end(sum, stats)
	}
}

// summary prints one summary, as text or as a JSON object.
func (s *Session) summary(sum Summarizer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record = s.record[:0]
	if err := sum.Summary(s); err != nil {
		return err
	}
	// A summary that reported nothing (a tool that summarizes only with
	// some of its flags) makes no JSON record.
	if s.JSON() && len(s.record) > 0 {
		rec := append([]field{{"time", Str(time.Now().Format(time.RFC3339Nano))}}, s.record...)
		if err := s.writeJSON(rec); err != nil {
			return err
		}
	}
	return s.out.Flush()
}

// end prints the last summary (sum may be nil), stops the script and
// prints what is left: the events it sent before it stopped, the
// statistics.
func (s *Session) end(sum Summarizer, stats *statistics) error {
	if sum != nil {
		if err := s.summary(sum); err != nil {
			return err
		}
	}
	snap := stats.read(s.run)
	s.run.Stop()
	if err := s.run.Wait(); err != nil {
		return err
	}
	if s.opts.stats {
		snap.lost = s.lost
		fmt.Fprintf(s.stderr, "friday %s: %s\n", s.tool.Name, snap)
	}
	return nil
}
