package probe

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"friday/lazybtf"
	"friday/syntax"
	"friday/tracefs"
	"friday/uprobe"
)

func init() {
	register(&provider{
		name:     "tracepoint",
		aliases:  []string{"t"},
		progType: ebpf.TracePoint,
		expand:   expandTracepoint,
		list:     listTracepoints,
		details:  tracepointDetails,
		attach:   attachTracepoint,
	})
}

// Resolver expands attach points and lists probes. It reads tracefs,
// kernel BTF and the kernel's function lists when first needed and keeps
// what it read (the event list, the format of every event asked for, the
// raw tracepoints, the kernel functions): compilations on one machine
// share one deliberately. It is safe for concurrent use.
type Resolver struct {
	dir func() (string, error)
	btf func() (*lazybtf.Spec, error)

	mu      sync.Mutex
	events  []tracefs.Event
	formats map[tracefs.Event]*Format

	spec     *lazybtf.Spec
	rawNames []string // raw tracepoints, sorted

	kernel kernelState // kernel functions, for kprobe, fentry and iter

	breakpoints breakpointCheck // for watchpoints

	binaries uprobe.Cache // for uprobes
}

// NewResolver reads the machine's tracefs, mounted when first needed, and
// the kernel BTF spec returns (nil: the running kernel's, loaded when
// first needed).
func NewResolver(spec func() (*lazybtf.Spec, error)) *Resolver {
	return newResolver(sync.OnceValues(tracefs.Dir), spec)
}

// newResolver reads the tracefs directory dir returns and the BTF spec
// returns (nil: the running kernel's).
func newResolver(dir func() (string, error), spec func() (*lazybtf.Spec, error)) *Resolver {
	if spec == nil {
		spec = lazybtf.LoadKernel
	}
	return &Resolver{dir: dir, btf: spec, formats: map[tracefs.Event]*Format{}}
}

// resolver is a Resolver at work for one script: the providers see the
// options of the user-space ones with the shared caches.
type resolver struct {
	*Resolver
	user UserOptions
}

func (r *resolver) eventList() ([]tracefs.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events != nil {
		return r.events, nil
	}
	root, err := r.dir()
	if err != nil {
		return nil, err
	}
	evs, err := tracefs.Events(root)
	if err != nil {
		return nil, err
	}
	r.events = evs
	return evs, nil
}

func (r *resolver) format(ev tracefs.Event) (*Format, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.formats[ev]; f != nil {
		return f, nil
	}
	root, err := r.dir()
	if err != nil {
		return nil, err
	}
	text, err := tracefs.Format(root, ev)
	if err != nil {
		return nil, err
	}
	f, err := ParseFormat(ev.Category, text)
	if err != nil {
		return nil, err
	}
	r.formats[ev] = f
	return f, nil
}

func tracepointName(ev tracefs.Event) string {
	return "tracepoint:" + ev.Category + ":" + ev.Name
}

func expandTracepoint(r *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
	if len(args) != 2 || args[0] == "" || args[1] == "" {
		return nil, argCountError(ap, "tracepoint", "2 arguments (tracepoint:category:event)")
	}
	cat, name := args[0], args[1]
	var matches []tracefs.Event
	if hasWildcard(cat) || hasWildcard(name) {
		evs, err := r.eventList()
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if wildcardMatch(cat, ev.Category) && wildcardMatch(name, ev.Name) {
				matches = append(matches, ev)
			}
		}
		if len(matches) == 0 {
			return nil, noAttachPoints("tracepoint matches tracepoint:"+cat+":"+name, "run 'friday trace -l' to list the tracepoints")
		}
		sort.Slice(matches, func(i, j int) bool {
			return tracepointName(matches[i]) < tracepointName(matches[j])
		})
	} else {
		// A named event is found by reading its format file: the full
		// list takes the kernel milliseconds to write out and is read only
		// to suggest a name. ftrace's own events have format files but
		// cannot be opened as perf events.
		ev := tracefs.Event{Category: cat, Name: name}
		if !eventName(cat) || !eventName(name) || cat == "ftrace" {
			return nil, r.unknownTracepoint(ap, ev)
		}
		if _, err := r.format(ev); errors.Is(err, fs.ErrNotExist) {
			return nil, r.unknownTracepoint(ap, ev)
		}
		matches = []tracefs.Event{ev}
	}
	points := make([]*Point, 0, len(matches))
	for _, ev := range matches {
		f, err := r.format(ev)
		if err != nil {
			return nil, err
		}
		points = append(points, &Point{
			Provider: "tracepoint",
			Target:   ev.Category,
			Func:     ev.Name,
			Name:     tracepointName(ev),
			Args:     f.Args,
			Format:   f,
		})
	}
	return points, nil
}

// eventName tells whether s can name a directory under events/ rather
// than climb out of it.
func eventName(s string) bool {
	return s != "." && s != ".." && !strings.ContainsRune(s, '/')
}

func (r *resolver) unknownTracepoint(ap *syntax.AttachPoint, ev tracefs.Event) error {
	evs, err := r.eventList()
	if err != nil {
		return err
	}
	names := make([]string, len(evs))
	for i, e := range evs {
		names[i] = e.Category + ":" + e.Name
	}
	suggestion := ""
	if best := nearest(ev.Category+":"+ev.Name, slices.Values(names)); best != "" {
		suggestion = "tracepoint:" + best
	}
	return noMatch("tracepoint", ev.Category+":"+ev.Name, suggestion, "run 'friday trace -l' to list the tracepoints")
}

func listTracepoints(r *resolver) ([]string, error) {
	evs, err := r.eventList()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(evs))
	for i, ev := range evs {
		names[i] = tracepointName(ev)
	}
	return names, nil
}

// tracepointDetails lists the fields a script can read, as declared in the
// format file.
func tracepointDetails(r *resolver, name string) ([]string, error) {
	parts := strings.SplitN(name, ":", 3)
	f, err := r.format(tracefs.Event{Category: parts[1], Name: parts[2]})
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, fld := range f.Fields {
		if !IsCommonField(fld.Name) {
			lines = append(lines, fld.Decl)
		}
	}
	return lines, nil
}

// attachTracepoint opens the tracepoint as a perf event and links the
// program to it. The program runs on every CPU whatever CPU the event was
// opened on, so one event is enough.
func attachTracepoint(_ *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	if p.Format == nil {
		return nil, fmt.Errorf("%s: tracepoint point without format", p.Name)
	}
	attr := unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_TRACEPOINT,
		Config: p.Format.ID,
		Sample: 1,
		Wakeup: 1,
	}
	return attachPerfEvents(p, prog, &attr, []int{0})
}
