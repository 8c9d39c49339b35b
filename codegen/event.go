package codegen

import (
	"strconv"
	"strings"

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
		f.event(e, kind, format, "", args).Warn = c.Name == "warnf"
	case "time":
		format := "%H:%M:%S\n"
		if c.Format != nil {
			format = c.Format.Text
		} else if len(args) > 0 {
			s, ok := f.constString(args[0])
			if !ok {
				f.errorf(args[0].Pos(), "the format of time() must be a string literal")
			}
			format = s
		}
		f.event(e, Time, format, "", nil)
	case "exit":
		f.event(e, Exit, "", "", args)
		f.leave()
	case "assert":
		f.assert(e, c)
	case "print":
		if c.Map != nil {
			f.event(e, PrintMap, "", c.Map.Name, args)
			break
		}
		if len(args) == 0 {
			f.errorf(e.Pos(), "print() needs an argument")
		}
		f.event(e, Print, "", "", args[:1])
	case "join":
		f.join(e, c)
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

// leave ends the probe after exit(): the rest of its actions do not run.
func (f *fn) leave() {
	if f.parent != nil {
		// In a loop callback: stop the loop; the probe goes on.
		f.emit(asm.Mov.Imm(asm.R0, 1))
	}
	f.b.ja(f.exit)
}

// assert(cond, msg) is bpftrace's assert macro: when cond is false, the
// message is printed as an error ("assert failed: msg") and the script
// exits with status 1.
func (f *fn) assert(e *syntax.Call, c *check.Call) {
	msg, ok := f.constString(c.Args[1])
	if !ok {
		f.errorf(c.Args[1].Pos(), "the message of assert() must be a string literal")
	}
	holds := f.b.newLabel()
	f.branch(c.Args[0], holds, true)
	// The message is the whole format: its own % signs print as they are.
	format := "assert failed: " + strings.ReplaceAll(msg, "%", "%%")
	f.eventWith(e, Errorf, format, "", nil, types.TupleOf(), func(mem) {})
	f.eventWith(e, Exit, "", "", nil, types.TupleOf(types.I64), func(dst mem) {
		f.emit(storeImm(dst.base, int16(dst.off), 1, asm.DWord))
	})
	f.leave()
	f.b.mark(holds)
}

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
func (f *fn) event(e syntax.Node, kind EventKind, format, mapName string, args []syntax.Expr) *Event {
	ts := make([]*types.Type, len(args))
	for i, a := range args {
		ts[i] = f.eventType(a, kind)
	}
	layout := types.TupleOf(ts...)
	return f.eventWith(e, kind, format, mapName, args, layout, func(dst mem) {
		for i, a := range args {
			fd := layout.Fields[i]
			f.evalInto(a, dst.at(fd.Offset), fd.Type, false)
		}
	})
}

// eventWith sends an event whose arguments write fills in at dst.
func (f *fn) eventWith(e syntax.Node, kind EventKind, format, mapName string, args []syntax.Expr, layout *types.Type, write func(dst mem)) *Event {
	var to syntax.Pos
	if x, ok := e.(interface{ End() syntax.Pos }); ok {
		to = x.End()
	}
	ev := f.g.addEvent(kind, format, layout, e.Pos(), to)
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
		f.emit(storeImm(buf.base, int16(buf.off), int64(ev.ID), asm.DWord))
		write(buf.at(8))
		f.wakeupFlags(asm.R4, kind)
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
		f.emit(storeImm(rec, 0, int64(ev.ID), asm.DWord))
		write(mem{rec, 8})
		f.wakeupFlags(asm.R2, kind)
		f.emit(asm.Mov.Reg(asm.R1, rec))
		f.call(asm.FnRingbufSubmit)
		f.free[rec] = true
		f.b.ja(end)
	}
	f.b.mark(lost)
	f.countLost(ev.ID)
	f.b.mark(end)
	return ev
}

// joinArgs is the number of array elements join() prints, as bpftrace.
const joinArgs = 16

// join sends the strings of a NULL-terminated array of string pointers
// (argv): joinArgs strings of the maximum string length; an empty string
// after the last.
func (f *fn) join(e syntax.Expr, c *check.Call) {
	at := f.typeOf(c.Args[0])
	as := f.addrSpace(at)
	n := f.g.maxStrLen()
	layout := types.TupleOf(types.ArrayOf(types.StringOf(n), joinArgs))
	sep := " "
	if c.Format != nil {
		sep = c.Format.Text
	}
	arr := f.keep(f.toReg(f.evalInt(c.Args[0]), 0))
	if arr.kind != vReg {
		f.errorf(e.Pos(), "expression too complex for join()")
	}
	tmp := f.alloc(8)
	f.eventWith(e, Join, sep, "", nil, layout, func(dst mem) {
		done := f.b.newLabel()
		for i := 0; i < joinArgs; i++ {
			slot := dst.at(i * n)
			f.emit(storeImm(slot.base, int16(slot.off), 0, asm.Byte))
			f.addr(asm.R1, tmp)
			f.emit(asm.Mov.Imm(asm.R2, 8), asm.Mov.Reg(asm.R3, arr.r), asm.Add.Imm(asm.R3, int32(8*i)))
			f.call(f.readFn(as, false))
			f.emit(asm.LoadMem(asm.R3, tmp.base, int16(tmp.off), asm.DWord))
			f.b.jmpImm(asm.JEq, asm.R3, 0, done)
			f.addr(asm.R1, slot)
			f.emit(asm.Mov.Imm(asm.R2, int32(n)))
			f.call(f.readFn(as, true))
		}
		f.b.mark(done)
	})
	f.drop(arr)
}

// wakeupFlags picks the submit flags: the reader is woken only when the
// ring is a quarter full; otherwise it finds the data when it next polls.
// This keeps wakeups (and their cost in the traced task) rare. exit() wakes
// the reader at once: until it detaches, the probes go on firing.
func (f *fn) wakeupFlags(r asm.Register, kind EventKind) {
	if kind == Exit {
		f.emit(asm.Mov.Imm(r, rbForceWakeup))
		return
	}
	f.mapPtr(asm.R1, f.g.ringBuf())
	f.emit(asm.Mov.Imm(asm.R2, rbAvailData))
	f.call(asm.FnRingbufQuery)
	f.emit(asm.Mov.Imm(r, rbNoWakeup))
	skip := f.b.newLabel()
	f.b.jmpImm(asm.JLT, asm.R0, int32(f.g.opts.RingBufSize/4), skip)
	f.emit(asm.Mov.Imm(r, rbForceWakeup))
	f.b.mark(skip)
}

// countLost adds one to this CPU's counter of lost events of event id.
func (f *fn) countLost(id uint64) {
	key := f.alloc(8)
	f.emit(storeImm(key.base, int16(key.off), int64(id), asm.Word))
	f.mapPtr(asm.R1, f.g.obj.LostMap)
	f.addr(asm.R2, key)
	f.call(asm.FnMapLookupElem)
	skip := f.b.newLabel()
	f.b.jmpImm(asm.JEq, asm.R0, 0, skip)
	f.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), asm.Add.Imm(asm.R1, 1), asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord))
	f.b.mark(skip)
}

// needsRegs reports whether evaluating args may need all callee-saved
// registers (reading an aggregation combines per-CPU values in a loop),
// or send an event of its own (a division by zero's warning, -k's), which
// must come before the event args are for: the record is then built on
// the stack and sent once complete, not reserved first.
func (f *fn) needsRegs(args []syntax.Expr) bool {
	if f.g.opts.Warnings && len(args) > 0 {
		return true
	}
	found := false
	for _, a := range args {
		syntaxWalk(a, func(x syntax.Expr) {
			switch x := x.(type) {
			case *syntax.MapIndex, *syntax.MapRef:
				if t := f.info.Types[x]; t != nil && t.IsAggregate() {
					found = true
				}
			case *syntax.Binary:
				if x.Op == "/" || x.Op == "%" {
					if _, isConst := f.constOf(x.Y); !isConst {
						found = true
					}
				}
			}
		})
	}
	return found
}
