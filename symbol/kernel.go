package symbol

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Kernel is the kernel's symbol table as /proc/kallsyms shows it, modules
// included, sorted by address for binary search.
type Kernel struct {
	syms []ksym // sorted by addr, one entry per address
	// byName is the first address of each name, made on first use: most
	// users only look addresses up.
	byName     func() map[string]uint64
	firstNames []ksym // in the file's order, for byName
}

type ksym struct {
	addr   uint64
	name   string
	module string // "" for the core kernel
}

// ReadKallsyms reads the running kernel's symbols from /proc/kallsyms. The
// file has over 100k lines: callers keep the result (Resolver does), as
// symbol addresses do not move while the kernel runs (modules loaded later
// are the exception and are rare in the middle of a trace).
func ReadKallsyms() (*Kernel, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	k, err := ParseKallsyms(f)
	if err == nil && len(k.syms) == 0 {
		// kptr_restrict hides addresses from processes without
		// CAP_SYSLOG: every line then reads 0.
		return nil, fmt.Errorf("/proc/kallsyms shows no addresses to this user " +
			"(needs CAP_SYSLOG, or kernel.kptr_restrict=0 with kernel.perf_event_paranoid<=1)")
	}
	return k, err
}

// ParseKallsyms reads symbols in the format of /proc/kallsyms:
// "address type name [module]".
//
// The text is read whole and names are slices of it: one allocation
// instead of one a line keeps reading the kernel's 100k-odd symbols, which
// symbolizing any kernel stack waits for, to a few tens of milliseconds.
func ParseKallsyms(r io.Reader) (*Kernel, error) {
	// Read in place into room for a large kernel's table: growing a
	// buffer by appending costs more than reading it (kallsyms comes a
	// page per read).
	data := make([]byte, 0, 8<<20)
	for {
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(data) == cap(data) {
			data = slices.Grow(data, len(data))
		}
	}
	text := unsafe.String(unsafe.SliceData(data), len(data))
	type entry struct {
		ksym
		rank int // lower wins when several names share an address
	}
	all := make([]entry, 0, len(text)/40)
	for line := 1; len(text) > 0; line++ {
		l := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			l, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		var fields [4]string
		n := 0
		for f := range strings.FieldsSeq(l) {
			if n == len(fields) {
				break
			}
			fields[n] = f
			n++
		}
		if n < 3 {
			if n == 0 {
				continue
			}
			return nil, fmt.Errorf("kallsyms line %d: want \"address type name\", got %q", line, l)
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("kallsyms line %d: bad address %q", line, fields[0])
		}
		typ := fields[1][0]
		if addr == 0 || typ == 'a' || typ == 'A' {
			// Absolute and per-CPU symbols are offsets, not addresses.
			continue
		}
		all = append(all, entry{ksym{addr, fields[2], strings.Trim(fields[3], "[]")}, symRank(typ, fields[2])})
	}
	k := &Kernel{firstNames: make([]ksym, len(all))}
	order := make([]int32, len(all))
	for i, e := range all {
		k.firstNames[i] = e.ksym
		order[i] = int32(i)
	}
	k.byName = sync.OnceValue(func() map[string]uint64 {
		m := make(map[string]uint64, len(k.firstNames))
		for _, s := range k.firstNames {
			if _, ok := m[s.name]; !ok {
				m[s.name] = s.addr
			}
		}
		k.firstNames = nil
		return m
	})
	// Among names of one address and rank, the first listed wins. The
	// order is sorted rather than the entries, which are large to move.
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &all[i], &all[j]
		return cmp.Or(cmp.Compare(a.addr, b.addr), cmp.Compare(a.rank, b.rank), cmp.Compare(i, j))
	})
	k.syms = make([]ksym, 0, len(all))
	for n, i := range order {
		if n > 0 && all[order[n-1]].addr == all[i].addr {
			continue
		}
		k.syms = append(k.syms, all[i].ksym)
	}
	return k, nil
}

// symRank orders names that share an address: code before data, global
// before local, and plain names before section markers like _stext.
func symRank(typ byte, name string) int {
	r := 0
	switch typ {
	case 'T', 'W':
	case 't', 'w':
		r += 1
	default:
		r += 4
	}
	if len(name) > 0 && name[0] == '_' {
		r += 2
	}
	return r
}

// Lookup finds the symbol containing addr: the nearest one at or below it.
// kallsyms has no sizes, so an address past the end of a function reports
// the function before it with a large offset, which is what other tools do.
func (k *Kernel) Lookup(addr uint64) (name string, offset uint64, module string, ok bool) {
	if k == nil {
		return "", 0, "", false
	}
	i := sort.Search(len(k.syms), func(i int) bool { return k.syms[i].addr > addr }) - 1
	if i < 0 {
		return "", 0, "", false
	}
	s := k.syms[i]
	return s.name, addr - s.addr, s.module, true
}

// Addr returns the address of the named symbol (the first one when a local
// name occurs in several places).
func (k *Kernel) Addr(name string) (uint64, bool) {
	if k == nil {
		return 0, false
	}
	a, ok := k.byName()[name]
	return a, ok
}

// Len is the number of distinct symbol addresses.
func (k *Kernel) Len() int { return len(k.syms) }
