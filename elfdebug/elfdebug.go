// Package elfdebug reads the parts of an ELF file that tie it to its
// debugging information: notes, the GNU build ID, the separate debug file
// distributions install for stripped binaries, and the symbol tables of
// the file together with that debug file.
package elfdebug

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// Root is where distributions install separate debug files (Debian's
// *-dbg and *-dbgsym packages, Fedora's debuginfo).
const Root = "/usr/lib/debug"

// Note is one ELF note.
type Note struct {
	Name string
	Type uint32
	Desc []byte
}

// ReadNotes returns the notes of the named section, none when the section
// is missing.
func ReadNotes(f *elf.File, section string) ([]Note, error) {
	sec := f.Section(section)
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", section, err)
	}
	notes, err := parseNotes(data, f.ByteOrder, sec.Addralign)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", section, err)
	}
	return notes, nil
}

// parseNotes splits note data whose name and descriptor are each padded to
// align bytes: 4 by the ELF specification, 8 in some 64-bit segments. Any
// other alignment a damaged file claims counts as 4.
func parseNotes(data []byte, bo binary.ByteOrder, align uint64) ([]Note, error) {
	if align != 8 {
		align = 4
	}
	pad := func(n uint64) uint64 { return (n + align - 1) &^ (align - 1) }
	var notes []Note
	for len(data) > 0 {
		if len(data) < 12 {
			return notes, errors.New("truncated note")
		}
		namesz := uint64(bo.Uint32(data[0:]))
		descsz := uint64(bo.Uint32(data[4:]))
		typ := bo.Uint32(data[8:])
		nameEnd := 12 + pad(namesz)
		if nameEnd+descsz > uint64(len(data)) {
			return notes, errors.New("truncated note")
		}
		notes = append(notes, Note{
			Name: string(bytes.TrimRight(data[12:12+namesz], "\x00")),
			Type: typ,
			Desc: data[nameEnd : nameEnd+descsz],
		})
		data = data[min(nameEnd+pad(descsz), uint64(len(data))):]
	}
	return notes, nil
}

// BuildID returns the GNU build ID of f as hex, "" when it has none. The
// note segments are read first: they survive when section headers do not.
func BuildID(f *elf.File) string {
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p.Open(), 1<<16))
		if err != nil {
			continue
		}
		notes, _ := parseNotes(data, f.ByteOrder, p.Align)
		if id := gnuBuildID(notes); id != "" {
			return id
		}
	}
	notes, _ := ReadNotes(f, ".note.gnu.build-id")
	return gnuBuildID(notes)
}

func gnuBuildID(notes []Note) string {
	const ntGNUBuildID = 3
	for _, n := range notes {
		if n.Name == "GNU" && n.Type == ntGNUBuildID && len(n.Desc) > 0 {
			return hex.EncodeToString(n.Desc)
		}
	}
	return ""
}

// BuildIDPath is where the separate debug file of the binary with the
// given build ID is installed, if it is; "" for an empty build ID.
func BuildIDPath(buildID string) string { return buildIDPath(Root, buildID) }

// buildIDPath is BuildIDPath under root instead of Root.
func buildIDPath(root, buildID string) string {
	if len(buildID) <= 2 {
		return ""
	}
	return filepath.Join(root, ".build-id", buildID[:2], buildID[2:]+".debug")
}

// OpenSeparate finds the separate debug file of f, read from path, the way
// debuggers do: by build ID under Root, then by the name and checksum
// .gnu_debuglink records, next to the file, in its .debug directory, or
// under Root. It returns nil when there is none; the caller closes the
// file it returns.
func OpenSeparate(f *elf.File, path string) *elf.File { return openSeparate(Root, f, path) }

// openSeparate is OpenSeparate under root instead of Root.
func openSeparate(root string, f *elf.File, path string) *elf.File {
	id := BuildID(f)
	if p := buildIDPath(root, id); p != "" {
		if d, err := elf.Open(p); err == nil {
			if BuildID(d) == id {
				return d
			}
			d.Close()
		}
	}
	name, crc, ok := debugLink(f)
	if !ok {
		return nil
	}
	dir := filepath.Dir(path)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path, dir = real, filepath.Dir(real)
	}
	for _, p := range []string{
		filepath.Join(dir, name),
		filepath.Join(dir, ".debug", name),
		filepath.Join(root, dir, name),
	} {
		// The stripped file has the build ID of its debug file: the link
		// may not lead back to the file itself.
		if p == path {
			continue
		}
		if d := openLinked(p, id, crc); d != nil {
			return d
		}
	}
	return nil
}

// debugLink reads .gnu_debuglink: a file name, padding to 4 bytes, and the
// CRC-32 of the debug file.
func debugLink(f *elf.File) (name string, crc uint32, ok bool) {
	sec := f.Section(".gnu_debuglink")
	if sec == nil {
		return "", 0, false
	}
	data, err := sec.Data()
	if err != nil {
		return "", 0, false
	}
	end := bytes.IndexByte(data, 0)
	at := (end + 1 + 3) &^ 3
	if end <= 0 || at+4 > len(data) {
		return "", 0, false
	}
	return string(data[:end]), f.ByteOrder.Uint32(data[at:]), true
}

// openLinked opens the debug link candidate p when it belongs to the
// binary: the same build ID when both have one, which spares reading the
// whole file, else the CRC the link records.
func openLinked(p, id string, crc uint32) *elf.File {
	d, err := elf.Open(p)
	if err != nil {
		return nil
	}
	if did := BuildID(d); id != "" && did != "" {
		if did == id {
			return d
		}
	} else if fileCRC(p) == crc {
		return d
	}
	d.Close()
	return nil
}

func fileCRC(p string) uint32 {
	f, err := os.Open(p)
	if err != nil {
		return 0
	}
	defer f.Close()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, f); err != nil {
		return 0
	}
	return h.Sum32()
}

// Symbols returns the symbols of f's .symtab and .dynsym and, when f has
// no .symtab, those of its separate debug file dbg (nil when it has
// none), in that order. A missing table is no error; on a damaged one
// the symbols read so far come back with the error.
func Symbols(f, dbg *elf.File) ([]elf.Symbol, error) {
	readers := []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols}
	if dbg != nil && f.Section(".symtab") == nil {
		readers = append(readers, dbg.Symbols)
	}
	var all []elf.Symbol
	for _, read := range readers {
		syms, err := read()
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
			return all, err
		}
		all = append(all, syms...)
	}
	return all, nil
}

// FuncSymbol is a function of a symbol table, as IsFunc tells them. Its
// name stays in its string table until asked for (FuncTable.Name).
type FuncSymbol struct {
	Value, Size uint64
	name        uint32 // offset in the string table
	table       uint8  // index of the string table in FuncTable.strings
	Bind        elf.SymBind
}

// FuncTable is the functions of the symbol tables that Symbols reads, in
// the same order, with the string tables that hold their names.
type FuncTable struct {
	Syms    []FuncSymbol
	strings [][]byte
}

// Name is the name of s, a symbol of t, in t's string table: no copy.
func (t *FuncTable) Name(s FuncSymbol) []byte {
	strs := t.strings[s.table][s.name:]
	return strs[:bytes.IndexByte(strs, 0)]
}

// FuncSymbols reads the functions among the symbols that Symbols returns
// straight from the tables: a large program's symbol table holds a
// hundred thousand entries, and decoding each into an elf.Symbol (with
// its version, for .dynsym, and a string for its name) costs more than
// the few fields a symbolizer needs, and the few names it looks up.
func FuncSymbols(f, dbg *elf.File) (*FuncTable, error) {
	t := &FuncTable{}
	err := t.add(f, elf.SHT_SYMTAB)
	if err == nil {
		err = t.add(f, elf.SHT_DYNSYM)
	}
	if err == nil && dbg != nil && f.SectionByType(elf.SHT_SYMTAB) == nil {
		err = t.add(dbg, elf.SHT_SYMTAB)
	}
	return t, err
}

func (t *FuncTable) add(f *elf.File, typ elf.SectionType) error {
	sec := f.SectionByType(typ)
	if sec == nil {
		return nil
	}
	data, strs, err := symbolData(f, sec)
	if err != nil {
		return err
	}
	// Names are offsets in 32 bits, each ending at a zero byte: a name
	// is known to end without reading it when the table is cut after its
	// last zero.
	strs = strs[:bytes.LastIndexByte(strs[:min(len(strs), math.MaxUint32)], 0)+1]
	table := uint8(len(t.strings))
	t.strings = append(t.strings, strs)
	bo := f.ByteOrder
	size := 16 // Elf32_Sym
	if f.Class == elf.ELFCLASS64 {
		size = 24
	}
	// Room for all: growing the slice as it fills costs more.
	t.Syms = slices.Grow(t.Syms, len(data)/size)
	// The first entry is the undefined symbol.
	for e := data[min(size, len(data)):]; len(e) >= size; e = e[size:] {
		var info byte
		var shndx uint16
		var value, sz uint64
		if size == 24 {
			info, shndx, value, sz = e[4], bo.Uint16(e[6:]), bo.Uint64(e[8:]), bo.Uint64(e[16:])
		} else {
			value, sz, info, shndx = uint64(bo.Uint32(e[4:])), uint64(bo.Uint32(e[8:])), e[12], bo.Uint16(e[14:])
		}
		typ := elf.ST_TYPE(info)
		if typ != elf.STT_FUNC && typ != elf.STT_GNU_IFUNC || elf.SectionIndex(shndx) == elf.SHN_UNDEF || value == 0 {
			continue
		}
		name := bo.Uint32(e)
		if uint64(name) >= uint64(len(strs)) || strs[name] == 0 {
			continue
		}
		t.Syms = append(t.Syms, FuncSymbol{Value: value, Size: sz, name: name, table: table, Bind: elf.ST_BIND(info)})
	}
	return nil
}

// IsFunc reports whether s names a function defined in its file: code at
// a known address, including GNU indirect functions' resolvers.
func IsFunc(s elf.Symbol) bool {
	t := elf.ST_TYPE(s.Info)
	return (t == elf.STT_FUNC || t == elf.STT_GNU_IFUNC) &&
		s.Section != elf.SHN_UNDEF && s.Value != 0 && s.Name != ""
}

// symbolData is the raw contents of the symbol table sec of f and of the
// string table that holds its names.
func symbolData(f *elf.File, sec *elf.Section) (syms, strs []byte, err error) {
	if int(sec.Link) >= len(f.Sections) {
		return nil, nil, fmt.Errorf("%s: bad string table index %d", sec.Name, sec.Link)
	}
	if syms, err = sec.Data(); err != nil {
		return nil, nil, err
	}
	strs, err = f.Sections[sec.Link].Data()
	return syms, strs, err
}

// SymbolValues are the values of the named symbols of f's .symtab, found
// without reading the whole table into elf.Symbol values: a Go binary's
// holds a hundred thousand symbols, whose names cost more to allocate
// than the few wanted. Names not found are left out.
func SymbolValues(f *elf.File, names ...string) map[string]uint64 {
	out := map[string]uint64{}
	sec := f.Section(".symtab")
	if sec == nil || f.Class != elf.ELFCLASS64 {
		return out
	}
	syms, strs, err := symbolData(f, sec)
	if err != nil {
		return out
	}
	bo := f.ByteOrder
	const size = 24 // Elf64_Sym
	for i := size; i+size <= len(syms); i += size {
		off := int(bo.Uint32(syms[i:]))
		if off <= 0 || off >= len(strs) {
			continue
		}
		for _, n := range names {
			if len(strs)-off > len(n) && string(strs[off:off+len(n)]) == n && strs[off+len(n)] == 0 {
				out[n] = bo.Uint64(syms[i+8:])
			}
		}
	}
	return out
}
