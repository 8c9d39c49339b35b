// Package uprobe finds where user-space probes go: it resolves the binary
// of a uprobe or uretprobe attach point (path, $PATH, library name, process
// mappings), lists and matches its functions, and turns functions, offsets
// and addresses into the file offsets the kernel attaches at. Return probes
// on Go code become probes on the function's return instructions, since
// the kernel's return probes break Go's movable stacks.
package uprobe

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Options change how an attach point is resolved.
type Options struct {
	PID    int  // look libraries up in this process's mappings; 0 for none
	Return bool // a uretprobe rather than a uprobe
	// Unsafe allows raw addresses that are not the start of a function and
	// offsets that are not known to start an instruction.
	Unsafe bool
	// Cache, when set, keeps the function tables read for the attach
	// points that follow.
	Cache *Cache
}

// Cache keeps the function tables of the binaries attach points were
// resolved in, by path, for as long as the file is the same: a script's
// probes on six functions of the C library read its symbol tables once,
// not six times (15 ms each with its debug symbols installed). The zero
// Cache is ready for use, by several goroutines.
type Cache struct {
	mu     sync.Mutex
	byFile map[fileID]tables
}

// tables are what a binary read of its symbols: Binary.funcs and
// Binary.exports, each nil when not read.
type tables struct{ funcs, exports []Func }

// fileID names a file as it is now: a binary rebuilt at the same path is
// another.
type fileID struct {
	path     string
	dev, ino uint64
	size     int64
	mtime    int64
}

func idOf(path string) (fileID, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, false
	}
	return fileID{path, st.Dev, st.Ino, st.Size, st.Mtim.Nano()}, true
}

// locate resolves fn in the binary at path, with the function table
// cached when there is one.
func (c *Cache) locate(path, fn string, opts Options) ([]Location, error) {
	b, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	id, ok := idOf(path)
	if c == nil || !ok {
		return b.Locate(fn, opts)
	}
	c.mu.Lock()
	t := c.byFile[id]
	c.mu.Unlock()
	b.exports = t.exports
	if t.funcs != nil {
		b.funcs, b.funcsDone = t.funcs, true
	}
	locs, err := b.Locate(fn, opts)
	if b.funcsDone && b.funcsErr == nil {
		t.funcs = b.funcs
	}
	t.exports = b.exports
	c.mu.Lock()
	if c.byFile == nil {
		c.byFile = map[fileID]tables{}
	}
	c.byFile[id] = t
	c.mu.Unlock()
	return locs, err
}

// Location is one place where a probe is attached.
type Location struct {
	Path   string // file handed to the kernel
	Func   string // function holding the place; "" for a raw address outside any
	Spec   string // the function part of the probe's name: "malloc", "malloc+4", "0x1139"
	Addr   uint64 // virtual address in the file
	Offset uint64 // file offset: what the kernel (and link.UprobeOptions.Address) wants
	// Return is true when the kernel's return probe is to be used. It is
	// false for every location of a uretprobe on a Go function, whose
	// locations are its return instructions instead.
	Return bool
}

// Resolve turns the binary and function parts of a uprobe or uretprobe
// attach point into locations. fn is a function name (with '*' wildcards),
// "name+offset", or a raw virtual address ("0x1139").
func Resolve(target, fn string, opts Options) ([]Location, error) {
	paths, err := ResolveTarget(target, opts.PID)
	if err != nil {
		return nil, err
	}
	var out []Location
	for _, p := range paths {
		locs, err := opts.Cache.locate(p, fn, opts)
		if err != nil {
			if len(paths) > 1 && errors.Is(err, ErrNoFunction) {
				continue
			}
			return nil, err
		}
		out = append(out, locs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no function matches %s", target, fn)
	}
	return out, nil
}

// ErrNoFunction is wrapped by errors for a function name or pattern that
// matches nothing.
var ErrNoFunction = errors.New("no such function")

// Locate resolves the function part of an attach point in b.
func (b *Binary) Locate(fn string, opts Options) ([]Location, error) {
	if fn == "" {
		return nil, errors.New("missing function name")
	}
	if addr, err := strconv.ParseUint(fn, 0, 64); err == nil {
		loc, err := b.locateAddr(addr, opts)
		if err != nil {
			return nil, err
		}
		return b.expandReturn([]Location{loc}, opts, false)
	}
	if name, off, ok, err := b.splitOffset(fn); ok || err != nil {
		if err != nil {
			return nil, err
		}
		if opts.Return {
			return nil, fmt.Errorf("%s: a return probe cannot take an offset", fn)
		}
		if strings.Contains(name, "*") {
			return nil, fmt.Errorf("%s: an offset cannot follow a wildcard", fn)
		}
		funcs, err := b.find(name)
		if err != nil {
			return nil, err
		}
		if len(funcs) > 1 {
			return nil, fmt.Errorf("%s: %s names %d functions; an offset needs one", fn, name, len(funcs))
		}
		if !opts.Unsafe {
			if err := b.checkBoundary(funcs[0], off); err != nil {
				return nil, err
			}
		}
		loc, err := b.location(funcs[0], off)
		if err != nil {
			return nil, err
		}
		return []Location{loc}, nil
	}
	wildcard := strings.Contains(fn, "*")
	var funcs []Func
	var err error
	if wildcard {
		funcs, err = b.findAll(fn)
	} else {
		funcs, err = b.find(fn)
	}
	if err != nil {
		return nil, err
	}
	locs := make([]Location, 0, len(funcs))
	for _, f := range funcs {
		loc, err := b.location(f, 0)
		if err != nil {
			return nil, err
		}
		locs = append(locs, loc)
	}
	return b.expandReturn(locs, opts, wildcard || len(locs) > 1)
}

// splitOffset splits "name+offset". A '+' belongs to the name when what
// follows is no number and the whole is a function (C++'s operator+).
func (b *Binary) splitOffset(fn string) (name string, off uint64, ok bool, err error) {
	i := strings.LastIndex(fn, "+")
	if i < 0 {
		return fn, 0, false, nil
	}
	name, offText := fn[:i], fn[i+1:]
	off, err = strconv.ParseUint(offText, 0, 64)
	if err == nil {
		return name, off, true, nil
	}
	if _, ferr := b.find(fn); ferr == nil {
		return fn, 0, false, nil
	}
	return "", 0, false, fmt.Errorf("invalid offset %q in %s", offText, fn)
}

func (b *Binary) location(f Func, off uint64) (Location, error) {
	spec := f.Name
	if off != 0 {
		spec = fmt.Sprintf("%s+%d", f.Name, off)
	}
	fileOff, err := b.AddrToOffset(f.Addr + off)
	if err != nil {
		return Location{}, err
	}
	return Location{Path: b.Path, Func: f.Name, Spec: spec, Addr: f.Addr + off, Offset: fileOff}, nil
}

func (b *Binary) locateAddr(addr uint64, opts Options) (Location, error) {
	spec := fmt.Sprintf("0x%x", addr)
	f, found := b.FuncAt(addr)
	if !opts.Unsafe {
		if !found {
			return Location{}, fmt.Errorf("%s: address %s is not inside any known function", b.Path, spec)
		}
		if addr != f.Addr {
			return Location{}, fmt.Errorf("%s: address %s is not the start of a function (it is %s+%d)", b.Path, spec, f.Name, addr-f.Addr)
		}
	}
	off, err := b.AddrToOffset(addr)
	if err != nil {
		return Location{}, err
	}
	loc := Location{Path: b.Path, Spec: spec, Addr: addr, Offset: off}
	if found {
		loc.Func = f.Name
	}
	return loc, nil
}

// expandReturn marks locations of a return probe, replacing a Go function's
// entry by its return instructions. A wildcard may match functions that
// never return (they end in a jump or a call to a function that exits) or
// whose code cannot be decoded; those are left out, as long as some remain.
func (b *Binary) expandReturn(locs []Location, opts Options, wildcard bool) ([]Location, error) {
	if !opts.Return {
		return locs, nil
	}
	if !b.IsGo() {
		for i := range locs {
			locs[i].Return = true
		}
		return locs, nil
	}
	var out []Location
	var firstErr error
	for _, loc := range locs {
		f, err := b.Lookup(loc.Func)
		if loc.Func == "" || err != nil || f.Addr != loc.Addr {
			return nil, fmt.Errorf("%s: a return probe on Go code needs the start of a function, not %s", b.Path, loc.Spec)
		}
		rets, err := b.ReturnOffsets(f)
		if err != nil {
			if !wildcard {
				return nil, err
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, off := range rets {
			l := loc
			l.Offset = off
			l.Addr = f.Addr + (off - f.Offset)
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, firstErr
	}
	return out, nil
}

// List gives the attach points of target whose function matches pattern
// ('*' wildcards), one "uprobe:/path:function" line each, sorted, the way
// `bpftrace -l` prints them. With target "" and pid > 0, it lists every
// file the process maps.
func List(target, pattern string, pid int) ([]string, error) {
	paths, err := SearchTargets(target, pid)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		lines, err := listFile(p, pattern)
		if err != nil {
			if target == "" {
				// A process may map files we cannot read as ELF.
				continue
			}
			return nil, err
		}
		out = append(out, lines...)
	}
	sort.Strings(out)
	return out, nil
}

func listFile(path, pattern string) ([]string, error) {
	b, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	funcs, err := b.Funcs()
	if err != nil {
		return nil, err
	}
	var out []string
	for i, f := range funcs {
		if (i == 0 || funcs[i-1].Name != f.Name) && b.matches(pattern, f.Name) {
			out = append(out, "uprobe:"+path+":"+f.Name)
		}
	}
	return out, nil
}

// MatchWildcard reports whether s matches pattern, in which '*' stands for
// any run of characters, as in bpftrace attach points. An empty pattern
// matches everything.
func MatchWildcard(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
