package symbol

import (
	"bytes"
	"cmp"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/ianlancetaylor/demangle"

	"friday/elfdebug"
)

// Binary is one ELF file's symbols. Opening it reads only the headers;
// symbol tables are read on the first lookup, since most mapped libraries
// of a process never appear in a stack.
type Binary struct {
	Path    string // path as the process mapped it
	BuildID string // hex, "" when the file has none

	r     io.ReaderAt
	close func() error
	loads []elf.ProgHeader // PT_LOAD, to turn file offsets into addresses

	once sync.Once
	// goSyms reads the symbol table of a Go binary when first needed.
	goSyms sync.Once
	// noDWARF leaves DWARF out of load (Resolver.SkipDWARF).
	noDWARF bool
	syms    []elfdebug.FuncSymbol // sorted by address, one per address
	names   *elfdebug.FuncTable
	gotab   *goTable
	lines   *dwarfLines

	// Stacks repeat the same return addresses over and over; decoding
	// line tables again for each would dominate.
	cacheMu sync.Mutex
	cache   map[uint64]Frame
}

// maxCachedFrames bounds the memory of the per-binary frame cache.
const maxCachedFrames = 1 << 20

// OpenBinary reads the headers of the ELF file at path.
func OpenBinary(path string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	b, err := newBinary(path, f, f.Close)
	if err != nil {
		f.Close()
		return nil, err
	}
	return b, nil
}

func newBinary(path string, r io.ReaderAt, closeFn func() error) (*Binary, error) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b := &Binary{Path: path, r: r, close: closeFn, BuildID: elfdebug.BuildID(ef)}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			b.loads = append(b.loads, p.ProgHeader)
		}
	}
	return b, nil
}

// Close releases the file. Lookups after Close only see what was loaded.
func (b *Binary) Close() error {
	if b.close == nil {
		return nil
	}
	c := b.close
	b.close = nil
	return c()
}

// FileOffsetToAddr turns an offset in the file into the virtual address
// the ELF symbols use. A mapping of the file at some address plus the
// mapping's file offset gives the file offset; this undoes the load bias
// of PIE executables and shared libraries.
func (b *Binary) FileOffsetToAddr(off uint64) (uint64, bool) {
	for _, p := range b.loads {
		if off >= p.Off && off < p.Off+p.Memsz {
			return off - p.Off + p.Vaddr, true
		}
	}
	return 0, false
}

// Lookup finds the function containing the ELF virtual address addr.
func (b *Binary) Lookup(addr uint64) (Frame, bool) {
	b.cacheMu.Lock()
	f, ok := b.cache[addr]
	b.cacheMu.Unlock()
	if ok {
		return f, f.Name != ""
	}
	f, ok = b.lookup(addr)
	b.cacheMu.Lock()
	if b.cache == nil || len(b.cache) >= maxCachedFrames {
		b.cache = make(map[uint64]Frame)
	}
	b.cache[addr] = f
	b.cacheMu.Unlock()
	return f, ok
}

func (b *Binary) lookup(addr uint64) (f Frame, ok bool) {
	defer func() {
		// debug/gosym and debug/dwarf can panic on corrupt tables; a
		// damaged binary must cost its names, not the trace.
		if recover() != nil {
			f, ok = Frame{}, false
		}
	}()
	b.once.Do(b.load)
	if b.gotab != nil {
		if gf, found := b.gotab.lookup(addr); found {
			gf.Module = b.Path
			return gf, true
		}
		b.goSyms.Do(b.loadGoSyms)
	}
	s, found := b.lookupSym(addr)
	if !found {
		return Frame{}, false
	}
	name := string(plainName(b.names.Name(s)))
	f = Frame{Name: demangle.Filter(name), Offset: addr - s.Value, Module: b.Path}
	if b.lines != nil {
		f.File, f.Line, f.Inlined = b.lines.lookup(addr)
	}
	return f, true
}

func (b *Binary) lookupSym(addr uint64) (elfdebug.FuncSymbol, bool) {
	i := sort.Search(len(b.syms), func(i int) bool { return b.syms[i].Value > addr }) - 1
	// A sized symbol that ends before addr does not contain it, but an
	// enclosing one further back might (e.g. a local label inside a
	// function); a few steps are enough in practice.
	for j := i; j >= 0 && j > i-8; j-- {
		s := b.syms[j]
		if s.Size == 0 && j == i || addr < s.Value+s.Size {
			return s, true
		}
	}
	return elfdebug.FuncSymbol{}, false
}

// load reads the symbol tables. A damaged table leaves the binary with
// fewer names, which shows as addresses in the output rather than as an
// error in the middle of a trace.
func (b *Binary) load() {
	defer func() {
		if recover() != nil {
			b.syms, b.gotab, b.lines = nil, nil, nil
		}
	}()
	ef, err := elf.NewFile(b.r)
	if err != nil {
		return
	}
	var dbg *elf.File
	if ef.Section(".symtab") == nil || ef.Section(".debug_info") == nil {
		if dbg = elfdebug.OpenSeparate(ef, b.Path); dbg != nil {
			// Symbols and DWARF are read into memory below.
			defer dbg.Close()
		}
	}
	if gt := openGoTable(ef, b.r); gt != nil {
		// Go's table covers Go code: the symbol table, large in a Go
		// binary, is read only for an address it does not (cgo).
		b.gotab = gt
		return
	}
	b.loadSyms(ef, dbg)
	if !b.noDWARF {
		// Go binaries carry their lines in pclntab; for the rest DWARF is
		// the only source of file:line.
		src := ef
		if src.Section(".debug_info") == nil && dbg != nil {
			src = dbg
		}
		if d, err := src.DWARF(); err == nil {
			b.lines = newDwarfLines(d)
		}
	}
}

// openGoTable maps a Go binary's file for its pclntab; nil for other
// files. The mapping goes with the table.
func openGoTable(ef *elf.File, r io.ReaderAt) *goTable {
	if ef.Section(".gopclntab") == nil {
		return nil
	}
	data, unmap, err := mapFile(ef, r)
	if err != nil {
		return nil
	}
	gt, err := newGoTable(ef, data)
	if err != nil {
		unmap()
		return nil
	}
	runtime.AddCleanup(gt, func(unmap func()) { unmap() }, unmap)
	return gt
}

// loadGoSyms reads the symbol table of a Go binary, for the addresses its
// pclntab does not cover.
func (b *Binary) loadGoSyms() {
	defer func() {
		if recover() != nil {
			b.syms = nil
		}
	}()
	ef, err := elf.NewFile(b.r)
	if err != nil {
		return
	}
	b.loadSyms(ef, nil)
}

// loadSyms reads the functions of the symbol tables of ef and its debug
// file dbg (nil for none), sorted by address, keeping their names in the
// string tables: only the few a profile hits, and those that share an
// address, are read.
func (b *Binary) loadSyms(ef, dbg *elf.File) {
	t, _ := elfdebug.FuncSymbols(ef, dbg)
	b.syms, b.names = sortSyms(t), t
	t.Syms = nil
}

// sortSyms orders by address and keeps one name per address: .symtab and
// .dynsym repeat each other, and aliases (getpid, __getpid) share code.
// The names are read only among those of one address, once each.
func sortSyms(t *elfdebug.FuncTable) []elfdebug.FuncSymbol {
	syms := t.Syms
	slices.SortFunc(syms, func(a, b elfdebug.FuncSymbol) int { return cmp.Compare(a.Value, b.Value) })
	out := syms[:0]
	for len(syms) > 0 {
		n := 1
		for n < len(syms) && syms[n].Value == syms[0].Value {
			n++
		}
		best := syms[0]
		if n > 1 {
			name := plainName(t.Name(best))
			r, size := rank(best, name), best.Size
			for _, s := range syms[1:n] {
				sn := plainName(t.Name(s))
				if sr := rank(s, sn); cmp.Or(cmp.Compare(sr, r), bytes.Compare(sn, name)) < 0 {
					best, name, r = s, sn, sr
				}
				size = max(size, s.Size)
			}
			best.Size = size
		}
		out = append(out, best)
		syms = syms[n:]
	}
	return out
}

// rank orders the names of one address: the lower wins. Global before
// weak before local names, and fewer leading underscores first.
func rank(s elfdebug.FuncSymbol, name []byte) int {
	var r int
	switch s.Bind {
	case elf.STB_GLOBAL:
	case elf.STB_WEAK:
		r = 1
	default:
		r = 2
	}
	return r + min(len(name)-len(bytes.TrimLeft(name, "_")), 3)*3
}

// plainName is a symbol's name without its version: versioned dynamic
// names ("memcpy@@GLIBC_2.14") keep the plain name.
func plainName(name []byte) []byte {
	if i := bytes.IndexByte(name, '@'); i > 0 {
		return name[:i]
	}
	return name
}
