package main

import (
	"bufio"
	"bytes"
	"io"

	"friday/folded"
	"friday/profile"
	"friday/script"
	"friday/stackprof"
	"friday/symbol"
)

// stackMaps takes the maps keyed by stacks a script prints out of its
// text output, for -f folded and -o out.svg.
type stackMaps struct {
	res *symbol.Resolver
	// folded are the folded lines of each print, in order.
	folded bytes.Buffer
	// last is what each map held when last printed; order, the order in
	// which the maps were first printed.
	last  map[string][]script.Entry
	order []string
}

func newStackMaps(host *script.Host) *stackMaps {
	return &stackMaps{res: host.Symbols(), last: map[string][]script.Entry{}}
}

// take keeps a map keyed by stacks from being printed as text: its
// entries, decoded now (the kernel's maps are gone once the script ends),
// become folded lines.
func (s *stackMaps) take(m *script.Map) error {
	if s == nil || !stackprof.HoldsStacks(m) {
		return nil
	}
	entries, err := m.Entries()
	if err != nil {
		return err
	}
	if _, ok := s.last[m.Name]; !ok {
		s.order = append(s.order, m.Name)
	}
	s.last[m.Name] = entries
	p := s.profile(map[string][]script.Entry{m.Name: entries}, []string{m.Name})
	w := bufio.NewWriter(&s.folded)
	p.Folded(0, 0, func(frames []string, value int64) { folded.Write(w, frames, value) })
	if err := w.Flush(); err != nil {
		return err
	}
	return script.SkipMap
}

// profile makes a profile of the maps named; with several, each map's
// stacks stand on a frame of its name.
func (s *stackMaps) profile(maps map[string][]script.Entry, names []string) *profile.Profile {
	p := &profile.Profile{Type: "stacks", Unit: "samples"}
	y := stackprof.NewSymbolizer(s.res, p)
	for _, name := range names {
		prefix := ""
		if len(names) > 1 {
			prefix = name
		}
		y.AddEntries(maps[name], prefix)
	}
	return p
}

// Profile is the profile of every map, as last printed.
func (s *stackMaps) Profile() *profile.Profile { return s.profile(s.last, s.order) }

func (s *stackMaps) writeFolded(w io.Writer) error {
	_, err := w.Write(s.folded.Bytes())
	return err
}
