package uprobe

import (
	"cmp"
	"debug/elf"
	"debug/gosym"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"friday/elfdebug"
)

// Func is one function of a binary.
type Func struct {
	Name   string
	Addr   uint64 // virtual address as the ELF file records it
	Size   uint64 // bytes; 0 when the symbol table does not say
	Offset uint64 // file offset of Addr: what the kernel's uprobe wants
	Global bool   // visible outside its object (global or weak binding)
	IFunc  bool   // a GNU indirect function: Addr is its resolver
	// Hidden marks an old version of a versioned symbol (name@V, kept for
	// programs linked long ago), not the default one (name@@V).
	Hidden bool
}

// Binary is an opened ELF executable or shared library.
type Binary struct {
	Path string
	file *elf.File

	funcs     []Func // sorted by name, then address
	funcsErr  error
	funcsDone bool

	exports []Func // the global functions of .dynsym, by name; nil until read

	debug     *elf.File // separate debug information, when found
	debugDone bool

	cxx map[string]cxxName // demangled C++ names by symbol, once needed
}

// Open opens an ELF executable or shared library for symbol look-ups.
func Open(path string) (*Binary, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not an ELF file: %v", path, err)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		f.Close()
		return nil, fmt.Errorf("%s: not an executable or shared library", path)
	}
	return &Binary{Path: path, file: f}, nil
}

// Close releases the file.
func (b *Binary) Close() error {
	if b.debug != nil {
		b.debug.Close()
	}
	return b.file.Close()
}

// symbols reads every symbol table of the binary: its own, and for a
// stripped file the one of its separate debug information.
func (b *Binary) symbols() ([]elf.Symbol, error) {
	if !b.debugDone && b.file.Section(".symtab") == nil {
		b.debug = elfdebug.OpenSeparate(b.file, b.Path)
		b.debugDone = true
	}
	syms, err := elfdebug.Symbols(b.file, b.debug)
	if err != nil {
		return nil, fmt.Errorf("%s: reading symbols: %v", b.Path, err)
	}
	return syms, nil
}

// ELF gives access to the parsed file, for readers of other sections.
func (b *Binary) ELF() *elf.File { return b.file }

// IsGo reports whether the binary was built by the Go toolchain.
func (b *Binary) IsGo() bool {
	for _, name := range []string{".go.buildinfo", ".gopclntab", ".note.go.buildid"} {
		if b.file.Section(name) != nil {
			return true
		}
	}
	return false
}

// AddrToOffset converts a virtual address of the file into the file offset
// the kernel's uprobe interface wants, through the loadable segment that
// holds it.
func (b *Binary) AddrToOffset(addr uint64) (uint64, error) {
	for _, p := range b.file.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		if addr >= p.Vaddr && addr < p.Vaddr+p.Filesz {
			return addr - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("%s: address 0x%x is not in any loaded part of the file", b.Path, addr)
}

// Funcs lists the functions defined in the binary, from .symtab and .dynsym
// (for a stripped file also from its separate debug information), or for a
// stripped Go binary from its pclntab, sorted by name then address.
// A name appears once per distinct address.
func (b *Binary) Funcs() ([]Func, error) {
	if !b.funcsDone {
		b.funcs, b.funcsErr = b.loadFuncs()
		b.funcsDone = true
	}
	return b.funcs, b.funcsErr
}

func (b *Binary) loadFuncs() ([]Func, error) {
	type key struct {
		name string
		addr uint64
	}
	seen := map[key]int{}
	var out []Func
	add := func(fn Func) {
		k := key{fn.Name, fn.Addr}
		if i, ok := seen[k]; ok {
			// .symtab and .dynsym both list exported functions; keep the
			// details of whichever knows more.
			if out[i].Size == 0 {
				out[i].Size = fn.Size
			}
			out[i].Global = out[i].Global || fn.Global
			out[i].Hidden = out[i].Hidden && fn.Hidden
			return
		}
		off, err := b.AddrToOffset(fn.Addr)
		if err != nil {
			return
		}
		fn.Offset = off
		seen[k] = len(out)
		out = append(out, fn)
	}

	syms, err := b.symbols()
	if err != nil {
		return nil, err
	}
	for _, s := range syms {
		if elfdebug.IsFunc(s) {
			add(funcOf(s))
		}
	}
	if len(out) == 0 && b.IsGo() {
		gofuncs, err := b.goFuncs()
		if err != nil {
			return nil, err
		}
		for _, fn := range gofuncs {
			add(fn)
		}
	}
	// No two are alike (add keeps one of each name and address): an
	// unstable sort gives the one order, without sort's reflection.
	slices.SortFunc(out, func(a, b Func) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Addr, b.Addr))
	})
	return out, nil
}

// goFuncs reads the function table Go keeps for its own stack unwinding,
// which survives stripping.
func (b *Binary) goFuncs() ([]Func, error) {
	sec := b.file.Section(".gopclntab")
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: reading .gopclntab: %v", b.Path, err)
	}
	var text uint64
	if t := b.file.Section(".text"); t != nil {
		text = t.Addr
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		return nil, fmt.Errorf("%s: reading Go function table: %v", b.Path, err)
	}
	out := make([]Func, 0, len(tab.Funcs))
	for _, f := range tab.Funcs {
		out = append(out, Func{Name: f.Name, Addr: f.Entry, Size: f.End - f.Entry, Global: true})
	}
	return out, nil
}

// funcOf is the function symbol s stands for, without its file offset.
func funcOf(s elf.Symbol) Func {
	bind := elf.ST_BIND(s.Info)
	return Func{
		Name:   s.Name,
		Addr:   s.Value,
		Size:   s.Size,
		Global: bind == elf.STB_GLOBAL || bind == elf.STB_WEAK,
		IFunc:  elf.ST_TYPE(s.Info) == elf.STT_GNU_IFUNC,
		Hidden: s.HasVersion && s.VersionIndex.IsHidden(),
	}
}

// Lookup finds the function called name. When several functions share the
// name, the one a program linked today would call is preferred: the
// default version of a versioned symbol, then a global one over static
// functions of other source files, then the lowest address.
func (b *Binary) Lookup(name string) (Func, error) {
	if fn, ok := b.exported(name); ok {
		return fn, nil
	}
	funcs, err := b.Funcs()
	if err != nil {
		return Func{}, err
	}
	i := sort.Search(len(funcs), func(i int) bool { return funcs[i].Name >= name })
	best := -1
	for ; i < len(funcs) && funcs[i].Name == name; i++ {
		if best < 0 || preferred(funcs[i], funcs[best]) {
			best = i
		}
	}
	if best < 0 {
		return Func{}, fmt.Errorf("%s: %w: %s", b.Path, ErrNoFunction, name)
	}
	return funcs[best], nil
}

// exported finds name among the binary's exported functions (.dynsym)
// before its other symbol tables are read: a global function of the
// default version there is the one Lookup prefers whatever the others
// hold (a link defines a global name once), and a C library's debug
// symbols, ten thousand functions more, need not be read to find it.
func (b *Binary) exported(name string) (Func, bool) {
	if b.funcsDone {
		return Func{}, false
	}
	if b.exports == nil {
		b.exports = b.loadExports()
	}
	i, found := slices.BinarySearchFunc(b.exports, name, func(f Func, name string) int { return strings.Compare(f.Name, name) })
	if !found {
		return Func{}, false
	}
	return b.exports[i], true
}

// loadExports reads the global functions of the default version of
// .dynsym, the lowest address of each name.
func (b *Binary) loadExports() []Func {
	syms, err := b.file.DynamicSymbols()
	if err != nil {
		return []Func{}
	}
	out := []Func{}
	for _, s := range syms {
		if !elfdebug.IsFunc(s) {
			continue
		}
		fn := funcOf(s)
		off, err := b.AddrToOffset(fn.Addr)
		if err != nil || !fn.Global || fn.Hidden {
			continue
		}
		fn.Offset = off
		out = append(out, fn)
	}
	slices.SortFunc(out, func(a, b Func) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Addr, b.Addr))
	})
	return out
}

// preferred reports whether a is a better choice than b among functions of
// the same name.
func preferred(a, b Func) bool {
	if a.Hidden != b.Hidden {
		return !a.Hidden
	}
	return a.Global && !b.Global
}

// FuncAt finds the function whose code holds the virtual address addr.
func (b *Binary) FuncAt(addr uint64) (Func, bool) {
	funcs, err := b.Funcs()
	if err != nil {
		return Func{}, false
	}
	var best Func
	found := false
	for _, fn := range funcs {
		in := addr == fn.Addr || (addr > fn.Addr && addr < fn.Addr+fn.Size)
		if in && (!found || preferred(fn, best)) {
			best, found = fn, true
		}
	}
	return best, found
}

// Code returns the bytes of fn as stored in the file.
func (b *Binary) Code(fn Func) ([]byte, error) {
	if fn.Size == 0 {
		return nil, fmt.Errorf("%s: size of function %s is unknown", b.Path, fn.Name)
	}
	for _, p := range b.file.Progs {
		if p.Type != elf.PT_LOAD || fn.Addr < p.Vaddr || fn.Addr+fn.Size > p.Vaddr+p.Filesz {
			continue
		}
		buf := make([]byte, fn.Size)
		if _, err := p.ReadAt(buf, int64(fn.Addr-p.Vaddr)); err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: reading function %s: %v", b.Path, fn.Name, err)
		}
		return buf, nil
	}
	return nil, fmt.Errorf("%s: function %s is not inside one loaded segment", b.Path, fn.Name)
}

// SymbolAddr returns the virtual address of the defined symbol called name,
// of any kind (function, variable, ...), as uaddr() and USDT arguments that
// name global variables need.
func (b *Binary) SymbolAddr(name string) (uint64, error) {
	syms, err := b.symbols()
	if err != nil {
		return 0, err
	}
	for _, s := range syms {
		if s.Name == name && s.Section != elf.SHN_UNDEF && !(s.HasVersion && s.VersionIndex.IsHidden()) {
			return s.Value, nil
		}
	}
	return 0, fmt.Errorf("%s: no symbol %s", b.Path, name)
}
