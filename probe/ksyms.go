package probe

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
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
	funcs    []kernelFunc // sorted by module, then name
	funcSet  map[kernelFunc]bool
	funcsErr error
	read     bool

	btfFuncs map[string][]string // traceable functions with BTF, by module
	modSpecs map[string]*lazybtf.Spec
	convs    map[*lazybtf.Spec]*btftypes.Converter
	iters    []string // iterators, sorted
}

// kernelFuncs lists the functions kprobes and fentry can attach to: the
// tracefs list of functions ftrace can patch when it is readable (root
// only, and refused on some kernels), else the text symbols of the
// kernel's symbol table.
func (r *resolver) kernelFuncs() ([]kernelFunc, map[kernelFunc]bool, error) {
	k := &r.kernel
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.read {
		return k.funcs, k.funcSet, k.funcsErr
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
			return nil, nil, k.funcsErr
		}
	}
	sort.Slice(funcs, func(i, j int) bool {
		if funcs[i].Module != funcs[j].Module {
			return funcs[i].Module < funcs[j].Module
		}
		return funcs[i].Name < funcs[j].Name
	})
	k.funcSet = make(map[kernelFunc]bool, len(funcs))
	for _, f := range funcs {
		if !k.funcSet[f] {
			k.funcSet[f] = true
			k.funcs = append(k.funcs, f)
		}
	}
	return k.funcs, k.funcSet, nil
}

func readFuncList(path string, parse func(string) (kernelFunc, bool)) ([]kernelFunc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return scanFuncs(f, parse)
}

func scanFuncs(rd io.Reader, parse func(string) (kernelFunc, bool)) ([]kernelFunc, error) {
	var funcs []kernelFunc
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		if fn, ok := parse(sc.Text()); ok {
			funcs = append(funcs, fn)
		}
	}
	return funcs, sc.Err()
}

// parseFilterFunction reads a line of available_filter_functions:
// "name" or "name [module]".
func parseFilterFunction(line string) (kernelFunc, bool) {
	f := strings.Fields(line)
	if len(f) == 0 || strings.HasPrefix(f[0], "__ftrace_invalid_address__") {
		return kernelFunc{}, false
	}
	fn := kernelFunc{Name: f[0]}
	if len(f) > 1 {
		fn.Module = strings.Trim(f[1], "[]")
	}
	return fn, true
}

// parseKallsyms reads a text symbol of /proc/kallsyms: "addr t name" or
// "addr t name\t[module]". The kernel's own trampolines and BPF programs
// sit in pseudo modules ("[bpf]", "[__builtin__ftrace]") and the
// __pfx_ symbols mark padding before functions: none can be traced.
func parseKallsyms(line string) (kernelFunc, bool) {
	f := strings.Fields(line)
	if len(f) < 3 || (f[1] != "t" && f[1] != "T") || strings.HasPrefix(f[2], "__pfx_") {
		return kernelFunc{}, false
	}
	fn := kernelFunc{Name: f[2]}
	if len(f) > 3 {
		fn.Module = strings.Trim(f[3], "[]")
		if fn.Module == "bpf" || strings.HasPrefix(fn.Module, "__builtin") {
			return kernelFunc{}, false
		}
	}
	return fn, true
}

// matchModule matches a module pattern as written, where "vmlinux" names
// the kernel proper.
func matchModule(pattern string, f kernelFunc) bool {
	return wildcardMatch(pattern, f.moduleName())
}

// nearestFunc suggests a kernel function for a misspelled name.
func nearestFunc(name string, funcs []kernelFunc) string {
	names := make([]string, len(funcs))
	for i, f := range funcs {
		names[i] = f.Name
	}
	return nearest(name, names)
}
