package symbol

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// Kernel is the kernel's symbol table as /proc/kallsyms shows it, modules
// included, sorted by address for binary search. The text is kept whole:
// each symbol is its address and the line it is on, whose name and module
// are read only when looked up.
type Kernel struct {
	text string
	syms []ksym // sorted by addr, one entry per address
	// byName is the first address of each name, made on first use: most
	// users only look addresses up.
	byName func() map[string]uint64
}

type ksym struct {
	addr uint64
	line uint32 // offset in text
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
		return nil, errHiddenAddrs
	}
	return k, err
}

// errHiddenAddrs is what kallsyms shows a process without CAP_SYSLOG
// when kptr_restrict hides addresses: every line reads 0.
var errHiddenAddrs = errors.New("/proc/kallsyms shows no addresses to this user " +
	"(needs CAP_SYSLOG, or kernel.kptr_restrict=0 with kernel.perf_event_paranoid<=1)")

// KallsymsAddr is the address of the named symbol in the running
// kernel's /proc/kallsyms, as Kernel.Addr gives it (FindKallsyms).
func KallsymsAddr(name string) (uint64, bool, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	return FindKallsyms(f, name)
}

// FindKallsyms finds the address of the named symbol in kallsyms text,
// the first one in the file's order as Kernel.Addr gives it, in one pass
// that keeps nothing: a script that needs an address or two (kaddr())
// does not pay for the table (7 MB for the kernel's 120,000 symbols).
func FindKallsyms(r io.Reader, name string) (uint64, bool, error) {
	want := []byte(name)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), want) {
			continue
		}
		l := sc.Text()
		addr, typ, ok := parseKsymHead(l)
		if !ok || typ == 'a' || typ == 'A' {
			continue
		}
		if f := strings.Fields(l); f[2] != name {
			continue
		}
		if addr == 0 {
			return 0, false, errHiddenAddrs
		}
		return addr, true, nil
	}
	return 0, false, sc.Err()
}

// ParseKallsyms reads symbols in the format of /proc/kallsyms:
// "address type name [module]".
//
// The text is read whole and only the addresses are parsed: reading the
// kernel's 100k-odd symbols, which symbolizing any kernel stack waits
// for, then costs little more than the kernel's writing them.
func ParseKallsyms(r io.Reader) (*Kernel, error) {
	// Read in place into room for a large kernel's table: growing a
	// buffer by appending costs more than reading it.
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
	if len(data) > math.MaxUint32 {
		return nil, fmt.Errorf("kallsyms: %d bytes is too large", len(data))
	}
	text := unsafe.String(unsafe.SliceData(data), len(data))
	k := &Kernel{text: text, syms: make([]ksym, 0, len(text)/40)}
	sorted := true
	for off, lineNo := 0, 1; off < len(text); lineNo++ {
		l := text[off:]
		if i := strings.IndexByte(l, '\n'); i >= 0 {
			l = l[:i]
		}
		at := off
		off += len(l) + 1
		addr, typ, ok := parseKsymHead(l)
		if !ok {
			if err := badLine(lineNo, l); err != nil {
				return nil, err
			}
			continue
		}
		if addr == 0 || typ == 'a' || typ == 'A' {
			// Absolute and per-CPU symbols are offsets, not addresses.
			continue
		}
		if n := len(k.syms); n > 0 && addr < k.syms[n-1].addr {
			sorted = false
		}
		k.syms = append(k.syms, ksym{addr, uint32(at)})
	}
	k.byName = sync.OnceValue(k.names)
	// Among names of one address, the lowest rank wins, then the first
	// listed. The core kernel's symbols come in address order, so the
	// sort is mostly a check.
	order := func(a, b ksym) int {
		if a.addr != b.addr {
			return cmp.Compare(a.addr, b.addr)
		}
		return cmp.Or(cmp.Compare(k.rank(a), k.rank(b)), cmp.Compare(a.line, b.line))
	}
	if !sorted {
		slices.SortFunc(k.syms, order)
	} else {
		// Ties still need ordering among themselves.
		for i := 0; i < len(k.syms); {
			j := i + 1
			for j < len(k.syms) && k.syms[j].addr == k.syms[i].addr {
				j++
			}
			if j-i > 1 {
				slices.SortFunc(k.syms[i:j], order)
			}
			i = j
		}
	}
	k.syms = slices.CompactFunc(k.syms, func(a, b ksym) bool { return a.addr == b.addr })
	return k, nil
}

// badLine is the error of a line parseKsymHead refuses; nil for a blank
// one.
func badLine(lineNo int, l string) error {
	f := strings.Fields(l)
	switch {
	case len(f) == 0:
		return nil
	case len(f) < 3:
		return fmt.Errorf("kallsyms line %d: want \"address type name\", got %q", lineNo, l)
	}
	return fmt.Errorf("kallsyms line %d: bad address %q", lineNo, f[0])
}

// parseKsymHead reads the address and the type of a line, which must be
// followed by a name.
func parseKsymHead[S string | []byte](l S) (addr uint64, typ byte, ok bool) {
	i := 0
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	start := i
	for ; i < len(l) && l[i] != ' ' && l[i] != '\t'; i++ {
		c := l[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, 0, false
		}
		if i-start >= 16 {
			return 0, 0, false
		}
		addr = addr<<4 | uint64(c)
	}
	if i == start {
		return 0, 0, false
	}
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	if i+1 >= len(l) || l[i+1] != ' ' && l[i+1] != '\t' {
		return 0, 0, false
	}
	typ = l[i]
	for i++; i < len(l) && (l[i] == ' ' || l[i] == '\t'); i++ {
	}
	return addr, typ, i < len(l)
}

// names maps each name to its first address in the file's order.
func (k *Kernel) names() map[string]uint64 {
	m := make(map[string]uint64, len(k.syms))
	off := 0
	for l := range strings.Lines(k.text) {
		addr, typ, ok := parseKsymHead(l)
		if ok && addr != 0 && typ != 'a' && typ != 'A' {
			name, _ := k.fields(ksym{line: uint32(off)})
			if _, ok := m[name]; !ok {
				m[name] = addr
			}
		}
		off += len(l)
	}
	return m
}

// fields are the name and module of a symbol, from its line.
func (k *Kernel) fields(s ksym) (name, module string) {
	l := k.text[s.line:]
	if i := strings.IndexByte(l, '\n'); i >= 0 {
		l = l[:i]
	}
	return lineFields(l)
}

// lineFields are the name and module of a kallsyms line.
func lineFields(l string) (name, module string) {
	var f [4]string
	n := 0
	for w := range strings.FieldsSeq(l) {
		if n == len(f) {
			break
		}
		f[n] = w
		n++
	}
	return f[2], strings.Trim(f[3], "[]")
}

func (k *Kernel) rank(s ksym) int {
	name, _ := k.fields(s)
	_, typ, _ := parseKsymHead(k.text[s.line:])
	return symRank(typ, name)
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
	name, module = k.fields(s)
	return name, addr - s.addr, module, true
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

// LookupKallsyms resolves addrs as Kernel.Lookup does, in one pass over
// kallsyms text that keeps only the symbols they fall in: printing the
// ksym() of a map's few dozen keys does not pay for the table (10 MB for
// the kernel's 120,000 symbols). The frames are in the order of addrs,
// with no Name where no symbol is at or below the address.
//
// Each address wanted owns the symbols above the one wanted below it, up
// to itself: a line updates at most one of them, the greatest symbol at
// or below it (ranked among names of one address as the table does), and
// an address that owns none has its lower neighbour's.
func LookupKallsyms(r io.Reader, addrs []uint64) ([]Frame, error) {
	want := slices.Compact(slices.Sorted(slices.Values(addrs)))
	type best struct {
		found bool
		addr  uint64
		rank  int
		line  []byte // reused as better lines come
	}
	owned := make([]best, len(want))
	sc := bufio.NewScanner(r)
	for lineNo := 1; sc.Scan(); lineNo++ {
		l := sc.Bytes()
		addr, typ, ok := parseKsymHead(l)
		if !ok {
			if err := badLine(lineNo, string(l)); err != nil {
				return nil, err
			}
			continue
		}
		if addr == 0 || typ == 'a' || typ == 'A' {
			continue
		}
		i, _ := slices.BinarySearch(want, addr)
		if i == len(want) {
			continue
		}
		b := &owned[i]
		if b.found && addr < b.addr {
			continue
		}
		name, _ := lineFields(unsafe.String(unsafe.SliceData(l), len(l)))
		rank := symRank(typ, name)
		if b.found && addr == b.addr && rank >= b.rank {
			continue
		}
		b.found, b.addr, b.rank, b.line = true, addr, rank, append(b.line[:0], l...)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	frames := make(map[uint64]Frame, len(want))
	var cur *best
	for i, a := range want {
		if owned[i].found {
			cur = &owned[i]
		}
		f := Frame{Addr: a}
		if cur != nil {
			f.Name, f.Module = lineFields(string(cur.line))
			f.Offset = a - cur.addr
		}
		frames[a] = f
	}
	out := make([]Frame, len(addrs))
	for i, a := range addrs {
		out[i] = frames[a]
	}
	return out, nil
}
