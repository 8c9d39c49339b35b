package codegen

import (
	"strconv"

	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/syntax"
	"friday/types"
)

func itoa(n int) string { return strconv.Itoa(n) }

// Ring buffer flags and query kinds (uapi/linux/bpf.h).
const (
	rbNoWakeup    = 1
	rbForceWakeup = 2
	rbAvailData   = 0
)

// asyncCall generates a call the runtime carries out (printf, exit, ...).
func (f *fn) asyncCall(e *syntax.Call, c *check.Call, t *types.Type) value {
	void := value{kind: vVoid, t: types.VoidT}
	args := c.Args
	switch c.Name {
	case "printf", "errorf", "warnf", "system", "cat":
		var format string
		if c.Format != nil {
			format = c.Format.Text
		} else {
			var ok bool
			if len(args) > 0 {
				format, ok = f.constString(args[0])
			}
			if !ok {
				f.errorf(e.Pos(), "%s() needs a string literal as format", c.Name)
			}
			args = args[1:]
		}
		kind := map[string]EventKind{"printf": Printf, "errorf": Errorf, "warnf": Errorf, "system": System, "cat": Cat}[c.Name]
		f.event(e, kind, format, "", args)
	case "time":
		format := "%H:%M:%S\n"
		if len(args) > 0 {
			s, ok := f.constString(args[0])
			if !ok {
				f.errorf(args[0].Pos(), "the format of time() must be a string literal")
			}
			format = s
		}
		f.event(e, Time, format, "", nil)
	case "exit":
		f.event(e, Exit, "", "", args)
		if f.parent != nil {
			// In a loop callback: stop the loop; the probe goes on.
			f.emit(asm.Mov.Imm(asm.R0, 1))
		}
		f.b.ja(f.exit)
	case "print":
		if c.Map != nil {
			f.event(e, PrintMap, "", c.Map.Name, widenArgs(args))
			break
		}
		if len(args) == 0 {
			f.errorf(e.Pos(), "print() needs an argument")
		}
		f.event(e, Print, "", "", args[:1])
	case "clear", "zero":
		if c.Map == nil {
			f.errorf(e.Pos(), "%s() needs a map", c.Name)
		}
		kind := ClearMap
		if c.Name == "zero" {
			kind = ZeroMap
		}
		f.event(e, kind, "", c.Map.Name, nil)
	default:
		f.errorf(e.Pos(), "%s() is not supported by the code generator", c.Name)
	}
	return void
}

// widenArgs marks print(@m, top, div) arguments, stored as uint64.
func widenArgs(args []syntax.Expr) []syntax.Expr { return args }

func (f *fn) constString(e syntax.Expr) (string, bool) {
	if c, ok := f.info.Consts[e]; ok && c.IsStr {
		return c.Str, true
	}
	if s, ok := e.(*syntax.StrLit); ok {
		return s.Value, true
	}
	return "", false
}

// eventType is how an argument is stored in an event record.
func (f *fn) eventType(e syntax.Expr, kind EventKind) *types.Type {
	t := f.typeOf(e)
	switch {
	case kind == PrintMap:
		return types.U64
	case t.IsAggregate():
		return types.IntOf(8, t.Signed)
	case t.Kind == types.Int && t.Size != 8:
		// Numbers travel as 8 bytes, as bpftrace's records hold them.
		return types.IntOf(8, t.Signed)
	}
	return t
}

// event sends an event record: the 8-byte event ID and the arguments laid
// out as a tuple. The record is reserved in the ring buffer and filled in
// place; when an argument needs every spare register, the record is
// built on the stack and copied with ringbuf_output instead.
func (f *fn) event(e syntax.Expr, kind EventKind, format, mapName string, args []syntax.Expr) *Event {
	ts := make([]*types.Type, len(args))
	for i, a := range args {
		ts[i] = f.eventType(a, kind)
	}
	layout := types.TupleOf(ts...)
	ev := f.g.addEvent(kind, format, layout, e.Pos())
	ev.Map = mapName
	size := 8 + layout.Size
	rb := f.g.ringBuf()
	lost := f.b.newLabel()
	end := f.b.newLabel()

	rec, ok := f.getReg()
	if !ok || f.needsRegs(args) {
		if ok {
			f.free[rec] = true
		}
		buf := f.alloc(size)
		f.writeRecord(buf, ev.ID, args, layout)
		f.wakeupFlags(asm.R4)
		f.mapPtr(asm.R1, rb)
		f.addr(asm.R2, buf)
		f.emit(asm.Mov.Imm(asm.R3, int32(size)))
		f.call(asm.FnRingbufOutput)
		f.b.jmpImm(asm.JSGE, asm.R0, 0, end)
	} else {
		f.mapPtr(asm.R1, rb)
		f.emit(asm.Mov.Imm(asm.R2, int32(size)), asm.Mov.Imm(asm.R3, 0))
		f.call(asm.FnRingbufReserve)
		f.b.jmpImm(asm.JEq, asm.R0, 0, lost)
		f.emit(asm.Mov.Reg(rec, asm.R0))
		f.writeRecord(mem{rec, 0}, ev.ID, args, layout)
		f.wakeupFlags(asm.R2)
		f.emit(asm.Mov.Reg(asm.R1, rec))
		f.call(asm.FnRingbufSubmit)
		f.free[rec] = true
		f.b.ja(end)
	}
	f.b.mark(lost)
	f.countLost()
	f.b.mark(end)
	return ev
}

func (f *fn) writeRecord(dst mem, id uint64, args []syntax.Expr, layout *types.Type) {
	f.emit(storeImm(dst.base, int16(dst.off), int64(id), asm.DWord))
	for i, a := range args {
		fd := layout.Fields[i]
		f.evalInto(a, dst.at(8+fd.Offset), fd.Type, false)
	}
}

// wakeupFlags picks the submit flags: the reader is woken only when the
// ring is a quarter full; otherwise it finds the data when it next polls.
// This keeps wakeups (and their cost in the traced task) rare.
func (f *fn) wakeupFlags(r asm.Register) {
	f.mapPtr(asm.R1, f.g.ringBuf())
	f.emit(asm.Mov.Imm(asm.R2, rbAvailData))
	f.call(asm.FnRingbufQuery)
	f.emit(asm.Mov.Imm(r, rbNoWakeup))
	skip := f.b.newLabel()
	f.b.jmpImm(asm.JLT, asm.R0, int32(f.g.opts.RingBufSize/4), skip)
	f.emit(asm.Mov.Imm(r, rbForceWakeup))
	f.b.mark(skip)
}

// countLost adds one to this CPU's lost-event counter.
func (f *fn) countLost() {
	key := f.alloc(8)
	f.emit(storeImm(key.base, int16(key.off), 0, asm.Word))
	f.mapPtr(asm.R1, f.g.obj.LostMap)
	f.addr(asm.R2, key)
	f.call(asm.FnMapLookupElem)
	skip := f.b.newLabel()
	f.b.jmpImm(asm.JEq, asm.R0, 0, skip)
	f.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), asm.Add.Imm(asm.R1, 1), asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord))
	f.b.mark(skip)
}

// needsRegs reports whether evaluating args may need all callee-saved
// registers (reading an aggregation combines per-CPU values in a loop).
func (f *fn) needsRegs(args []syntax.Expr) bool {
	found := false
	for _, a := range args {
		syntaxWalk(a, func(x syntax.Expr) {
			switch x.(type) {
			case *syntax.MapIndex, *syntax.MapRef:
				if t := f.info.Types[x]; t != nil && t.IsAggregate() {
					found = true
				}
			case *syntax.Ternary:
				found = true
			}
		})
	}
	return found
}
