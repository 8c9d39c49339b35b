package check

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"friday/lazybtf"
	"friday/probe"
	"friday/syntax"
	"friday/types"
)

// Options configure a check.
type Options struct {
	// Params are the positional parameters $1..$N.
	Params []string
	// Named are the named parameters getopt() reads ("--name=value", or
	// "--name" with the value ""): each getopt() is a constant, as a
	// positional parameter is, so that conditions on options not given
	// leave no code.
	Named map[string]string
	// Unsafe allows functions with side effects on the system (system,
	// signal, override).
	Unsafe bool
	// Expand resolves an attach point as written into concrete points
	// (wildcards, aliases). Nil means every attach point is taken
	// literally through a built-in minimal resolver (see literalPoints).
	Expand func(*syntax.AttachPoint) ([]*probe.Point, error)
	// BTF gives the kernel's type information, used for struct types and
	// enums. It is called at most once, when the script first needs a
	// kernel type: most scripts need none. Nil, or a nil result, means
	// there are none.
	BTF func() *lazybtf.Spec
	// MaxStrLen is the capacity of strings read at run time when given
	// outside the script (BPFTRACE_MAX_STRLEN), which wins over the
	// script's config block as in bpftrace; 0 leaves it to the config
	// block, or 1024.
	MaxStrLen int
	// Warn receives warnings, each about the script's text from Pos to
	// End: attach points left out because they do not exist (when the
	// config says missing_probes = warn), values computed and discarded.
	// Nil drops them.
	Warn func(*syntax.Error)
	// SkipDead leaves unchecked the arm of an if that a constant
	// condition makes dead (a getopt() of an option not given), which
	// compiles to nothing anyway: the kernel types only that arm reads
	// are then not loaded. bpftrace checks every arm: this is for
	// scripts whose every arm a test checks, as the tools' tests do.
	SkipDead bool
}

// DefaultMaxStrLen is the string capacity used when Options.MaxStrLen is 0.
const DefaultMaxStrLen = 1024

type checker struct {
	opts   Options
	file   *syntax.File
	errs   *errorSink
	silent bool // inference passes record types but report nothing
	// fixedStr says the string capacity was given outside the script:
	// the config block's max_strlen does not change it.
	fixedStr bool
	warned   map[string]bool
	// getopts are the names getopt() reads, in the order first read.
	getopts []string

	maps    map[string]*Map
	mapSign map[string]int8 // integer map values: 0 undecided, 1 unsigned, 2 signed
	mapRead map[string]syntax.Pos
	// brokenMaps are the maps named in probes whose attach points did not
	// resolve: such a body is typed without its probe's builtins, so a map
	// it alone gives a value would be reported undefined on top of the
	// attach point's own error.
	brokenMaps map[string]bool
	// selfMaps are the maps given values whose type was not known when
	// assigned, as in @n = @n + 1, where nothing but the map itself says
	// what it holds.
	selfMaps map[string]bool
	// seeds is the type each variable had at the end of the previous
	// pass, by the reference that created it.
	seeds  map[seedKey]seed
	funcs  map[string]*Func
	fdecls map[string]*syntax.FuncDecl
	macros map[string]*syntax.MacroDecl
	btf    *btfTypes
	config map[string]Const
	ctypes map[string]*types.Type // types defined in the script: "struct S", typedef names
	cenums map[string]enumConst   // enum values defined in the script
	// protoArgs caches the args struct of each point: a raw tracepoint's
	// built from BTF, a tracepoint's with its struct pointees completed.
	protoArgs map[*probe.Point]*types.Type
	maxStr    int
	stackDef  types.StackMode
}

// Check resolves names and types of f. The error, when not nil, is a
// *syntax.ErrorList (print it with its Format method).
func Check(f *syntax.File, opts Options) (*Program, error) {
	fixedStr := opts.MaxStrLen > 0
	if !fixedStr {
		opts.MaxStrLen = DefaultMaxStrLen
	}
	c := &checker{
		fixedStr:  fixedStr,
		opts:      opts,
		file:      f,
		errs:      &errorSink{list: syntax.ErrorList{File: f.Name, Src: f.Src}},
		maps:      map[string]*Map{},
		mapSign:   map[string]int8{},
		mapRead:   map[string]syntax.Pos{},
		seeds:     map[seedKey]seed{},
		funcs:     map[string]*Func{},
		fdecls:    map[string]*syntax.FuncDecl{},
		macros:    map[string]*syntax.MacroDecl{},
		config:    map[string]Const{},
		protoArgs: map[*probe.Point]*types.Type{},
		ctypes:    map[string]*types.Type{},
		cenums:    map[string]enumConst{},
		maxStr:    opts.MaxStrLen,
	}
	c.btf = newBTFTypes(opts.BTF, c.ctypes)
	return c.run()
}

func (c *checker) errorf(pos syntax.Pos, format string, args ...any) {
	if c.silent {
		return
	}
	c.errs.add(pos, format, args...)
}

// errorNode reports an error about expression e at the start of its text,
// underlining it when it is a name or a call.
func (c *checker) errorNode(e syntax.Expr, format string, args ...any) {
	if c.silent {
		return
	}
	underline := false
	switch e.(type) {
	case *syntax.Var, *syntax.MapRef, *syntax.Ident, *syntax.Call:
		underline = true
	}
	c.errs.addRange(syntax.Start(e), underline, format, args...)
}

// probeUnit is one syntax.Probe with its expanded body and points, before
// it is split per argument type.
type probeUnit struct {
	syn    *syntax.Probe
	points []*probe.Point
	groups [][]*probe.Point
	broken bool // an attach point did not resolve
}

func (c *checker) run() (*Program, error) {
	c.reserveCTypes()
	c.checkConfig()
	c.checkUnstable()
	c.checkIncludes()
	c.collectDecls()
	c.declareCDefs()

	// Expand macros once; every pass checks the same expanded trees.
	var units []*probeUnit
	for _, p := range c.file.Probes {
		if c.testOnly(p) {
			continue
		}
		u := &probeUnit{syn: c.expandProbe(p)}
		for _, ap := range p.Points {
			pts, err := c.expandPoint(ap)
			if err != nil && c.missingOK(ap, err) {
				continue
			}
			if err != nil {
				c.errs.addSpan(ap.Pos(), ap.End(), "%v", err)
				u.broken = true
				continue
			}
			u.points = append(u.points, pts...)
		}
		if len(u.points) == 0 && !u.broken {
			// Every attach point is missing and left out.
			continue
		}
		if u.broken {
			if c.brokenMaps == nil {
				c.brokenMaps = map[string]bool{}
			}
			inspect(u.syn, func(n syntax.Node) bool {
				if m, ok := n.(*syntax.MapRef); ok {
					c.brokenMaps[m.Name] = true
				}
				return true
			})
		}
		u.groups = groupPoints(u.syn, u.points)
		units = append(units, u)
	}
	if len(units) == 0 && len(c.file.Probes) > 0 {
		c.errorf(c.file.Probes[0].Pos(), "No probes to run: all were left out (test and bench probes run only in bpftrace's --test and --bench modes; missing_probes leaves out those that do not exist, --probe-filter those it does not match)")
	}
	funcs := make([]*syntax.FuncDecl, 0, len(c.file.Funcs))
	for _, fd := range c.file.Funcs {
		funcs = append(funcs, c.expandFunc(fd))
	}
	c.declareFuncs(funcs)

	// Maps get their types from assignments anywhere in the script, so a
	// probe may read a map that a later probe writes. Silent passes run
	// until the map types stop changing; the last pass reports errors.
	var probes []*Probe
	c.silent = true
	prev := ""
	for pass := 0; ; pass++ {
		last := !c.silent
		probes = probes[:0]
		for _, fd := range funcs {
			c.checkFunc(fd)
		}
		for _, u := range units {
			// The body of a probe whose attach point is unknown still types
			// the maps it shares with other probes, but what it says about
			// its own builtins (args, arg0) would only echo that error.
			silent := c.silent
			c.silent = silent || u.broken
			for _, g := range u.groups {
				probes = append(probes, c.checkProbe(u.syn, g, len(probes)))
			}
			c.silent = silent
		}
		if last {
			break
		}
		sig := c.passSignature()
		if sig == prev && c.typeSelfMaps() {
			sig = c.passSignature()
		}
		if sig == prev || pass >= 8 {
			c.silent = false
		}
		prev = sig
	}
	c.finishMaps()
	if err := c.errs.err(); err != nil {
		return nil, err
	}
	return &Program{
		File:      c.file,
		Probes:    probes,
		Maps:      c.maps,
		Funcs:     c.funcs,
		Config:    c.config,
		MaxStrLen: c.maxStr,
		Getopts:   c.getopts,
	}, nil
}

// typeSelfMaps makes the maps that only ever get values computed from
// themselves (@n = @n + 1) signed 64-bit integers, as bpftrace does, once
// the passes have found nothing else to say about them. It reports whether
// it typed any.
func (c *checker) typeSelfMaps() bool {
	typed := false
	for n := range c.selfMaps {
		if m := c.maps[n]; m != nil && m.Value == nil {
			c.mapSign[n] = 2
			c.setValue(m, types.I64, m.Pos)
			typed = true
		}
	}
	return typed
}

// passSignature sums up what a pass inferred, to tell when passes stop
// changing it.
func (c *checker) passSignature() string {
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(c.maps)) {
		m := c.maps[n]
		fmt.Fprintf(&b, "%s[%v]%v%d;", n, m.Key, m.Value, c.mapSign[n])
	}
	var seeds []string
	for ref, sd := range c.seeds {
		seeds = append(seeds, fmt.Sprintf("%p/%d=%v/%d", ref.ref, ref.group, sd.t, sd.width))
	}
	sort.Strings(seeds)
	b.WriteString(strings.Join(seeds, ";"))
	return b.String()
}

// finishMaps reports maps that are read but never given a value.
func (c *checker) finishMaps() {
	for _, n := range slices.Sorted(maps.Keys(c.mapRead)) {
		if m := c.maps[n]; (m == nil || m.Value == nil) && !c.brokenMaps[n] {
			c.errorf(c.mapRead[n], "Undefined map: %s", n)
		}
	}
	// A declared map that is never used has no type; it needs no BPF map.
	for _, n := range slices.Sorted(maps.Keys(c.maps)) {
		m := c.maps[n]
		if m.Value != nil {
			continue
		}
		if _, read := c.mapRead[n]; m.Decl != nil && !read && !c.brokenMaps[n] {
			pos := m.Pos
			if line, ok := syntax.SourceLine(c.file.Src, pos.Line); ok && pos.File == nil && pos.Col <= len(line) {
				// At the name, after "let ".
				if i := strings.IndexByte(line[pos.Col-1:], '@'); i >= 0 {
					pos.Col += i
				}
			}
			c.warn(pos, syntax.Pos{Line: pos.Line, Col: pos.Col + len(n), File: pos.File}, "Unused map: "+n)
		}
		delete(c.maps, n)
	}
}

// checkUnstable reports the features bpftrace calls unstable that the
// config block turns off (unstable_map_decl = error, ...).
func (c *checker) checkUnstable() {
	off := func(key string) bool { return c.config[key].Str == "error" }
	refuse := func(pos syntax.Pos, what, key string) {
		c.errorf(pos, "%s are an unstable feature, turned off by %s = error", what, key)
	}
	if off("unstable_map_decl") && len(c.file.Maps) > 0 {
		refuse(c.file.Maps[0].Pos(), "Map declarations", "unstable_map_decl")
	}
	if off("unstable_import") && len(c.file.Imports) > 0 {
		refuse(c.file.Imports[0].Pos(), "Imports", "unstable_import")
	}
	if off("unstable_macro") && len(c.file.Macros) > 0 {
		refuse(c.file.Macros[0].Pos(), "Macros", "unstable_macro")
	}
	if !off("unstable_addr") && !off("unstable_tseries") {
		return
	}
	for _, p := range c.file.Probes {
		inspect(p, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.Unary:
				if n.Op == "&" && off("unstable_addr") {
					refuse(n.Pos(), "Address-of operators (&)", "unstable_addr")
				}
			case *syntax.Call:
				if n.Name == "tseries" && off("unstable_tseries") {
					refuse(n.Pos(), "Time series maps (tseries)", "unstable_tseries")
				}
			}
			return true
		})
	}
}

// missingOK reports whether an attach point that could not be resolved is
// to be left out, as the config setting missing_probes = warn or ignore
// asks, warning about it in the first case. An unknown probe type is an
// error all the same.
func (c *checker) missingOK(ap *syntax.AttachPoint, err error) bool {
	mode := c.config["missing_probes"].Str
	if mode != "warn" && mode != "ignore" || len(ap.Parts) == 0 || canonicalProvider(ap.Parts[0]) == "" {
		return false
	}
	if mode == "warn" {
		msg := err.Error()
		var missing *probe.MissingError
		if errors.As(err, &missing) {
			msg = missing.Skipping()
		}
		c.warn(ap.Pos(), ap.End(), msg)
	}
	return true
}

// warn reports a warning once, in the pass that reports errors.
func (c *checker) warn(pos, end syntax.Pos, msg string) {
	key := fmt.Sprintf("%p:%v:%s", pos.File, pos, msg)
	if c.silent || c.opts.Warn == nil || c.warned[key] {
		return
	}
	if c.warned == nil {
		c.warned = map[string]bool{}
	}
	c.warned[key] = true
	c.opts.Warn(&syntax.Error{Pos: pos, End: end, Msg: msg})
}

// testOnly reports whether p is a test: or bench: probe, which bpftrace
// runs only in its --test and --bench modes and leaves out otherwise;
// friday has no such modes. Mixing them with other attach points is an
// error.
func (c *checker) testOnly(p *syntax.Probe) bool {
	n := 0
	for _, ap := range p.Points {
		if prov := canonicalProvider(ap.Parts[0]); prov == "test" || prov == "bench" {
			n++
		}
	}
	if n > 0 && n < len(p.Points) {
		c.errorf(p.Pos(), "test and bench probes cannot share a block with other probes")
		return false
	}
	return n > 0
}

func (c *checker) expandPoint(ap *syntax.AttachPoint) ([]*probe.Point, error) {
	ap, err := c.substParams(ap)
	if err != nil {
		return nil, err
	}
	if c.opts.Expand != nil {
		return c.opts.Expand(ap)
	}
	return literalPoints(ap)
}

// substParams replaces the positional parameters in an attach point, as in
// uprobe:$1:main, with their values: a missing one is empty, as in bpftrace.
// A parameter ends its part of the attach point, as bpftrace requires.
func (c *checker) substParams(ap *syntax.AttachPoint) (*syntax.AttachPoint, error) {
	if !strings.Contains(ap.Raw, "$") {
		return ap, nil
	}
	out := &syntax.AttachPoint{P: ap.P, Parts: make([]string, len(ap.Parts))}
	for i, part := range ap.Parts {
		d := strings.IndexByte(part, '$')
		if d < 0 {
			out.Parts[i] = part
			continue
		}
		j := d + 1
		for j < len(part) && part[j] >= '0' && part[j] <= '9' {
			j++
		}
		if j == d+1 {
			out.Parts[i] = part
			continue
		}
		if j < len(part) {
			return nil, fmt.Errorf("Found trailing text '%s' in positional parameter index. Try quoting the trailing text.", part[j:])
		}
		out.Parts[i] = part[:d]
		if n, err := strconv.Atoi(part[d+1 : j]); err == nil && n >= 1 && n <= len(c.opts.Params) {
			out.Parts[i] += c.opts.Params[n-1]
		}
	}
	if len(ap.Parts) == 1 && strings.HasPrefix(ap.Parts[0], "$") {
		// The parameter is the whole attach point.
		out.Parts = syntax.SplitAttachPoint(out.Parts[0])
	}
	out.Raw = strings.Join(out.Parts, ":")
	return out, nil
}

// literalPoints resolves the providers that need no system lookup, so the
// checker works without the probe package (begin/end and providers whose
// arguments are registers).
func literalPoints(ap *syntax.AttachPoint) ([]*probe.Point, error) {
	if len(ap.Parts) == 0 {
		return nil, fmt.Errorf("empty attach point")
	}
	prov := canonicalProvider(ap.Parts[0])
	if prov == "" {
		return nil, fmt.Errorf("Invalid provider: '%s'", ap.Parts[0])
	}
	p := &probe.Point{Provider: prov, Name: ap.Raw}
	if len(ap.Parts) > 1 {
		p.Target = ap.Parts[1]
	}
	if len(ap.Parts) > 2 {
		p.Func = ap.Parts[len(ap.Parts)-1]
	} else if len(ap.Parts) == 2 {
		p.Func = ap.Parts[1]
	}
	return []*probe.Point{p}, nil
}

var providerAliases = map[string]string{
	"BEGIN": "begin", "END": "end", "begin": "begin", "end": "end",
	"t": "tracepoint", "tracepoint": "tracepoint",
	"k": "kprobe", "kprobe": "kprobe", "kr": "kretprobe", "kretprobe": "kretprobe",
	"u": "uprobe", "uprobe": "uprobe", "ur": "uretprobe", "uretprobe": "uretprobe",
	"U": "usdt", "usdt": "usdt",
	"rt": "rawtracepoint", "rawtracepoint": "rawtracepoint",
	"f": "fentry", "fentry": "fentry", "kfunc": "fentry",
	"fr": "fexit", "fexit": "fexit", "kretfunc": "fexit",
	"i": "interval", "interval": "interval", "p": "profile", "profile": "profile",
	"s": "software", "software": "software", "h": "hardware", "hardware": "hardware",
	"w": "watchpoint", "watchpoint": "watchpoint", "aw": "asyncwatchpoint", "asyncwatchpoint": "asyncwatchpoint",
	"it": "iter", "iter": "iter", "self": "self", "test": "test", "bench": "bench",
	"tp_btf": "tp_btf",
}

func canonicalProvider(s string) string { return providerAliases[s] }

// groupPoints decides how many times the body is checked: once for all
// points, unless the body uses args and the points' args differ.
func groupPoints(p *syntax.Probe, pts []*probe.Point) [][]*probe.Point {
	if len(pts) <= 1 || !usesArgs(p) && !usesArgN(p) {
		return [][]*probe.Point{pts}
	}
	same := true
	for _, q := range pts[1:] {
		if !sameArgs(pts[0].Args, q.Args) || pts[0].Proto != q.Proto || pts[0].ArgSpec != q.ArgSpec {
			same = false
			break
		}
	}
	if same {
		return [][]*probe.Point{pts}
	}
	groups := make([][]*probe.Point, len(pts))
	for i, q := range pts {
		groups[i] = []*probe.Point{q}
	}
	return groups
}

func sameArgs(a, b *types.Type) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.Fields) != len(b.Fields) || a.Size != b.Size {
		return false
	}
	for i := range a.Fields {
		fa, fb := a.Fields[i], b.Fields[i]
		if fa.Name != fb.Name || fa.Offset != fb.Offset || fa.DataLoc != fb.DataLoc ||
			fa.BitSize != fb.BitSize || !types.Equal(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func usesArgs(p *syntax.Probe) bool {
	found := false
	inspect(p, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && id.Name == "args" {
			found = true
		}
		if call, ok := n.(*syntax.Call); ok && call.Name == "args" {
			found = true
		}
		return !found
	})
	return found
}

func (c *checker) checkConfig() {
	for _, ca := range c.file.Config {
		key := strings.ToLower(ca.Key)
		key = strings.TrimPrefix(key, "bpftrace_")
		var v Const
		switch x := ca.Value.(type) {
		case *syntax.IntLit:
			v.Int = int64(x.Value)
		case *syntax.StrLit:
			v.Str, v.IsStr = x.Value, true
		case *syntax.BoolLit:
			if x.Value {
				v.Int = 1
			}
		case *syntax.Ident:
			v.Str, v.IsStr = x.Name, true
		default:
			c.errorf(ca.Pos(), "Invalid value for config variable %s", ca.Key)
			continue
		}
		if envOnlyConfig[key] {
			c.errorf(ca.Pos(), "%s can only be set as an environment variable", key)
			continue
		}
		if !knownConfig[key] {
			c.errorf(ca.Pos(), "%s is not a known configuration option", key)
			continue
		}
		if _, set := c.envConfig(key); !set {
			c.setConfig(key, ca.Key, v, ca.Pos())
		}
	}
	// The environment's settings (BPFTRACE_STACK_MODE=perf) win over the
	// config block's, as in bpftrace.
	for _, key := range slices.Sorted(maps.Keys(knownConfig)) {
		s, set := c.envConfig(key)
		if !set {
			continue
		}
		v := Const{Str: s, IsStr: true}
		if n, err := strconv.ParseInt(s, 0, 64); err == nil {
			v = Const{Int: n}
		}
		c.setConfig(key, "BPFTRACE_"+strings.ToUpper(key), v, syntax.Pos{})
	}
}

// envConfig is the value the environment gives config setting key, if it
// sets it: an empty value sets only str_trunc_trailer (to no trailer).
func (c *checker) envConfig(key string) (string, bool) {
	s, ok := os.LookupEnv("BPFTRACE_" + strings.ToUpper(key))
	return s, ok && (s != "" || key == "str_trunc_trailer")
}

// setConfig applies config setting key, written name, to value v.
func (c *checker) setConfig(key, name string, v Const, pos syntax.Pos) {
	c.config[key] = v
	switch key {
	case "max_strlen":
		if v.IsStr || v.Int <= 0 {
			c.errorf(pos, "max_strlen must be a positive integer")
		} else if !c.fixedStr {
			c.maxStr = int(v.Int)
		}
	case "str_trunc_trailer":
		// A number is its digits, as bpftrace reads it.
		if !v.IsStr {
			c.config[key] = Const{Str: strconv.FormatInt(v.Int, 10), IsStr: true}
		}
	case "max_cat_bytes":
		if v.IsStr || v.Int <= 0 {
			c.errorf(pos, "max_cat_bytes must be a positive integer")
		}
	case "missing_probes":
		switch v.Str {
		case "error", "warn", "ignore":
		default:
			c.errorf(pos, "Invalid value for config variable %s: expected error, warn or ignore", name)
		}
	case "print_maps_on_exit":
		b, ok := configBool(v)
		if !ok {
			c.errorf(pos, "Invalid value for config variable %s: expected true or false", name)
		}
		c.config[key] = Const{Int: b}
	case "license":
		if !v.IsStr {
			c.errorf(pos, "Invalid value for config variable %s: expected a string", name)
		} else if !gplCompatible[v.Str] {
			c.warn(pos, pos, fmt.Sprintf("Invalid license: %q: the kernel lets only programs under a GPL-compatible license (GPL, GPL v2, GPL and additional rights, Dual BSD/GPL, Dual MIT/GPL, Dual MPL/GPL) call GPL-only helpers, such as those reading memory", v.Str))
		}
	case "stack_mode":
		m, ok := stackModes[v.Str]
		if !ok {
			c.errorf(pos, "Invalid stack mode: %s", v.Str)
		}
		c.stackDef = m
	}
}

// configBool reads a boolean setting, written as bpftrace accepts it:
// true or false (bare or quoted), or 1 or 0.
func configBool(v Const) (int64, bool) {
	switch {
	case !v.IsStr && (v.Int == 0 || v.Int == 1):
		return v.Int, true
	case v.IsStr && v.Str == "true":
		return 1, true
	case v.IsStr && v.Str == "false":
		return 0, true
	}
	return 0, false
}

// envOnlyConfig are bpftrace's settings that only the environment gives
// (BPFTRACE_BTF ...): a config block naming one is told so.
var envOnlyConfig = map[string]bool{
	"btf": true, "debug_output": true, "kernel_build": true, "kernel_source": true,
	"max_ast_nodes": true, "verify_llvm_ir": true, "vmlinux": true,
}

var knownConfig = map[string]bool{
	"cache_user_symbols": true, "cpp_demangle": true, "lazy_symbolication": true,
	"license": true, "log_size": true, "max_bpf_progs": true, "max_cat_bytes": true,
	"max_map_keys": true, "max_probes": true, "max_strlen": true, "missing_probes": true,
	"on_stack_limit": true, "perf_rb_pages": true, "show_debug_info": true,
	"stack_mode": true, "str_trunc_trailer": true, "print_maps_on_exit": true,
	"unstable_map_decl": true, "unstable_tseries": true, "unstable_addr": true,
	"unstable_macro": true, "unstable_import": true, "max_ast_nodes": true,
	"max_type_res_iterations": true, "use_blazesym": true, "symbol_source": true,
}

// gplCompatible are the licenses the kernel lets call GPL-only helpers
// (license_is_gpl_compatible).
var gplCompatible = map[string]bool{
	"GPL": true, "GPL v2": true, "GPL and additional rights": true,
	"Dual BSD/GPL": true, "Dual MIT/GPL": true, "Dual MPL/GPL": true,
}

var stackModes = map[string]types.StackMode{
	"bpftrace": types.StackBpftrace, "perf": types.StackPerf, "raw": types.StackRaw,
	"build_id": types.StackBuildID,
}

var mapKinds = map[string]bool{
	"hash": true, "lruhash": true, "percpuhash": true, "percpulruhash": true, "percpuarray": true,
}

func (c *checker) collectDecls() {
	for _, md := range c.file.Maps {
		name := "@" + strings.TrimPrefix(md.Name, "@")
		if _, dup := c.maps[name]; dup {
			c.errorf(md.Pos(), "Map %s is already declared", name)
			continue
		}
		if !mapKinds[md.Kind] {
			c.errorf(md.Pos(), "Invalid bpf map type: %s", md.Kind)
		}
		size := md.Size
		if len(md.Elems) == 1 {
			if lit, ok := md.Elems[0].(*syntax.IntLit); ok {
				size = int64(lit.Value)
			}
		}
		if len(md.Elems) != 1 || size <= 0 {
			c.errorf(md.Pos(), "%s() expects 1 argument: max entries (a positive integer literal)", md.Kind)
		}
		c.maps[name] = &Map{Name: name, Decl: md, Pos: md.Pos(), Kind: md.Kind, Size: size}
	}
	for _, m := range c.file.Macros {
		if _, dup := c.macros[m.Name]; dup {
			c.errorf(m.Pos(), "Redefinition of macro: %s", m.Name)
			continue
		}
		c.macros[m.Name] = m
	}
	for _, fd := range c.file.Funcs {
		if _, dup := c.fdecls[fd.Name]; dup {
			c.errorf(fd.Pos(), "Function redefined: %s", fd.Name)
			continue
		}
		if isBuiltinFunc(fd.Name) {
			c.errorf(fd.Pos(), "Function name %s is reserved for a builtin", fd.Name)
		}
		c.fdecls[fd.Name] = fd
	}
}

// declareFuncs resolves the signatures of user functions so calls can be
// typed before (or without) their bodies being checked.
func (c *checker) declareFuncs(decls []*syntax.FuncDecl) {
	for _, fd := range decls {
		if c.funcs[fd.Name] != nil {
			continue
		}
		f := &Func{Syntax: fd, Result: types.VoidT}
		if fd.Result != nil {
			f.Result = c.resolveType(fd.Result, false)
		}
		for _, p := range fd.Params {
			var t *types.Type
			if p.Type == nil {
				c.errorf(p.Pos(), "Parameter %s of function %s needs a type", p.Name, fd.Name)
			} else {
				t = c.resolveType(p.Type, false)
			}
			f.Params = append(f.Params, &Var{Name: p.Name, Type: t, Pos: p.Pos()})
		}
		c.funcs[fd.Name] = f
	}
}

// isConfig reports whether x is the config builtin (config or config()),
// whose fields are the script's config settings.
func (b *body) isConfig(x syntax.Expr) bool {
	switch x := x.(type) {
	case *syntax.Ident:
		return x.Name == "config" && b.lookup(x.Name) == nil
	case *syntax.Call:
		return x.Name == "config" && len(x.Args) == 0 && !b.isUserFunc(x.Name)
	}
	return false
}

// configField is config.NAME: the setting's value as the script runs
// with it, known when the script is compiled.
func (b *body) configField(e *syntax.Field) *types.Type {
	key := strings.TrimPrefix(strings.ToLower(e.Name), "bpftrace_")
	v, set := b.c.config[key]
	if !knownConfig[key] {
		b.c.errorNode(e, "Unrecognized config variable: %s", e.Name)
		return nil
	}
	if !set {
		v = configDefaults[key]
	}
	// The builtin itself is never computed: only its fields are.
	b.info.Types[e.X] = types.VoidT
	if call, ok := e.X.(*syntax.Call); ok {
		b.info.Calls[call] = &Call{Name: "config"}
	}
	switch {
	case key == "max_strlen":
		v = Const{Int: int64(b.c.maxStr)}
	case configBools[key]:
		n, _ := configBool(v)
		b.setConst(e, n)
		return types.BoolT
	case !set && key == "perf_rb_pages":
		v = Const{Int: defaultRingBuf / int64(os.Getpagesize())}
	}
	b.info.Consts[e] = v
	if v.IsStr {
		return types.StringOf(len(v.Str) + 1)
	}
	return types.I64
}

// defaultRingBuf is the ring buffer's size when perf_rb_pages is not set.
const defaultRingBuf = 1 << 20

var configBools = map[string]bool{
	"cpp_demangle": true, "lazy_symbolication": true, "show_debug_info": true,
	"print_maps_on_exit": true, "use_blazesym": true,
}

// configDefaults are the settings' values when neither the script nor
// the environment sets them.
var configDefaults = map[string]Const{
	"cache_user_symbols": {Str: "PER_PID", IsStr: true}, "cpp_demangle": {Int: 1},
	"lazy_symbolication": {Int: 0}, "license": {Str: "GPL", IsStr: true},
	"log_size": {Int: 1000000}, "max_bpf_progs": {Int: 1024}, "max_cat_bytes": {Int: 10240},
	"max_map_keys": {Int: 4096}, "max_probes": {Int: 1024},
	"missing_probes": {Str: "error", IsStr: true}, "on_stack_limit": {Int: 32},
	"show_debug_info": {Int: 1}, "stack_mode": {Str: "bpftrace", IsStr: true},
	"str_trunc_trailer": {Str: "..", IsStr: true}, "print_maps_on_exit": {Int: 1},
	"unstable_map_decl": {Str: "warn", IsStr: true}, "unstable_tseries": {Str: "warn", IsStr: true},
	"unstable_addr": {Str: "warn", IsStr: true}, "unstable_macro": {Str: "warn", IsStr: true},
	"unstable_import": {Str: "warn", IsStr: true}, "max_ast_nodes": {Int: 0},
	"max_type_res_iterations": {Int: 0}, "use_blazesym": {Int: 0},
	"symbol_source": {Str: "symbol_table", IsStr: true},
}

// checkIncludes warns of an #include "file" that is not there, next to
// the script or in the working directory. Headers in <> are not looked
// for: kernel types come from BTF, so a machine without kernel headers
// runs scripts that include them.
func (c *checker) checkIncludes() {
	for _, in := range c.file.Includes {
		if in.System {
			continue
		}
		name := c.file.Name
		if in.P.File != nil {
			name = in.P.File.Name
		}
		dirs := []string{"."}
		if _, err := os.Stat(name); err == nil {
			dirs = append([]string{filepath.Dir(name)}, dirs...)
		}
		found := filepath.IsAbs(in.Path) && fileExists(in.Path)
		for _, d := range dirs {
			found = found || !filepath.IsAbs(in.Path) && fileExists(filepath.Join(d, in.Path))
		}
		if !found {
			end := syntax.Pos{Line: in.P.Line, Col: in.P.Col + len("#include"), File: in.P.File}
			c.warn(in.P, end, fmt.Sprintf("Include file not found: '%s'", in.Path))
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
