// Package usdt reads the statically defined tracing probes (USDT, the
// SystemTap SDT notes) that programs and libraries carry in .note.stapsdt,
// and parses their argument specs into locations a BPF program can read.
package usdt

import (
	"bytes"
	"debug/elf"
	"fmt"
	"sort"

	"friday/elfdebug"
	"friday/uprobe"
)

// Probe is one probe site. A probe written once in the source may have
// several sites (inlined or duplicated code); each is a Probe.
type Probe struct {
	Path     string // file the site is in
	Provider string
	Name     string

	PC     uint64 // virtual address of the probe's instruction, prelink-adjusted
	Offset uint64 // file offset of PC: where the uprobe goes
	Base   uint64 // .stapsdt.base address the note was written for

	// Semaphore is the virtual address of the probe's enable counter, 0
	// when it has none. Programs test it before computing costly
	// arguments; a tracer must increment it while attached, which the
	// kernel does when given SemaphoreOffset (link.UprobeOptions.RefCtrOffset).
	Semaphore       uint64
	SemaphoreOffset uint64

	ArgsText string // the argument specs as written
	Args     []Arg
	// ArgsErr tells why Args could not be parsed; the probe may still
	// be attached to, without reading its arguments.
	ArgsErr error
}

// FullName is the probe's name as bpftrace prints it.
func (p Probe) FullName() string {
	return "usdt:" + p.Path + ":" + p.Provider + ":" + p.Name
}

const ntStapsdt = 3

// Read returns the probe sites of the ELF file at path, in the order of
// their notes. A file without probes gives none and no error.
func Read(path string) ([]Probe, error) {
	b, err := uprobe.Open(path)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return readBinary(b)
}

func readBinary(b *uprobe.Binary) ([]Probe, error) {
	f := b.ELF()
	notes, err := elfdebug.ReadNotes(f, ".note.stapsdt")
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Path, err)
	}
	var regs map[string]Register
	if f.Machine == elf.EM_X86_64 {
		regs = x86Registers
	}
	var baseAddr uint64
	hasBase := false
	if s := f.Section(".stapsdt.base"); s != nil {
		baseAddr, hasBase = s.Addr, true
	}
	ptr := 8
	if f.Class == elf.ELFCLASS32 {
		ptr = 4
	}
	readPtr := func(d []byte) uint64 {
		if ptr == 4 {
			return uint64(f.ByteOrder.Uint32(d))
		}
		return f.ByteOrder.Uint64(d)
	}

	var out []Probe
	for _, n := range notes {
		if n.Type != ntStapsdt || n.Name != "stapsdt" {
			continue
		}
		p, err := parseNote(n.Desc, ptr, readPtr)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Path, err)
		}
		p.Path = b.Path
		// A prelinked file moved its sections after the notes were written.
		if hasBase && p.Base != 0 {
			diff := baseAddr - p.Base
			p.PC += diff
			if p.Semaphore != 0 {
				p.Semaphore += diff
			}
		}
		if p.Offset, err = b.AddrToOffset(p.PC); err != nil {
			return nil, fmt.Errorf("probe %s:%s: %v", p.Provider, p.Name, err)
		}
		if p.Semaphore != 0 {
			if p.SemaphoreOffset, err = b.AddrToOffset(p.Semaphore); err != nil {
				return nil, fmt.Errorf("probe %s:%s semaphore: %v", p.Provider, p.Name, err)
			}
		}
		p.Args, p.ArgsErr = resolveArgs(b, p, regs)
		out = append(out, p)
	}
	return out, nil
}

// parseNote reads a note's description: the probe's address, the link-time
// address of .stapsdt.base and the semaphore's address, then provider,
// name and arguments as NUL-terminated strings.
func parseNote(desc []byte, ptr int, readPtr func([]byte) uint64) (Probe, error) {
	if len(desc) < 3*ptr {
		return Probe{}, fmt.Errorf("SDT note too short")
	}
	p := Probe{PC: readPtr(desc), Base: readPtr(desc[ptr:]), Semaphore: readPtr(desc[2*ptr:])}
	rest := desc[3*ptr:]
	var strs [3]string
	for i := range strs {
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			if i == 2 {
				// Some writers leave out the empty argument string.
				break
			}
			return Probe{}, fmt.Errorf("SDT note: unterminated string")
		}
		strs[i] = string(rest[:end])
		rest = rest[end+1:]
	}
	p.Provider, p.Name, p.ArgsText = strs[0], strs[1], strs[2]
	if p.Provider == "" || p.Name == "" {
		return Probe{}, fmt.Errorf("SDT note without provider or name")
	}
	return p, nil
}

// resolveArgs parses the argument specs and turns symbols in addresses into
// numbers.
func resolveArgs(b *uprobe.Binary, p Probe, regs map[string]Register) ([]Arg, error) {
	if p.ArgsText == "" {
		return nil, nil
	}
	if regs == nil {
		return nil, fmt.Errorf("arguments of USDT probes on %v are not supported", b.ELF().Machine)
	}
	args, err := parseArgs(p.ArgsText, regs)
	if err != nil {
		return nil, err
	}
	for i := range args {
		a := &args[i]
		ipRelative := a.Base != nil && a.Base.Name == "rip"
		if a.Symbol == "" {
			if ipRelative {
				return nil, fmt.Errorf("argument %q: an instruction-pointer-relative address needs a symbol", a.Text)
			}
			continue
		}
		addr, err := b.SymbolAddr(a.Symbol)
		if err != nil {
			return nil, fmt.Errorf("argument %q: %v", a.Text, err)
		}
		switch {
		case ipRelative:
			// When the uprobe fires, the saved instruction pointer is
			// the probe's address, moved by the same load bias as the
			// symbol.
			a.Offset += int64(addr - p.PC)
		case b.ELF().Type == elf.ET_DYN:
			return nil, fmt.Errorf("argument %q: absolute address of %s in a position-independent file", a.Text, a.Symbol)
		default:
			a.Offset += int64(addr)
		}
	}
	return args, nil
}

// Find resolves the binary part of a usdt attach point like uprobe
// targets do (a path, possibly with wildcards, a program in $PATH, a
// library name) and returns the probe sites whose provider and name match
// the patterns ('*' wildcards; an empty pattern matches all). With target
// "" and pid > 0, every file the process maps is searched.
func Find(target, provider, name string, pid int) ([]Probe, error) {
	paths, err := uprobe.SearchTargets(target, pid)
	if err != nil {
		return nil, err
	}
	var out []Probe
	for _, path := range paths {
		probes, err := Read(path)
		if err != nil {
			if target == "" {
				// A process may map files we cannot read as ELF.
				continue
			}
			return nil, err
		}
		for _, p := range probes {
			if uprobe.MatchWildcard(provider, p.Provider) && uprobe.MatchWildcard(name, p.Name) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// List gives "usdt:/path:provider:name" for each distinct matching probe,
// sorted, as `bpftrace -l` prints them.
func List(target, provider, name string, pid int) ([]string, error) {
	probes, err := Find(target, provider, name, pid)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range probes {
		if n := p.FullName(); !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
