package codegen

import (
	"debug/elf"
	"errors"
	"fmt"

	"friday/check"
	"friday/syntax"
	"friday/types"
)

// kaddr is the address of a kernel symbol, known when the script is
// compiled.
func (f *fn) kaddr(e syntax.Expr, c *check.Call, t *types.Type) value {
	name, _ := f.constString(c.Args[0])
	addr, ok, err := f.g.opts.Kernel.addr(name)
	if err != nil {
		f.errorf(e.Pos(), "kaddr(%q): %v", name, err)
		return value{}
	}
	if !ok {
		f.errorf(e.Pos(), "kaddr(%q): no such kernel symbol", name)
	}
	return constVal(int64(addr), t)
}

// uaddr is the address of a global variable of the binary the user-space
// probe is attached to, as its symbol table gives it: like bpftrace, the
// address is not relocated for position-independent executables.
func (f *fn) uaddr(e syntax.Expr, c *check.Call, t *types.Type) value {
	name, _ := f.constString(c.Args[0])
	var addr uint64
	for i, pt := range f.points {
		a, err := objectAddr(pt.Target, name)
		if err != nil {
			f.errorf(e.Pos(), "uaddr(%q): %v", name, err)
			return value{}
		}
		if i > 0 && a != addr {
			f.errorf(e.Pos(), "uaddr(%q) differs between the binaries of this probe's attach points", name)
			return value{}
		}
		addr = a
	}
	return constVal(int64(addr), t)
}

// objectAddr finds a data symbol (STT_OBJECT) in the symbol tables of an
// ELF file.
func objectAddr(path, name string) (uint64, error) {
	ef, err := elf.Open(path)
	if err != nil {
		return 0, fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	defer ef.Close()
	for _, read := range []func() ([]elf.Symbol, error){ef.Symbols, ef.DynamicSymbols} {
		syms, _ := read()
		for _, s := range syms {
			if s.Name == name && elf.ST_TYPE(s.Info) == elf.STT_OBJECT {
				return s.Value, nil
			}
		}
	}
	return 0, fmt.Errorf("no variable %s in %s", name, path)
}
