package check

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"friday/probe"
	"friday/syntax"
	"friday/types"
)

// builtin checks one builtin function (or identifier, with args nil and
// bare set) and returns its type.
type builtin struct {
	fn func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type
	// bare: usable as an identifier without parentheses (pid, comm, ...).
	bare bool
}

var builtins map[string]builtin

var aggFuncs = map[string]bool{
	"count": true, "sum": true, "min": true, "max": true, "avg": true,
	"stats": true, "hist": true, "lhist": true, "tseries": true,
}

func isBuiltinFunc(name string) bool {
	_, ok := builtins[name]
	return ok || aggFuncs[name]
}

func (b *body) isUserFunc(name string) bool {
	_, ok := b.c.funcs[name]
	return ok
}

var argRe = regexp.MustCompile(`^(s?arg)([0-9]+)$`)

func (b *body) ident(e *syntax.Ident) *types.Type {
	if bi, ok := builtins[e.Name]; ok && bi.bare {
		ci := &Call{Name: e.Name}
		t := bi.fn(b, e, ci, nil)
		b.info.Calls[e] = ci
		return t
	}
	if m := argRe.FindStringSubmatch(e.Name); m != nil {
		n, _ := strconv.Atoi(m[2])
		ci := &Call{Name: m[1], N: n}
		b.info.Calls[e] = ci
		return b.argN(e, m[1], n)
	}
	if ec, ok := b.c.cenums[e.Name]; ok {
		b.setConst(e, ec.val)
		return ec.typ
	}
	if ec, ok := b.c.btf.enumValue(e.Name); ok {
		b.setConst(e, ec.val)
		return ec.typ
	}
	if v, ok := headerConsts()[e.Name]; ok {
		b.setConst(e, v)
		return constType(v, false)
	}
	if _, ok := stackModes[e.Name]; ok {
		b.errorf(e.Pos(), "Stack mode '%s' can only be used as an argument of kstack() or ustack()", e.Name)
		return nil
	}
	b.errorf(e.Pos(), "Unknown identifier: '%s'", e.Name)
	return nil
}

func (b *body) call(e *syntax.Call) *types.Type {
	if f, ok := b.c.funcs[e.Name]; ok {
		return b.userCall(e, f)
	}
	if aggFuncs[e.Name] {
		b.errorf(e.Pos(), "%s() should be directly assigned to a map", e.Name)
		for _, a := range e.Args {
			b.expr(a)
		}
		return nil
	}
	if argRe.MatchString(e.Name) && len(e.Args) == 0 {
		return b.ident(&syntax.Ident{P: e.P, Name: e.Name})
	}
	bi, ok := builtins[e.Name]
	if !ok {
		b.errorf(e.Pos(), "Unknown function: '%s'", e.Name)
		for _, a := range e.Args {
			b.expr(a)
		}
		return nil
	}
	ci := &Call{Name: e.Name, Args: e.Args}
	b.info.Calls[e] = ci
	return bi.fn(b, e, ci, e.Args)
}

func (b *body) userCall(e *syntax.Call, f *Func) *types.Type {
	b.info.Calls[e] = &Call{Name: e.Name, Args: e.Args, Func: f}
	if b.fn != nil {
		b.calls[e.Name] = true
	}
	if len(e.Args) != len(f.Params) {
		b.errorf(e.Pos(), "Function %s requires %d arguments (%d provided)", e.Name, len(f.Params), len(e.Args))
	}
	for i, a := range e.Args {
		t := b.expr(a)
		if i >= len(f.Params) || t == nil || f.Params[i].Type == nil {
			continue
		}
		if !b.assignable(f.Params[i].Type, valueType(t), a) {
			b.errorf(a.Pos(), "Function %s: parameter %s is of type %s, cannot pass %s", e.Name, f.Params[i].Name, f.Params[i].Type, t)
		}
	}
	return f.Result
}

// nargs checks the number of arguments.
func (b *body) nargs(e syntax.Expr, name string, args []syntax.Expr, min, max int) bool {
	n := len(args)
	if n >= min && (n <= max || max < 0) {
		return true
	}
	switch {
	case max == 0:
		b.errorf(e.Pos(), "%s() requires no arguments (%d provided)", name, n)
	case min == max && min == 1:
		b.errorf(e.Pos(), "%s() requires one argument (%d provided)", name, n)
	case min == max:
		b.errorf(e.Pos(), "%s() requires %d arguments (%d provided)", name, min, n)
	case n < min && min == 1:
		b.errorf(e.Pos(), "%s() requires at least one argument (%d provided)", name, n)
	case n < min:
		b.errorf(e.Pos(), "%s() requires at least %d arguments (%d provided)", name, min, n)
	default:
		b.errorf(e.Pos(), "%s() takes up to %d arguments (%d provided)", name, max, n)
	}
	for _, a := range args {
		switch a.(type) {
		case *syntax.MapRef, *syntax.Ident:
			// Maps passed whole and mode names are not values.
		default:
			b.expr(a)
		}
	}
	return false
}

// constInt requires e to be an integer constant.
func (b *body) constInt(e syntax.Expr, what string) (int64, bool) {
	t := b.expr(e)
	if t == nil {
		return 0, false
	}
	c, ok := b.info.Consts[e]
	if !ok || c.IsStr || !isIntegral(t) {
		b.errorf(e.Pos(), "%s: expects an integer literal (or constant expression)", what)
		return 0, false
	}
	return c.Int, true
}

// oneArg checks that call e to name has one argument and types it; nil
// means an error was reported.
func (b *body) oneArg(e syntax.Expr, name string, args []syntax.Expr) *types.Type {
	if !b.nargs(e, name, args, 1, 1) {
		return nil
	}
	return b.expr(args[0])
}

// strArg checks the number of arguments of call e to name, then that the
// first is a string literal, and returns it.
func (b *body) strArg(e syntax.Expr, name string, args []syntax.Expr, min, max int) (string, bool) {
	if !b.nargs(e, name, args, min, max) {
		return "", false
	}
	return b.constStr(args[0], name+"()")
}

// constStr requires e to be a string literal (or a constant string).
func (b *body) constStr(e syntax.Expr, what string) (string, bool) {
	t := b.expr(e)
	if t == nil {
		return "", false
	}
	c, ok := b.info.Consts[e]
	switch {
	case ok && c.IsStr:
		return c.Str, true
	case t.Kind == types.String:
		b.errorf(e.Pos(), "%s expects a string literal (string provided), not a string computed at run time", what)
	default:
		b.errorf(e.Pos(), "%s expects a string literal (%s provided)", what, typeClass(t))
	}
	return "", false
}

// expect types e and requires one of a few type classes.
func (b *body) expectInt(e syntax.Expr, fn string) (*types.Type, bool) {
	t := b.expr(e)
	if t == nil {
		return nil, false
	}
	if !isIntegral(t) && !isPtr(t) {
		b.errorf(e.Pos(), "%s() only supports integer arguments (%s provided)", fn, t)
		return nil, false
	}
	return t, true
}

// ---- probe-dependent builtins ----

func (b *body) providerList() string {
	if len(b.provs) == 0 {
		return "unknown"
	}
	return strings.Join(b.provs, ", ")
}

// allProvs reports whether there are points and every point's provider is
// in set.
func (b *body) allProvs(set ...string) bool {
	if len(b.provs) == 0 {
		return false
	}
	for _, p := range b.provs {
		ok := false
		for _, s := range set {
			if p == s {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// x86-64 passes six integer arguments in registers.
const maxRegArgs = 6

func (b *body) argN(e syntax.Expr, kind string, n int) *types.Type {
	if kind == "sarg" {
		if !b.allProvs("kprobe", "uprobe", "usdt") {
			b.errorf(e.Pos(), "The sarg%d builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes", n)
			return nil
		}
		return types.I64
	}
	if !b.allProvs("kprobe", "uprobe", "usdt", "rawtracepoint") {
		msg := "The arg%d builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes"
		if b.allProvs("tracepoint", "fentry", "fexit", "tp_btf") && len(b.provs) > 0 {
			msg += " (use args.<name> for %s probes)"
			b.errorf(e.Pos(), msg, n, b.providerList())
			return nil
		}
		b.errorf(e.Pos(), msg, n)
		return nil
	}
	if n >= maxRegArgs && !b.allProvs("usdt", "rawtracepoint") {
		b.errorf(e.Pos(), "arg%d is not available: only arg0..arg%d are passed in registers (use sarg for stack arguments)", n, maxRegArgs-1)
		return nil
	}
	if b.allProvs("usdt") {
		return b.usdtArg(e, n)
	}
	return types.U64
}

// usdtArg types argument n of USDT points: a 64-bit integer, signed when
// the site's argument spec says so.
func (b *body) usdtArg(e syntax.Expr, n int) *types.Type {
	signed := true
	for _, p := range b.points {
		if p.USDT == nil {
			return types.U64
		}
		if n >= len(p.USDT.Args) {
			b.errorf(e.Pos(), "usdt probe %s has %d arguments: arg%d does not exist", p.Name, len(p.USDT.Args), n)
			return nil
		}
		signed = signed && p.USDT.Args[n].Signed
	}
	return types.IntOf(8, signed)
}

func builtinArgs(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "args", args, 0, 0) {
		return nil
	}
	if len(b.points) == 0 {
		b.errorf(e.Pos(), "The args builtin can only be used with tracepoint/fentry/uprobe probes (%s used here)", b.providerList())
		return nil
	}
	var t *types.Type
	for _, p := range b.points {
		pt := b.c.pointArgs(p)
		if pt == nil && (p.Provider == "fentry" || p.Provider == "fexit") {
			b.errorf(e.Pos(), "Cannot find the arguments of %s in the kernel's BTF", p.Func)
			return nil
		}
		if pt == nil {
			b.errorf(e.Pos(), "The args builtin can only be used with tracepoint/fentry/rawtracepoint probes (%s used here)", p.Provider)
			return nil
		}
		if t == nil {
			t = pt
		}
	}
	if b.userSpace() {
		return userStruct(t)
	}
	return t
}

// userStruct marks the pointer fields of a struct as user pointers.
func userStruct(t *types.Type) *types.Type {
	c := *t.Complete()
	c.Fields = make([]types.Field, len(t.Fields))
	for i, f := range t.Fields {
		f.Type = userPtr(f.Type)
		c.Fields[i] = f
	}
	return &c
}

func builtinRetval(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "retval", args, 0, 0) {
		return nil
	}
	if !b.allProvs("kretprobe", "uretprobe", "fexit") {
		b.errorf(e.Pos(), "The retval builtin can only be used with 'kretprobe' and 'uretprobe' and 'fexit' probes")
		return nil
	}
	if len(b.points) == 1 && b.points[0].Provider == "fexit" {
		if proto := b.c.btf.funcProto(b.points[0].Func); proto != nil {
			return b.c.btf.converter().Type(proto.Return)
		}
	}
	return types.U64
}

func builtinFunc(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "func", args, 0, 0) {
		return nil
	}
	switch {
	case b.allProvs("kprobe", "kretprobe"):
		return types.KSymT
	case b.allProvs("uprobe", "uretprobe", "usdt"):
		return usymT
	case b.allProvs("fentry", "fexit"):
		return types.KSymT
	}
	b.errorf(e.Pos(), "The func builtin can not be used with '%s' probes", b.providerList())
	return nil
}

// fixed returns a builtin with no arguments of a fixed type.
func fixed(t *types.Type) builtin {
	return builtin{bare: true, fn: func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
		if !b.nargs(e, ci.Name, args, 0, 0) {
			return nil
		}
		return t
	}}
}

// withMode returns a builtin taking an optional mode identifier.
func withMode(t *types.Type, modes ...string) builtin {
	return builtin{bare: true, fn: func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
		if !b.nargs(e, ci.Name, args, 0, 1) {
			return nil
		}
		if len(args) == 1 {
			id, ok := args[0].(*syntax.Ident)
			if !ok || !contains(modes, id.Name) {
				b.errorf(args[0].Pos(), "%s() expects one of: %s", ci.Name, strings.Join(modes, ", "))
				return nil
			}
			ci.Mode = id.Name
			ci.Args = nil
		}
		return t
	}}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func builtinStack(kind types.Kind) builtin {
	return builtin{bare: true, fn: func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
		if !b.nargs(e, ci.Name, args, 0, 2) {
			return nil
		}
		mode, depth := b.c.stackDef, DefaultStackDepth
		if mode == types.StackBuildID && kind == types.KStack {
			// The stack_mode setting: build ids exist for user code only.
			mode = types.StackBpftrace
		}
		rest := args
		if len(rest) > 0 {
			if id, ok := rest[0].(*syntax.Ident); ok {
				if m, ok := stackModes[id.Name]; ok {
					if m == types.StackBuildID && kind == types.KStack {
						b.errorf(id.Pos(), "kstack: stack mode build_id is only supported for ustack")
						return nil
					}
					mode, ci.Mode = m, id.Name
					rest = rest[1:]
				} else if len(rest) == 2 {
					b.errorf(id.Pos(), "%s: invalid stack mode %s (bpftrace, perf, raw or build_id)", ci.Name, id.Name)
					return nil
				}
			}
		}
		if len(rest) > 1 {
			b.errorf(e.Pos(), "%s() takes a stack mode and a depth", ci.Name)
			return nil
		}
		if len(rest) == 1 {
			n, ok := b.constInt(rest[0], ci.Name+"()")
			if !ok {
				return nil
			}
			if n < 1 || n > 1024 {
				b.errorf(rest[0].Pos(), "%s([int limit]): limit shouldn't exceed 1024, %d given", ci.Name, n)
				return nil
			}
			depth = int(n)
		}
		ci.Args, ci.N = rest, depth
		return stackT(kind, mode, depth)
	}}
}

func (b *body) requireProvs(e syntax.Expr, name string, provs ...string) bool {
	if !b.allProvs(provs...) {
		b.errorf(e.Pos(), "%s can not be used with \"%s\" probes", name, b.providerList())
		return false
	}
	return true
}

// unsafeCall checks the argument count of a call allowed only with
// --unsafe, and that --unsafe was given.
func (b *body) unsafeCall(e syntax.Expr, ci *Call, args []syntax.Expr, min, max int) bool {
	if !b.nargs(e, ci.Name, args, min, max) {
		return false
	}
	ci.Unsafe = true
	return b.requireUnsafe(e, ci.Name)
}

func (b *body) requireUnsafe(e syntax.Expr, name string) bool {
	if !b.c.opts.Unsafe {
		b.errorf(e.Pos(), "%s() is an unsafe function being used in safe mode (use --unsafe)", name)
		return false
	}
	return true
}

// ---- functions ----

func fmtFunc(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if len(args) == 0 {
		b.errorf(e.Pos(), "%s() requires at least one argument (0 provided)", ci.Name)
		return nil
	}
	if ci.Name == "system" && !b.requireUnsafe(e, "system") {
		return nil
	}
	for _, a := range args[1:] {
		b.expr(a)
	}
	text, ok := b.constStr(args[0], ci.Name+"()")
	if !ok {
		return nil
	}
	f, err := parseFormat(text)
	if err != nil {
		b.errorf(e.Pos(), "%v", err)
		return nil
	}
	vals := args[1:]
	if len(vals) < len(f.Verbs) {
		b.errorf(e.Pos(), "not enough arguments for format string (%d supplied, %d expected)", len(vals), len(f.Verbs))
		return nil
	}
	if len(vals) > len(f.Verbs) {
		b.errorf(e.Pos(), "too many arguments for format string (%d supplied, %d expected)", len(vals), len(f.Verbs))
		return nil
	}
	for i, a := range vals {
		t := b.info.Types[a]
		if t == nil {
			return nil
		}
		if ok, want := verbAccepts(f.Verbs[i].Conv, t); !ok {
			msg := fmt.Sprintf("unsupported format specifier for type '%s': %s", t, f.Verbs[i].Conv)
			if want != "" {
				msg += fmt.Sprintf(" (%%%s expects a value of type %s)", f.Verbs[i].Conv, want)
			}
			b.errorf(e.Pos(), "%s", msg)
			return nil
		}
		f.Verbs[i].Arg = t
	}
	ci.Format = f
	ci.Args = vals
	ci.Async = true
	ci.Unsafe = ci.Name == "system"
	return types.VoidT
}

// debugfMaxArgs is the most values bpf_trace_vprintk takes.
const debugfMaxArgs = 12

// builtinDebugf types debugf(fmt, args...): the kernel formats the line
// into the trace pipe with bpf_trace_vprintk, which knows only some of
// printf's conversions.
func builtinDebugf(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if len(args) == 0 {
		b.errorf(e.Pos(), "debugf() requires at least one argument (0 provided)")
		return nil
	}
	for _, a := range args[1:] {
		b.expr(a)
	}
	text, ok := b.constStr(args[0], "debugf()")
	if !ok {
		return nil
	}
	f, err := parseFormat(text)
	if err != nil {
		b.errorf(e.Pos(), "%v", err)
		return nil
	}
	vals := args[1:]
	if len(vals) < len(f.Verbs) {
		b.errorf(e.Pos(), "not enough arguments for format string (%d supplied, %d expected)", len(vals), len(f.Verbs))
		return nil
	}
	if len(vals) > len(f.Verbs) {
		b.errorf(e.Pos(), "too many arguments for format string (%d supplied, %d expected)", len(vals), len(f.Verbs))
		return nil
	}
	if len(vals) > debugfMaxArgs {
		b.errorf(e.Pos(), "debugf() takes at most %d arguments after the format (%d supplied)", debugfMaxArgs, len(vals))
		return nil
	}
	for i, a := range vals {
		t, v := b.info.Types[a], f.Verbs[i]
		if t == nil {
			return nil
		}
		if strings.ContainsAny(v.Conv, "org") || v.Prec >= 0 || strings.Contains(v.Flags, "#") {
			b.errorf(e.Pos(), "Invalid format specifier for `debugf`: %s (the kernel prints %%d %%i %%u %%x %%X %%c %%s %%p with flags -+0 and a width)", text[v.Start+1:v.End])
			return nil
		}
		want := "an integer"
		switch v.Conv {
		case "s":
			ok, want = stringLike(t) || isPtr(t), "a string"
		case "p":
			ok, want = isPtr(t) || isIntegral(t), "a pointer"
		default:
			ok = isIntegral(t) || isPtr(t)
		}
		if !ok {
			b.errorf(a.Pos(), "Type does not match format specifier: %s (%%%s expects %s, %s supplied)", v.Conv, v.Conv, want, t)
			return nil
		}
		f.Verbs[i].Arg = t
	}
	ci.Format = f
	ci.Args = vals
	return types.VoidT
}

func builtinPrint(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "print", args, 1, 3) {
		return nil
	}
	ci.Async = true
	if ref, ok := args[0].(*syntax.MapRef); ok {
		m := b.mapArg(ref)
		ci.Map = m
		ci.Args = args[1:]
		for _, a := range args[1:] {
			if _, ok := b.expectInt(a, "print"); !ok {
				return nil
			}
		}
		return types.VoidT
	}
	if len(args) > 1 {
		b.errorf(e.Pos(), "Non-map print() only takes 1 argument, %d found", len(args))
		return nil
	}
	t := b.expr(args[0])
	if t != nil && t.Kind == types.Void {
		b.errorf(args[0].Pos(), "void type passed to print() is not printable")
		return nil
	}
	return types.VoidT
}

// mapHelper types the functions of bpftrace's standard library written in
// C that its macros (has_key, delete, len) stand on, which scripts may
// call too: each takes a map (&@m) and a key's address as void pointers,
// as the helper behind it does, and leaves it to the verifier to check
// that they are.
func mapHelper(ret *types.Type, params ...string) func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	return func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
		if len(args) != len(params) {
			b.errorf(e.Pos(), "Function `%s` requires %d arguments, got only %d", ci.Name, len(params), len(args))
			for _, a := range args {
				b.expr(a)
			}
			return nil
		}
		ok := true
		for i, a := range args {
			t := b.expr(a)
			if t != nil && !isPtr(t) {
				b.errorf(syntax.Start(a), "Expected void * for argument `%s` got %s", params[i], t)
				ok = false
			}
		}
		if !ok {
			b.errorf(e.Pos(), "Function `%s` requires arguments (%s)", ci.Name, strings.TrimSuffix(strings.Repeat("void *, ", len(params)), ", "))
			return nil
		}
		return ret
	}
}

// mapArg resolves a map passed as a whole to a function.
func (b *body) mapArg(ref *syntax.MapRef) *Map {
	m := b.c.maps[ref.Name]
	if m == nil || m.Value == nil {
		b.c.noteRead(ref.Name, ref.Pos())
	}
	if m != nil {
		b.info.Maps[ref] = m
		b.info.Types[ref] = m.Value
	}
	return m
}

func mapFunc(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, ci.Name, args, 1, 1) {
		return nil
	}
	ref, ok := args[0].(*syntax.MapRef)
	if !ok {
		t := b.expr(args[0])
		if ci.Name == "len" && t != nil && (t.Kind == types.KStack || t.Kind == types.UStack) {
			// The number of frames of the current stack. A stored stack
			// is an id into a stack map, whose frames BPF cannot read.
			if !isStackCall(args[0]) {
				b.errorf(args[0].Pos(), "len() of a stack needs kstack or ustack itself, not a stored stack")
				return nil
			}
			return types.I64
		}
		if ci.Name == "len" {
			b.errorf(args[0].Pos(), "len() expects a map or stack to be provided")
			return nil
		}
		b.errorf(args[0].Pos(), "%s() expects a map argument", ci.Name)
		return nil
	}
	ci.Map = b.mapArg(ref)
	ci.Args = nil
	switch ci.Name {
	case "len":
		if ci.Map != nil && ci.Map.keySet && ci.Map.Key == nil {
			b.errorf(args[0].Pos(), "len() expects a map with explicit keys (non-scalar map)")
			return nil
		}
		return types.I64
	}
	ci.Async = true
	return types.VoidT
}

func isStackCall(e syntax.Expr) bool {
	switch x := e.(type) {
	case *syntax.Ident:
		return x.Name == "kstack" || x.Name == "ustack"
	case *syntax.Call:
		return x.Name == "kstack" || x.Name == "ustack"
	}
	return false
}

// mapKeyFunc checks delete(@m, k), has_key(@m, k) and the deprecated
// delete(@m[k]).
func mapKeyFunc(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	result := types.BoolT
	if ci.Name == "delete" && len(args) == 1 {
		switch a := args[0].(type) {
		case *syntax.MapIndex:
			ci.Map = b.mapArg(a.Map)
			ci.KeyArgs, ci.Args = a.Keys, nil
			b.checkKey(ci.Map, a.Keys, a.Map.Pos())
			return result
		case *syntax.MapRef:
			ci.Map = b.mapArg(a)
			ci.Args = nil
			if ci.Map != nil && ci.Map.keySet && ci.Map.Key != nil {
				b.errorf(e.Pos(), "call to delete() with a single argument expects a map without explicit keys (scalar map)")
				return nil
			}
			return result
		}
	}
	min, max := 2, 2
	switch ci.Name {
	case "find":
		min, max = 3, 3
	case "delete":
		// Its one-argument forms are handled above.
		min = 1
	}
	if !b.nargs(e, ci.Name, args, min, max) {
		return nil
	}
	ref, ok := args[0].(*syntax.MapRef)
	if _, isIndex := args[0].(*syntax.MapIndex); isIndex && ci.Name == "delete" {
		b.errorf(args[0].Pos(), "delete() expects a map with no keys for the first argument")
		return nil
	}
	if !ok {
		b.errorf(args[0].Pos(), "%s() expects a map as its first argument", ci.Name)
		return nil
	}
	ci.Map = b.mapArg(ref)
	ci.KeyArgs, ci.Args = args[1:2], nil
	if ci.Map != nil && ci.Map.keySet && ci.Map.Key == nil {
		b.errorf(args[0].Pos(), "%s() expects a map with explicit keys (non-scalar map)", ci.Name)
		return nil
	}
	b.checkKey(ci.Map, args[1:2], ref.Pos())
	if ci.Name == "find" {
		v, ok := args[2].(*syntax.Var)
		if !ok {
			b.errorf(args[2].Pos(), "find() expects a scratch variable as its third argument")
			return nil
		}
		ci.Args = args[2:]
		if ci.Map != nil && ci.Map.Value != nil {
			b.assignVar(v, ci.Map.Value, args[2])
			b.info.Types[v] = valueType(ci.Map.Value)
		}
	}
	return result
}

func (b *body) checkKey(m *Map, keys []syntax.Expr, pos syntax.Pos) {
	if m == nil {
		for _, k := range keys {
			b.expr(k)
		}
		return
	}
	kt, ok := b.keyType(m, keys, pos)
	if !ok || !m.keySet || m.Key == nil {
		return
	}
	if merge(m.Key, kt, false) == nil {
		b.errorf(pos, "Argument mismatch for %s: trying to access with arguments: '%s' when map expects arguments: '%s'", m.Name, kt, m.Key)
	}
}

// paramSuffix types str($N + k) where $N is a string: bpftrace takes $N as
// a pointer to the text given on the command line, so the value is that
// text from byte k on. It reports false for any other argument.
func (b *body) paramSuffix(fn string, arg syntax.Expr) (*types.Type, bool) {
	bin, ok := arg.(*syntax.Binary)
	if !ok || fn != "str" || bin.Op != "+" {
		return nil, false
	}
	if _, ok := bin.X.(*syntax.PosParam); !ok {
		return nil, false
	}
	if xt := b.expr(bin.X); xt == nil || !b.info.Consts[bin.X].IsStr {
		return nil, false
	}
	s := b.info.Consts[bin.X].Str
	if b.expr(bin.Y) == nil {
		return nil, true
	}
	k, ok := b.info.Consts[bin.Y]
	if !ok || k.IsStr || k.Int < 0 || k.Int > int64(len(s)) {
		b.errorf(bin.Pos(), "Only the addition of a constant from 0 to the parameter's length (%d) is allowed to a positional parameter in str()", len(s))
		return nil, true
	}
	s = s[k.Int:]
	t := types.StringOf(len(s) + 1)
	b.info.Consts[bin] = Const{Str: s, IsStr: true}
	b.info.Types[bin] = t
	return t, true
}

func builtinStr(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, ci.Name, args, 1, 2) {
		return nil
	}
	t, suffix := b.paramSuffix(ci.Name, args[0])
	if !suffix {
		t = b.expr(args[0])
	}
	size := b.c.maxStr
	if len(args) == 2 {
		lt := b.expr(args[1])
		if lt == nil {
			return nil
		}
		if !isIntegral(lt) {
			b.errorf(args[1].Pos(), "%s() only supports integer lengths (%s provided)", ci.Name, lt)
			return nil
		}
		if c, ok := b.info.Consts[args[1]]; ok {
			if c.Int < 1 {
				b.errorf(args[1].Pos(), "%s() length must be positive (%d given)", ci.Name, c.Int)
				return nil
			}
			// str()'s length counts the NUL: str(p, 4) holds 3
			// characters, as bpftrace reads it.
			if int(c.Int) < size {
				size = int(c.Int)
			}
		}
	}
	if t == nil {
		return nil
	}
	if c, ok := b.info.Consts[args[0]]; ok && ci.Name == "str" {
		// str($1) with a string parameter, or str() of a missing one.
		if _, isParam := args[0].(*syntax.PosParam); isParam || suffix {
			s := c.Str
			if !c.IsStr {
				if c.Int != 0 {
					s = strconv.FormatInt(c.Int, 10)
				} else {
					s = ""
				}
			}
			b.info.Consts[e] = Const{Str: s, IsStr: true}
			return types.StringOf(len(s) + 1)
		}
	}
	switch {
	case ci.Name == "str" && t.Kind == types.String:
		return t
	case isIntegral(t), isPtr(t):
	case t.Kind == types.Array:
		if ci.Name == "buf" && len(args) == 1 {
			size = t.Size
		}
	case ci.Name == "buf" && t.Kind == types.String:
		if len(args) == 1 {
			size = t.Size
		}
	default:
		if ci.Name == "buf" {
			b.errorf(args[0].Pos(), "buf() expects an integer, string, or array argument but saw %s", t)
		} else {
			b.errorf(args[0].Pos(), "str() expects a string, integer or a pointer type as first argument (%s provided)", t)
		}
		return nil
	}
	if ci.Name == "buf" {
		if len(args) == 1 && t.Kind != types.Array && t.Kind != types.String {
			b.errorf(e.Pos(), "buf() expects a length argument for non-array type %s", t)
			return nil
		}
		return types.BufferOf(size)
	}
	return types.StringOf(size)
}

func builtinPath(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "path", args, 1, 2) {
		return nil
	}
	t := b.expr(args[0])
	size := b.c.maxStr
	if len(args) == 2 {
		n, ok := b.constInt(args[1], "path()")
		if !ok {
			return nil
		}
		if n < 1 {
			b.errorf(args[1].Pos(), "path: invalid size value, need non-negative literal")
			return nil
		}
		size = int(n)
	}
	if t != nil && !isPtr(t) && !isInt(t) && t.Kind != types.Struct {
		b.errorf(args[0].Pos(), "path() only supports pointer or record argument (%s provided)", t)
		return nil
	}
	if !b.requireProvs(e, "path", "fentry", "fexit", "iter", "tp_btf") {
		return nil
	}
	return types.StringOf(size)
}

func builtinJoin(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "join", args, 1, 2) {
		return nil
	}
	t := b.expr(args[0])
	if len(args) == 2 {
		sep, ok := b.constStr(args[1], "join()")
		if !ok {
			return nil
		}
		ci.Format = &Format{Text: sep}
	} else {
		ci.Format = &Format{Text: " "}
	}
	ci.Args, ci.Async = args[:1], true
	if t != nil && !isPtr(t) && !isInt(t) {
		b.errorf(args[0].Pos(), "join() only supports int or pointer arguments (%s provided)", t)
		return nil
	}
	return types.VoidT
}

func builtinExit(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "exit", args, 0, 1) {
		return nil
	}
	ci.Async = true
	if len(args) == 1 {
		if _, ok := b.expectInt(args[0], "exit"); !ok {
			return nil
		}
	}
	return types.VoidT
}

var signals = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGIOT": 6,
	"SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12,
	"SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCONT": 18,
	"SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24,
	"SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPOLL": 29,
	"SIGPWR": 30, "SIGSYS": 31,
}

func builtinSignal(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.unsafeCall(e, ci, args, 1, 1) {
		return nil
	}
	t := b.expr(args[0])
	if t == nil {
		return nil
	}
	if !b.requireProvs(e, ci.Name, "kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "profile", "tracepoint", "rawtracepoint", "fentry", "fexit", "tp_btf", "interval", "software", "hardware") {
		return nil
	}
	c, isConst := b.info.Consts[args[0]]
	switch {
	case isConst && c.IsStr:
		name := strings.ToUpper(c.Str)
		if !strings.HasPrefix(name, "SIG") {
			name = "SIG" + name
		}
		n, ok := signals[name]
		if !ok {
			b.errorf(args[0].Pos(), "%s is not a valid signal", c.Str)
			return nil
		}
		b.info.Consts[args[0]] = Const{Int: int64(n)}
		b.info.Types[args[0]] = types.U32
	case isConst:
		if c.Int < 1 || c.Int > 64 {
			b.errorf(args[0].Pos(), "%d is not a valid signal, allowed range: [1,64]", c.Int)
			return nil
		}
	case !isIntegral(t):
		b.errorf(args[0].Pos(), "%s() expects a signal name or number (%s provided)", ci.Name, t)
		return nil
	}
	return types.VoidT
}

func builtinNtop(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "ntop", args, 1, 2) {
		return nil
	}
	addr := args[len(args)-1]
	if len(args) == 2 {
		if _, ok := b.expectInt(args[0], "ntop"); !ok {
			return nil
		}
		ci.Mode = "af"
	}
	t := b.expr(addr)
	if t == nil {
		return nil
	}
	switch {
	case isInt(t) && t.Size <= 8:
	case t.Kind == types.Array && t.Elem.Kind == types.Int && (t.Size == 4 || t.Size == 16):
	case isPtr(t) && t.Elem.Kind == types.Array && (t.Elem.Size == 4 || t.Elem.Size == 16):
	case t.Kind == types.Array || isPtr(t) && t.Elem.Kind == types.Array:
		b.errorf(addr.Pos(), "ntop() argument must be 4 or 16 bytes in size")
		return nil
	default:
		b.errorf(addr.Pos(), "ntop() expects an integer or array argument, got %s", t)
		return nil
	}
	return inetT
}

func builtinPton(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	s, ok := b.strArg(e, "pton", args, 1, 1)
	if !ok {
		return nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		b.errorf(args[0].Pos(), "pton() expects a valid IPv4 or IPv6 address, got %q", s)
		return nil
	}
	bytes := ip.AsSlice()
	b.info.Consts[e] = Const{Bytes: bytes}
	return types.ArrayOf(types.U8, len(bytes))
}

func builtinCgroupid(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	path, ok := b.strArg(e, "cgroupid", args, 1, 1)
	if !ok {
		return nil
	}
	// A cgroup v2 id is the inode number of its directory.
	fi, err := os.Stat(path)
	if err != nil {
		b.errorf(args[0].Pos(), "cgroupid(): %v", err)
		return nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		b.setConst(e, int64(st.Ino))
	}
	return types.U64
}

func builtinCgroupPath(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "cgroup_path", args, 1, 2) {
		return nil
	}
	if _, ok := b.expectInt(args[0], "cgroup_path"); !ok {
		return nil
	}
	if len(args) == 2 {
		f, ok := b.constStr(args[1], "cgroup_path()")
		if !ok {
			return nil
		}
		ci.Format = &Format{Text: f}
		ci.Args = args[:1]
	}
	ci.Async = true
	return cgroupPathT
}

func builtinSym(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, ci.Name, args, 1, 1) {
		return nil
	}
	if _, ok := b.expectInt(args[0], ci.Name); !ok {
		return nil
	}
	ci.Async = true
	if ci.Name == "usym" {
		return usymT
	}
	return types.KSymT
}

func builtinKaddr(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if _, ok := b.strArg(e, ci.Name, args, 1, 1); !ok {
		return nil
	}
	if ci.Name == "uaddr" {
		if !b.requireProvs(e, "uaddr", "uprobe", "uretprobe", "usdt") {
			return nil
		}
		return userPtr(types.PointerTo(types.U64))
	}
	return types.U64
}

func builtinPercpuKaddr(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if _, ok := b.strArg(e, ci.Name, args, 1, 2); !ok {
		return nil
	}
	if len(args) == 2 {
		if _, ok := b.expectInt(args[1], ci.Name); !ok {
			return nil
		}
	}
	return types.PointerTo(types.U64)
}

var x86Regs = map[string]bool{
	"r15": true, "r14": true, "r13": true, "r12": true, "bp": true, "bx": true,
	"r11": true, "r10": true, "r9": true, "r8": true, "ax": true, "cx": true,
	"dx": true, "si": true, "di": true, "orig_ax": true, "ip": true, "cs": true,
	"flags": true, "sp": true, "ss": true,
}

func builtinReg(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	name, ok := b.strArg(e, "reg", args, 1, 1)
	if !ok {
		return nil
	}
	if !x86Regs[name] {
		b.errorf(args[0].Pos(), "'%s' is not a valid register on this architecture (x86_64)", name)
		return nil
	}
	if !b.requireProvs(e, "reg", "kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "profile", "interval", "software", "hardware", "watchpoint", "asyncwatchpoint") {
		return nil
	}
	return types.U64
}

func builtinMacaddr(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	t := b.oneArg(e, "macaddr", args)
	if t == nil {
		return nil
	}
	switch {
	case t.Kind == types.Array && t.Size >= 6:
	case isPtr(t), isInt(t):
	case t.Kind == types.Array:
		b.errorf(args[0].Pos(), "macaddr() argument must be at least 6 bytes in size")
		return nil
	default:
		b.errorf(args[0].Pos(), "macaddr() only supports array or pointer arguments (%s provided)", t)
		return nil
	}
	return macT
}

func builtinStrerror(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "strerror", args, 1, 1) {
		return nil
	}
	if _, ok := b.expectInt(args[0], "strerror"); !ok {
		return nil
	}
	return strerrorT
}

func (b *body) expectStrLike(e syntax.Expr, fn string) bool {
	t := b.expr(e)
	if t == nil {
		return false
	}
	if !stringLike(t) && !isPtr(t) {
		b.errorf(e.Pos(), "%s() expects string arguments (%s provided)", fn, t)
		return false
	}
	return true
}

func builtinStrncmp(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "strncmp", args, 3, 3) {
		return nil
	}
	ok1 := b.expectStrLike(args[0], "strncmp")
	ok2 := b.expectStrLike(args[1], "strncmp")
	n, ok3 := b.constInt(args[2], "strncmp()")
	if ok3 && n < 0 {
		b.errorf(args[2].Pos(), "Builtin strncmp requires a non-negative literal")
		return nil
	}
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	return types.I64
}

func strPair(result *types.Type) func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	return func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
		if !b.nargs(e, ci.Name, args, 2, 2) {
			return nil
		}
		ok1 := b.expectStrLike(args[0], ci.Name)
		ok2 := b.expectStrLike(args[1], ci.Name)
		if !ok1 || !ok2 {
			return nil
		}
		return result
	}
}

func builtinStrlen(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, ci.Name, args, 1, 1) {
		return nil
	}
	if !b.expectStrLike(args[0], ci.Name) {
		return nil
	}
	if c, ok := b.info.Consts[args[0]]; ok && c.IsStr {
		b.setConst(e, int64(len(c.Str)))
	}
	return types.U64
}

// builtinStrcap is the capacity of a string-like value: what a string or
// an array can hold, known when the script is compiled; a pointer says
// nothing of what it points to, so its string's length stands in.
func builtinStrcap(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, ci.Name, args, 1, 1) {
		return nil
	}
	if !b.expectStrLike(args[0], ci.Name) {
		return nil
	}
	switch t := b.info.Types[args[0]]; t.Kind {
	case types.String:
		b.setConst(e, int64(t.Size))
	case types.Array:
		b.setConst(e, int64(t.Len))
	}
	return types.I64
}

// builtinAssertStr checks when the script is compiled that its argument
// is string-like: a string, or an array of or a pointer to int8.
func builtinAssertStr(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	t := b.oneArg(e, ci.Name, args)
	if t == nil {
		return nil
	}
	switch t.Kind {
	case types.String:
	case types.Array, types.Pointer:
		what := "arrays must contain"
		if t.Kind == types.Pointer {
			what = "pointers must point to"
		}
		if el := t.Elem; el == nil || el.Kind != types.Int || el.Size != 1 || !el.Signed {
			b.errorf(args[0].Pos(), "string-like %s a char-like type (%s provided)", what, t)
			return nil
		}
	default:
		b.errorf(args[0].Pos(), "string-like values must be either strings, arrays or pointers (%s provided)", t)
		return nil
	}
	return types.VoidT
}

func builtinOverride(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.unsafeCall(e, ci, args, 1, 1) {
		return nil
	}
	if _, ok := b.expectInt(args[0], "override"); !ok {
		return nil
	}
	if !b.requireProvs(e, "override", "kprobe") {
		return nil
	}
	return types.VoidT
}

// builtinWriteUser types write_user(dst, src, len): the first len bytes
// of the value src are written to the user-space address dst; the result
// says whether the kernel wrote them.
func builtinWriteUser(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.unsafeCall(e, ci, args, 3, 3) {
		return nil
	}
	if _, ok := b.expectInt(args[0], ci.Name); !ok {
		return nil
	}
	st := b.expr(args[1])
	if st == nil {
		return nil
	}
	if isPtr(st) || st.Kind == types.Void || st.IsAggregate() || st.Size == 0 {
		b.errorf(args[1].Pos(), "write_user() writes a value the script holds (a string, an integer, a tuple...), not %s: read what a pointer points to first", st)
		return nil
	}
	if _, ok := b.expectInt(args[2], ci.Name); !ok {
		return nil
	}
	if c, ok := b.info.Consts[args[2]]; ok && !c.IsStr && (c.Int <= 0 || c.Int > int64(st.Size)) {
		b.errorf(args[2].Pos(), "write_user() length must be from 1 to %d, the size of the value written (%s)", st.Size, st)
		return nil
	}
	return types.BoolT
}

func builtinBswap(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	t := b.oneArg(e, "bswap", args)
	if t == nil {
		return nil
	}
	if !isIntegral(t) {
		b.errorf(args[0].Pos(), "bswap() only supports integer arguments (%s provided)", t)
		return nil
	}
	t = intOf(valueType(t))
	return types.IntOf(t.Size, false)
}

func builtinSkboutput(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if _, ok := b.strArg(e, "skboutput", args, 4, 4); !ok {
		return nil
	}
	for _, a := range args[1:] {
		if _, ok := b.expectInt(a, "skboutput"); !ok {
			return nil
		}
	}
	if _, ok := b.constInt(args[3], "skboutput() offset"); !ok {
		return nil
	}
	if !b.requireProvs(e, "skboutput", "fentry", "fexit", "tp_btf") {
		return nil
	}
	ci.Async = true
	return types.U32
}

func builtinPtrArg(result *types.Type) func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	return func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
		if !b.nargs(e, ci.Name, args, 1, 1) {
			return nil
		}
		t := b.expr(args[0])
		if t == nil {
			return nil
		}
		if !isPtr(t) && !isInt(t) {
			b.errorf(args[0].Pos(), "%s() expects a pointer (%s provided)", ci.Name, t)
			return nil
		}
		return result
	}
}

func builtinAddrSpace(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	t := b.oneArg(e, ci.Name, args)
	if t == nil {
		return nil
	}
	if !isPtr(t) && !isInt(t) {
		b.errorf(args[0].Pos(), "%s() only supports integer or pointer arguments (%s provided)", ci.Name, t)
		return nil
	}
	c := *t
	c.User = ci.Name == "uptr"
	c.Kernel = isInt(t) && !c.User
	return &c
}

func builtinTime(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "time", args, 0, 1) {
		return nil
	}
	f := "%H:%M:%S\n"
	if len(args) == 1 {
		s, ok := b.constStr(args[0], "time()")
		if !ok {
			return nil
		}
		f = s
	}
	ci.Format = &Format{Text: f}
	ci.Args, ci.Async = nil, true
	return types.VoidT
}

func builtinStrftime(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	f, ok := b.strArg(e, "strftime", args, 2, 2)
	if !ok {
		return nil
	}
	if _, ok := b.expectInt(args[1], "strftime"); !ok {
		return nil
	}
	ci.Format = &Format{Text: f}
	ci.Args, ci.Async = args[1:], true
	return timestampT
}

func builtinMemcmp(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "memcmp", args, 3, 3) {
		return nil
	}
	b.expr(args[0])
	b.expr(args[1])
	if _, ok := b.constInt(args[2], "memcmp()"); !ok {
		return nil
	}
	return types.I64
}

func builtinGetopt(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	name, ok := b.strArg(e, "getopt", args, 1, 3)
	if !ok {
		return nil
	}
	if !contains(b.c.getopts, name) {
		b.c.getopts = append(b.c.getopts, name)
	}
	val, given := b.c.opts.Named[name]
	on := given && !strings.EqualFold(val, "false") && val != "0"
	if len(args) == 1 {
		b.setConst(e, boolInt(on))
		return types.BoolT
	}
	t := b.expr(args[1])
	if t == nil {
		return nil
	}
	def, isConst := b.info.Consts[args[1]]
	if !isConst {
		b.errorf(args[1].Pos(), "getopt() default value must be a literal")
		return nil
	}
	if len(args) == 3 {
		if _, ok := b.constStr(args[2], "getopt()"); !ok {
			return nil
		}
	}
	switch {
	case t.Kind == types.Bool:
		if !given {
			on = def.Int != 0
		}
		b.setConst(e, boolInt(on))
		return types.BoolT
	case isIntegral(t):
		if !given {
			b.setConst(e, def.Int)
			return types.I64
		}
		n, err := strconv.ParseInt(val, 0, 64)
		switch {
		case err == nil:
		case strings.EqualFold(val, "true"):
			// As bpftrace, a number option may be given as a boolean.
			n = 1
		case strings.EqualFold(val, "false"):
			n = 0
		default:
			b.errorf(e.Pos(), "getopt(%q): %q is not a number", name, val)
			return nil
		}
		b.setConst(e, n)
		return types.I64
	case t.Kind == types.String:
		if given {
			def = Const{Str: val, IsStr: true}
		}
		b.info.Consts[e] = def
		return types.StringOf(b.c.maxStr)
	}
	b.errorf(args[1].Pos(), "getopt() default value must be a bool, integer or string")
	return nil
}

// typeTest implements is_ptr, is_str, ...: compile-time type predicates.
func typeTest(test func(*types.Type) bool) func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	return func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
		if !b.nargs(e, ci.Name, args, 1, 1) {
			return nil
		}
		t := b.expr(args[0])
		if t == nil {
			return nil
		}
		b.setConst(e, boolInt(test(t)))
		return types.BoolT
	}
}

// isInteger is what bpftrace's is_integer() tests: a value whose type is
// an integer. Booleans and the values of aggregations have types of their
// own, even where they count as numbers.
func isInteger(t *types.Type) bool {
	return t.Kind == types.Int || t.Kind == types.Enum
}

func builtinIsLiteral(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, ci.Name, args, 1, 1) {
		return nil
	}
	b.expr(args[0])
	lit := false
	switch args[0].(type) {
	case *syntax.IntLit, *syntax.StrLit, *syntax.BoolLit:
		lit = true
	}
	b.setConst(e, boolInt(lit))
	return types.BoolT
}

func builtinStaticAssert(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, ci.Name, args, 1, 2) {
		return nil
	}
	msg := "static assertion failed"
	if len(args) == 2 {
		s, ok := b.constStr(args[1], ci.Name+"()")
		if !ok {
			return nil
		}
		msg = s
	}
	t := b.expr(args[0])
	if t == nil {
		return nil
	}
	c, ok := b.info.Consts[args[0]]
	if !ok || c.IsStr || !isIntegral(t) {
		b.errorf(args[0].Pos(), "static_assert() needs a condition known when the script is compiled")
		return nil
	}
	if c.Int == 0 {
		b.errorf(e.Pos(), "%s", msg)
	}
	return types.VoidT
}

func builtinFail(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if len(args) == 0 {
		b.errorf(e.Pos(), "fail() requires at least one argument (0 provided)")
		return nil
	}
	f, ok := b.constStr(args[0], "fail()")
	if !ok {
		return nil
	}
	vals := make([]any, 0, len(args)-1)
	for _, a := range args[1:] {
		b.expr(a)
		c, ok := b.info.Consts[a]
		if !ok {
			b.errorf(a.Pos(), "fail() arguments must be literals")
			return nil
		}
		if c.IsStr {
			vals = append(vals, c.Str)
		} else {
			vals = append(vals, c.Int)
		}
	}
	b.errorf(e.Pos(), "%s", fmt.Sprintf(f, vals...))
	return types.VoidT
}

func builtinAssert(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "assert", args, 2, 2) {
		return nil
	}
	t := b.expr(args[0])
	if t != nil && !isScalar(t) {
		b.errorf(args[0].Pos(), "assert() condition must be an integer or bool (%s provided)", t)
	}
	if _, ok := b.constStr(args[1], "assert()"); !ok {
		return nil
	}
	ci.Async = true
	return types.VoidT
}

func builtinUnwatch(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "unwatch", args, 1, 1) {
		return nil
	}
	if _, ok := b.expectInt(args[0], "unwatch"); !ok {
		return nil
	}
	ci.Async = true
	return types.VoidT
}

func builtinComm(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, ci.Name, args, 0, 1) {
		return nil
	}
	if len(args) == 1 {
		t := b.expr(args[0])
		if t == nil {
			return nil
		}
		if ci.Name == "comm" && !isIntegral(t) {
			b.errorf(args[0].Pos(), "comm() expects a pid (%s provided)", t)
			return nil
		}
		if ci.Name != "comm" && !isPtr(t) && !isInt(t) {
			b.errorf(args[0].Pos(), "%s() expects a struct task_struct pointer (%s provided)", ci.Name, t)
			return nil
		}
	}
	if ci.Name == "ppid" {
		return types.U32
	}
	return commT
}

func builtinCurtask(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "curtask", args, 0, 0) {
		return nil
	}
	if t := b.c.btf.named("struct task_struct"); t != nil {
		return types.PointerTo(t)
	}
	return types.U64
}

func builtinProbetype(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "probetype", args, 0, 0) {
		return nil
	}
	if len(b.provs) == 1 {
		p := b.provs[0]
		if p == "begin" || p == "end" {
			p = "special"
		}
		b.info.Consts[e] = Const{Str: p, IsStr: true}
		return types.StringOf(len(p) + 1)
	}
	return types.StringOf(16)
}

// builtinNumberName types syscall_name() and signal_name(): a number that
// output prints as its name.
func builtinNumberName(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, ci.Name, args, 1, 1) {
		return nil
	}
	if _, ok := b.expectInt(args[0], ci.Name); !ok {
		return nil
	}
	if ci.Name == "signal_name" {
		return signalT
	}
	return syscallT
}

func init() {
	builtins = map[string]builtin{
		"pid":       withMode(types.U32, "curr_ns", "init"),
		"tid":       withMode(types.U32, "curr_ns", "init"),
		"nsecs":     withMode(types.U64, "monotonic", "boot", "tai", "sw_tai"),
		"uid":       fixed(types.U64),
		"gid":       fixed(types.U64),
		"cpu":       fixed(types.U32),
		"ncpus":     fixed(types.U64),
		"numaid":    fixed(types.U32),
		"rand":      fixed(types.U32),
		"cpid":      fixed(types.U32),
		"has_cpid":  fixed(types.BoolT),
		"usermode":  fixed(types.U8),
		"elapsed":   fixed(types.U64),
		"jiffies":   fixed(types.U64),
		"cgroup":    fixed(types.U64),
		"username":  fixed(types.UserT),
		"probe":     fixed(types.ProbeT),
		"curtask":   {bare: true, fn: builtinCurtask},
		"comm":      {bare: true, fn: builtinComm},
		"pcomm":     {bare: true, fn: builtinComm},
		"ppid":      {bare: true, fn: builtinComm},
		"probetype": {bare: true, fn: builtinProbetype},
		"func":      {bare: true, fn: builtinFunc},
		"retval":    {bare: true, fn: builtinRetval},
		"args":      {bare: true, fn: builtinArgs},
		"kstack":    builtinStack(types.KStack),
		"ustack":    builtinStack(types.UStack),

		"printf":        {fn: fmtFunc},
		"debugf":        {fn: builtinDebugf},
		"errorf":        {fn: fmtFunc},
		"warnf":         {fn: fmtFunc},
		"system":        {fn: fmtFunc},
		"cat":           {fn: fmtFunc},
		"print":         {fn: builtinPrint},
		"clear":         {fn: mapFunc},
		"zero":          {fn: mapFunc},
		"len":           {fn: mapFunc},
		"delete":        {fn: mapKeyFunc},
		"has_key":       {fn: mapKeyFunc},
		"find":          {fn: mapKeyFunc},
		"time":          {fn: builtinTime},
		"strftime":      {fn: builtinStrftime},
		"str":           {fn: builtinStr},
		"buf":           {fn: builtinStr},
		"path":          {fn: builtinPath},
		"join":          {fn: builtinJoin},
		"exit":          {fn: builtinExit},
		"signal":        {fn: builtinSignal},
		"signal_thread": {fn: builtinSignal},
		"ntop":          {fn: builtinNtop},
		"pton":          {fn: builtinPton},
		"cgroupid":      {fn: builtinCgroupid},
		"cgroup_path":   {fn: builtinCgroupPath},
		"ksym":          {fn: builtinSym},
		"usym":          {fn: builtinSym},
		"kaddr":         {fn: builtinKaddr},
		"uaddr":         {fn: builtinKaddr},
		"percpu_kaddr":  {fn: builtinPercpuKaddr},
		"reg":           {fn: builtinReg},
		"macaddr":       {fn: builtinMacaddr},
		"strerror":      {fn: builtinStrerror},
		"strncmp":       {fn: builtinStrncmp},
		"strcontains":   {fn: strPair(types.BoolT)},
		"strstr":        {fn: strPair(types.I64)},
		"globmatch":     {fn: strPair(types.BoolT)},
		"strlen":        {fn: builtinStrlen},
		"strcap":        {fn: builtinStrcap},
		"assert_str":    {fn: builtinAssertStr},
		"override":      {fn: builtinOverride},
		"write_user":    {fn: builtinWriteUser},
		"bswap":         {fn: builtinBswap},
		"skboutput":     {fn: builtinSkboutput},
		"socket_cookie": {fn: builtinPtrArg(types.U64)},
		"kptr":          {fn: builtinAddrSpace},
		"uptr":          {fn: builtinAddrSpace},
		"unwatch":       {fn: builtinUnwatch},
		"memcmp":        {fn: builtinMemcmp},
		"getopt":        {fn: builtinGetopt},
		"syscall_name":  {fn: builtinNumberName},
		"signal_name":   {fn: builtinNumberName},
		"static_assert": {fn: builtinStaticAssert},
		"fail":          {fn: builtinFail},
		"__has_key":     {fn: mapHelper(types.BoolT, "map", "key")},
		"__delete":      {fn: mapHelper(types.I64, "map", "key")},
		"__elem_count":  {fn: mapHelper(types.I64, "map")},
		"assert":        {fn: builtinAssert},
		"is_ptr":        {fn: typeTest(isPtr)},
		"is_str":        {fn: typeTest(isStr)},
		"is_array":      {fn: typeTest(func(t *types.Type) bool { return t.Kind == types.Array })},
		"is_integer":    {fn: typeTest(isInteger)},
		"is_unsigned_integer": {fn: typeTest(func(t *types.Type) bool {
			return isInteger(t) && !isSigned(t)
		})},
		"is_literal": {fn: builtinIsLiteral},
		"default_str_length": {bare: true, fn: func(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
			if !b.nargs(e, ci.Name, args, 0, 0) {
				return nil
			}
			b.setConst(e, int64(b.c.maxStr))
			return types.U64
		}},
		"kfunc_exist":   {fn: builtinKfunc},
		"kfunc_allowed": {fn: builtinKfunc},
	}
}

// pointArgs is the type of args at point p: the tracepoint format's
// struct, or the struct of a raw tracepoint's BTF prototype.
func (c *checker) pointArgs(p *probe.Point) *types.Type {
	if t, ok := c.protoArgs[p]; ok {
		return t
	}
	if p.Args != nil {
		t := c.completePointees(p.Args)
		c.protoArgs[p] = t
		return t
	}
	proto := p.Proto
	if proto == nil && (p.Provider == "fentry" || p.Provider == "fexit") {
		proto = c.btf.funcProto(p.Func)
	}
	if proto == nil {
		return nil
	}
	t := c.btf.protoArgs(p.Func, proto)
	c.protoArgs[p] = t
	return t
}

// completePointees gives the struct pointers of a tracepoint format, which
// knows its pointees only by name, the script's or the kernel's
// definition (the kernel's found when first needed: a pointer passed on
// or cast needs none); those of raw tracepoints and fentry, typed from
// the kernel's BTF, get the script's definition when it has one.
func (c *checker) completePointees(args *types.Type) *types.Type {
	var fields []types.Field
	for i, f := range args.Fields {
		pt := f.Type
		if !isPtr(pt) || pt.Elem.Kind != types.Struct || pt.Elem.Name == "" {
			continue
		}
		def := c.ctypes[pt.Elem.Name]
		if def == nil && len(pt.Elem.Fields) == 0 && pt.Elem.Size == 0 {
			def = types.LazyStruct(pt.Elem.Name, pt.Elem.Union, 0, func(t *types.Type) {
				if k := c.btf.named(t.Name); k != nil {
					t.Size, t.AttrAlign, t.Fields = k.Size, k.AttrAlign, k.Complete().Fields
				}
			})
		}
		if def == nil || def == pt.Elem {
			continue
		}
		if fields == nil {
			fields = append([]types.Field(nil), args.Fields...)
		}
		np := *pt
		np.Elem = def
		fields[i].Type = &np
	}
	if fields == nil {
		return args
	}
	t := *args
	t.Fields = fields
	return &t
}

// builtinKfunc answers at compile time whether a kernel function exists
// (kfunc_exist) or may be called from this probe (kfunc_allowed, which
// the code generator asks the kernel for the probe's program type).
func builtinKfunc(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	name, ok := b.strArg(e, ci.Name, args, 1, 1)
	if !ok {
		return nil
	}
	if ci.Name == "kfunc_exist" {
		b.setConst(e, boolInt(b.c.btf.funcProto(name) != nil))
	}
	return types.BoolT
}
