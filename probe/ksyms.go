package probe

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"friday/btftypes"
	"friday/lazybtf"
)

// kernelFunc is a traceable kernel function; Module is "" for the kernel
// proper (vmlinux).
type kernelFunc struct {
	Module string
	Name   string
}

// moduleName is how names and messages spell a function's module.
func (f kernelFunc) moduleName() string {
	if f.Module == "" {
		return "vmlinux"
	}
	return f.Module
}

// kernelState is what the kernel function providers (kprobe, fentry,
// iter) read and keep. Its zero value reads the machine; tests point it at
// test data.
type kernelState struct {
	kallsyms  string                                             // symbol table; "" means /proc/kallsyms
	kprobes   func() error                                       // reports whether kprobes work; nil looks at the machine
	moduleBTF func(string, *lazybtf.Spec) (*lazybtf.Spec, error) // a module's BTF; nil reads the machine's

	mu       sync.Mutex
	funcs    funcList
	funcsErr error
	read     bool

	btfFuncs map[string][]string // traceable functions with BTF, by module
	modSpecs map[string]*lazybtf.Spec
	convs    map[*lazybtf.Spec]*btftypes.Converter
	iters    []string // iterators, sorted
}

// funcList is the kernel's traceable functions, sorted by module, then
// name, each once: tens of thousands, found by binary search.
type funcList []kernelFunc

func compareFuncs(a, b kernelFunc) int {
	return cmp.Or(strings.Compare(a.Module, b.Module), strings.Compare(a.Name, b.Name))
}

// has reports whether f is in the list.
func (l funcList) has(f kernelFunc) bool {
	_, ok := slices.BinarySearchFunc(l, f, compareFuncs)
	return ok
}

// kernelFuncs lists the functions kprobes and fentry can attach to: the
// tracefs list of functions ftrace can patch when it is readable (root
// only, and refused on some kernels), else the text symbols of the
// kernel's symbol table.
func (r *resolver) kernelFuncs() (funcList, error) {
	k := &r.kernel
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.read {
		return k.funcs, k.funcsErr
	}
	k.read = true
	var funcs []kernelFunc
	var err error
	if dir, derr := r.dir(); derr == nil {
		funcs, err = readFuncList(filepath.Join(dir, "available_filter_functions"), parseFilterFunction)
	} else {
		err = derr
	}
	if err != nil || len(funcs) == 0 {
		path := k.kallsyms
		if path == "" {
			path = "/proc/kallsyms"
		}
		funcs, err = readFuncList(path, parseKallsyms)
		if err != nil {
			k.funcsErr = fmt.Errorf("cannot list kernel functions: %w", err)
			return nil, k.funcsErr
		}
	}
	slices.SortFunc(funcs, compareFuncs)
	k.funcs = slices.Compact(funcs)
	return k.funcs, nil
}

// readFuncList reads the functions of a list, one a line, which parse
// reads. The names are substrings of one string, the modules' one string
// each: the kernel's symbols are a hundred thousand lines.
func readFuncList(path string, parse func([]byte) (name, module []byte, ok bool)) ([]kernelFunc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The names are written to a builder, whose String is its bytes
	// without a copy; a name's end and module are 8 bytes until then.
	type pending struct {
		end, mod int32 // of the name in names; in mods
	}
	var names strings.Builder
	var found []pending
	var mods []string
	modIndex := map[string]int32{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, mod, ok := parse(sc.Bytes())
		if !ok {
			continue
		}
		m, ok := modIndex[string(mod)]
		if !ok {
			m = int32(len(mods))
			mods = append(mods, string(mod))
			modIndex[mods[m]] = m
		}
		names.Write(name)
		found = append(found, pending{int32(names.Len()), m})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	text := names.String()
	funcs := make([]kernelFunc, len(found))
	start := 0
	for i, p := range found {
		funcs[i] = kernelFunc{Name: text[start:p.end], Module: mods[p.mod]}
		start = int(p.end)
	}
	return funcs, nil
}

// field splits s after its first field, separated by spaces or tabs.
func field(s []byte) (first, rest []byte) {
	s = bytes.TrimLeft(s, " \t")
	i := bytes.IndexAny(s, " \t")
	if i < 0 {
		return s, nil
	}
	return s[:i], s[i:]
}

// parseFilterFunction reads a line of available_filter_functions:
// "name" or "name [module]".
func parseFilterFunction(line []byte) (name, module []byte, ok bool) {
	name, rest := field(line)
	if len(name) == 0 || bytes.HasPrefix(name, []byte("__ftrace_invalid_address__")) {
		return nil, nil, false
	}
	mod, _ := field(rest)
	return name, bytes.Trim(mod, "[]"), true
}

// parseKallsyms reads a text symbol of /proc/kallsyms: "addr t name" or
// "addr t name\t[module]". The kernel's own trampolines and BPF programs
// sit in pseudo modules ("[bpf]", "[__builtin__ftrace]") and the
// __pfx_ symbols mark padding before functions: none can be traced.
func parseKallsyms(line []byte) (name, module []byte, ok bool) {
	_, rest := field(line)
	kind, rest := field(rest)
	name, rest = field(rest)
	if len(name) == 0 || string(kind) != "t" && string(kind) != "T" || bytes.HasPrefix(name, []byte("__pfx_")) {
		return nil, nil, false
	}
	mod, _ := field(rest)
	mod = bytes.Trim(mod, "[]")
	if string(mod) == "bpf" || bytes.HasPrefix(mod, []byte("__builtin")) {
		return nil, nil, false
	}
	return name, mod, true
}

// matchModule matches a module pattern as written, where "vmlinux" names
// the kernel proper.
func matchModule(pattern string, f kernelFunc) bool {
	return wildcardMatch(pattern, f.moduleName())
}
