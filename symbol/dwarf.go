package symbol

import (
	"debug/dwarf"
	"path"
	"sort"
	"sync"

	"github.com/ianlancetaylor/demangle"
)

// dwarfLines maps addresses to file:line and inlined calls through DWARF.
// The compile-unit ranges are indexed on first use; a unit's line table
// and inline scopes are decoded only when an address falls into it.
type dwarfLines struct {
	d     *dwarf.Data
	once  sync.Once
	mu    sync.Mutex
	cus   []cuRange // sorted by low
	units map[dwarf.Offset]*cuInfo
	names map[dwarf.Offset]string // abstract origins already named
}

type cuRange struct {
	low, high uint64
	cu        *dwarf.Entry
}

type cuInfo struct {
	rows   []lineRow     // sorted by addr
	scopes []inlineScope // in tree order: callers before their callees
}

// lineRow says that code from addr up to end comes from file:line.
type lineRow struct {
	addr, end uint64
	file      string
	line      int
}

// inlineScope is one DW_TAG_inlined_subroutine: code of name inlined into
// its parent, called from callFile:callLine.
type inlineScope struct {
	ranges   [][2]uint64
	depth    int
	name     string
	callFile string
	callLine int
}

func newDwarfLines(d *dwarf.Data) *dwarfLines {
	return &dwarfLines{d: d, units: map[dwarf.Offset]*cuInfo{}, names: map[dwarf.Offset]string{}}
}

func (l *dwarfLines) index() {
	r := l.d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit {
			if ranges, err := l.d.Ranges(e); err == nil {
				for _, rg := range ranges {
					l.cus = append(l.cus, cuRange{low: rg[0], high: rg[1], cu: e})
				}
			}
		}
		r.SkipChildren()
	}
	sort.Slice(l.cus, func(i, j int) bool { return l.cus[i].low < l.cus[j].low })
}

// lookup returns the source position of pc and the inlined calls it is
// in, innermost first; file and line then belong to the outermost call
// site, in the physical function.
func (l *dwarfLines) lookup(pc uint64) (file string, line int, inlined []Frame) {
	l.once.Do(l.index)
	i := sort.Search(len(l.cus), func(i int) bool { return l.cus[i].low > pc }) - 1
	if i < 0 || pc >= l.cus[i].high {
		return "", 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.unit(l.cus[i].cu)
	if u == nil {
		return "", 0, nil
	}
	j := sort.Search(len(u.rows), func(j int) bool { return u.rows[j].addr > pc }) - 1
	if j < 0 || pc >= u.rows[j].end {
		return "", 0, nil
	}
	file, line = u.rows[j].file, u.rows[j].line
	// Scopes containing pc nest; walking them outermost first, each one
	// takes the position found so far and hands its call site outwards.
	var chain []inlineScope
	for _, s := range u.scopes {
		if containsPC(s.ranges, pc) && (len(chain) == 0 || s.depth > chain[len(chain)-1].depth) {
			chain = append(chain, s)
		}
	}
	for j := len(chain) - 1; j >= 0; j-- {
		inlined = append(inlined, Frame{Name: chain[j].name, File: file, Line: line})
		file, line = chain[j].callFile, chain[j].callLine
	}
	return file, line, inlined
}

// sourcePath makes a file name relative to the compilation directory
// absolute, as other tools print it.
func sourcePath(compDir, name string) string {
	if compDir == "" || path.IsAbs(name) {
		return name
	}
	return path.Join(compDir, name)
}

func containsPC(ranges [][2]uint64, pc uint64) bool {
	for _, r := range ranges {
		if pc >= r[0] && pc < r[1] {
			return true
		}
	}
	return false
}

// unit decodes a compile unit's line table and inline scopes once.
func (l *dwarfLines) unit(cu *dwarf.Entry) *cuInfo {
	if u, ok := l.units[cu.Offset]; ok {
		return u
	}
	var u *cuInfo
	if lr, err := l.d.LineReader(cu); err == nil && lr != nil {
		dir, _ := cu.Val(dwarf.AttrCompDir).(string)
		u = &cuInfo{rows: lineRows(lr, dir)}
		u.scopes = l.scopes(cu, lr.Files(), dir)
	}
	l.units[cu.Offset] = u
	return u
}

// lineRows decodes a whole line table. Its sequences need not be in
// address order (gcc puts main's .text.startup after .text), which
// LineReader.SeekPC assumes; sorting the rows lifts that.
func lineRows(lr *dwarf.LineReader, dir string) []lineRow {
	var rows []lineRow
	var prev dwarf.LineEntry
	have := false
	for {
		var e dwarf.LineEntry
		if err := lr.Next(&e); err != nil {
			break
		}
		if have && !prev.EndSequence && prev.File != nil && e.Address > prev.Address {
			rows = append(rows, lineRow{prev.Address, e.Address, sourcePath(dir, prev.File.Name), prev.Line})
		}
		prev, have = e, true
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].addr < rows[j].addr })
	return rows
}

func (l *dwarfLines) scopes(cu *dwarf.Entry, files []*dwarf.LineFile, dir string) []inlineScope {
	var out []inlineScope
	r := l.d.Reader()
	r.Seek(cu.Offset)
	if _, err := r.Next(); err != nil {
		return nil
	}
	depth := 1
	for depth > 0 {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag == 0 {
			depth--
			continue
		}
		if e.Tag == dwarf.TagInlinedSubroutine {
			if ranges, err := l.d.Ranges(e); err == nil && len(ranges) > 0 {
				s := inlineScope{ranges: ranges, depth: depth, name: l.originName(e)}
				if fi, ok := e.Val(dwarf.AttrCallFile).(int64); ok && fi >= 0 && int(fi) < len(files) && files[fi] != nil {
					s.callFile = sourcePath(dir, files[fi].Name)
				}
				if ln, ok := e.Val(dwarf.AttrCallLine).(int64); ok {
					s.callLine = int(ln)
				}
				out = append(out, s)
			}
		}
		if e.Children {
			depth++
		}
	}
	return out
}

// originName names an inlined subroutine through its abstract origin,
// following further origins and specifications (C++ member functions).
func (l *dwarfLines) originName(e *dwarf.Entry) string {
	first, _ := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset)
	if n, ok := l.names[first]; ok && first != 0 {
		return n
	}
	name := "?"
	for hops := 0; hops < 8 && e != nil; hops++ {
		if ln, ok := e.Val(dwarf.AttrLinkageName).(string); ok {
			name = demangle.Filter(ln)
			break
		}
		if n, ok := e.Val(dwarf.AttrName).(string); ok && e.Tag != dwarf.TagInlinedSubroutine {
			name = n
			break
		}
		off, ok := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset)
		if !ok {
			if off, ok = e.Val(dwarf.AttrSpecification).(dwarf.Offset); !ok {
				break
			}
		}
		r := l.d.Reader()
		r.Seek(off)
		next, err := r.Next()
		if err != nil {
			break
		}
		e = next
	}
	if first != 0 {
		l.names[first] = name
	}
	return name
}
