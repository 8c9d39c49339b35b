package codegen

import (
	"math"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"friday/check"
	"friday/internal/bpfint"
	"friday/syntax"
	"friday/types"
)

// userMap creates the BPF map of a script map.
func (g *gen) userMap(cm *check.Map) *Map {
	if m, ok := g.userMaps[cm.Name]; ok {
		return m
	}
	if cm.Value == nil {
		return nil
	}
	spec := &ebpf.MapSpec{
		Name:       specName(cm.Name),
		KeySize:    uint32(KeySize(cm.Key, cm.Value)),
		ValueSize:  uint32(ValueSize(cm.Value)),
		MaxEntries: uint32(g.opts.MaxMapKeys),
	}
	if cm.Size > 0 {
		spec.MaxEntries = uint32(cm.Size)
	}
	agg := cm.Value.IsAggregate()
	switch cm.Kind {
	case "lruhash":
		spec.Type = ebpf.LRUHash
	case "percpuhash":
		spec.Type = ebpf.PerCPUHash
	case "percpulruhash":
		spec.Type = ebpf.LRUCPUHash
	case "percpuarray":
		spec.Type = ebpf.PerCPUArray
		spec.KeySize = 4
	case "hash":
		spec.Type = ebpf.Hash
	default:
		spec.Type = ebpf.Hash
		switch {
		case cm.Key == nil && cm.Value.Kind == types.Count && !g.bpfRemoves(cm):
			// One slot that always exists: the kernel inlines the lookup
			// and the update never misses. An unset count reads 0, as
			// bpftrace's does.
			spec.Type = ebpf.PerCPUArray
			spec.KeySize = 4
			spec.MaxEntries = 1
		case cm.Key == nil && isHist(cm.Value) && !g.bpfRemoves(cm):
			// A slot per bucket, indexed by the bucket: no hashing, an
			// inlined lookup that never misses. The runtime reads it as
			// the hash of buckets it stands for (see HistArray).
			spec.Type = ebpf.PerCPUArray
			spec.KeySize = 4
			spec.MaxEntries = uint32(histBuckets(cm.Value))
		case agg:
			spec.Type = ebpf.PerCPUHash
		}
	}
	// Small elements that the programs add and delete, event after event
	// (start times kept until an end), are preallocated: the kernel then
	// moves an element between the map and a free list, where it would
	// otherwise allocate one and free it after an RCU grace period, about
	// 150 ns more an I/O in biolatency. Large ones (strings) are not: all
	// of them would be allocated at start, 4 MiB and milliseconds for a
	// map of 4096 strings of 1 KiB.
	churn := spec.Type == ebpf.Hash && spec.KeySize+spec.ValueSize <= maxPrealloc && g.bpfDeletes(cm)
	if (spec.Type == ebpf.Hash || spec.Type == ebpf.PerCPUHash) && !churn {
		// Preallocating every element costs start-up time (over a
		// millisecond for a per-CPU hash on 2 CPUs, more on larger
		// machines) and memory for keys most scripts never use; the
		// kernel allocates an element the program adds about as fast,
		// and the lookup of an existing element does not change.
		spec.Flags = unix.BPF_F_NO_PREALLOC
	}
	perCPU := spec.Type == ebpf.PerCPUHash || spec.Type == ebpf.LRUCPUHash || spec.Type == ebpf.PerCPUArray
	m := &Map{Name: cm.Name, Spec: spec, Key: cm.Key, Value: cm.Value, PerCPU: perCPU}
	g.userMaps[cm.Name] = m
	g.maps[spec.Name] = m
	g.obj.Maps = append(g.obj.Maps, m)
	return m
}

// maxPrealloc is the largest key and value, together, of a map whose
// elements are preallocated.
const maxPrealloc = 128

// bpfRemoves reports whether a probe or function body deletes elements
// of cm or counts them, which an array cannot mirror.
func (g *gen) bpfRemoves(cm *check.Map) bool {
	for _, info := range bodies(g.p) {
		for _, m := range info.Fors {
			if m == cm {
				return true
			}
		}
	}
	return g.bpfCalls(cm, "delete", "len")
}

// bpfDeletes reports whether a probe or function body deletes elements
// of cm.
func (g *gen) bpfDeletes(cm *check.Map) bool { return g.bpfCalls(cm, "delete") }

// bpfCalls reports whether a probe or function body calls one of names
// on cm.
func (g *gen) bpfCalls(cm *check.Map, names ...string) bool {
	for _, info := range bodies(g.p) {
		for _, c := range info.Calls {
			if c.Map == cm && slices.Contains(names, c.Name) {
				return true
			}
		}
	}
	return false
}

// bodies are the checked bodies of p's probes and functions.
func bodies(p *check.Program) []*check.Info {
	infos := make([]*check.Info, 0, len(p.Probes)+len(p.Funcs))
	for _, pr := range p.Probes {
		if pr.Info != nil {
			infos = append(infos, pr.Info)
		}
	}
	for _, fn := range p.Funcs {
		if fn.Info != nil {
			infos = append(infos, fn.Info)
		}
	}
	return infos
}

// specName is the BPF name of a script map: "AT_" and the name, as
// bpftrace names them.
func specName(name string) string {
	n := strings.TrimPrefix(name, "@")
	var b strings.Builder
	b.WriteString("AT_")
	for _, c := range n {
		if c < 128 && (c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// mapOf finds the map a MapRef names.
func (f *fn) mapOf(ref *syntax.MapRef) *Map {
	cm := f.checkMap(ref)
	m := f.g.userMap(cm)
	if m == nil {
		f.errorf(ref.Pos(), "map %s is never assigned a value", ref.Name)
	}
	return m
}

// checkMap is the checked map a MapRef names.
func (f *fn) checkMap(ref *syntax.MapRef) *check.Map {
	var cm *check.Map
	if f.info.Maps != nil {
		cm = f.info.Maps[ref]
	}
	if cm == nil {
		cm = f.g.p.Maps[ref.Name]
	}
	if cm == nil {
		f.errorf(ref.Pos(), "internal error: unknown map %s", ref.Name)
	}
	return cm
}

// mapKey builds the key of m[keys] in a new buffer. extra bytes are
// reserved after the key (hist buckets).
func (f *fn) mapKey(m *Map, keys []syntax.Expr, pos syntax.Pos, extra int) mem {
	if m.Spec.Type == ebpf.PerCPUArray {
		k := f.alloc(4)
		if len(keys) == 0 {
			f.emit(storeImm(k.base, int16(k.off), 0, asm.Word))
		} else {
			f.evalInto(keys[0], k, types.U32, false)
		}
		return k
	}
	if m.Key == nil {
		if len(keys) != 0 {
			f.errorf(pos, "map %s used with keys", m.Name)
		}
		if extra > 0 {
			return f.alloc(extra)
		}
		k := f.alloc(8)
		f.emit(storeImm(k.base, int16(k.off), 0, asm.DWord))
		return k
	}
	size := m.Key.Size
	if extra > 0 {
		size = HistKey(m.Key).Size
	}
	k := f.alloc(size)
	switch {
	case len(keys) == 1:
		f.evalInto(keys[0], k, m.Key, true)
	case len(keys) > 1:
		f.tupleInto(keys, k, m.Key, true)
	default:
		f.errorf(pos, "map %s needs a key", m.Name)
	}
	if extra > 0 && size-8 > m.Key.Size {
		f.zero(k.at(m.Key.Size), size-8-m.Key.Size)
	}
	return k
}

// lookup calls map_lookup_elem; the value pointer (or 0) is in R0.
func (f *fn) lookup(m *Map, key mem) {
	// Not mapPtr: a lookup changes no element (see mapChanged).
	f.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(m.Spec.Name))
	f.addr(asm.R2, key)
	f.call(asm.FnMapLookupElem)
}

// update calls map_update_elem(m, key, val, BPF_ANY).
func (f *fn) update(at syntax.Node, m *Map, key, val mem) {
	f.mapPtr(asm.R1, m.Spec.Name)
	f.addr(asm.R2, key)
	f.addr(asm.R3, val)
	f.emit(asm.Mov.Imm(asm.R4, 0))
	f.call(asm.FnMapUpdateElem)
	if m.Spec.Type != ebpf.Hash && m.Spec.Type != ebpf.PerCPUHash {
		return // LRU maps make room; arrays hold every key.
	}
	// A full map refuses a new key: bpftrace's warning says so, once,
	// at the element written.
	if s, isAssign := at.(*syntax.AssignStmt); isAssign {
		at = s.LHS
	}
	ok := f.b.newLabel()
	f.b.jmpImm(asm.JNE, asm.R0, -int32(unix.E2BIG), ok)
	ev := f.event(at, Errorf, MapFullWarning, "", nil)
	ev.Warn, ev.Once, ev.Runtime = true, true, true
	ev.Helper, ev.Retcode = "map_update_elem", -int64(unix.E2BIG)
	f.b.mark(ok)
}

// MapFullWarning is bpftrace's warning for an update a full map refused.
const MapFullWarning = "Map full; can't update element.\n" +
	"Try increasing max_map_keys config or manually setting the max entries in a map declaration e.g. `let @a = hash(5000)`\n" +
	"Additional Info - helper: map_update_elem, retcode: -7"

// mapRead reads m[keys]; a missing element reads as zero.
func (f *fn) mapRead(e syntax.Expr, ref *syntax.MapRef, keys []syntax.Expr) value {
	m := f.mapOf(ref)
	t := f.typeOf(e)
	if m.Value.IsAggregate() {
		return f.aggRead(e, m, keys)
	}
	f.lookupElem(f.newElem(ref, keys, e.Pos()))
	if isIntLike(t) {
		// R0 is zero when the element is missing, which is the value.
		skip := f.b.newLabel()
		if f.g.opts.Warnings {
			found := f.b.newLabel()
			f.b.jmpImm(asm.JNE, asm.R0, 0, found)
			f.lookupMissing(e)
			f.emit(asm.Mov.Imm(asm.R0, 0))
			f.b.ja(skip)
			f.b.mark(found)
		} else {
			f.b.jmpImm(asm.JEq, asm.R0, 0, skip)
		}
		f.loadInt(asm.R0, mem{asm.R0, 0}, m.Value)
		f.b.mark(skip)
		return value{kind: vReg, r: asm.R0, t: t}
	}
	out := f.alloc(t.Size)
	f.copyElem(e, out, t)
	return value{kind: vMem, m: out, t: t}
}

// mapReadInto reads m[keys], which is not a number, into dst: a missing
// element reads as zeros.
func (f *fn) mapReadInto(e syntax.Expr, ref *syntax.MapRef, keys []syntax.Expr, dst mem) {
	f.lookupElem(f.newElem(ref, keys, e.Pos()))
	f.copyElem(e, dst, f.typeOf(e))
}

// copyElem copies the element R0 points to, or zeros where R0 is 0, to
// dst.
func (f *fn) copyElem(e syntax.Expr, dst mem, t *types.Type) {
	found := f.b.newLabel()
	end := f.b.newLabel()
	f.b.jmpImm(asm.JNE, asm.R0, 0, found)
	if f.g.opts.Warnings {
		f.lookupMissing(e)
	}
	f.zero(dst, t.Size)
	f.b.ja(end)
	f.b.mark(found)
	f.emit(asm.Mov.Reg(asm.R1, asm.R0))
	f.copyMem(dst, mem{asm.R1, 0}, t.Size)
	f.b.mark(end)
}

// lookupMissing is -k's warning for a read of a map element that is not
// there, as bpftrace gives it (the value read is zero).
func (f *fn) lookupMissing(e syntax.Expr) {
	ev := f.eventWith(f.exprSpan(e), Errorf, "Can't lookup map element because it does not exist.\nAdditional Info - helper: map_lookup_elem, retcode: 0", "", nil, types.TupleOf(), func(mem) {})
	ev.Warn, ev.Runtime, ev.Helper = true, true, "map_lookup_elem"
}

// aggRead combines the per-CPU copies of an aggregation value into one
// number. The result waits on the stack so that the next aggregation read
// in the same expression finds the registers free.
func (f *fn) aggRead(e syntax.Expr, m *Map, keys []syntax.Expr) value {
	if !combinable(m.Value) {
		f.errorf(e.Pos(), "reading a %s value is not supported", m.Value)
	}
	key := f.mapKey(m, keys, e.Pos(), 0)
	out := f.alloc(8)
	var counters [2]loc
	for i := range counters {
		if r, ok := f.getReg(); ok {
			counters[i] = loc{reg: r, isReg: true}
			defer func() { f.free[r] = true }()
		} else {
			counters[i] = loc{m: f.alloc(8)}
		}
	}
	f.aggCombine(m, key, loc{m: out}, counters[0], counters[1])
	return value{kind: vMem, m: out, t: types.IntOf(8, m.Value.Signed)}
}

func combinable(t *types.Type) bool {
	switch t.Kind {
	case types.Count, types.Sum, types.Min, types.Max, types.Avg:
		return true
	}
	return false
}

// loc is a register or a stack slot holding a loop variable.
type loc struct {
	reg   asm.Register
	isReg bool
	m     mem
}

func (f *fn) ld(r asm.Register, l loc) {
	if l.isReg {
		f.emit(asm.Mov.Reg(r, l.reg))
	} else {
		f.emit(asm.LoadMem(r, l.m.base, int16(l.m.off), asm.DWord))
	}
}

func (f *fn) st(l loc, r asm.Register) {
	if l.isReg {
		f.emit(asm.Mov.Reg(l.reg, r))
	} else {
		f.emit(asm.StoreMem(l.m.base, int16(l.m.off), r, asm.DWord))
	}
}

func (f *fn) set(l loc, c int32) {
	if l.isReg {
		f.emit(asm.Mov.Imm(l.reg, c))
	} else {
		f.emit(storeImm(l.m.base, int16(l.m.off), int64(c), asm.DWord))
	}
}

// aggCombine leaves in acc the value of m[key] over all CPUs, read with
// map_lookup_percpu_elem; cpu and cnt hold the loop's counters.
func (f *fn) aggCombine(m *Map, key mem, acc, cpu, cnt loc) {
	kind := m.Value.Kind
	f.set(acc, 0)
	f.set(cpu, 0)
	f.set(cnt, 0)
	loop := f.b.newLabel()
	next := f.b.newLabel()
	f.b.mark(loop)
	f.mapPtr(asm.R1, m.Spec.Name)
	f.addr(asm.R2, key)
	f.ld(asm.R3, cpu)
	f.call(asm.FnMapLookupPercpuElem)
	f.b.jmpImm(asm.JEq, asm.R0, 0, next)
	switch kind {
	case types.Count, types.Sum:
		f.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord))
		f.ld(asm.R2, acc)
		f.emit(asm.Add.Reg(asm.R2, asm.R1))
		f.st(acc, asm.R2)
	case types.Avg:
		f.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord))
		f.ld(asm.R2, cnt)
		f.emit(asm.Add.Reg(asm.R2, asm.R1))
		f.st(cnt, asm.R2)
		f.emit(asm.LoadMem(asm.R1, asm.R0, 8, asm.DWord))
		f.ld(asm.R2, acc)
		f.emit(asm.Add.Reg(asm.R2, asm.R1))
		f.st(acc, asm.R2)
	case types.Min, types.Max:
		// cnt says whether acc holds a value yet.
		take := f.b.newLabel()
		f.emit(asm.LoadMem(asm.R1, asm.R0, 8, asm.DWord))
		f.b.jmpImm(asm.JEq, asm.R1, 0, next)
		f.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord))
		f.ld(asm.R2, cnt)
		f.b.jmpImm(asm.JEq, asm.R2, 0, take)
		f.ld(asm.R2, acc)
		op := map[bool]asm.JumpOp{true: asm.JLT, false: asm.JGT}[kind == types.Min]
		if m.Value.Signed {
			op = map[bool]asm.JumpOp{true: asm.JSLT, false: asm.JSGT}[kind == types.Min]
		}
		f.b.jmpReg(op, asm.R1, asm.R2, take)
		f.b.ja(next)
		f.b.mark(take)
		f.st(acc, asm.R1)
		f.set(cnt, 1)
	}
	f.b.mark(next)
	f.ld(asm.R1, cpu)
	f.emit(asm.Add.Imm(asm.R1, 1))
	f.st(cpu, asm.R1)
	f.b.jmpImm(asm.JLT, asm.R1, int32(f.g.opts.NumCPU), loop)
	if kind == types.Avg {
		done := f.b.newLabel()
		f.ld(asm.R2, cnt)
		f.b.jmpImm(asm.JEq, asm.R2, 0, done)
		f.ld(asm.R1, acc)
		if m.Value.Signed {
			f.emit(asm.SDiv.Reg(asm.R1, asm.R2))
		} else {
			f.emit(asm.Div.Reg(asm.R1, asm.R2))
		}
		f.st(acc, asm.R1)
		f.b.mark(done)
	}
}

// mapAssign stores into m[keys] (Op "=") or updates it in place (Op
// "+=", ...).
func (f *fn) mapAssign(s *syntax.AssignStmt, ref *syntax.MapRef, keys []syntax.Expr) {
	m := f.mapOf(ref)
	if c := f.info.Calls[s.RHS]; c != nil && s.Op == "=" && isAggFunc(c.Name) {
		f.aggregate(s, m, keys, c)
		return
	}
	if s.Op != "=" {
		op := strings.TrimSuffix(s.Op, "=")
		v := f.evalInt(s.RHS)
		if n := ptrStep(m.Value); n > 1 && (op == "+" || op == "-") {
			v = f.scale(v, n)
		}
		v = f.keep(v)
		f.mapUpdateInt(s, ref, keys, op, v, noResult)
		return
	}
	if m.Value.IsAggregate() {
		f.errorf(s.Pos(), "cannot assign to %s, which holds a %s", m.Name, m.Value)
	}
	el := f.newElem(ref, keys, s.Pos())
	kept := el.slot != nil
	if !kept {
		// The key first, as the script reads: its computation may have
		// effects. A key whose pointer is kept has none.
		f.elemKey(el)
	}
	inPlace := f.storesInPlace(ref, m, kept)
	var v value // an integer stored in place
	var val mem
	var adds []fieldAdd
	if inPlace && isIntLike(m.Value) {
		v = f.eval(s.RHS)
		if v.kind == vVoid || v.isStr || !isIntLike(v.t) && v.kind != vConst {
			f.errorf(s.RHS.Pos(), "cannot store %s as %s", v.t, m.Value)
		}
		v = f.keep(v)
	} else {
		val = f.alloc(m.Value.Size)
		var elems []syntax.Expr
		if inPlace {
			elems, adds = f.fieldAdds(el, s.RHS)
		}
		if adds != nil {
			done := f.computing(s.RHS)
			f.tupleInto(elems, val, m.Value, true)
			done()
		} else {
			f.evalInto(s.RHS, val, m.Value, true)
		}
	}
	if !inPlace {
		f.update(s, m, f.elemKey(el), val)
		return
	}
	for _, a := range adds {
		f.useCopy(a.v, a.copy)
	}
	// An element already there takes the value in place; a missing one
	// is added.
	f.lookupElem(el)
	missing := f.b.newLabel()
	end := f.b.newLabel()
	isArray := m.Spec.Type == ebpf.Array || m.Spec.Type == ebpf.PerCPUArray
	if isArray {
		// Only an index out of range misses, which an update refuses
		// too.
		missing = end
	}
	f.b.jmpImm(asm.JEq, asm.R0, 0, missing)
	size := intSize(m.Value)
	if v.kind != vVoid {
		imm, reg, isImm := f.operandIn(v, asm.R1)
		if isImm {
			f.emit(storeImm(asm.R0, 0, int64(imm), bpfint.Size(size)))
		} else {
			f.emit(asm.StoreMem(asm.R0, 0, reg, bpfint.Size(size)))
		}
	} else {
		f.storeFields(val, m.Value.Size, adds)
	}
	if !isArray {
		f.b.ja(end)
		f.b.mark(missing)
		if v.kind != vVoid {
			val = f.alloc(8)
			f.storeInt(val, v, size)
		}
		// The copy of a missing element is zeros: the fields that add to
		// it hold what they add, or subtract.
		for _, a := range adds {
			if a.sub {
				sz := bpfint.Size(a.fd.Type.Size)
				off := int16(val.off + a.fd.Offset)
				f.emit(asm.LoadMem(asm.R1, val.base, off, sz), asm.Neg.Imm(asm.R1, 0), asm.StoreMem(val.base, off, asm.R1, sz))
			}
		}
		f.update(s, m, f.elemKey(el), val)
		f.elemAdded(el)
	}
	f.b.mark(end)
	f.mapWritten(m.Spec.Name)
	f.drop(v)
}

// fieldAdd is a field of a tuple stored into an element that adds to the
// element's own: "$t.i + e", "e + $t.i" or "$t.i - e" where $t holds the
// copy of the element (see copied). Added to the element atomically, e
// counts however many programs update the element at once: a store of
// the copy's field plus e would lose what others added since the copy.
// Nothing else differs: the element holds what its copy holds as long as
// no program but this one writes it.
type fieldAdd struct {
	fd   types.Field
	sub  bool
	v    *check.Var
	copy *elemCopy
}

// fieldAdds finds the fields of the tuple rhs stored into el that add to
// the element's own, and the tuple's elements to store with them: e for
// "$t.i + e".
func (f *fn) fieldAdds(el *elem, rhs syntax.Expr) ([]syntax.Expr, []fieldAdd) {
	var elems []syntax.Expr
	switch x := rhs.(type) {
	case *syntax.Tuple:
		elems = x.Elems
	case *syntax.Record:
		elems = x.Values
	}
	t := el.m.Value
	if !atomicAdds(el.m) || len(elems) == 0 || len(elems) != len(t.Fields) {
		return nil, nil
	}
	out := slices.Clone(elems)
	var adds []fieldAdd
	for i, e := range elems {
		fd := t.Fields[i]
		b, ok := e.(*syntax.Binary)
		if !ok || b.Op != "+" && b.Op != "-" || fd.BitSize > 0 || fd.Type.Kind != types.Int || !atomicSize(fd.Type.Size) || f.typeOf(b).Kind != types.Int {
			continue
		}
		// The copy's field and what is added to it, either way round
		// for a sum.
		sides := [][2]syntax.Expr{{b.X, b.Y}}
		if b.Op == "+" {
			sides = append(sides, [2]syntax.Expr{b.Y, b.X})
		}
		for _, sd := range sides {
			v, c := f.copiedField(sd[0], el, fd)
			if ot := f.typeOf(sd[1]); c == nil || !isIntLike(ot) || ot.Kind == types.Pointer {
				continue
			}
			out[i] = sd[1]
			adds = append(adds, fieldAdd{fd: fd, sub: b.Op == "-", v: v, copy: c})
			break
		}
	}
	if adds == nil {
		return nil, nil
	}
	return out, adds
}

// copiedField reports the variable and copy when e is "$t.i", $t holding
// the copy of el and i the field fd of el's value.
func (f *fn) copiedField(e syntax.Expr, el *elem, fd types.Field) (*check.Var, *elemCopy) {
	x, ok := e.(*syntax.Field)
	if !ok || x.Arrow {
		return nil, nil
	}
	ref, ok := x.X.(*syntax.Var)
	if !ok {
		return nil, nil
	}
	v := f.info.Vars[ref]
	if v == nil {
		return nil, nil
	}
	if g, ok := v.Type.Field(x.Name); !ok || g.Offset != fd.Offset || !types.Equal(g.Type, fd.Type) {
		return nil, nil
	}
	return v, f.copyOf(v, el)
}

// atomicAdds says whether additions to the elements of m are atomic:
// those of per-CPU maps, which no other CPU writes, are not.
func atomicAdds(m *Map) bool {
	switch m.Spec.Type {
	case ebpf.Hash, ebpf.LRUHash, ebpf.Array:
		return true
	}
	return false
}

// atomicSize says whether BPF adds to an integer of size bytes
// atomically: 4 and 8.
func atomicSize(size int) bool {
	return size == 4 || size == 8
}

// storeFields stores the tuple at val, of size bytes, into the element R0
// points to: it adds the fields of adds, atomically, and copies the rest.
func (f *fn) storeFields(val mem, size int, adds []fieldAdd) {
	at := 0
	for _, a := range adds {
		f.copyMem(mem{asm.R0, at}, val.at(at), a.fd.Offset-at)
		sz := bpfint.Size(a.fd.Type.Size)
		f.emit(asm.LoadMem(asm.R1, val.base, int16(val.off+a.fd.Offset), sz))
		if a.sub {
			f.emit(asm.Neg.Imm(asm.R1, 0))
		}
		f.emit(asm.AddAtomic.Mem(asm.R0, asm.R1, sz, int16(a.fd.Offset)))
		at = a.fd.Offset + a.fd.Type.Size
	}
	f.copyMem(mem{asm.R0, at}, val.at(at), size-at)
}

// storesInPlace says whether an assignment to an element of m stores
// into the element it looks up, updating only a missing one. An array
// holds every element, and its update copies into the element as well;
// its lookup the kernel inlines. For a hash map, where the element is
// usually there, as in a map the programs never delete from, or its
// pointer kept from an earlier lookup, a lookup costs a fraction of an
// update, which allocates a new element for the hash maps made without
// preallocation and frees the old one. A value of more than one store
// (a tuple) goes in place only through a kept pointer, which saves the
// lookup too: a reader may see it half written, where an update replaces
// the element at once, as a reader of an array's element may.
func (f *fn) storesInPlace(ref *syntax.MapRef, m *Map, kept bool) bool {
	switch m.Spec.Type {
	case ebpf.Array, ebpf.PerCPUArray:
		return m.Value.Size <= maxInlineCopy
	case ebpf.Hash, ebpf.LRUHash, ebpf.PerCPUHash:
		switch m.Value.Size {
		case 1, 2, 4, 8:
			return kept || !f.g.bpfRemoves(f.checkMap(ref))
		}
		return kept && m.Value.Size <= maxInlineCopy
	}
	return false
}

// updateResult is what an update of an element in place gives back.
type updateResult int

const (
	noResult updateResult = iota // nothing: the value is not used
	newValue
	oldValue // of x++ and x--, postfix
)

// mapUpdateInt applies "m[keys] op= v" and returns the value res asks for
// in a transient register. An addition to an element of a map that is not
// per-CPU is atomic, as in bpftrace: no count is lost when programs on
// other CPUs add to the same element.
func (f *fn) mapUpdateInt(n syntax.Node, ref *syntax.MapRef, keys []syntax.Expr, op string, v value, res updateResult) value {
	m := f.mapOf(ref)
	alu, ok := aluOps[op]
	if !ok {
		f.errorf(n.Pos(), "operator %s= is not supported", op)
	}
	if m.Value.Signed {
		alu = signedALU(alu)
	}
	el := f.newElem(ref, keys, n.Pos())
	f.lookupElem(el)
	missing := f.b.newLabel()
	end := f.b.newLabel()
	f.b.jmpImm(asm.JEq, asm.R0, 0, missing)
	size := bpfint.Size(intSize(m.Value))
	apply := func(r asm.Register) {
		// R0-R2 are busy: the value pointer, the element, the old value.
		imm, reg, isImm := f.operandIn(v, asm.R3)
		if isImm {
			f.emit(alu.Imm(r, imm))
		} else {
			f.emit(alu.Reg(r, reg))
		}
	}
	switch {
	case (alu == asm.Add || alu == asm.Sub) && atomicAdds(m) && atomicSize(intSize(m.Value)):
		f.addAtomic(v, alu == asm.Sub, size, res != noResult)
		if res != noResult {
			f.emit(asm.Mov.Reg(asm.R0, asm.R1)) // the old value
		}
		if res == newValue {
			apply(asm.R0)
		}
	default:
		f.emit(asm.LoadMem(asm.R1, asm.R0, 0, size))
		if res == oldValue {
			f.emit(asm.Mov.Reg(asm.R2, asm.R1))
		}
		apply(asm.R1)
		f.emit(asm.StoreMem(asm.R0, 0, asm.R1, size))
		if res == oldValue {
			f.emit(asm.Mov.Reg(asm.R0, asm.R2))
		} else {
			f.emit(asm.Mov.Reg(asm.R0, asm.R1))
		}
	}
	f.b.ja(end)
	f.b.mark(missing)
	val := f.alloc(8)
	f.emit(asm.Mov.Imm(asm.R1, 0))
	apply(asm.R1)
	f.emit(asm.StoreMem(val.base, int16(val.off), asm.R1, asm.DWord))
	f.update(n, m, f.elemKey(el), val)
	f.elemAdded(el)
	switch res {
	case oldValue:
		f.emit(asm.Mov.Imm(asm.R0, 0))
	case newValue:
		f.loadInt(asm.R0, val, types.U64)
	}
	f.b.mark(end)
	f.mapWritten(m.Spec.Name)
	f.drop(v)
	if res == noResult {
		return value{kind: vVoid, t: types.VoidT}
	}
	return value{kind: vReg, r: asm.R0, t: m.Value}
}

// addAtomic adds v, or subtracts it with sub, to the integer of size
// bytes R0 points to, atomically; with fetch R1 gets the old value.
func (f *fn) addAtomic(v value, sub bool, size asm.Size, fetch bool) {
	imm, reg, isImm := f.operandIn(v, asm.R3)
	switch {
	case isImm && sub && imm != math.MinInt32:
		f.emit(asm.Mov.Imm(asm.R1, -imm))
		sub = false
	case isImm:
		f.emit(asm.Mov.Imm(asm.R1, imm))
	default:
		f.emit(asm.Mov.Reg(asm.R1, reg))
	}
	if sub {
		f.emit(asm.Neg.Imm(asm.R1, 0))
	}
	if !fetch {
		f.emit(asm.AddAtomic.Mem(asm.R0, asm.R1, size, 0))
		return
	}
	// cilium/ebpf writes an atomic instruction's immediate, which names
	// the operation, from Constant, not from the operation the opcode
	// carries: without it a fetch would be a plain add.
	ins := asm.FetchAdd.Mem(asm.R0, asm.R1, size, 0)
	ins.Constant = int64(asm.FetchAdd >> 8)
	f.emit(ins)
}

// mapAccess is the map and keys of @m[keys] or @m; nil for other
// expressions.
func mapAccess(e syntax.Expr) (*syntax.MapRef, []syntax.Expr) {
	switch x := e.(type) {
	case *syntax.MapIndex:
		return x.Map, x.Keys
	case *syntax.MapRef:
		return x, nil
	}
	return nil, nil
}

// mapIncDec is @x++ and friends, whose value res asks for.
func (f *fn) mapIncDec(e *syntax.Unary, res updateResult) value {
	ref, keys := mapAccess(e.X)
	m := f.mapOf(ref)
	if !isIntLike(m.Value) || m.Value.IsAggregate() {
		f.errorf(e.Pos(), "%s needs an integer map value", e.Op)
	}
	d := int64(1)
	if e.Op == "--" {
		d = -1
	}
	return f.mapUpdateInt(e, ref, keys, "+", constVal(d*int64(ptrStep(m.Value)), types.I64), res)
}

var aggFuncs = map[string]bool{"count": true, "sum": true, "min": true, "max": true, "avg": true, "stats": true, "hist": true, "lhist": true, "tseries": true}

func isAggFunc(name string) bool { return aggFuncs[name] }

// aggregate is @m[keys] = count() and the other aggregation functions.
// The map is per-CPU: the value is updated in place without atomics.
func (f *fn) aggregate(s *syntax.AssignStmt, m *Map, keys []syntax.Expr, c *check.Call) {
	if c.Name == "tseries" {
		f.tseries(s, m, keys, c)
		return
	}
	var v value
	hasArg := c.Name != "count"
	if hasArg {
		if len(c.Args) == 0 {
			f.errorf(s.Pos(), "%s() needs an argument", c.Name)
		}
		v = f.evalInt(c.Args[0])
	}
	var key mem
	switch c.Name {
	case "hist", "lhist":
		b := f.bucket(c, v)
		if len(keys) > 0 {
			b = f.keep(b)
		}
		if m.Spec.Type == ebpf.PerCPUArray {
			key = f.alloc(4)
			f.storeInt(key, b, 4)
		} else {
			key = f.mapKey(m, keys, s.Pos(), 8)
			bo := 0
			if m.Key != nil {
				bo = HistKey(m.Key).Fields[1].Offset
			}
			f.storeInt(key.at(bo), b, 8)
		}
		v = constVal(1, types.U64)
	default:
		if hasArg {
			v = f.keep(v)
		}
		key = f.mapKey(m, keys, s.Pos(), 0)
	}
	f.lookup(m, key)
	missing := f.b.newLabel()
	end := f.b.newLabel()
	// An array holds every element it can: a miss is an index out of
	// range, which an update would refuse too.
	isArray := m.Spec.Type == ebpf.PerCPUArray
	if isArray {
		missing = end
	}
	f.b.jmpImm(asm.JEq, asm.R0, 0, missing)
	signed := m.Value.Signed
	switch c.Name {
	case "count", "sum", "hist", "lhist":
		if c.Name == "count" {
			v = constVal(1, types.U64)
		}
		f.addInPlace(0, v)
	case "min", "max":
		store := f.b.newLabel()
		vr := f.toReg(v, asm.R2)
		f.emit(asm.LoadMem(asm.R1, asm.R0, 8, asm.DWord))
		f.b.jmpImm(asm.JEq, asm.R1, 0, store)
		f.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord))
		op := asm.JGE
		if c.Name == "max" {
			op = asm.JLE
		}
		if signed {
			op = map[asm.JumpOp]asm.JumpOp{asm.JGE: asm.JSGE, asm.JLE: asm.JSLE}[op]
		}
		f.b.jmpReg(op, vr.r, asm.R1, end)
		f.b.mark(store)
		f.emit(asm.StoreMem(asm.R0, 0, vr.r, asm.DWord), storeImm(asm.R0, 8, 1, asm.DWord))
	case "avg", "stats":
		f.addInPlace(0, constVal(1, types.U64))
		f.addInPlace(8, v)
	}
	if isArray {
		f.b.mark(end)
		f.drop(v)
		return
	}
	f.b.ja(end)
	f.b.mark(missing)
	val := f.alloc(ValueSize(m.Value))
	switch c.Name {
	case "count", "hist", "lhist":
		f.emit(storeImm(val.base, int16(val.off), 1, asm.DWord))
	case "sum":
		f.storeInt(val, v, 8)
	case "min", "max":
		f.storeInt(val, v, 8)
		f.emit(storeImm(val.base, int16(val.off+8), 1, asm.DWord))
	case "avg", "stats":
		f.emit(storeImm(val.base, int16(val.off), 1, asm.DWord))
		f.storeInt(val.at(8), v, 8)
	}
	f.update(s, m, key, val)
	f.b.mark(end)
	f.drop(v)
}

// addInPlace adds v to the counter at R0+off with one atomic add: an
// instruction or two fewer than load, add, store, and no update is lost
// when a program on the same CPU interrupts this one (an NMI perf event)
// and counts into the same element.
func (f *fn) addInPlace(off int16, v value) {
	imm, reg, isImm := f.operandIn(v, asm.R1)
	if isImm {
		reg = asm.R1
		f.emit(asm.Mov.Imm(reg, imm))
	}
	f.emit(asm.AddAtomic.Mem(asm.R0, reg, asm.DWord, off))
}

// bucket computes the hist or lhist bucket of v.
func (f *fn) bucket(c *check.Call, v value) value {
	if v.kind == vConst {
		return constVal(constBucket(c, f.info, v.c), types.U64)
	}
	if c.Name == "hist" {
		return f.log2(v, f.histBits(c))
	}
	lo, hi, step := f.lhistArgs(c)
	v = f.writable(f.toReg(v, 0), value{})
	r := v.r
	below, above, end := f.b.newLabel(), f.b.newLabel(), f.b.newLabel()
	f.b.jmpImm(asm.JSLT, r, int32(lo), below)
	f.b.jmpImm(asm.JSGE, r, int32(hi), above)
	f.emit(asm.Sub.Imm(r, int32(lo)), asm.Div.Imm(r, int32(step)), asm.Add.Imm(r, 1))
	f.b.ja(end)
	f.b.mark(below)
	f.emit(asm.Mov.Imm(r, 0))
	f.b.ja(end)
	f.b.mark(above)
	f.emit(asm.Mov.Imm(r, int32((hi-lo)/step+1)))
	f.b.mark(end)
	v.t = types.U64
	return v
}

func (f *fn) lhistArgs(c *check.Call) (lo, hi, step int64) {
	if len(c.Args) != 4 {
		f.errorf(syntax.Pos{}, "lhist() needs 4 arguments")
	}
	var vals [3]int64
	for i, a := range c.Args[1:] {
		k, ok := f.info.Consts[a]
		if !ok {
			if lit, isLit := a.(*syntax.IntLit); isLit {
				k.Int = int64(lit.Value)
			} else {
				f.errorf(a.Pos(), "lhist() arguments must be constants")
			}
		}
		vals[i] = k.Int
	}
	if vals[2] <= 0 || vals[1] <= vals[0] {
		f.errorf(c.Args[0].Pos(), "lhist() needs min < max and step > 0")
	}
	return vals[0], vals[1], vals[2]
}

func isHist(t *types.Type) bool { return t.Kind == types.Hist || t.Kind == types.Lhist }

// histBuckets is the number of buckets of a hist or lhist value.
func histBuckets(t *types.Type) int64 {
	if t.Kind == types.Hist {
		return histBucket(math.MaxInt64, t.Bits) + 1
	}
	return (t.Max-t.Min)/t.Step + 2
}

// HistArray reports whether m holds a hist or lhist without keys as a
// per-CPU array indexed by bucket (key: a uint32), which the runtime reads
// as the hash map of buckets the layout describes: an entry per bucket
// that counted, keyed by HistKey(nil).
func HistArray(m *Map) bool {
	return m.Key == nil && isHist(m.Value) && m.Spec.Type == ebpf.PerCPUArray
}

func constBucket(c *check.Call, info *check.Info, n int64) int64 {
	if c.Name == "hist" {
		bits := 0
		if len(c.Args) > 1 {
			bits = int(info.Consts[c.Args[1]].Int)
		}
		return histBucket(n, bits)
	}
	k := func(e syntax.Expr) int64 {
		if lit, ok := e.(*syntax.IntLit); ok {
			return int64(lit.Value)
		}
		return info.Consts[e].Int
	}
	lo, hi, step := k(c.Args[1]), k(c.Args[2]), k(c.Args[3])
	switch {
	case n < lo:
		return 0
	case n >= hi:
		return (hi-lo)/step + 1
	}
	return (n-lo)/step + 1
}

func (f *fn) histBits(c *check.Call) int {
	if len(c.Args) < 2 {
		return 0
	}
	k, ok := f.constOf(c.Args[1])
	if !ok || k.c < 0 || k.c > maxHistBits {
		f.errorf(c.Args[1].Pos(), "the second argument of hist() must be a constant from 0 to %d", maxHistBits)
	}
	return int(k.c)
}

// log2 computes the hist bucket of v (see histBucket): a binary
// search for the highest set bit m, as bpftrace does, then the sub-bucket
// from the bits below it.
func (f *fn) log2(v value, bits int) value {
	v = f.writable(f.toReg(v, 0), value{})
	n := v.r
	var free []asm.Register
	for _, r := range []asm.Register{asm.R0, asm.R1, asm.R2, asm.R3} {
		if r != n {
			free = append(free, r)
		}
	}
	res, tmp, orig := free[0], free[1], free[2]
	end := f.b.newLabel()
	f.emit(asm.Mov.Imm(res, 0))
	f.b.jmpImm(asm.JSLT, n, 0, end)
	f.emit(asm.Mov.Reg(res, n), asm.Add.Imm(res, 1))
	f.b.jmpImm(asm.JLT, n, 1<<bits, end)
	if bits > 0 {
		f.emit(asm.Mov.Reg(orig, n))
	}
	// res = m: add 32 when n >= 2^32, and so on down to 1.
	f.emit(asm.Mov.Imm(res, 0), asm.Mov.Reg(tmp, n), asm.RSh.Imm(tmp, 32))
	skip := f.b.newLabel()
	f.b.jmpImm(asm.JEq, tmp, 0, skip)
	f.emit(asm.Mov.Reg(n, tmp), asm.Mov.Imm(res, 32))
	f.b.mark(skip)
	for _, s := range []int32{16, 8, 4, 2, 1} {
		skip := f.b.newLabel()
		f.b.jmpImm(asm.JLT, n, 1<<s, skip)
		f.emit(asm.RSh.Imm(n, s), asm.Add.Imm(res, s))
		f.b.mark(skip)
	}
	if bits == 0 {
		f.emit(asm.Add.Imm(res, 2))
	} else {
		// 1 + (m-bits+1)<<bits + ((v >> (m-bits)) & (1<<bits - 1))
		f.emit(asm.Mov.Reg(tmp, res), asm.Sub.Imm(tmp, int32(bits)),
			asm.RSh.Reg(orig, tmp), asm.And.Imm(orig, int32(1<<bits-1)),
			asm.Add.Imm(tmp, 1), asm.LSh.Imm(tmp, int32(bits)),
			asm.Add.Reg(tmp, orig), asm.Add.Imm(tmp, 1), asm.Mov.Reg(res, tmp))
	}
	f.b.mark(end)
	f.drop(v)
	return value{kind: vReg, r: res, t: types.U64}
}

// deleteElem is delete(@m[k]) / delete(@m, k).
func (f *fn) deleteElem(e syntax.Expr, c *check.Call) {
	if c.Map == nil {
		f.errorf(e.Pos(), "delete() needs a map element")
	}
	m := f.g.userMap(c.Map)
	if m == nil {
		return
	}
	key := f.mapKey(m, c.KeyArgs, e.Pos(), 0)
	if m.Value.Kind == types.Hist || m.Value.Kind == types.Lhist {
		f.errorf(e.Pos(), "delete() of a %s element is not supported", m.Value)
	}
	f.mapPtr(asm.R1, m.Spec.Name)
	f.addr(asm.R2, key)
	f.call(asm.FnMapDeleteElem)
}

// deleteDiscarded is a delete() whose result the script does not use:
// as in bpftrace, a key that was not there is then worth a warning.
func (f *fn) deleteDiscarded(e syntax.Expr, c *check.Call) {
	f.deleteElem(e, c)
	if f.g.userMap(c.Map) == nil {
		return
	}
	done := f.b.newLabel()
	f.b.jmpImm(asm.JEq, asm.R0, 0, done)
	ret := f.alloc(8)
	f.emit(asm.StoreMem(ret.base, int16(ret.off), asm.R0, asm.DWord))
	// bpftrace puts the helper's details on a line of their own.
	ev := f.eventWith(e, Errorf, "Can't delete map element because it does not exist.\nAdditional Info - helper: map_delete_elem, retcode: %d", "", nil, types.TupleOf(types.I64), func(dst mem) {
		f.emit(asm.LoadMem(asm.R1, ret.base, int16(ret.off), asm.DWord),
			asm.StoreMem(dst.base, int16(dst.off), asm.R1, asm.DWord))
	})
	ev.Warn, ev.Runtime, ev.Helper = true, true, "map_delete_elem"
	f.b.mark(done)
}

// find(@m, k, $v) copies the element into $v and reports whether it was
// there.
func (f *fn) find(e syntax.Expr, c *check.Call) value {
	m := f.g.userMap(c.Map)
	if m == nil || len(c.Args) != 1 {
		f.errorf(e.Pos(), "find() needs a map, a key and a variable")
	}
	dst, ok := c.Args[0].(*syntax.Var)
	if !ok || f.info.Vars[dst] == nil {
		f.errorf(e.Pos(), "find() needs a variable as its third argument")
	}
	cv := f.info.Vars[dst]
	slot := f.vars[cv]
	defer f.varWritten(cv)
	key := f.mapKey(m, c.KeyArgs, e.Pos(), 0)
	f.lookup(m, key)
	miss := f.b.newLabel()
	f.b.jmpImm(asm.JEq, asm.R0, 0, miss)
	f.emit(asm.Mov.Reg(asm.R1, asm.R0))
	f.copyMem(slot, mem{asm.R1, 0}, min(m.Value.Size, cv.Type.Size))
	f.emit(asm.Mov.Imm(asm.R0, 1))
	f.b.mark(miss)
	return value{kind: vReg, r: asm.R0, t: types.BoolT}
}

// hasKey is has_key(@m, k).
func (f *fn) hasKey(e syntax.Expr, c *check.Call) value {
	m := f.g.userMap(c.Map)
	if m == nil {
		return constVal(0, types.BoolT)
	}
	// The element's pointer, kept where the probe uses the element again.
	f.lookupElem(f.newElem(e.(*syntax.Call).Args[0].(*syntax.MapRef), c.KeyArgs, e.Pos()))
	skip := f.b.newLabel()
	f.b.jmpImm(asm.JEq, asm.R0, 0, skip)
	f.emit(asm.Mov.Imm(asm.R0, 1))
	f.b.mark(skip)
	return value{kind: vReg, r: asm.R0, t: types.BoolT}
}

// maxHistBits is the largest second argument of hist().
const maxHistBits = 5

// histBucket is the bucket of v in a log2 histogram whose power-of-two
// ranges are split into 2^bits sub-buckets: 0 for negative values, v+1
// below 2^bits, then 1 + (m-bits+1)<<bits + ((v >> (m-bits)) & (2^bits-1))
// with m = log2(v). With bits = 0: 0 -> 1, 1 -> 2, [2,4) -> 3, ...
func histBucket(v int64, bits int) int64 {
	if v < 0 {
		return 0
	}
	n := int64(1) << bits
	if v < n {
		return v + 1
	}
	m := 0
	for u := uint64(v); u > 1; u >>= 1 {
		m++
	}
	return 1 + int64(m-bits+1)<<bits + (v>>(m-bits))&(n-1)
}
