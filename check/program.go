// Package check resolves names and types of a parsed script and produces the
// checked program that code generation consumes.
//
// The checker does not modify the tree it is given. Macro calls are
// expanded into copies: Probe.Syntax (and Func.Syntax) are the expanded
// trees, and all Info tables are keyed by nodes of those trees, so code
// generation must walk Probe.Syntax, never the original File.
//
// Maps take their types from assignments anywhere in the script and
// variables widen as later assignments need, so the checker runs over the
// whole script several times: silent passes until the inferred types stop
// changing, then one pass that reports errors and whose Info is kept. In
// that last pass every variable already has its final type.
//
// Scratch variables declared with let live in their block. A variable
// created by a plain assignment stays visible after its block ends, as it
// did in older bpftrace, so scripts that assign a variable in both arms of
// an if and read it afterwards keep working.
package check

import (
	"cmp"
	"friday/probe"
	"friday/syntax"
	"friday/types"
	"strings"
)

// Program is a checked script.
type Program struct {
	File   *syntax.File
	Probes []*Probe
	Maps   map[string]*Map // by name, with '@'
	Funcs  map[string]*Func
	Config map[string]Const // config block, keys lower case without "bpftrace_"
	// MaxStrLen is the capacity given to strings read at run time (str(),
	// path(), ...) when no length is written.
	MaxStrLen int
	// Getopts are the named parameters the script reads with getopt(),
	// in the order it first reads them.
	Getopts []string
}

// Probe is one action block checked for a set of attach points that share
// the same argument types (usually one point; a wildcard whose body does not
// use args shares one Probe for all matches).
type Probe struct {
	Syntax *syntax.Probe // with macros expanded
	Points []*probe.Point
	Info   *Info
}

// Func is a user-defined function with its checked body.
type Func struct {
	Syntax *syntax.FuncDecl // with macros expanded
	Params []*Var
	Result *types.Type // VoidT when no result is declared
	Info   *Info
}

// Map is a global map with its key and value type. Key is nil for a map used
// without keys (@x = 1), a Tuple for multiple keys.
//
// Integer keys and values are always 8 bytes wide in maps (as bpftrace
// stores them); the signedness is that of the first assignment.
type Map struct {
	Name  string
	Key   *types.Type
	Value *types.Type
	Decl  *syntax.MapDecl // nil when not declared
	Pos   syntax.Pos      // first use
	// Kind is the declared BPF map kind ("hash", "lruhash", "percpuhash",
	// "percpulruhash", "percpuarray"), "" when not declared.
	Kind string
	Size int64 // declared max entries, 0 for the default

	keySet bool // Key is known (nil then means "no keys")
}

// Var is one scratch variable (a $name in one scope).
type Var struct {
	Name string
	Type *types.Type
	Pos  syntax.Pos

	// MayBeUnset marks a variable used after the block that assigned it
	// has ended (older bpftrace scoped variables to the whole probe): the
	// assignment may not have run, so it must start as zero.
	MayBeUnset bool

	fixed bool // declared with a type: assignments may not widen it
	// typed is the size of the integer a typed value (not a literal) first
	// gave it, before variables widened it to 64 bits; 0 for others.
	typed int
	// seeded marks a variable that starts with the type of the pass
	// before and has not been assigned in this one.
	seeded bool
	// width is the size bpftrace gives an integer variable, which sizeof
	// reports: that of the widest value assigned to it, a literal taking
	// the smallest integer that holds it (1 is a uint8), while the
	// variable itself holds 64 bits here.
	width int
}

// CompareVars orders variables by where they are declared, then by name: a
// stable order for dumps and for laying variables out on the stack.
func CompareVars(a, b *Var) int {
	return cmp.Or(a.Pos.Compare(b.Pos), strings.Compare(a.Name, b.Name))
}

// Info records what the checker learned about the nodes of one probe body.
type Info struct {
	// Types is the type of every expression. Integer arithmetic is done in
	// 64 bits: the result of + - * / % & | ^ << >> and unary - ~ is a
	// 64-bit Int, signed only when both operands are signed (a constant
	// operand takes the signedness of the other). Comparisons, ! && || give
	// Bool. Division, modulo, right shift and ordered comparisons are
	// signed when the operand types (Types[X], Types[Y]) are both signed.
	// Pointer ± integer scales the integer by Elem.Size, as C does.
	//
	// Reading an aggregate map value (@c where @c = count()) gives the
	// aggregate type (Count, Sum, ...); such values may appear where
	// integers do (arithmetic, comparisons, casts, printf %d): codegen must
	// then combine the per-CPU values (sum for Count/Sum, min, max, and
	// total/count for Avg).
	Types map[syntax.Expr]*types.Type
	Vars  map[*syntax.Var]*Var // the variable each $name refers to
	Decls map[*syntax.VarDecl]*Var

	// Calls says what each call, and each identifier that names a builtin
	// (pid, comm, args, arg0, kstack, ...), resolved to.
	Calls map[syntax.Expr]*Call
	// Consts holds the value of every expression the checker could fold
	// to a constant: literals, sizeof, offsetof, enum values, positional
	// parameters, $#, arithmetic on constants, pton(), cgroupid(), ...
	// Codegen may emit a constant instead of evaluating such an expression.
	Consts map[syntax.Expr]Const
	// Fors gives the map a for loop iterates (nil for a range loop).
	Fors map[*syntax.ForStmt]*Map
	// Maps gives the map each MapRef names (including MapIndex.Map).
	Maps map[*syntax.MapRef]*Map
	// Unrolls gives the constant count of each unroll statement.
	Unrolls map[*syntax.UnrollStmt]int
}

// Call describes a resolved call or builtin identifier.
//
// Builtins written as identifiers (pid, comm, kstack, args, arg0, ...) and
// as calls (pid(), kstack(perf, 5)) resolve alike. Value types:
//
//	pid tid cpu numaid rand cpid ppid: uint32    uid gid nsecs elapsed
//	jiffies cgroup ncpus: uint64    usermode: uint8    comm pcomm: string[16]
//	curtask: struct task_struct * (uint64 without BTF)    arg0..arg5: uint64
//	sarg0..: int64    retval: uint64 (fexit: the BTF return type)
//	func: ksym (kprobe, fentry) or usym (uprobe, usdt)    probe: probe
//	username: username    kstack/ustack: KStack/UStack with mode and depth
//	ctx: pointer to the iterator's context struct (iter), struct pt_regs *
//	(register-based probes), else uint64 (the context's address)
//
// Sizes of the special kinds as this package makes them (what a map or an
// event record holds): Ksym 8 (address), Usym 16 (address, pid), Inet 24
// (family, 16 address bytes), Timestamp 16 (format id, ns), CgroupPath 16
// (filter id, cgroup id), MacAddr 6, Strerror 8, Syscall 8 (number),
// Username 8 (uid), Probe 8 (probe id), KStack 8 (stack id), UStack 16
// (stack id, pid). Aggregate
// kinds have Size 8, the size of one counter: codegen decides how many
// slots a kind needs. Buffer has Size data bytes.
type Call struct {
	Name string // canonical name: "printf", "pid", "arg" (for arg0..), "sarg", "hist", ...
	// Args are the value arguments as written, without a leading mode
	// identifier (kstack(perf, 5) has Args [5]) or map argument (see Map).
	Args []syntax.Expr
	Func *Func // user function
	Map  *Map  // map operated on: delete, has_key, len, clear, zero, print(@m), find
	// KeyArgs are the key expressions of delete/has_key/find as written,
	// nil for a map without keys. Several keys make one Tuple key (Map.Key);
	// a tuple written as the key, delete(@m, (1, "a")), is one KeyArg whose
	// type (in Info.Types) is the whole key. The same holds for MapIndex.Keys.
	KeyArgs []syntax.Expr
	// Mode is a mode argument: pid(init) "init", nsecs(tai) "tai",
	// kstack(perf) "perf", ntop with explicit family "af".
	Mode string
	N    int // argN/sargN: N; kstack/ustack: depth
	// Format is the parsed format of printf, errorf, warnf, system, cat.
	Format *Format
	// Async marks calls handled by the runtime through an event
	// (printf, print, clear, exit, ...).
	Async bool
	// Unsafe marks calls allowed only with --unsafe.
	Unsafe bool
}

// Const is a value known at compile time.
type Const struct {
	Int   int64  // integer (bits reinterpreted as unsigned when the type is)
	Str   string // string constant, when IsStr
	IsStr bool
	Bytes []byte // array constants (pton)
}
