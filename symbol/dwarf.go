package symbol

import (
	"debug/dwarf"
	"sort"
	"sync"
)

// dwarfLines maps addresses to file:line through DWARF line tables. The
// compile-unit ranges are indexed on first use; a unit's line table is
// decoded only when an address falls into it.
type dwarfLines struct {
	d    *dwarf.Data
	once sync.Once
	mu   sync.Mutex
	cus  []cuRange // sorted by low
}

type cuRange struct {
	low, high uint64
	cu        *dwarf.Entry
	lr        *dwarf.LineReader
}

func newDwarfLines(d *dwarf.Data) *dwarfLines { return &dwarfLines{d: d} }

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

func (l *dwarfLines) lookup(pc uint64) (string, int) {
	l.once.Do(l.index)
	i := sort.Search(len(l.cus), func(i int) bool { return l.cus[i].low > pc }) - 1
	if i < 0 || pc >= l.cus[i].high {
		return "", 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.cus[i]
	if c.lr == nil {
		lr, err := l.d.LineReader(c.cu)
		if err != nil || lr == nil {
			return "", 0
		}
		c.lr = lr
	}
	var le dwarf.LineEntry
	if err := c.lr.SeekPC(pc, &le); err != nil || le.File == nil {
		return "", 0
	}
	return le.File.Name, le.Line
}
