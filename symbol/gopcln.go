package symbol

import (
	"bufio"
	"bytes"
	"cmp"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"errors"
	"io"
	"runtime/debug"
	"sort"
	"sync"

	"friday/elfdebug"
)

// goTable symbolizes Go code through the runtime's own pclntab, which even
// stripped Go binaries keep. It is looked up in place, the way the runtime
// does (layout of Go 1.18 and later): a binary search of the function
// table, then the function's own name, file, line and inlining tables.
// The file is mapped, so only the pages these touch are read. A profile
// hits a few hundred functions of a binary that has tens of thousands:
// reading the whole table and naming every function (debug/gosym) costs
// far more.
type goTable struct {
	data      []byte // the whole file
	bo        binary.ByteOrder
	ptrSize   int
	quantum   uint64
	textStart uint64
	nfunc     int
	// The pclntab's tables, each up to the end of pclntab.
	funcnames, cutab, filetab, pctab, functab []byte

	// gofunc is the address that funcdata offsets (the inline trees) are
	// relative to; 0 when the binary does not tell it or its pclntab is
	// older than Go 1.20: frames then carry no inlined calls.
	gofunc uint64
	loads  []elf.ProgHeader // to read the inline trees by address

	// strs are the names and file names read, by their place in data: a
	// profile names the same functions and files over and over.
	strs sync.Map

	// legacy is debug/gosym's table, for pclntabs older than Go 1.18.
	legacy *gosym.Table
}

const (
	goPCDataInlTreeIndex    = 2
	goFuncDataInlTree       = 3
	goFuncHeaderSize        = 44 // fixed part of runtime._func
	goInlinedCallSize       = 16 // runtime.inlinedCall
	goFuncdataNil           = ^uint32(0)
	goPclntabMagic118       = 0xfffffff0
	goPclntabMagic120       = 0xfffffff1
	goMaxInlineDepth        = 64
	goPclntabHeaderPtrSlots = 8 // header words after the 8 fixed bytes
)

var errNotGo = errors.New("not a Go binary")

// newGoTable reads the header of the pclntab of a Go binary whose bytes
// data are, as mapFile gives them.
func newGoTable(ef *elf.File, data []byte) (*goTable, error) {
	sec := ef.Section(".gopclntab")
	if sec == nil || sec.Type == elf.SHT_NOBITS || sec.Flags&elf.SHF_COMPRESSED != 0 ||
		sec.Offset+sec.Size > uint64(len(data)) || sec.Size < 8 {
		return nil, errNotGo
	}
	pcln := data[sec.Offset : sec.Offset+sec.Size]
	g := &goTable{data: data, bo: ef.ByteOrder}
	if pcln[4] != 0 || pcln[5] != 0 {
		return nil, errNotGo
	}
	g.quantum, g.ptrSize = uint64(pcln[6]), int(pcln[7])
	if g.ptrSize != 4 && g.ptrSize != 8 || g.quantum != 1 && g.quantum != 2 && g.quantum != 4 {
		return nil, errNotGo
	}
	magic := g.bo.Uint32(pcln)
	if magic != goPclntabMagic118 && magic != goPclntabMagic120 {
		return newLegacyGoTable(pcln)
	}
	if len(pcln) < 8+goPclntabHeaderPtrSlots*g.ptrSize {
		return nil, errNotGo
	}
	word := func(i int) uint64 { return readPtr(g.bo, pcln[8+i*g.ptrSize:], g.ptrSize) }
	table := func(i int) []byte { return pcln[min(word(i), sec.Size):] }
	// Header words: nfunc, nfiles, textStart, funcnameOffset, cuOffset,
	// filetabOffset, pctabOffset, pclnOffset.
	g.funcnames, g.cutab, g.filetab, g.pctab, g.functab = table(3), table(4), table(5), table(6), table(7)
	if word(0) >= uint64(len(g.functab)/8) {
		return nil, errNotGo
	}
	g.nfunc = int(word(0))
	g.textStart = word(2)
	text, gofunc := goModule(ef, g.ptrSize)
	if g.textStart == 0 {
		// Position-independent binaries leave the field to a dynamic
		// relocation.
		g.textStart = text
	}
	if g.textStart == 0 || gofunc == 0 {
		// A symbol table is large to read: only when the module data is
		// not found.
		syms := elfdebug.SymbolValues(ef, "runtime.text", "go:func.*")
		g.textStart = cmp.Or(g.textStart, syms["runtime.text"])
		gofunc = cmp.Or(gofunc, syms["go:func.*"])
		if t := ef.Section(".text"); g.textStart == 0 && t != nil {
			g.textStart = t.Addr
		}
	}
	if magic == goPclntabMagic120 && inLoad(ef, gofunc) {
		g.gofunc = gofunc
		for _, p := range ef.Progs {
			if p.Type == elf.PT_LOAD {
				g.loads = append(g.loads, p.ProgHeader)
			}
		}
	}
	return g, nil
}

func readPtr(bo binary.ByteOrder, b []byte, ptrSize int) uint64 {
	if ptrSize == 4 {
		return uint64(bo.Uint32(b))
	}
	return bo.Uint64(b)
}

// newLegacyGoTable reads a pclntab of Go 1.2 to 1.17, whose layouts
// debug/gosym knows, whole.
func newLegacyGoTable(pcln []byte) (*goTable, error) {
	// Their function tables hold addresses, not offsets from the text.
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(pcln, 0))
	if err != nil {
		return nil, err
	}
	return &goTable{legacy: tab}, nil
}

// Indices of words of runtime.moduledata (Go 1.20 and later): after
// pcHeader, six slices and findfunctab, minpc, maxpc come text and etext,
// then nine pairs of section bounds and types, etypes, rodata, gofunc.
const (
	moduledataText   = 22
	moduledataGoFunc = 40
)

// goModule reads the address of the code that pclntab is relative to
// (text) and the one funcdata offsets are (gofunc) from the runtime's
// moduledata; 0 where it is not found in the expected layout.
func goModule(ef *elf.File, ptrSize int) (text, gofunc uint64) {
	pcln := ef.Section(".gopclntab")
	md := ef.Section(".go.module")
	if md == nil || pcln == nil {
		return 0, 0
	}
	data := make([]byte, (moduledataGoFunc+1)*ptrSize)
	if _, err := md.ReadAt(data, 0); err != nil {
		return 0, 0
	}
	at := func(i int) uint64 { return md.Addr + uint64(i*ptrSize) }
	words := []int{0, moduledataText, moduledataGoFunc}
	var relocs map[uint64]uint64
	vals := make([]uint64, len(words))
	for i, w := range words {
		if vals[i] = readPtr(ef.ByteOrder, data[w*ptrSize:], ptrSize); vals[i] == 0 && relocs == nil {
			// Position-independent binaries fill pointers in at load time.
			relocs = relativeRelocs(ef, at(0), at(moduledataText), at(moduledataGoFunc))
		}
	}
	for i, w := range words {
		vals[i] = cmp.Or(vals[i], relocs[at(w)])
	}
	// The first word points at pclntab: proof that this is moduledata in
	// the expected layout.
	if vals[0] != pcln.Addr {
		return 0, 0
	}
	return vals[1], vals[2]
}

// inLoad tells whether addr is in the file's loaded bytes.
func inLoad(ef *elf.File, addr uint64) bool {
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr < p.Vaddr+p.Filesz {
			return true
		}
	}
	return false
}

// relativeRelocs maps the addresses given to the values R_X86_64_RELATIVE
// (or the arm64 equivalent) relocations store there. The relocations are
// read in a stream: a position-independent Go binary has one for every
// pointer in its data.
func relativeRelocs(ef *elf.File, addrs ...uint64) map[uint64]uint64 {
	sec := ef.Section(".rela.dyn")
	if sec == nil || ef.Class != elf.ELFCLASS64 {
		return nil
	}
	relative := uint32(elf.R_X86_64_RELATIVE)
	if ef.Machine == elf.EM_AARCH64 {
		relative = uint32(elf.R_AARCH64_RELATIVE)
	}
	m := make(map[uint64]uint64)
	br := bufio.NewReaderSize(sec.Open(), 64<<10)
	var rel [24]byte
	for len(m) < len(addrs) {
		if _, err := io.ReadFull(br, rel[:]); err != nil {
			break
		}
		off, info := ef.ByteOrder.Uint64(rel[:]), ef.ByteOrder.Uint64(rel[8:])
		if elf.R_TYPE64(info) != relative {
			continue
		}
		for _, a := range addrs {
			if off == a {
				m[off] = ef.ByteOrder.Uint64(rel[16:])
			}
		}
	}
	return m
}

// goFunc is a function of the pclntab: its _func, with the offsets of its
// pc-value tables (pcdata) and funcdata after the fixed part.
type goFunc struct {
	entry uint64
	data  []byte
}

func (g *goTable) lookup(pc uint64) (Frame, bool) {
	if g.legacy != nil {
		file, line, fn := g.legacy.PCToLine(pc)
		if fn == nil {
			return Frame{}, false
		}
		return Frame{Name: fn.Name, Offset: pc - fn.Entry, File: file, Line: line}, true
	}
	// A file truncated under its mapping faults: the fault panics, and
	// the lookup fails (Binary.lookup recovers).
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	fn, ok := g.findFunc(pc)
	if !ok {
		return Frame{}, false
	}
	name, ok := g.str(g.funcnames, int32(g.bo.Uint32(fn.data[4:])))
	if !ok {
		return Frame{}, false
	}
	f := Frame{Name: name, Offset: pc - fn.entry}
	f.File, f.Line = g.fileLine(fn, pc)
	if g.gofunc != 0 {
		g.addInlined(&f, fn, pc)
	}
	return f, true
}

// findFunc finds the function holding pc by binary search of functab:
// nfunc pairs of (entry offset from textStart, _func offset from functab)
// and the end of the text.
func (g *goTable) findFunc(pc uint64) (goFunc, bool) {
	entryOff := func(i int) uint64 { return uint64(g.bo.Uint32(g.functab[8*i:])) }
	want := pc - g.textStart
	if pc < g.textStart || want >= entryOff(g.nfunc) {
		return goFunc{}, false
	}
	// The last function whose entry is at or before pc.
	i := sort.Search(g.nfunc, func(i int) bool { return entryOff(i) > want }) - 1
	if i < 0 {
		return goFunc{}, false
	}
	off := uint64(g.bo.Uint32(g.functab[8*i+4:]))
	if off+goFuncHeaderSize > uint64(len(g.functab)) {
		return goFunc{}, false
	}
	data := g.functab[off:]
	n := goFuncHeaderSize + 4*(int(g.bo.Uint32(data[28:]))+int(data[43]))
	if n > len(data) {
		return goFunc{}, false
	}
	return goFunc{entry: g.textStart + entryOff(i), data: data[:n]}, true
}

// str is the NUL-terminated string at off in tab.
func (g *goTable) str(tab []byte, off int32) (string, bool) {
	if off < 0 || int(off) >= len(tab) {
		return "", false
	}
	// Tables are slices of data: the distance from its start names the
	// string whatever the table.
	at := cap(g.data) - cap(tab) + int(off)
	if s, ok := g.strs.Load(at); ok {
		return s.(string), true
	}
	b := tab[off:]
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", false
	}
	s := string(b[:i])
	g.strs.Store(at, s)
	return s, true
}

// fileLine is the source position of pc in fn: its pcfile table gives
// an index into the files of fn's compilation unit (cutab), which gives
// the file's name in filetab; its pcln table gives the line. Line is 0
// where the function has none (assembly stubs of the linker's).
func (g *goTable) fileLine(fn goFunc, pc uint64) (string, int) {
	line := max(g.pcvalue(g.bo.Uint32(fn.data[24:]), fn.entry, pc), 0)
	fno := g.pcvalue(g.bo.Uint32(fn.data[20:]), fn.entry, pc)
	at := 4 * (uint64(g.bo.Uint32(fn.data[32:])) + uint64(fno))
	if fno < 0 || at+4 > uint64(len(g.cutab)) {
		return "", int(line)
	}
	file, _ := g.str(g.filetab, int32(g.bo.Uint32(g.cutab[at:])))
	return file, int(line)
}

// addInlined walks the inline tree at pc. The innermost inlined function
// holds the source position of pc; each step up moves to the call site in
// its caller, ending at the physical function f names.
func (g *goTable) addInlined(f *Frame, fn goFunc, pc uint64) {
	npcdata, nfuncdata := int(g.bo.Uint32(fn.data[28:])), int(fn.data[43])
	if npcdata <= goPCDataInlTreeIndex || nfuncdata <= goFuncDataInlTree {
		return
	}
	pcInl := g.bo.Uint32(fn.data[goFuncHeaderSize+4*goPCDataInlTreeIndex:])
	tree := g.bo.Uint32(fn.data[goFuncHeaderSize+4*npcdata+4*goFuncDataInlTree:])
	if pcInl == 0 || tree == goFuncdataNil {
		return
	}
	ix := g.pcvalue(pcInl, fn.entry, pc)
	var chain []Frame
	for depth := 0; ix >= 0 && depth < goMaxInlineDepth; depth++ {
		call := g.mem(g.gofunc+uint64(tree)+uint64(ix)*goInlinedCallSize, goInlinedCallSize)
		if call == nil {
			return
		}
		name, ok := g.str(g.funcnames, int32(g.bo.Uint32(call[4:])))
		if !ok {
			name = "?"
		}
		parentPC := fn.entry + uint64(int32(g.bo.Uint32(call[8:])))
		chain = append(chain, Frame{Name: name, File: f.File, Line: f.Line})
		// The call site's position is that of the parent's instruction.
		f.File, f.Line = g.fileLine(fn, parentPC)
		ix = g.pcvalue(pcInl, fn.entry, parentPC)
	}
	f.Inlined = chain
}

// mem reads n bytes at a virtual address of the binary.
func (g *goTable) mem(addr uint64, n int) []byte {
	for _, p := range g.loads {
		if addr >= p.Vaddr && addr+uint64(n) <= p.Vaddr+p.Filesz {
			if off := p.Off + addr - p.Vaddr; off+uint64(n) <= uint64(len(g.data)) {
				return g.data[off : off+uint64(n)]
			}
		}
	}
	return nil
}

// pcvalue evaluates at pc the pc-value table at off in pctab of the
// function at entry: pairs of varints, a zigzag value delta and a pc
// delta in instructions, the value holding up to the pc reached; -1
// where the table has no value. Tables are walked from the function's
// entry: this is where a lookup spends its time.
func (g *goTable) pcvalue(off uint32, entry, pc uint64) int32 {
	if off == 0 || int(off) >= len(g.pctab) {
		return -1
	}
	p := g.pctab[off:]
	val, cur := int32(-1), entry
	for {
		uv, n := uvarint32(p)
		if n == 0 || uv == 0 && cur != entry {
			return -1
		}
		d, m := uvarint32(p[n:])
		if m == 0 {
			return -1
		}
		p = p[n+m:]
		val += int32(uv>>1 ^ -(uv & 1))
		cur += uint64(d) * g.quantum
		if pc < cur {
			return val
		}
	}
}

// uvarint32 decodes a varint of pctab; 0 bytes for a bad or cut one.
func uvarint32(p []byte) (uint32, int) {
	var v uint32
	for i := 0; i < len(p) && i < 5; i++ {
		v |= uint32(p[i]&0x7f) << (7 * i)
		if p[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}
