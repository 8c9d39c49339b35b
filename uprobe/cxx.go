package uprobe

import (
	"fmt"
	"strings"

	"github.com/ianlancetaylor/demangle"
)

// cxxName is what a C++ symbol demangles to: with its parameter list
// ("ns::foo(int)") and without ("ns::foo").
type cxxName struct{ full, base string }

// cxxNames demangles the binary's C++ function names once.
func (b *Binary) cxxNames() (map[string]cxxName, error) {
	if b.cxx != nil {
		return b.cxx, nil
	}
	funcs, err := b.Funcs()
	if err != nil {
		return nil, err
	}
	names := map[string]cxxName{}
	for _, f := range funcs {
		if _, done := names[f.Name]; done || !strings.HasPrefix(f.Name, "_Z") {
			continue
		}
		full, err := demangle.ToString(f.Name)
		if err != nil {
			continue
		}
		base, err := demangle.ToString(f.Name, demangle.NoParams)
		if err != nil {
			base = full
		}
		names[f.Name] = cxxName{full, base}
	}
	b.cxx = names
	return names, nil
}

// matches reports whether a function called sym matches pattern ('*'
// wildcards), by its symbol or, for C++, by its demangled name with or
// without parameters.
func (b *Binary) matches(pattern, sym string) bool {
	if MatchWildcard(pattern, sym) {
		return true
	}
	names, err := b.cxxNames()
	if err != nil {
		return false
	}
	n, ok := names[sym]
	return ok && (MatchWildcard(pattern, n.full) || MatchWildcard(pattern, n.base))
}

// find returns the functions a name without wildcards designates: the
// symbol of that name, or else every C++ function whose demangled name is
// it, so that "ns::foo" stands for all overloads and "ns::foo(int)" for
// one.
func (b *Binary) find(name string) ([]Func, error) {
	if f, err := b.Lookup(name); err == nil {
		return []Func{f}, nil
	}
	return b.findAll(name)
}

// findAll returns the preferred function of every symbol that matches
// pattern.
func (b *Binary) findAll(pattern string) ([]Func, error) {
	funcs, err := b.Funcs()
	if err != nil {
		return nil, err
	}
	var out []Func
	for i, f := range funcs {
		if (i > 0 && funcs[i-1].Name == f.Name) || !b.matches(pattern, f.Name) {
			continue
		}
		// Of same-named functions the first may be a static one; take
		// the one Lookup would.
		best, err := b.Lookup(f.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, best)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w: %s", b.Path, ErrNoFunction, pattern)
	}
	return out, nil
}
