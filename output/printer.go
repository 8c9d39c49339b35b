// Package output turns the values a script leaves in BPF maps and sends
// through the ring buffer into bpftrace's text output and its "-f json"
// output, byte for byte.
package output

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"friday/codegen"
	"friday/printf"
	"friday/run"
	"friday/tracefs"
	"friday/types"
)

// Sym is a code address resolved to a symbol. Name is empty when nothing is
// known about the address.
type Sym struct {
	Name   string
	Offset uint64
	Module string // user code: the binary's path, for perf-style stacks
	// Inlined names the calls the compiler inlined at the address,
	// innermost first; stacks show each as a frame of its own above the
	// function the code physically belongs to.
	Inlined []string
}

// Symbolizer resolves what a value only identifies (addresses, stack ids,
// cgroup ids) so that this package stays free of the kernel and /proc.
type Symbolizer interface {
	Kernel(addr uint64) Sym
	// PrepareKernel is given the kernel addresses that are about to be
	// looked up, all at once (those of a map's entries): it may resolve
	// them together for less than one at a time.
	PrepareKernel(addrs []uint64)
	User(pid uint32, addr uint64) Sym
	// Stack returns the addresses of a stack the script stored
	// under id, innermost first. Ids are only meaningful in the stack map
	// they came from: user and depth (types.Type.StackDepth) select it.
	Stack(user bool, depth int, id uint64) []uint64
	// BuildIDStack returns the frames of a ustack(build_id) stack of
	// depth stored under id, innermost first.
	BuildIDStack(depth int, id uint64) []run.BuildIDFrame
	// CgroupPath is what cgroup_path() prints for a cgroup id: its
	// "hierarchy:/path" in each mounted hierarchy whose name matches
	// filter ("" for all), joined by commas; "" when none has it.
	CgroupPath(id uint64, filter string) string
}

// NoSymbols resolves nothing: addresses print in hex, stacks are empty.
type NoSymbols struct{}

func (NoSymbols) Kernel(uint64) Sym                { return Sym{} }
func (NoSymbols) PrepareKernel([]uint64)           {}
func (NoSymbols) User(uint32, uint64) Sym          { return Sym{} }
func (NoSymbols) Stack(bool, int, uint64) []uint64 { return nil }
func (NoSymbols) BuildIDStack(int, uint64) []run.BuildIDFrame {
	return nil
}
func (NoSymbols) CgroupPath(uint64, string) string { return "" }

// Printer writes bpftrace's output for one compiled script. It implements
// run.Printer. It is not safe for concurrent use.
type Printer struct {
	// Log receives the messages of errorf() and warnf(); New sets it to
	// os.Stderr.
	Log io.Writer
	// NoWarnings leaves out the warnings of warnf() and of the program
	// (--no-warnings).
	NoWarnings bool
	// GFPFlags gives the names printf's %gr spells GFP flags with; New
	// sets it to read the running kernel's (tracefs.GFPFlags) when first
	// needed. Without names %gr prints the flags in hex, after a warning.
	GFPFlags func() ([]tracefs.Flag, error)
	gfp      []tracefs.Flag
	gfpDone  bool

	w    *bufio.Writer
	json bool
	obj  *codegen.Object
	sym  Symbolizer

	formats map[uint64]*printf.Format // parsed printf formats by event ID
	checked map[uint64]bool           // events whose layout was checked
	shown   map[uint64]bool           // Once events already shown
	buf     []byte                    // scratch line
	line    []byte                    // printf text before it is written
	tmp     []byte                    // one printf conversion before padding
	args    []Arg                     // printf arguments of the current event
	users   *userNames

	clock    func() time.Time // time()
	loc      *time.Location   // dates are printed in local time
	bootBase time.Time        // wall-clock time of CLOCK_MONOTONIC's zero
	// taiOffset is CLOCK_TAI minus the wall clock, for tseries intervals.
	taiOffset time.Duration
}

var _ run.Printer = (*Printer)(nil)

// gfpNames is the table of GFP flag names, read on first use.
func (p *Printer) gfpNames() []tracefs.Flag {
	if !p.gfpDone {
		p.gfpDone = true
		var err error
		if p.GFPFlags != nil {
			p.gfp, err = p.GFPFlags()
		}
		if err != nil {
			fmt.Fprintf(p.Log, "WARNING: %%gr prints GFP flags in hex: the kernel's names of them are unknown: %v\n", err)
		}
	}
	return p.gfp
}

// New makes a printer writing format ("text" or "json") to w for the
// events and maps of obj. sym may be nil.
func New(w io.Writer, format string, obj *codegen.Object, sym Symbolizer) (*Printer, error) {
	p := &Printer{
		Log: os.Stderr,
		obj: obj, sym: sym, formats: map[uint64]*printf.Format{}, checked: map[uint64]bool{}, users: newUserNames("/etc/passwd"),
		clock: time.Now, loc: time.Local, bootBase: monotonicOffset(), taiOffset: clockTAIOffset(),
		GFPFlags: tracefs.GFPFlags,
	}
	switch format {
	case "text", "":
	case "json":
		p.json = true
	default:
		return nil, fmt.Errorf("invalid output format %q: use text or json", format)
	}
	if p.sym == nil {
		p.sym = NoSymbols{}
	}
	if p.obj == nil {
		p.obj = &codegen.Object{}
	}
	if bw, ok := w.(*bufio.Writer); ok {
		p.w = bw
	} else {
		p.w = bufio.NewWriterSize(w, 64<<10)
	}
	return p, nil
}

// Attached announces the number of probes attached: on standard error in
// text, as a record of the output in JSON.
func (p *Printer) Attached(n int) error {
	if p.json {
		fmt.Fprintf(p.w, `{"type": "attached_probes", "count": %d, "data": {"probes": %d}}`+"\n", n, n)
		return nil
	}
	s := "s"
	if n == 1 {
		s = ""
	}
	return p.message("Attached %d probe%s\n", n, s)
}

// message writes a line of text output that goes to standard error, after
// the output before it.
func (p *Printer) message(format string, args ...any) error {
	if err := p.w.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(p.Log, format, args...)
	return err
}

// ExitMaps writes what bpftrace writes between the end of the script and
// the maps it prints at exit: two empty lines in text, nothing in JSON.
func (p *Printer) ExitMaps() error {
	if p.json {
		return nil
	}
	_, err := p.w.WriteString("\n\n")
	return err
}

// Lost reports events dropped because the ring buffer was full: on
// standard error in text, as a record of the output in JSON.
func (p *Printer) Lost(n uint64) error {
	if p.json {
		fmt.Fprintf(p.w, `{"type": "lost_events", "count": %d, "data": {"events": %d}}`+"\n", n, n)
		return nil
	}
	return p.message("Lost %d events\n", n)
}

// Text writes bytes as they are (cat).
func (p *Printer) Text(b []byte) error { return p.verbatim("cat", b) }

// Syscall writes the output of a command run by system(), and in text a
// newline after it as bpftrace's current release does.
func (p *Printer) Syscall(b []byte) error {
	if err := p.verbatim("syscall", b); err != nil || p.json {
		return err
	}
	return p.w.WriteByte('\n')
}

// verbatim writes b as it is in text, as a record of type typ in JSON.
func (p *Printer) verbatim(typ string, b []byte) error {
	if p.json {
		return p.jsonLine(typ, b)
	}
	_, err := p.w.Write(b)
	return err
}

// Flush writes out what is buffered.
func (p *Printer) Flush() error { return p.w.Flush() }

// jsonLine writes {"type": typ, "data": "s"} with s as a JSON string.
func (p *Printer) jsonLine(typ string, s []byte) error {
	b := p.buf[:0]
	b = append(b, `{"type": "`...)
	b = append(b, typ...)
	b = append(b, `", "data": `...)
	b = appendJSONString(b, s)
	b = append(b, "}\n"...)
	p.buf = b
	_, err := p.w.Write(b)
	return err
}

// Event prints one record of an event whose output the printer owns.
func (p *Printer) Event(ev *codegen.Event, args []byte) error {
	if err := p.checkEvent(ev, args); err != nil {
		return err
	}
	switch ev.Kind {
	case codegen.Printf:
		s, err := p.formatted(p.line[:0], ev, args)
		p.line = s
		if err != nil {
			return err
		}
		if p.json {
			return p.jsonLine("printf", s)
		}
		_, err = p.w.Write(s)
		return err
	case codegen.Print:
		return p.printValue(ev, args)
	case codegen.Time:
		s := p.strftime(ev.Format, p.now())
		if p.json {
			return p.jsonLine("time", []byte(s))
		}
		_, err := p.w.WriteString(s)
		return err
	case codegen.Join:
		return p.join(ev, args)
	case codegen.Errorf:
		// bpftrace's JSON output shows the program's run-time errors
		// whatever --no-warnings says.
		if ev.Warn && p.NoWarnings && !(ev.Runtime && p.json) || ev.Once && p.shown[ev.ID] {
			return nil
		}
		if ev.Once {
			if p.shown == nil {
				p.shown = map[uint64]bool{}
			}
			p.shown[ev.ID] = true
		}
		s, err := p.formatted(p.line[:0], ev, args)
		p.line = s
		if err != nil {
			return err
		}
		if p.json {
			return p.jsonMessage(ev, s, args)
		}
		// Keep the order of messages and output, which go to different
		// files.
		if err := p.w.Flush(); err != nil {
			return err
		}
		level := "ERROR"
		if ev.Warn {
			level = "WARNING"
		}
		_, err = fmt.Fprintf(p.Log, "%s: %s: %s\n%s", ev.Pos, level, s, ev.Source)
		return err
	}
	return fmt.Errorf("internal error: the printer cannot handle events of kind %d", ev.Kind)
}

// jsonMessage writes the record of an errorf(), a warnf() or a run-time
// error of the program, with msg its text, as bpftrace's JSON output has
// them: a helper's failure is told by the helper's name and return code.
func (p *Printer) jsonMessage(ev *codegen.Event, msg, args []byte) error {
	b := p.buf[:0]
	switch {
	case ev.Helper != "":
		ret := ev.Retcode
		if ev.Layout != nil && len(ev.Layout.Fields) > 0 {
			fs := ev.Layout.Fields
			ret = int64(binary.NativeEndian.Uint64(args[fs[len(fs)-1].Offset:]))
		}
		b = append(b, `{"type": "helper_error", "msg": `...)
		if ret == 0 {
			// A lookup of a missing element: the warning's own words.
			first, _, _ := bytes.Cut(msg, []byte("\n"))
			b = appendJSONString(b, first)
		} else {
			b = appendJSONString(b, []byte(run.Strerror(syscall.Errno(-ret))))
		}
		b = append(b, `, "helper": `...)
		b = appendJSONString(b, []byte(ev.Helper))
		b = append(b, `, "retcode": `...)
		b = strconv.AppendInt(b, ret, 10)
	case ev.Runtime:
		b = append(b, `{"type": "runtime_error", "msg": `...)
		b = appendJSONString(b, msg)
	default:
		typ := "errorf"
		if ev.Warn {
			typ = "warnf"
		}
		b = append(b, `{"type": "`...)
		b = append(b, typ...)
		b = append(b, `", "msg": `...)
		b = appendJSONString(b, msg)
	}
	b = append(b, `, "filename": `...)
	b = appendJSONString(b, []byte(ev.File))
	b = append(b, `, "line": `...)
	b = strconv.AppendInt(b, int64(ev.Line), 10)
	b = append(b, `, "col": `...)
	b = strconv.AppendInt(b, int64(ev.Col), 10)
	b = append(b, "}\n"...)
	p.buf = b
	_, err := p.w.Write(b)
	return err
}

// checkEvent makes sure a record holds what its layout says.
func (p *Printer) checkEvent(ev *codegen.Event, args []byte) error {
	if ev.Layout == nil {
		return nil
	}
	if !p.checked[ev.ID] {
		if err := checkType(ev.Layout); err != nil {
			return fmt.Errorf("internal error: event %d: %v", ev.ID, err)
		}
		p.checked[ev.ID] = true
	}
	if len(args) < ev.Layout.Size {
		return fmt.Errorf("internal error: event %d has %d bytes of arguments, want %d", ev.ID, len(args), ev.Layout.Size)
	}
	return nil
}

// Format renders a printf-style event to a string.
func (p *Printer) Format(ev *codegen.Event, args []byte) (string, error) {
	if err := p.checkEvent(ev, args); err != nil {
		return "", err
	}
	b, err := p.formatted(nil, ev, args)
	return string(b), err
}

// formatted appends the text of a printf-style event whose record was
// checked.
func (p *Printer) formatted(dst []byte, ev *codegen.Event, args []byte) ([]byte, error) {
	f := p.formats[ev.ID]
	if f == nil {
		var err error
		if f, err = printf.Parse(ev.Format); err != nil {
			return dst, fmt.Errorf("%s: %v", ev.Pos, err)
		}
		p.formats[ev.ID] = f
	}
	p.args = p.args[:0]
	if ev.Layout != nil {
		for _, fd := range ev.Layout.Fields {
			p.args = append(p.args, Arg{Type: fd.Type, Data: args[fd.Offset : fd.Offset+fd.Type.Size]})
		}
	}
	return p.appendf(dst, f, p.args)
}

func (p *Printer) printValue(ev *codegen.Event, args []byte) error {
	if ev.Layout == nil || len(ev.Layout.Fields) == 0 {
		return fmt.Errorf("internal error: print event %d has no value", ev.ID)
	}
	fd := ev.Layout.Fields[0]
	v := args[fd.Offset : fd.Offset+fd.Type.Size]
	b := p.buf[:0]
	if p.json {
		b = append(b, `{"type": "value", "data": `...)
		b = p.appendJSON(b, fd.Type, v)
		b = append(b, "}\n"...)
	} else {
		b = p.appendText(b, fd.Type, v)
		b = append(b, '\n')
	}
	p.buf = b
	_, err := p.w.Write(b)
	return err
}

// join prints the strings of an array separated by ev.Format. The record
// holds an Array of String; like the NULL pointer ending the array that
// join() reads, an empty string ends the list.
func (p *Printer) join(ev *codegen.Event, args []byte) error {
	var s []byte
	if ev.Layout != nil && len(ev.Layout.Fields) > 0 {
		fd := ev.Layout.Fields[0]
		t := fd.Type
		v := args[fd.Offset : fd.Offset+t.Size]
		if t.Kind == types.Array && t.Elem != nil {
			for i := 0; i < t.Len; i++ {
				e := v[i*t.Elem.Size : (i+1)*t.Elem.Size]
				if len(e) == 0 || e[0] == 0 {
					break
				}
				if i > 0 {
					s = append(s, ev.Format...)
				}
				s = append(s, cString(e)...)
			}
		} else {
			s = append(s, cString(v)...)
		}
	}
	if p.json {
		return p.jsonLine("join", s)
	}
	s = append(s, '\n')
	_, err := p.w.Write(s)
	return err
}
