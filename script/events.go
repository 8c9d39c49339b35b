package script

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"friday/codegen"
	"friday/output"
	"friday/run"
	"friday/types"
)

// Event is one thing a script sent to be printed (printf(), print() of a
// value, time(), join(), errorf(), ...). Its arguments are read where the
// record holds them: the callback given an Event may use it, and the
// bytes Bytes returns, only until it returns.
type Event struct {
	// Kind says what sent it: codegen.Printf, codegen.Print, ...
	Kind codegen.EventKind
	// Format is what shapes its text: the format of printf(), errorf()
	// and time(), the separator of join().
	Format string
	// Pos is where the script sent it: "file:line:col".
	Pos string

	layout *types.Type // nil: no arguments
	data   []byte
	dec    *decoder
}

// Len is the number of its arguments.
func (e *Event) Len() int {
	if e.layout == nil {
		return 0
	}
	return len(e.layout.Fields)
}

// Type is the type of argument i.
func (e *Event) Type(i int) *types.Type { return e.layout.Fields[i].Type }

// Arg is argument i decoded as Map.Entries decodes values.
func (e *Event) Arg(i int) any {
	f := e.layout.Fields[i]
	return e.dec.value(f.Type, e.data[f.Offset:])
}

// Args are its arguments decoded (Arg), in a new slice.
func (e *Event) Args() []any {
	args := make([]any, e.Len())
	for i := range args {
		args[i] = e.Arg(i)
	}
	return args
}

// Uint is integer argument i as an unsigned integer (a signed one's bits,
// sign-extended), or a bool's 0 or 1.
func (e *Event) Uint(i int) uint64 {
	f := e.layout.Fields[i]
	if f.Type.Kind == types.Bool {
		return uint64(e.data[f.Offset])
	}
	return intBits(f.Type, e.data[f.Offset:])
}

// Int is integer argument i as a signed integer.
func (e *Event) Int(i int) int64 { return int64(e.Uint(i)) }

// Bytes are the bytes of string argument i, up to its end: valid until
// the callback returns. An argument of another type is its text (Str).
func (e *Event) Bytes(i int) []byte {
	f := e.layout.Fields[i]
	if f.Type.Kind != types.String {
		return []byte(e.Str(i))
	}
	b := e.data[f.Offset:][:f.Type.Size]
	if n := bytes.IndexByte(b, 0); n >= 0 {
		b = b[:n]
	}
	return b
}

// Str is string argument i, or the text of an argument of another type
// (an address of ntop(), a symbol, ...) as Arg decodes it.
func (e *Event) Str(i int) string {
	if e.Type(i).Kind == types.String {
		return string(e.Bytes(i))
	}
	if s, ok := e.Arg(i).(string); ok {
		return s
	}
	return fmt.Sprint(e.Arg(i))
}

// AppendText appends the text of argument i, as Str gives it, to b:
// strings, integers and addresses (ntop()) without allocating.
func (e *Event) AppendText(b []byte, i int) []byte {
	f := e.layout.Fields[i]
	switch f.Type.Kind {
	case types.String:
		return append(b, e.Bytes(i)...)
	case types.Int:
		if f.Type.Signed {
			return strconv.AppendInt(b, e.Int(i), 10)
		}
		return strconv.AppendUint(b, e.Uint(i), 10)
	case types.Inet:
		return output.AppendInet(b, e.data[f.Offset:])
	}
	return append(b, e.Str(i)...)
}

// callbacks hands what a script prints to the Go callbacks of RunOptions
// as well as to the printer.
type callbacks struct {
	run.Printer
	dec   *decoder
	event func(*Event) error
	ev    Event // the one handed to event
	maps  func(*Map) error
	flush func() error
	lost  func(uint64) error
	// silent leaves events and maps to the callbacks: nothing prints them
	// but the run-time warnings, which go to the log.
	silent bool
}

func (c *callbacks) Event(ev *codegen.Event, args []byte) error {
	if c.event != nil {
		// One Event serves every record: nothing is allocated per event.
		e := &c.ev
		*e = Event{Kind: ev.Kind, Format: ev.Format, Pos: ev.Pos, layout: ev.Layout, data: args, dec: c.dec}
		err := c.event(e)
		e.data = nil
		if err != nil {
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
