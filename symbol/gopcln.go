package symbol

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"errors"
	"friday/elfdebug"
	"sort"
	"sync"
)

// goTable symbolizes Go code through the runtime's own pclntab, which even
// stripped Go binaries keep. debug/gosym answers function, file and line;
// the inlining tree is not exposed by it, so this file reads the runtime's
// per-function data directly for that (layout of Go 1.20 and later).
type goTable struct {
	tab   *gosym.Table
	nfunc int

	// Inline tree access; inl is false when the binary lacks what is
	// needed (a pclntab older than Go 1.20, or no way to find go:func.*),
	// in which case frames simply carry no inlined callers.
	inl       bool
	bo        binary.ByteOrder
	pcln      []byte
	ptrSize   int
	minLC     uint64
	textStart uint64
	funcnames []byte
	pctab     []byte
	functab   []byte // pairs of (entry offset, _func offset), nfunc+1 of them
	gofunc    uint64 // address that funcdata offsets are relative to
	mem       func(addr uint64, n int) []byte
}

const (
	goPCDataInlTreeIndex    = 2
	goFuncDataInlTree       = 3
	goFuncHeaderSize        = 44 // fixed part of runtime._func
	goInlinedCallSize       = 16 // runtime.inlinedCall
	goFuncdataNil           = ^uint32(0)
	goPclntabMagic120       = 0xfffffff1
	goMaxInlineDepth        = 64
	goPclntabHeaderPtrSlots = 8 // header words after the 8 fixed bytes
)

var errNotGo = errors.New("not a Go binary")

// newGoTable reads the pclntab of a Go binary. The addresses it is
// relative to are found in the binary's symbols runtime.text and
// go:func.* when it has them.
func newGoTable(ef *elf.File) (*goTable, error) {
	sec := ef.Section(".gopclntab")
	if sec == nil {
		return nil, errNotGo
	}
	data, err := sec.Data()
	if err != nil || len(data) < 8 {
		return nil, errNotGo
	}
	g := &goTable{bo: ef.ByteOrder, pcln: data, ptrSize: int(data[7]), minLC: uint64(data[6])}
	if g.ptrSize != 4 && g.ptrSize != 8 {
		return nil, errNotGo
	}
	syms := elfdebug.SymbolValues(ef, "runtime.text", "go:func.*")
	g.textStart = g.word(2)
	if g.textStart == 0 {
		// PIE binaries leave the field to a dynamic relocation.
		g.textStart = syms["runtime.text"]
		if g.textStart == 0 {
			if t := ef.Section(".text"); t != nil {
				g.textStart = t.Addr
			}
		}
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, g.textStart))
	if err != nil {
		return nil, err
	}
	g.tab, g.nfunc = tab, len(tab.Funcs)
	g.initInline(ef, syms["go:func.*"])
	return g, nil
}

// word reads the i-th pointer-sized field of the pclntab header.
func (g *goTable) word(i int) uint64 {
	off := 8 + i*g.ptrSize
	if off+g.ptrSize > len(g.pcln) {
		return 0
	}
	if g.ptrSize == 4 {
		return uint64(g.bo.Uint32(g.pcln[off:]))
	}
	return g.bo.Uint64(g.pcln[off:])
}

// initInline finds the tables of inlined calls; gofunc is the value of
// the go:func.* symbol, 0 when the binary has no symbol table.
func (g *goTable) initInline(ef *elf.File, gofunc uint64) {
	if g.bo.Uint32(g.pcln) != goPclntabMagic120 || len(g.pcln) < 8+goPclntabHeaderPtrSlots*g.ptrSize {
		return
	}
	if g.gofunc = findGoFunc(ef, gofunc, g.ptrSize); g.gofunc == 0 {
		return
	}
	nfunc := int(g.word(0))
	at := func(i int) []byte {
		off := g.word(i)
		if off > uint64(len(g.pcln)) {
			return nil
		}
		return g.pcln[off:]
	}
	// Header words: nfunc, nfiles, textStart, funcnameOffset, cuOffset,
	// filetabOffset, pctabOffset, pclnOffset.
	g.funcnames, g.pctab, g.functab = at(3), at(6), at(7)
	if g.funcnames == nil || g.pctab == nil || len(g.functab) < (nfunc+1)*8 {
		return
	}
	g.functab = g.functab[:(nfunc+1)*8]
	g.mem = elfMemory(ef)
	g.inl = true
}

// moduledataGoFunc is the index of the gofunc word in runtime.moduledata
// (Go 1.20 and later): after pcHeader, six slices, findfunctab, minpc,
// maxpc and eleven pairs of section bounds, then types, etypes, rodata.
const moduledataGoFunc = 40

// findGoFunc finds the address funcdata offsets are relative to: the
// go:func.* symbol's value (sym), or in stripped binaries the runtime's
// moduledata, which records it.
func findGoFunc(ef *elf.File, sym uint64, ptrSize int) uint64 {
	if sym != 0 {
		return sym
	}
	pcln := ef.Section(".gopclntab")
	md := ef.Section(".go.module")
	if md == nil {
		return 0
	}
	data, err := md.Data()
	if err != nil || len(data) < (moduledataGoFunc+1)*ptrSize {
		return 0
	}
	relocs := relativeRelocs(ef)
	word := func(i int) uint64 {
		var v uint64
		if ptrSize == 4 {
			v = uint64(ef.ByteOrder.Uint32(data[i*4:]))
		} else {
			v = ef.ByteOrder.Uint64(data[i*8:])
		}
		if v == 0 {
			// Position-independent binaries fill pointers in at load time.
			v = relocs[md.Addr+uint64(i*ptrSize)]
		}
		return v
	}
	// The first word points at pclntab: proof that this is moduledata in
	// the expected layout.
	if word(0) != pcln.Addr {
		return 0
	}
	gofunc := word(moduledataGoFunc)
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && gofunc >= p.Vaddr && gofunc < p.Vaddr+p.Filesz {
			return gofunc
		}
	}
	return 0
}

// relativeRelocs maps addresses to the values R_X86_64_RELATIVE (or the
// arm64 equivalent) relocations store there.
func relativeRelocs(ef *elf.File) map[uint64]uint64 {
	sec := ef.Section(".rela.dyn")
	if sec == nil || ef.Class != elf.ELFCLASS64 {
		return nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil
	}
	relative := uint32(elf.R_X86_64_RELATIVE)
	if ef.Machine == elf.EM_AARCH64 {
		relative = uint32(elf.R_AARCH64_RELATIVE)
	}
	m := make(map[uint64]uint64)
	for ; len(data) >= 24; data = data[24:] {
		off, info, addend := ef.ByteOrder.Uint64(data), ef.ByteOrder.Uint64(data[8:]), ef.ByteOrder.Uint64(data[16:])
		if elf.R_TYPE64(info) == relative {
			m[off] = addend
		}
	}
	return m
}

// elfMemory reads n bytes at a virtual address from the file's loaded
// segments. Inline trees are read a few bytes at a time, so the file is
// read in chunks that are kept.
func elfMemory(ef *elf.File) func(addr uint64, n int) []byte {
	const chunk = 64 << 10
	type key struct {
		seg int
		at  uint64
	}
	chunks := map[key][]byte{}
	var mu sync.Mutex
	return func(addr uint64, n int) []byte {
		for i, p := range ef.Progs {
			if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr+uint64(n) > p.Vaddr+p.Filesz {
				continue
			}
			off := addr - p.Vaddr
			k := key{i, off / chunk * chunk}
			mu.Lock()
			defer mu.Unlock()
			c, ok := chunks[k]
			if !ok {
				c = make([]byte, min(2*chunk, p.Filesz-k.at))
				if _, err := p.ReadAt(c, int64(k.at)); err != nil {
					return nil
				}
				chunks[k] = c
			}
			// Chunks overlap by one chunk so that a read never spans two.
			if off-k.at+uint64(n) > uint64(len(c)) {
				return nil
			}
			return c[off-k.at : off-k.at+uint64(n)]
		}
		return nil
	}
}

func (g *goTable) lookup(pc uint64) (Frame, bool) {
	file, line, fn := g.tab.PCToLine(pc)
	if fn == nil {
		return Frame{}, false
	}
	f := Frame{Name: fn.Name, Offset: pc - fn.Entry, File: file, Line: line}
	if g.inl {
		g.addInlined(&f, pc, fn.Entry)
	}
	return f, true
}

// addInlined walks the inline tree at pc. The innermost inlined function
// holds the source position of pc; each step up moves to the call site in
// its caller, ending at the physical function f names.
func (g *goTable) addInlined(f *Frame, pc, entry uint64) {
	fd, ok := g.funcData(entry)
	if !ok {
		return
	}
	ix := fd.inlIndex(g, pc)
	var chain []Frame
	for depth := 0; ix >= 0 && depth < goMaxInlineDepth; depth++ {
		call := g.mem(fd.inlTree+uint64(ix)*goInlinedCallSize, goInlinedCallSize)
		if call == nil {
			return
		}
		name := g.funcName(int32(g.bo.Uint32(call[4:])))
		parentPC := entry + uint64(int32(g.bo.Uint32(call[8:])))
		chain = append(chain, Frame{Name: name, File: f.File, Line: f.Line})
		// The call site's position is that of the parent's instruction.
		f.File, f.Line, _ = g.tab.PCToLine(parentPC)
		ix = fd.inlIndex(g, parentPC)
	}
	f.Inlined = chain
}

type goFuncData struct {
	entry   uint64
	pcInl   uint32 // offset in pctab of the inline index table, 0 if none
	inlTree uint64 // address of the inline tree
}

func (g *goTable) funcData(entry uint64) (goFuncData, bool) {
	n := len(g.functab)/8 - 1
	want := entry - g.textStart
	i := sort.Search(n, func(i int) bool { return uint64(g.bo.Uint32(g.functab[i*8:])) >= want })
	if i >= n || uint64(g.bo.Uint32(g.functab[i*8:])) != want {
		return goFuncData{}, false
	}
	// functab's _func offsets are relative to functab itself.
	off := uint64(g.bo.Uint32(g.functab[i*8+4:]))
	base := g.functabBase()
	if off+goFuncHeaderSize > uint64(len(base)) {
		return goFuncData{}, false
	}
	fn := base[off:]
	npcdata := int(g.bo.Uint32(fn[28:]))
	nfuncdata := int(fn[43])
	need := goFuncHeaderSize + 4*(npcdata+nfuncdata)
	if len(fn) < need || npcdata <= goPCDataInlTreeIndex || nfuncdata <= goFuncDataInlTree {
		return goFuncData{}, false
	}
	pcInl := g.bo.Uint32(fn[goFuncHeaderSize+4*goPCDataInlTreeIndex:])
	tree := g.bo.Uint32(fn[goFuncHeaderSize+4*npcdata+4*goFuncDataInlTree:])
	if pcInl == 0 || tree == goFuncdataNil {
		return goFuncData{}, false
	}
	return goFuncData{entry: entry, pcInl: pcInl, inlTree: g.gofunc + uint64(tree)}, true
}

func (g *goTable) functabBase() []byte {
	return g.pcln[g.word(7):]
}

func (g *goTable) funcName(off int32) string {
	if off < 0 || int(off) >= len(g.funcnames) {
		return "?"
	}
	s := g.funcnames[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

// inlIndex evaluates the function's inline-index pc-value table at pc;
// -1 means pc is not inside inlined code.
func (fd goFuncData) inlIndex(g *goTable, pc uint64) int32 {
	if int(fd.pcInl) >= len(g.pctab) {
		return -1
	}
	p := g.pctab[fd.pcInl:]
	val := int32(-1)
	cur := fd.entry
	for first := true; ; first = false {
		uv, n := binary.Uvarint(p)
		if n <= 0 || uv == 0 && !first {
			return -1
		}
		p = p[n:]
		if uv&1 != 0 {
			val += int32(^(uv >> 1))
		} else {
			val += int32(uv >> 1)
		}
		d, n := binary.Uvarint(p)
		if n <= 0 {
			return -1
		}
		p = p[n:]
		cur += d * g.minLC
		if pc < cur {
			return val
		}
	}
}
