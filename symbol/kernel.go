package symbol

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
)

// Kernel is the kernel's symbol table as /proc/kallsyms shows it, modules
// included, sorted by address for binary search.
type Kernel struct {
	syms   []ksym            // sorted by addr, one entry per address
	byName map[string]uint64 // first address of each name
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
func ParseKallsyms(r io.Reader) (*Kernel, error) {
	k := &Kernel{byName: make(map[string]uint64)}
	type entry struct {
		ksym
		rank int // lower wins when several names share an address
		seq  int
	}
	var all []entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		fields := bytes.Fields(b)
		if len(fields) < 3 {
			if len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			return nil, fmt.Errorf("kallsyms line %d: want \"address type name\", got %q", line, b)
		}
		addr, err := strconv.ParseUint(string(fields[0]), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("kallsyms line %d: bad address %q", line, fields[0])
		}
		typ := fields[1][0]
		if addr == 0 || typ == 'a' || typ == 'A' {
			// Absolute and per-CPU symbols are offsets, not addresses.
			continue
		}
		name := string(fields[2])
		var mod string
		if len(fields) > 3 {
			mod = string(bytes.Trim(fields[3], "[]"))
		}
		if _, ok := k.byName[name]; !ok {
			k.byName[name] = addr
		}
		all = append(all, entry{ksym{addr, name, mod}, symRank(typ, name), len(all)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.addr != b.addr {
			return a.addr < b.addr
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.seq < b.seq
	})
	k.syms = make([]ksym, 0, len(all))
	for i, e := range all {
		if i > 0 && all[i-1].addr == e.addr {
			continue
		}
		k.syms = append(k.syms, e.ksym)
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
	a, ok := k.byName[name]
	return a, ok
}

// Len is the number of distinct symbol addresses.
func (k *Kernel) Len() int { return len(k.syms) }
