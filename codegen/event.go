package codegen

import (
	"bytes"
	"fmt"
	"slices"
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
// built on the stack and copied with ringbuf_output instead. Strings of
// more than shortString bytes are packed (see Event.Packed): a record
// then takes no more room than its strings do.
func (f *fn) event(e syntax.Node, kind EventKind, format, mapName string, args []syntax.Expr) *Event {
	ts := make([]*types.Type, len(args))
	var packed, fixed []int
	for i, a := range args {
		ts[i] = f.eventType(a, kind)
		if ts[i].Kind == types.String && ts[i].Size > shortString {
			packed = append(packed, i)
		} else {
			fixed = append(fixed, i)
		}
	}
	layout := types.TupleOf(ts...)
	if len(packed) > 0 {
		return f.packedEvent(e, kind, format, mapName, args, layout, packed, fixed)
	}
	return f.eventWith(e, kind, format, mapName, args, layout, func(dst mem) {
		for i, a := range args {
			fd := layout.Fields[i]
			f.evalInto(a, dst.at(fd.Offset), fd.Type, false)
		}
	})
}

// newEvent adds an event sent by the code of node e, its position e's
// whole text.
func (f *fn) newEvent(e syntax.Node, kind EventKind, format string, layout *types.Type) *Event {
	var to syntax.Pos
	if x, ok := e.(interface{ End() syntax.Pos }); ok {
		to = x.End()
	}
	return f.g.addEvent(kind, format, layout, e.Pos(), to)
}

// eventWith sends an event whose arguments write fills in at dst.
func (f *fn) eventWith(e syntax.Node, kind EventKind, format, mapName string, args []syntax.Expr, layout *types.Type, write func(dst mem)) *Event {
	ev := f.newEvent(e, kind, format, layout)
	ev.Map = mapName
	size := 8 + layout.Size
	rec, ok := f.getReg()
	if !ok || f.needsRegs(args) {
		if ok {
			f.free[rec] = true
		}
		buf := f.alloc(size)
		f.emit(storeImm(buf.base, int16(buf.off), int64(ev.ID), asm.DWord))
		write(buf.at(8))
		f.output(ev, buf, func() { f.emit(asm.Mov.Imm(asm.R3, int32(size))) })
		return ev
	}
	lost, end := f.b.newLabel(), f.b.newLabel()
	f.mapPtr(asm.R1, f.g.ringBuf())
	f.emit(asm.Mov.Imm(asm.R2, int32(size)), asm.Mov.Imm(asm.R3, 0))
	f.call(asm.FnRingbufReserve)
	f.b.jmpImm(asm.JEq, asm.R0, 0, lost)
	f.emit(asm.Mov.Reg(rec, asm.R0))
	f.emit(storeImm(rec, 0, int64(ev.ID), asm.DWord))
	// The arguments are computed only where the record was reserved.
	done := f.conditional()
	write(mem{rec, 8})
	done()
	f.wakeupFlags(asm.R2, kind)
	f.emit(asm.Mov.Reg(asm.R1, rec))
	f.call(asm.FnRingbufSubmit)
	f.free[rec] = true
	f.b.ja(end)
	f.b.mark(lost)
	f.countLost(ev.ID)
	f.b.mark(end)
	return ev
}

// output copies the record at buf into the ring buffer, its size put in
// R3 by size; a record that does not fit is counted as lost.
func (f *fn) output(ev *Event, buf mem, size func()) {
	end := f.b.newLabel()
	f.wakeupFlags(asm.R4, ev.Kind)
	f.mapPtr(asm.R1, f.g.ringBuf())
	f.addr(asm.R2, buf)
	size()
	f.call(asm.FnRingbufOutput)
	f.b.jmpImm(asm.JSGE, asm.R0, 0, end)
	f.countLost(ev.ID)
	f.b.mark(end)
}

// packedEvent sends an event whose args of the packed indexes are long
// strings (see Event.Packed). The record is built in a buffer with room
// for every string at its capacity and its NUL, and sent as long as its
// strings make it; the stack slot n counts their bytes.
func (f *fn) packedEvent(e syntax.Node, kind EventKind, format, mapName string, args []syntax.Expr, layout *types.Type, packed, fixed []int) *Event {
	ev := f.newEvent(e, kind, format, layout)
	ev.Map = mapName
	ev.Packed = packed
	fts := make([]*types.Type, len(fixed))
	for j, i := range fixed {
		fts[j] = layout.Fields[i].Type
	}
	ev.Fixed = types.TupleOf(fts...)
	room := 0
	for _, i := range packed {
		room += layout.Fields[i].Type.Size + 1
	}
	head := 8 + ev.Fixed.Size
	buf := f.alloc(head + room)
	n := f.alloc(8)
	f.emit(storeImm(buf.base, int16(buf.off), int64(ev.ID), asm.DWord), storeImm(n.base, int16(n.off), 0, asm.DWord))
	// The arguments are computed in their order, wherever they go.
	for i, a := range args {
		if j := slices.Index(fixed, i); j >= 0 {
			fd := ev.Fixed.Fields[j]
			f.evalInto(a, buf.at(8+fd.Offset), fd.Type, false)
			continue
		}
		f.packStr(a, buf.at(head), n, layout.Fields[i].Type.Size)
	}
	f.output(ev, buf, func() {
		f.emit(asm.LoadMem(asm.R3, n.base, int16(n.off), asm.DWord), asm.Add.Imm(asm.R3, int32(head)))
	})
	return ev
}

// packStr writes string a, of capacity size, at the n-th byte of dst, and
// adds to n the bytes it took.
func (f *fn) packStr(a syntax.Expr, dst, n mem, size int) {
	defer f.computing(a)()
	at := func(r asm.Register) {
		f.emit(asm.LoadMem(r, n.base, int16(n.off), asm.DWord), asm.Add.Reg(r, dst.base))
		if dst.off != 0 {
			f.emit(asm.Add.Imm(r, int32(dst.off)))
		}
	}
	c := f.callOf(a)
	src := a
	if c != nil && c.Name == "str" && len(c.Args) == 1 {
		src = c.Args[0]
	}
	fd, isField := f.tracepointField(src)
	// A string read here has room for its capacity and the NUL: one
	// that goes on past its capacity fills it.
	switch {
	case isField && fd.DataLoc && f.typeOf(src).Kind == types.String:
		f.dataLocAddr(asm.R3, fd)
		at(asm.R1)
		f.emit(asm.Mov.Imm(asm.R2, int32(size+1)))
		f.call(asm.FnProbeReadKernelStr)
	case c != nil && c.Name == "str" && f.typeOf(c.Args[0]).Kind != types.String:
		f.strRead(c, size+1, at, false)
	default:
		v := f.evalMem(a, false)
		if v.kind != vMem || v.t.Kind != types.String {
			f.errorf(a.Pos(), "internal error: %s sent as a string", v.t)
		}
		f.copyStr(v, at)
		f.drop(v)
	}
	f.countBytes(n, size+1)
}

// countBytes adds to the count at n the bytes a string read of at most
// max bytes wrote, the helper's result in R0: one for an error, after
// which the helper left NULs. The bound tells the verifier where the next
// string may go.
func (f *fn) countBytes(n mem, max int) {
	// An error is negative, a huge count unsigned: one test. The read's
	// own count comes first, so that the verifier, which follows the
	// fall-through first, finds the error's count of one within the range
	// it has seen at sum and stops there: in a loop, one path through
	// each string instead of two.
	one, sum := f.b.newLabel(), f.b.newLabel()
	f.b.jmpImm(asm.JGT, asm.R0, int32(max), one)
	f.b.ja(sum)
	f.b.mark(one)
	f.emit(asm.Mov.Imm(asm.R0, 1))
	f.b.mark(sum)
	f.emit(asm.LoadMem(asm.R1, n.base, int16(n.off), asm.DWord), asm.Add.Reg(asm.R1, asm.R0),
		asm.StoreMem(n.base, int16(n.off), asm.R1, asm.DWord))
}

// copyStr copies string v in memory to the address at puts in a register,
// as its bytes up to and with its NUL, leaving their number in R0; a
// string filling its capacity gets a NUL after it.
func (f *fn) copyStr(v value, at func(r asm.Register)) {
	size := v.t.Size
	f.addr(asm.R3, v.m)
	at(asm.R1)
	f.emit(asm.Mov.Imm(asm.R2, int32(size)))
	f.call(asm.FnProbeReadKernelStr)
	done := f.b.newLabel()
	f.b.jmpImm(asm.JNE, asm.R0, int32(size), done)
	f.emit(asm.LoadMem(asm.R2, v.m.base, int16(v.m.off+size-1), asm.Byte))
	f.b.jmpImm(asm.JEq, asm.R2, 0, done)
	at(asm.R1)
	f.emit(asm.StoreMem(asm.R1, int16(size-1), asm.R2, asm.Byte),
		storeImm(asm.R1, int16(size), 0, asm.Byte),
		asm.Mov.Imm(asm.R0, int32(size+1)))
	f.b.mark(done)
}

// Unpack puts the record of an event with packed strings back together as
// its Layout in dst, which it grows if needed, and returns it; rec is the
// record after the event ID.
func (ev *Event) Unpack(dst, rec []byte) ([]byte, error) {
	if len(rec) < ev.Fixed.Size {
		return dst, fmt.Errorf("internal error: event %d has %d bytes of arguments, want at least %d", ev.ID, len(rec), ev.Fixed.Size)
	}
	dst = slices.Grow(dst[:0], ev.Layout.Size)[:ev.Layout.Size]
	clear(dst)
	j := 0
	for i, fd := range ev.Layout.Fields {
		if slices.Contains(ev.Packed, i) {
			continue
		}
		src := ev.Fixed.Fields[j]
		j++
		copy(dst[fd.Offset:fd.Offset+fd.Type.Size], rec[src.Offset:])
	}
	rec = rec[ev.Fixed.Size:]
	for _, i := range ev.Packed {
		fd := ev.Layout.Fields[i]
		t, n := fd.Type, 1
		if t.Kind == types.Array {
			t, n = t.Elem, t.Len
		}
		for k := 0; k < n && len(rec) > 0; k++ {
			s := rec[:min(len(rec), t.Size+1)]
			end := bytes.IndexByte(s, 0)
			if end < 0 {
				end = len(s)
			}
			copy(dst[fd.Offset+k*t.Size:][:t.Size], s[:min(end, t.Size)])
			rec = rec[min(end+1, len(rec)):]
		}
	}
	return dst, nil
}

// joinArgs and joinArgSize are the number of array elements join() prints
// and the bytes it reads of each, as in bpftrace.
const (
	joinArgs    = 16
	joinArgSize = 1024
)

// join sends the strings of a NULL-terminated array of string pointers
// (argv): up to joinArgs strings, packed.
func (f *fn) join(e syntax.Expr, c *check.Call) {
	at := f.typeOf(c.Args[0])
	as := f.addrSpace(at)
	size := joinArgSize
	layout := types.TupleOf(types.ArrayOf(types.StringOf(size), joinArgs))
	sep := " "
	if c.Format != nil {
		sep = c.Format.Text
	}
	arr := f.keep(f.toReg(f.evalInt(c.Args[0]), 0))
	if arr.kind != vReg {
		f.errorf(e.Pos(), "expression too complex for join()")
	}
	ev := f.newEvent(e, Join, sep, layout)
	ev.Packed, ev.Fixed = []int{0}, types.TupleOf()
	buf := f.alloc(8 + joinArgs*size)
	n, tmp := f.alloc(8), f.alloc(8)
	f.emit(storeImm(buf.base, int16(buf.off), int64(ev.ID), asm.DWord), storeImm(n.base, int16(n.off), 0, asm.DWord))
	done := f.b.newLabel()
	for i := 0; i < joinArgs; i++ {
		f.addr(asm.R1, tmp)
		f.emit(asm.Mov.Imm(asm.R2, 8), asm.Mov.Reg(asm.R3, arr.r), asm.Add.Imm(asm.R3, int32(8*i)))
		f.call(f.readFn(as, false))
		f.emit(asm.LoadMem(asm.R3, tmp.base, int16(tmp.off), asm.DWord))
		f.b.jmpImm(asm.JEq, asm.R3, 0, done)
		f.emit(asm.LoadMem(asm.R1, n.base, int16(n.off), asm.DWord), asm.Add.Reg(asm.R1, buf.base),
			asm.Add.Imm(asm.R1, int32(buf.off+8)), asm.Mov.Imm(asm.R2, int32(size)))
		f.call(f.readFn(as, true))
		f.countBytes(n, size)
	}
	f.b.mark(done)
	f.drop(arr)
	f.output(ev, buf, func() {
		f.emit(asm.LoadMem(asm.R3, n.base, int16(n.off), asm.DWord), asm.Add.Imm(asm.R3, 8))
	})
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
