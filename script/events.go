package script

import (
	"errors"

	"friday/codegen"
	"friday/run"
)

// Event is one thing a script sent to be printed (printf(), print() of a
// value, time(), join(), errorf(), ...), decoded.
type Event struct {
	// Kind says what sent it: codegen.Printf, codegen.Print, ...
	Kind codegen.EventKind
	// Format is what shapes its text: the format of printf(), errorf()
	// and time(), the separator of join().
	Format string
	// Args are its arguments, decoded as Map.Entries decodes values.
	Args []any
	// Pos is where the script sent it: "file:line:col".
	Pos string
}

// callbacks hands what a script prints to the Go callbacks of RunOptions
// as well as to the printer.
type callbacks struct {
	run.Printer
	dec   *decoder
	event func(*Event) error
	maps  func(*Map) error
	flush func() error
	lost  func(uint64) error
	// silent leaves events and maps to the callbacks: nothing prints them
	// but the run-time warnings, which go to the log.
	silent bool
}

func (c *callbacks) Event(ev *codegen.Event, args []byte) error {
	if c.event != nil {
		e := &Event{Kind: ev.Kind, Format: ev.Format, Pos: ev.Pos}
		if ev.Layout != nil {
			for _, f := range ev.Layout.Fields {
				e.Args = append(e.Args, c.dec.value(f.Type, args[f.Offset:]))
			}
		}
		if err := c.event(e); err != nil {
			return err
		}
	}
	// Without an output a script's run-time warnings still reach the
	// log, once each where they say so.
	if c.silent && ev.Kind != codegen.Errorf {
		return nil
	}
	return c.Printer.Event(ev, args)
}

// SkipMap is what a Map callback returns for a map it has printed its own
// way: Output does not get it.
var SkipMap = errors.New("map printed by the callback")

func (c *callbacks) Map(m *codegen.Map, entries []run.Entry, top, div uint64) error {
	if c.maps != nil {
		err := c.maps(c.dec.snapshot(m, entries))
		if errors.Is(err, SkipMap) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	if c.silent {
		return nil
	}
	return c.Printer.Map(m, entries, top, div)
}

func (c *callbacks) Lost(n uint64) error {
	if c.lost != nil {
		return c.lost(n)
	}
	return c.Printer.Lost(n)
}

func (c *callbacks) Flush() error {
	if c.flush != nil {
		if err := c.flush(); err != nil {
			return err
		}
	}
	return c.Printer.Flush()
}
