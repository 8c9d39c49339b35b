// Package probe turns attach points as written into concrete kernel attach
// points, lists what can be attached, and attaches loaded programs.
// Each provider (tracepoint, interval, ...) lives in a file of its own and
// registers itself with register; a Resolver's Expand, List and Attach only
// dispatch, and keep what the providers read of the kernel.
package probe

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"friday/syntax"
	"friday/types"
	"friday/uprobe"
	"friday/usdt"
)

// Point is one concrete attach point after aliases and wildcards were
// resolved.
type Point struct {
	Provider string // canonical provider: "begin", "end", "tracepoint", "interval", ...
	Target   string // tracepoint category, binary path, time unit, ...
	Func     string // tracepoint event name, function, period/frequency text
	Name     string // full name as the probe builtin prints it, e.g. "tracepoint:syscalls:sys_enter_read"

	// Args is the struct type of args for providers that have typed
	// arguments (tracepoint: fields of the format file, offsets from ctx).
	// The tracepoint's common_* fields are left out: BPF programs may not
	// read them, and the checker reports them with IsCommonField.
	Args *types.Type

	// Period for interval/profile: nanoseconds (Period) or frequency (Hz).
	// For software and hardware events Period is the event count between
	// two firings.
	Period uint64
	Hz     uint64

	// PerfType and PerfConfig select the perf event (type and config of
	// perf_event_attr) of interval, profile, software and hardware points.
	PerfType   uint32
	PerfConfig uint64

	// Format is the parsed format file of a tracepoint.
	Format *Format

	// Offset is the byte offset into the function of a kprobe
	// ("kprobe:func+0x10").
	Offset uint64

	// Watch is the watched memory of a watchpoint.
	Watch *Watch

	// Proto is the BTF prototype of a raw tracepoint's arguments (the
	// kernel's private first parameter left out); argument i is the i-th
	// 8-byte slot of the context. The checker builds args from it.
	Proto *btf.FuncProto

	// Pid limits a user-space point to one process (the -p process): the
	// kernel fires its uprobes in that process only. 0 for every process.
	Pid int
	// Locations are where a uprobe or uretprobe point is attached: one
	// place, or for a uretprobe on Go code every return instruction of the
	// function, each attached with the same program.
	Locations []uprobe.Location
	// USDT is the probe site of a usdt point, with its argument specs.
	USDT *usdt.Probe
	// ArgSpec tells how the program reads arg0, arg1, ... when that
	// depends on the point beyond its provider: points with different
	// ArgSpec need programs of their own (the sites of one USDT probe may
	// keep an argument in different registers).
	ArgSpec string
}

// ProgramType is the BPF program type a program for p must have. BEGIN and
// END are not attached: the runtime runs them once with BPF_PROG_TEST_RUN,
// which raw tracepoint programs support.
func (p *Point) ProgramType() ebpf.ProgramType {
	if pv := providers[p.Provider]; pv != nil {
		return pv.progType
	}
	return ebpf.UnspecifiedProgram
}

// Link is what Attach returns: closing it detaches the program and
// releases every kernel object the attachment made.
type Link interface {
	Close() error
}

// provider is one kind of attach point. expand gets the attach point's
// parts after the provider name; list (nil when the provider is not
// listed) returns full names, and details the verbose lines of one name.
type provider struct {
	name     string
	aliases  []string
	progType ebpf.ProgramType
	expand   func(r *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error)
	list     func(r *resolver) ([]string, error)
	details  func(r *resolver, name string) ([]string, error)
	attach   func(r *Resolver, p *Point, prog *ebpf.Program) (Link, error)
	// works, when set, says what keeps every point of the provider from
	// attaching on this kernel, found without attaching one.
	works func(r *Resolver) error
	// search, when set, lists the names matching a pattern that names
	// this provider, for providers whose names depend on the target the
	// pattern gives (a binary); they are not filtered again.
	search func(r *resolver, pattern string) ([]string, error)
	// newestFirst, when set, says whether the kernel runs the programs
	// attached to the point from the last attached to the first: it puts
	// a new uprobe consumer, counting software event or trampoline
	// program at the head of the point's list, where tracepoints, raw
	// tracepoints and kprobes append to theirs, and timers (interval,
	// profile) fire in the order they were started.
	newestFirst func(p *Point) bool
}

func always(*Point) bool { return true }

var (
	providers = map[string]*provider{} // by canonical name
	aliases   = map[string]*provider{} // by canonical name and every alias
)

func register(p *provider) {
	providers[p.name] = p
	aliases[p.name] = p
	for _, a := range p.aliases {
		aliases[a] = p
	}
}

// Expand resolves the aliases and wildcards of one attach point into the
// concrete points it stands for; o configures the user-space providers.
func (r *Resolver) Expand(ap *syntax.AttachPoint, o UserOptions) ([]*Point, error) {
	return (&resolver{r, o}).expand(ap)
}

// List returns the lines `friday trace -l [PATTERN]` prints: the full name
// of every attachable point matching pattern (all when pattern is empty),
// sorted, each followed in verbose mode by its arguments indented by four
// spaces. A pattern may use '*' as a wildcard, a provider alias ("t:") and
// may leave out the provider ("sched:*"). With o.Pid, the listing is about
// that process.
func (r *Resolver) List(pattern string, verbose bool, o UserOptions) ([]string, error) {
	return (&resolver{r, o}).listLines(pattern, verbose)
}

// Attach attaches prog to p. The program must have been loaded with the
// type p.ProgramType() returns.
func (r *Resolver) Attach(p *Point, prog *ebpf.Program) (Link, error) {
	pv := providers[p.Provider]
	if pv == nil {
		return nil, fmt.Errorf("%s: unknown probe type %q", p.Name, p.Provider)
	}
	return pv.attach(r, p, prog)
}

// AttachOrder returns the order to attach points in (indexes into
// points) for programs that share a point to run in the order of points,
// the order the script wrote its probes in, as bpftrace runs them. Points
// whose provider's kernel list runs the newest program first are attached
// last to first.
func AttachOrder(points []*Point) []int {
	var order, reversed []int
	for i, p := range points {
		if pv := providers[p.Provider]; pv != nil && pv.newestFirst != nil && pv.newestFirst(p) {
			reversed = append(reversed, i)
		} else {
			order = append(order, i)
		}
	}
	slices.Reverse(reversed)
	return append(order, reversed...)
}

// Attachable says what keeps p from attaching on this kernel, as far as
// is known without attaching: a kind of probe the kernel lacks (kprobes).
// The kernel refuses programs of some other kinds when they are loaded
// (LoadError); a point that has gone away shows only when attached.
func (r *Resolver) Attachable(p *Point) error {
	if err := r.KindWorks(p.Provider); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	return nil
}

// KindWorks says what keeps every point of kind provider ("kprobe",
// "kr", ...) from attaching on this kernel, as Attachable would for any
// of its points, without resolving one: nil when nothing is known to.
func (r *Resolver) KindWorks(provider string) error {
	if pv := aliases[provider]; pv != nil && pv.works != nil {
		return pv.works(r)
	}
	return nil
}

// IsCommonField reports whether a tracepoint field is one of the fields
// every event starts with (common_pid, ...), which BPF programs may not
// read.
func IsCommonField(name string) bool { return strings.HasPrefix(name, "common_") }

func (r *resolver) expand(ap *syntax.AttachPoint) ([]*Point, error) {
	parts := ap.Parts
	if len(parts) == 0 {
		parts = strings.Split(ap.Raw, ":")
	}
	if len(parts) == 0 || parts[0] == "" {
		return nil, errors.New("empty attach point")
	}
	pv := aliases[parts[0]]
	if pv == nil {
		return nil, fmt.Errorf("%s: unknown probe type %q", ap.Raw, parts[0])
	}
	return pv.expand(r, ap, parts[1:])
}

func (r *resolver) listLines(pattern string, verbose bool) ([]string, error) {
	if isTypePattern(pattern) {
		return r.listTypes(pattern, verbose)
	}
	pattern = canonicalPattern(pattern)
	// A pattern naming its provider lists that provider only, which spares
	// reading what the others would list.
	var only *provider
	if head, _, ok := strings.Cut(pattern, ":"); ok {
		only = aliases[head]
	}
	var names []string
	owner := map[string]*provider{}
	if only != nil && only.search != nil {
		found, err := only.search(r, pattern)
		if err != nil {
			return nil, err
		}
		for _, n := range found {
			names = append(names, n)
			owner[n] = only
		}
	}
	for _, pv := range providers {
		if pv.list == nil || only != nil && (pv != only || pv.search != nil) {
			continue
		}
		// With -p, a listing is about the process: as bpftrace does, it
		// shows the user-space providers (those with search) only.
		if only == nil && r.user.Pid > 0 && pv.search == nil {
			continue
		}
		all, err := pv.list(r)
		if err != nil {
			return nil, err
		}
		for _, n := range all {
			if listMatch(pattern, n) {
				names = append(names, n)
				owner[n] = pv
			}
		}
	}
	sort.Strings(names)
	if !verbose {
		return names, nil
	}
	var lines []string
	for _, n := range names {
		lines = append(lines, n)
		if d := owner[n].details; d != nil {
			more, err := d(r, n)
			if err != nil {
				return nil, err
			}
			for _, m := range more {
				lines = append(lines, "    "+m)
			}
		}
	}
	return lines, nil
}

// canonicalPattern spells a listing pattern's provider alias ("t:...") the
// way listed names spell it.
func canonicalPattern(pattern string) string {
	head, rest, ok := strings.Cut(pattern, ":")
	if !ok {
		return pattern
	}
	if pv := aliases[head]; pv != nil {
		return pv.name + ":" + rest
	}
	return pattern
}

// listMatch matches a listing pattern against a full name, or against the
// name without its provider when the pattern does not start with one.
func listMatch(pattern, name string) bool {
	if pattern == "" || wildcardMatch(pattern, name) {
		return true
	}
	head, rest, _ := strings.Cut(pattern, ":")
	if aliases[head] != nil {
		return moduleListMatch(head, rest, name)
	}
	_, rest, _ = strings.Cut(name, ":")

	return wildcardMatch(pattern, rest)
}

// argCountError is the error for an attach point with the wrong number of
// parts.
func argCountError(ap *syntax.AttachPoint, provider, want string) error {
	return fmt.Errorf("%s: %s probe type requires %s", ap.Raw, provider, want)
}

// fullName is the name the probe builtin prints for a point that needs no
// expansion: the canonical provider followed by the rest as written.
func fullName(provider string, args []string) string {
	return strings.Join(append([]string{provider}, args...), ":")
}
