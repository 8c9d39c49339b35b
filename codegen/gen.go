package codegen

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"friday/check"
	"friday/probe"
	"friday/syntax"
	"friday/types"
)

// Options tune code generation. Zero fields take bpftrace's defaults, then
// the script's config block and the BPFTRACE_* environment variables.
type Options struct {
	MaxStrLen   int // capacity of strings read by str(); default 1024
	MaxMapKeys  int // max_entries of hash maps; default 4096
	RingBufSize int // bytes of the event ring buffer; default 1 MiB
	NumCPU      int // value of the ncpus builtin; default: this machine's
	StackDepth  int // frames kept by kstack/ustack; default 127
	// StackMapSize is how many distinct stacks each stack map holds
	// (bcc's --stack-storage-size); default 4096. A stack that finds the
	// map full is not recorded: its id is -E2BIG.
	StackMapSize int
	CPID         int // pid of the -c command: the value of the cpid builtin
	// Kernel answers what the code asks of the running kernel; nil asks
	// it afresh.
	Kernel *Kernel
	// Warnings adds bpftrace's -k checks: a warning, where the script
	// computes it, each time a probe read or a map update fails.
	Warnings bool

	ringDefault bool // RingBufSize was left to the default
}

func (o *Options) fill(f *syntax.File) {
	envInt := func(dst *int, names ...string) {
		for _, n := range names {
			if v, err := strconv.Atoi(os.Getenv(n)); err == nil && v > 0 && *dst == 0 {
				*dst = v
			}
		}
	}
	// As in bpftrace, the environment wins over the config block.
	envInt(&o.MaxStrLen, "BPFTRACE_MAX_STRLEN", "BPFTRACE_STRLEN")
	envInt(&o.MaxMapKeys, "BPFTRACE_MAX_MAP_KEYS", "BPFTRACE_MAP_KEYS_MAX")
	if f != nil {
		for _, c := range f.Config {
			lit, ok := c.Value.(*syntax.IntLit)
			if !ok {
				continue
			}
			v := int(lit.Value)
			switch strings.ToLower(strings.TrimPrefix(strings.ToLower(c.Key), "bpftrace_")) {
			case "max_strlen", "strlen":
				setDefault(&o.MaxStrLen, v)
			case "max_map_keys", "map_keys_max":
				setDefault(&o.MaxMapKeys, v)
			case "perf_rb_pages":
				setDefault(&o.RingBufSize, v*os.Getpagesize())
			}
		}
	}
	setDefault(&o.MaxStrLen, 1024)
	setDefault(&o.MaxMapKeys, 4096)
	o.ringDefault = o.RingBufSize == 0
	setDefault(&o.RingBufSize, 1<<20)
	setDefault(&o.NumCPU, runtime.NumCPU())
	setDefault(&o.StackDepth, 127)
	setDefault(&o.StackMapSize, 4096)
	if o.Kernel == nil {
		o.Kernel = NewKernel(nil)
	}
	// The ring size must be a power-of-two multiple of the page size.
	page := os.Getpagesize()
	n := page
	for n < o.RingBufSize {
		n *= 2
	}
	o.RingBufSize = n
}

func setDefault(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

// Error is a code generation error at a script position.
type Error struct {
	File string
	Pos  syntax.Pos
	Msg  string
}

func (e *Error) Error() string {
	if e.Pos.IsValid() {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// bail aborts generation of the current program with an error; Generate
// recovers it. Deeply nested expression code would otherwise thread an
// error through every return.
type bail struct{ err error }

// gen holds the state shared by all programs of one object.
type gen struct {
	p    *check.Program
	opts Options
	obj  *Object
	file string

	maps     map[string]*Map // by spec name
	userMaps map[string]*Map // by script name (with '@')

	scratchSize int
	probeIDs    map[string]int64
	taskOffsets map[string]int // member offsets of struct task_struct
}

// Internal map names. They start with a character a script cannot use.
const (
	ringBufName = ".events"
	lostName    = ".lost"
	scratchName = ".scratch"
	startName   = ".start"
)

// Generate compiles a checked program.
func Generate(p *check.Program, opts Options) (obj *Object, err error) {
	if p == nil || p.File == nil {
		return nil, fmt.Errorf("codegen: no program")
	}
	opts.fill(p.File)
	// A script that prints nothing as it runs (its maps are read at its
	// end or at intervals) sends only rare records, such as the warning
	// that a map is full: a small ring serves it, whose pages, mapped
	// twice, count in friday's memory (2 MiB at the default of 1 MiB).
	if opts.ringDefault && !opts.Warnings && !printsAsItRuns(p) {
		opts.RingBufSize = max(quietRingBuf, os.Getpagesize())
	}
	g := &gen{
		p: p, opts: opts, obj: &Object{}, file: p.File.Name,
		maps: map[string]*Map{}, userMaps: map[string]*Map{},
		probeIDs: map[string]int64{},
	}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				// A bug here must not take the tool down with a stack
				// trace; report it as an error instead.
				b.err = fmt.Errorf("internal error in the code generator: %v", r)
			}
			obj, err = nil, b.err
		}
	}()
	for _, n := range slices.Sorted(maps.Keys(p.Maps)) {
		g.userMap(p.Maps[n])
	}
	used := map[string]int{}
	for i, pr := range p.Probes {
		if neverFires(pr) {
			continue
		}
		for _, unit := range splitProbe(pr) {
			prog, err := g.program(i, unit, used)
			if err != nil {
				return nil, err
			}
			g.obj.Programs = append(g.obj.Programs, prog)
		}
	}
	if g.scratchSize > 0 {
		g.internalMap(scratchName, &ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: uint32(g.scratchSize), MaxEntries: 1})
	}
	// The checker put the environment's BPFTRACE_PRINT_MAPS_ON_EXIT there.
	if c, ok := p.Config["print_maps_on_exit"]; ok && c.Int == 0 {
		g.obj.NoExitMaps = true
	}
	g.obj.MissingProbes = p.Config["missing_probes"].Str
	g.obj.StrTrailer = ".."
	if c, ok := p.Config["str_trunc_trailer"]; ok {
		g.obj.StrTrailer = c.Str
	}
	g.obj.MaxCatBytes = defaultMaxCatBytes
	if c, ok := p.Config["max_cat_bytes"]; ok && c.Int > 0 {
		g.obj.MaxCatBytes = int(c.Int)
	}
	g.obj.License = cmp.Or(p.Config["license"].Str, "GPL")
	return g.obj, nil
}

// neverFires reports whether a probe's predicate is false whatever
// happens, as a condition on a script option not given is: attaching it
// would cost each event a run of a program that does nothing.
func neverFires(pr *check.Probe) bool {
	if pr.Syntax.Pred == nil {
		return false
	}
	c, ok := pr.Info.Consts[pr.Syntax.Pred]
	return ok && !c.IsStr && c.Bytes == nil && c.Int == 0
}

func (g *gen) errorf(pos syntax.Pos, format string, args ...any) {
	panic(bail{&Error{File: g.file, Pos: pos, Msg: fmt.Sprintf(format, args...)}})
}

func (g *gen) internalMap(name string, spec *ebpf.MapSpec) *Map {
	if m, ok := g.maps[name]; ok {
		return m
	}
	spec.Name = name
	m := &Map{Name: name, Spec: spec, Internal: true}
	g.maps[name] = m
	g.obj.Maps = append(g.obj.Maps, m)
	return m
}

// quietRingBuf is the ring buffer's size for a script that prints nothing
// as it runs.
const quietRingBuf = 64 << 10

// printsAsItRuns reports whether a probe or function of p calls a builtin
// that sends output through the ring buffer.
func printsAsItRuns(p *check.Program) bool {
	for _, info := range bodies(p) {
		for _, c := range info.Calls {
			switch c.Name {
			case "printf", "print", "cat", "system", "time", "join", "errorf", "warnf", "strftime":
				return true
			}
		}
	}
	return false
}

func (g *gen) ringBuf() string {
	if g.obj.RingBuf == "" {
		g.internalMap(ringBufName, &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(g.opts.RingBufSize)})
		g.obj.RingBuf = ringBufName
		// One counter per event ID; addEvent sizes it.
		m := g.internalMap(lostName, &ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
		g.obj.LostMap = m.Name
	}
	return g.obj.RingBuf
}

func (g *gen) startMap() string {
	if g.obj.StartMap == "" {
		var ts unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		g.internalMap(startName, &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1,
			Contents: []ebpf.MapKV{{Key: uint32(0), Value: uint64(ts.Nano())}}})
		g.obj.StartMap = startName
	}
	return g.obj.StartMap
}

// addEvent registers an asynchronous event and returns it.
// addEvent adds an event about the script's text from pos to end; a zero
// end is that of the name or call at pos.
func (g *gen) addEvent(kind EventKind, format string, layout *types.Type, pos, end syntax.Pos) *Event {
	g.ringBuf()
	if end.Line == 0 {
		end = syntax.TokenEnd(g.p.File.Src, pos, true)
	}
	ev := &Event{ID: uint64(len(g.obj.Events)), Kind: kind, Format: format, Layout: layout, Pos: g.file + ":" + syntax.RangeString(pos, end),
		File: g.file, Line: pos.Line, Col: pos.Col}
	if kind == Errorf {
		ev.Source = syntax.SourceContext(g.p.File.Src, pos, end)
	}
	g.obj.Events = append(g.obj.Events, ev)
	g.maps[lostName].Spec.MaxEntries = uint32(len(g.obj.Events))
	return ev
}

// progType is the BPF program type and attach type for a probe's attach
// points, as package probe decides them.
func progType(pt *probe.Point) (ebpf.ProgramType, ebpf.AttachType, bool) {
	t := pt.ProgramType()
	switch {
	case t == ebpf.UnspecifiedProgram:
		return 0, 0, false
	case t != ebpf.Tracing || pt.AttachType() != ebpf.AttachNone:
		return t, pt.AttachType(), true
	case pt.Provider == "fentry":
		return t, ebpf.AttachTraceFEntry, true
	case pt.Provider == "fexit":
		return t, ebpf.AttachTraceFExit, true
	}
	return t, ebpf.AttachTraceRawTp, true
}

func progName(i int, pr *check.Probe, used map[string]int) string {
	base := "probe"
	if len(pr.Points) > 0 {
		pt := pr.Points[0]
		base = pt.Func
		if base == "" {
			base = pt.Provider
		}
	}
	var b strings.Builder
	for _, c := range base {
		if c < 128 && (c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		name = pr.Points[0].Provider + "_" + name
	}
	if len(name) > 12 {
		name = name[:12]
	}
	used[name]++
	if used[name] > 1 {
		name = fmt.Sprintf("%s_%d", name, used[name]-1)
	}
	if len(name) > 15 {
		name = fmt.Sprintf("p%d", i)
	}
	return name
}

// program compiles one probe. It first lays every buffer on the BPF
// stack; if that does not fit, it compiles again with big buffers in the
// per-CPU scratch map, and last without the stack slots of kept lookups
// (see lookups).
func (g *gen) program(i int, pr *check.Probe, used map[string]int) (*Program, error) {
	if len(pr.Points) == 0 {
		return nil, &Error{File: g.file, Pos: pr.Syntax.Pos(), Msg: "probe has no attach points"}
	}
	typ, attach, ok := progType(pr.Points[0])
	if !ok {
		return nil, &Error{File: g.file, Pos: pr.Syntax.Pos(), Msg: fmt.Sprintf("probe type %q is not supported by the code generator", pr.Points[0].Provider)}
	}
	name := progName(i, pr, used)
	var insns asm.Instructions
	var err error
	keepNone := false
	for try := 0; try < 3; try++ {
		scratch := try > 0
		f := newFunc(g, pr, typ, scratch)
		f.keepNone = keepNone || try == 2
		insns, err = f.compileProbe(name)
		if errors.Is(err, errUnsound) {
			// The same again, keeping no lookup.
			keepNone = true
			try--
			continue
		}
		if err != nil {
			return nil, err
		}
		if f.maxScratch > maxScratch {
			return nil, &Error{File: g.file, Pos: pr.Syntax.Pos(), Msg: fmt.Sprintf("probe needs %d bytes of memory for its values, more than the %d a per-CPU map value holds: lower max_strlen (%d)", f.maxScratch, maxScratch, g.maxStrLen())}
		}
		if f.maxStack <= maxStack {
			if f.maxScratch > g.scratchSize {
				g.scratchSize = f.maxScratch
			}
			break
		}
		if scratch && (f.lk == nil || f.keepNone) {
			return nil, &Error{File: g.file, Pos: pr.Syntax.Pos(), Msg: fmt.Sprintf("probe needs %d bytes of BPF stack, more than the %d available", f.maxStack, maxStack)}
		}
	}
	prog := &Program{Name: name, Points: pr.Points, Type: typ, Attach: attach, Insns: insns}
	if typ == ebpf.Tracing {
		prog.AttachTo = pr.Points[0].Func
	}
	return prog, nil
}

const maxStack = 512

// maxScratch is the size of the largest per-CPU map value, which is also
// as far as an instruction's offset from the scratch memory's start goes.
const maxScratch = 32768

// defaultMaxCatBytes is how much of a file cat() prints unless
// max_cat_bytes says otherwise, as in bpftrace.
const defaultMaxCatBytes = 10240

// funcMeta gives the first instruction of a BPF function its BTF
// description; the kernel only accepts line info with func info.
func funcMeta(ins asm.Instruction, name string, params int, global bool) asm.Instruction {
	proto := &btf.FuncProto{Return: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}}
	for i := 0; i < params; i++ {
		proto.Params = append(proto.Params, btf.FuncParam{Name: fmt.Sprintf("a%d", i), Type: &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}})
	}
	if params == 1 && global {
		proto.Params[0].Type = &btf.Pointer{Target: &btf.Void{}}
	}
	link := btf.StaticFunc
	if global {
		link = btf.GlobalFunc
	}
	return btf.WithFuncMetadata(ins, &btf.Func{Name: name, Type: proto, Linkage: link})
}

// CollectionSpec builds the spec the runtime loads: one program per probe
// and all maps.
func (o *Object) CollectionSpec() *ebpf.CollectionSpec {
	cs := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{}, Programs: map[string]*ebpf.ProgramSpec{}}
	for _, m := range o.Maps {
		cs.Maps[m.Spec.Name] = m.Spec.Copy()
	}
	for _, p := range o.Programs {
		cs.Programs[p.Name] = &ebpf.ProgramSpec{
			Name: p.Name, Type: p.Type, AttachType: p.Attach, AttachTo: p.AttachTo,
			Instructions: p.Insns, License: o.License,
		}
	}
	return cs
}

// MapByName finds a map by its script name ("@x") or internal name.
func (o *Object) MapByName(name string) *Map {
	for _, m := range o.Maps {
		if m.Name == name || m.Spec.Name == name {
			return m
		}
	}
	return nil
}

// scratchMap is the per-CPU buffer for values too big for the stack; its
// size is the largest any program needs.
func (g *gen) scratchMap() string { return scratchName }

func (g *gen) maxStrLen() int {
	if g.p.MaxStrLen > 0 {
		return g.p.MaxStrLen
	}
	return g.opts.MaxStrLen
}

// splitProbe gives each attach point a program of its own when the body
// uses the probe builtin, whose value is a constant per point.
func splitProbe(pr *check.Probe) []*check.Probe {
	if len(pr.Points) < 2 {
		return []*check.Probe{pr}
	}
	uses := false
	for _, c := range pr.Info.Calls {
		if c != nil && c.Name == "probe" {
			uses = true
		}
	}
	if !uses {
		return []*check.Probe{pr}
	}
	out := make([]*check.Probe, len(pr.Points))
	for i, pt := range pr.Points {
		out[i] = &check.Probe{Syntax: pr.Syntax, Points: []*probe.Point{pt}, Info: pr.Info}
	}
	return out
}
