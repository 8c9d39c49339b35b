package codegen

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/syntax"
	"friday/types"
)

// A probe that reads an element and then stores into it, or reads it
// twice, looks it up once: the pointer map_lookup_elem returns waits in a
// stack slot of its own, and the later read or store goes through it, as
// a C program keeps the pointer in a variable. The slot is used only where
// it holds the element's pointer (or 0, the element being absent) on every
// path that reaches the code:
//
//   - the key has the same value at both places: it reads only constants,
//     the probe's context (args), the current task's ids and CPU, and
//     scratch variables not written in between;
//   - nothing in between changed which elements the map holds: any other
//     update, delete or call that names the map forgets its slots (an
//     update of another key may be of the same key, and replaces the
//     element of a hash map);
//   - a pointer saved in one arm of an if or a ternary, or in a loop's
//     body, is not used after it; a loop starts and ends without slots;
//   - the map is a hash or an array whose elements stay where they are:
//     not an LRU hash, whose elements the kernel reuses for other keys
//     at once, nor an aggregation.
//
// Probes with loop callbacks keep no pointers: the callbacks' frames are
// not the probe's. The code is checked before its jumps are resolved
// (sound): a read of a slot that some path reaches without the slot's
// store, or after a forget, makes the probe compile again keeping none.
//
// A variable that takes a whole element through its kept pointer ($t =
// @d[k]) holds the element's copy until the variable, the element or any
// element of the map is written, or the pointer is forgotten: a store
// into the element of "$t.i + e" adds e to the element's field instead
// (see fieldAdds). The copy is followed as the pointers are, and checked
// by sound as a slot is: its use must be reached only by paths where the
// copy was taken and not dropped since.
type lookups struct {
	slots map[string]*lookupSlot // by element: map and key text
	keptSet
	cond int // depth of conditionally computed code
	// kills holds, by instruction index, the slots whose pointers and the
	// variables whose copies stop being kept before that instruction;
	// gens the copies taken there, uses the copies used (see sound).
	kills, gens, uses map[int]uint16
	copyBits          map[*check.Var]uint16 // a variable's copy's bit
	taken             map[*check.Var]bool   // variables whose address is taken
	broken            bool                  // a copy was used where it was not kept
}

// keptSet is what holds at a point of the code: the slots that hold
// their element's pointer, and the copies of elements in variables.
type keptSet struct {
	valid  map[*lookupSlot]bool
	copies map[*check.Var]*elemCopy
}

// elemCopy is a variable's copy of the element of a kept pointer: one
// for each time it is taken, so that a copy taken again is not the same.
type elemCopy struct {
	slot *lookupSlot
}

// lookupSlot is where the pointer to one element waits.
type lookupSlot struct {
	slot    mem
	mapName string       // the map's spec name
	vars    []*check.Var // the variables its key reads
	uses    int          // of the element, not yet compiled
	bit     uint16       // the slot's bit in lookups.kills
}

// planLookups gives a slot to each element the probe names more than
// once with a key it can keep.
func (f *fn) planLookups() {
	if f.callbacks || f.parent != nil || f.keepNone {
		return
	}
	count := map[string]int{}
	taken := map[string]bool{}         // maps whose address is taken
	takenVars := map[*check.Var]bool{} // and variables
	var order []*syntax.MapRef
	keysOf := map[*syntax.MapRef][]syntax.Expr{}
	skip := map[syntax.Expr]bool{} // maps named by delete() and the like
	f.walkProbe(func(e syntax.Expr) {
		switch x := e.(type) {
		case *syntax.Call:
			c := f.callOf(x)
			if c == nil || c.Map == nil {
				return
			}
			for _, a := range x.Args {
				skip[a] = true
			}
			// has_key() looks the element up, and changes nothing.
			if c.Name != "has_key" {
				return
			}
			if ref, ok := x.Args[0].(*syntax.MapRef); ok {
				if id, _, ok := f.elemID(ref, c.KeyArgs); ok {
					count[id]++
					order = append(order, ref)
					keysOf[ref] = c.KeyArgs
				}
			}
			return
		case *syntax.Unary:
			if x.Op != "&" {
				return
			}
			switch y := x.X.(type) {
			case *syntax.MapRef:
				taken[y.Name] = true
			case *syntax.Var:
				takenVars[f.info.Vars[y]] = true
			}
			return
		}
		ref, keys := mapAccess(e)
		if ref == nil || skip[e] {
			return
		}
		if id, _, ok := f.elemID(ref, keys); ok {
			count[id]++
			order = append(order, ref)
			keysOf[ref] = keys
		}
	})
	lk := &lookups{
		slots:   map[string]*lookupSlot{},
		keptSet: keptSet{valid: map[*lookupSlot]bool{}, copies: map[*check.Var]*elemCopy{}},
		kills:   map[int]uint16{}, gens: map[int]uint16{}, uses: map[int]uint16{},
		copyBits: map[*check.Var]uint16{}, taken: takenVars,
	}
	for _, ref := range order {
		id, vars, _ := f.elemID(ref, keysOf[ref])
		if count[id] < 2 || lk.slots[id] != nil || taken[ref.Name] || len(lk.slots) == maxKept {
			continue
		}
		if slices.ContainsFunc(vars, func(v *check.Var) bool { return takenVars[v] }) {
			continue
		}
		lk.slots[id] = &lookupSlot{slot: f.alloc(8), mapName: f.mapOf(ref).Spec.Name, vars: vars, uses: count[id], bit: 1 << len(lk.slots)}
	}
	if len(lk.slots) > 0 {
		f.lk = lk
	}
}

// maxKept is the most elements a probe keeps the pointers of: each takes
// 8 bytes of the stack. As many variables may hold copies of them (a bit
// each after the slots' in lookups.kills).
const maxKept = 8

// walkProbe calls fn for every expression of the probe's predicate and
// body that is compiled (not the arm of an if whose condition is a
// constant), the statements of blocks used as expressions included.
func (f *fn) walkProbe(fn func(syntax.Expr)) {
	var expr func(e syntax.Expr)
	var stmt func(s syntax.Stmt)
	stmts := func(ss []syntax.Stmt) {
		for _, s := range ss {
			stmt(s)
		}
	}
	stmt = func(s syntax.Stmt) {
		switch s := s.(type) {
		case *syntax.Block:
			if s != nil {
				stmts(s.Stmts)
			}
		case *syntax.ExprStmt:
			expr(s.X)
		case *syntax.AssignStmt:
			expr(s.LHS)
			expr(s.RHS)
		case *syntax.VarDecl:
			expr(s.Value)
		case *syntax.IfStmt:
			if c, ok := f.constOf(s.Cond); ok && !c.isStr {
				if c.c != 0 {
					stmt(s.Then)
				} else if s.Else != nil {
					stmt(s.Else)
				}
				return
			}
			expr(s.Cond)
			stmt(s.Then)
			if s.Else != nil {
				stmt(s.Else)
			}
		case *syntax.WhileStmt:
			expr(s.Cond)
			stmt(s.Body)
		case *syntax.ForStmt:
			expr(s.Lo)
			expr(s.Hi)
			stmt(s.Body)
		case *syntax.UnrollStmt:
			stmt(s.Body)
		case *syntax.JumpStmt:
			expr(s.Value)
		}
	}
	expr = func(e syntax.Expr) {
		syntaxWalk(e, func(x syntax.Expr) {
			fn(x)
			if b, ok := x.(*syntax.BlockExpr); ok {
				stmts(b.Stmts)
				expr(b.Value)
			}
		})
	}
	expr(f.pr.Syntax.Pred)
	stmt(f.pr.Syntax.Body)
}

// elemID names the element m[keys] when its pointer may be kept: the
// map's name and the key's text, and the variables the key reads.
func (f *fn) elemID(ref *syntax.MapRef, keys []syntax.Expr) (string, []*check.Var, bool) {
	cm := f.info.Maps[ref]
	if cm == nil {
		cm = f.g.p.Maps[ref.Name]
	}
	if cm == nil {
		return "", nil, false
	}
	m := f.g.userMap(cm)
	if m == nil || m.Value.IsAggregate() {
		return "", nil, false
	}
	switch m.Spec.Type {
	case ebpf.Hash, ebpf.PerCPUHash, ebpf.Array, ebpf.PerCPUArray:
	default:
		return "", nil, false
	}
	var b strings.Builder
	var vars []*check.Var
	b.WriteString(m.Spec.Name)
	b.WriteByte('[')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if !f.keyText(&b, k, &vars) {
			return "", nil, false
		}
	}
	b.WriteByte(']')
	return b.String(), vars, true
}

// stableBuiltins are the builtins whose value does not change while a
// program runs.
var stableBuiltins = map[string]bool{"pid": true, "tid": true, "cpu": true, "uid": true, "gid": true, "curtask": true}

// keyText writes the text of a key expression whose value is the same
// wherever the probe computes it, as long as the variables it adds to
// vars are not written; it reports false for any other expression.
func (f *fn) keyText(b *strings.Builder, e syntax.Expr, vars *[]*check.Var) bool {
	if c, ok := f.info.Consts[e]; ok {
		if c.Bytes != nil {
			fmt.Fprintf(b, "%q", c.Bytes)
		} else if c.IsStr {
			fmt.Fprintf(b, "%q", c.Str)
		} else {
			fmt.Fprintf(b, "%d", c.Int)
		}
		return true
	}
	sub := func(es ...syntax.Expr) bool {
		b.WriteByte('(')
		for i, x := range es {
			if i > 0 {
				b.WriteByte(',')
			}
			if x != nil && !f.keyText(b, x, vars) {
				return false
			}
		}
		b.WriteByte(')')
		return true
	}
	switch x := e.(type) {
	case *syntax.Var:
		cv := f.info.Vars[x]
		if cv == nil {
			return false
		}
		*vars = append(*vars, cv)
		fmt.Fprintf(b, "%s@%p", x.Name, cv)
		return true
	case *syntax.Ident:
		c := f.callOf(x)
		if c == nil || !stableBuiltins[c.Name] {
			return false
		}
		b.WriteString(c.Name + c.Mode)
		return true
	case *syntax.Field:
		// The context does not change while the program runs.
		id, ok := x.X.(*syntax.Ident)
		if !ok || !f.isBuiltin(id, "args") {
			return false
		}
		b.WriteString("args." + x.Name)
		return true
	case *syntax.Unary:
		switch x.Op {
		case "-", "~", "!":
			b.WriteString(x.Op)
			return sub(x.X)
		}
	case *syntax.Binary:
		b.WriteString(x.Op)
		return sub(x.X, x.Y)
	case *syntax.Ternary:
		b.WriteString("?")
		return sub(x.Cond, x.Then, x.Else)
	case *syntax.Cast:
		b.WriteString(x.Type.String())
		return x.Type.Of == nil && sub(x.X)
	case *syntax.Tuple:
		return sub(x.Elems...)
	case *syntax.Record:
		b.WriteString(strings.Join(x.Names, ","))
		return sub(x.Values...)
	case *syntax.BlockExpr:
		return len(x.Stmts) == 0 && x.Value != nil && sub(x.Value)
	}
	return false
}

// elem is an element looked up, or to look up.
type elem struct {
	m    *Map
	keys []syntax.Expr
	pos  syntax.Pos
	key  mem
	made bool // key holds the key
	slot *lookupSlot
	last bool // no use of the element follows
}

// newElem is a use of m[keys].
func (f *fn) newElem(ref *syntax.MapRef, keys []syntax.Expr, pos syntax.Pos) *elem {
	el := &elem{m: f.mapOf(ref), keys: keys, pos: pos}
	if f.lk == nil {
		return el
	}
	if id, _, ok := f.elemID(ref, keys); ok && f.lk.slots[id] != nil {
		el.slot = f.lk.slots[id]
		el.slot.uses--
		el.last = el.slot.uses <= 0
	}
	return el
}

// lookupElem leaves the pointer to the element (or 0) in R0: the one
// kept, or a new lookup's, which it keeps when the probe uses the
// element again.
func (f *fn) lookupElem(el *elem) {
	if el.slot != nil && f.lk.valid[el.slot] {
		f.emit(asm.LoadMem(asm.R0, el.slot.slot.base, int16(el.slot.slot.off), asm.DWord))
		return
	}
	f.lookup(el.m, f.elemKey(el))
	f.keepElem(el)
}

// keepElem stores the pointer in R0 in the element's slot, where every
// path to what follows stores it, for the uses that follow.
func (f *fn) keepElem(el *elem) {
	if el.slot == nil || el.last || f.lk.cond > 0 {
		return
	}
	f.emit(asm.StoreMem(el.slot.slot.base, int16(el.slot.slot.off), asm.R0, asm.DWord))
	f.lk.valid[el.slot] = true
}

// elemKey is the element's key, built the first time it is asked for:
// a kept pointer needs it only where the element is missing.
func (f *fn) elemKey(el *elem) mem {
	if !el.made {
		el.key = f.mapKey(el.m, el.keys, el.pos, 0)
		el.made = true
	}
	return el.key
}

// elemAdded follows an update that added a missing element: its pointer
// is looked up again for the uses of the element that follow.
func (f *fn) elemAdded(el *elem) {
	if el.slot == nil || el.last || f.lk.cond > 0 {
		return
	}
	f.lookup(el.m, el.key)
	f.keepElem(el)
}

// mapChanged forgets the pointers into the map named name: code that
// may add or delete its elements follows.
func (f *fn) mapChanged(name string) {
	if f.lk == nil {
		return
	}
	for _, s := range f.lk.slots {
		if s.mapName == name {
			f.forgetSlot(s)
		}
	}
}

// forgetSlot stops keeping the pointer in slot s, and the copies of its
// element.
func (f *fn) forgetSlot(s *lookupSlot) {
	delete(f.lk.valid, s)
	f.lk.kills[len(f.b.insns)] |= s.bit
	for v, c := range f.lk.copies {
		if c.slot == s {
			f.dropCopy(v)
		}
	}
}

// varWritten forgets the pointers to elements whose key reads v, and the
// copy v held.
func (f *fn) varWritten(v *check.Var) {
	if f.lk == nil {
		return
	}
	for _, s := range f.lk.slots {
		if slices.Contains(s.vars, v) {
			f.forgetSlot(s)
		}
	}
	f.dropCopy(v)
}

// mapWritten forgets the copies of the elements of the map named name:
// one of its elements was written, which may be the one copied.
func (f *fn) mapWritten(name string) {
	if f.lk == nil {
		return
	}
	for v, c := range f.lk.copies {
		if c.slot.mapName == name {
			f.dropCopy(v)
		}
	}
}

// dropCopy forgets the copy v holds.
func (f *fn) dropCopy(v *check.Var) {
	if _, ok := f.lk.copies[v]; !ok {
		return
	}
	delete(f.lk.copies, v)
	i, bit := len(f.b.insns), f.lk.copyBits[v]
	f.lk.gens[i] &^= bit
	f.lk.kills[i] |= bit
}

// copied follows "v = e" (or its declaration), stored: v holds the copy
// of the element e read when e is a kept element copied whole, its
// pointer kept on every path to what follows.
func (f *fn) copied(v *check.Var, e syntax.Expr) {
	if f.lk == nil || f.lk.cond > 0 || f.lk.taken[v] {
		return
	}
	ref, keys, ok := f.copiesElem(e, v.Type)
	if !ok || !types.Equal(f.mapOf(ref).Value, v.Type) {
		return
	}
	id, _, ok := f.elemID(ref, keys)
	s := f.lk.slots[id]
	if !ok || s == nil || !f.lk.valid[s] {
		return
	}
	bit, ok := f.lk.copyBits[v]
	if !ok {
		if len(f.lk.copyBits) == maxKept {
			return
		}
		bit = 1 << (maxKept + len(f.lk.copyBits))
		f.lk.copyBits[v] = bit
	}
	f.lk.copies[v] = &elemCopy{slot: s}
	i := len(f.b.insns)
	f.lk.kills[i] &^= bit
	f.lk.gens[i] |= bit
}

// copyOf is the copy of el that v holds, if any.
func (f *fn) copyOf(v *check.Var, el *elem) *elemCopy {
	if f.lk == nil || el.slot == nil {
		return nil
	}
	if c := f.lk.copies[v]; c != nil && c.slot == el.slot && f.lk.valid[el.slot] {
		return c
	}
	return nil
}

// useCopy marks where the code relies on c still being v's copy: if it
// is not, the probe compiles again keeping no lookup (see sound).
func (f *fn) useCopy(v *check.Var, c *elemCopy) {
	if f.lk.copies[v] != c || !f.lk.valid[c.slot] {
		f.lk.broken = true
		return
	}
	f.lk.uses[len(f.b.insns)] |= f.lk.copyBits[v]
}

// forgetLookups forgets every pointer kept: at a loop's start and end.
func (f *fn) forgetLookups() {
	if f.lk != nil {
		for _, s := range f.lk.slots {
			f.forgetSlot(s)
		}
	}
}

// keptLookups is the pointers and copies kept at a point of the code, to
// join with those of another path (see joinLookups).
func (f *fn) keptLookups() keptSet {
	if f.lk == nil {
		return keptSet{}
	}
	return keptSet{valid: maps.Clone(f.lk.valid), copies: maps.Clone(f.lk.copies)}
}

// joinLookups keeps the pointers and copies both paths that meet here
// kept: the current one and the one that kept other.
func (f *fn) joinLookups(other keptSet) {
	if f.lk == nil {
		return
	}
	maps.DeleteFunc(f.lk.valid, func(s *lookupSlot, _ bool) bool { return !other.valid[s] })
	maps.DeleteFunc(f.lk.copies, func(v *check.Var, c *elemCopy) bool { return other.copies[v] != c })
}

// setLookups makes the pointers and copies kept those of k, at the start
// of a path that begins where k was taken.
func (f *fn) setLookups(k keptSet) {
	if f.lk != nil {
		f.lk.valid = maps.Clone(k.valid)
		f.lk.copies = maps.Clone(k.copies)
	}
}

// conditional marks code that may not run, or runs only on some paths
// to what follows, until the returned function is called: pointers it
// looks up are not kept.
func (f *fn) conditional() func() {
	if f.lk == nil {
		return func() {}
	}
	f.lk.cond++
	return func() { f.lk.cond-- }
}

// planPidTgid gives the current task's ids a stack slot when the probe
// reads pid or tid more than once: the first read calls the helper and
// fills the slot, the others load it. The slot starts at -1, which no
// task's ids are.
func (f *fn) planPidTgid() {
	if f.callbacks || f.parent != nil || f.keepNone {
		return
	}
	if _, ns := f.g.opts.Kernel.pidNS(); ns {
		return
	}
	n := 0
	f.walkProbe(func(e syntax.Expr) {
		switch e.(type) {
		case *syntax.Ident, *syntax.Call:
			if c := f.info.Calls[e]; c != nil && (c.Name == "pid" || c.Name == "tid") && c.Mode != "init" {
				n++
			}
		}
	})
	if n < 2 {
		return
	}
	f.pidTgid = f.alloc(8)
	f.hasPidTgid = true
	f.emit(storeImm(f.pidTgid.base, int16(f.pidTgid.off), -1, asm.DWord))
}

// currentPidTgid leaves get_current_pid_tgid's value in R0.
func (f *fn) currentPidTgid() {
	if !f.hasPidTgid {
		f.call(asm.FnGetCurrentPidTgid)
		return
	}
	have := f.b.newLabel()
	slot := f.pidTgid
	f.emit(asm.LoadMem(asm.R0, slot.base, int16(slot.off), asm.DWord))
	f.b.jmpImm(asm.JNE, asm.R0, -1, have)
	f.call(asm.FnGetCurrentPidTgid)
	f.emit(asm.StoreMem(slot.base, int16(slot.off), asm.R0, asm.DWord))
	f.b.mark(have)
}

// errUnsound says a probe read a kept pointer or used a copy where a path
// to the read did not keep it: the code generator missed a branch.
var errUnsound = errors.New("a kept lookup is read where it was not kept")

// sound checks the probe's code, before its jumps are resolved, for what
// the bookkeeping of kept pointers promises: each read of a slot is
// reached only by paths whose last word on the slot is a store of the
// pointer, not a forget (see forgetSlot) nor the start; each use of a copy
// only by paths whose last word on it is its taking (see copied). A probe
// that fails is compiled again keeping none.
func (f *fn) sound() bool {
	if f.lk == nil {
		return true
	}
	if f.lk.broken {
		return false
	}
	b := f.b
	bits := map[int16]uint16{}
	for _, s := range f.lk.slots {
		bits[int16(s.slot.off)] = s.bit
	}
	n := len(b.insns)
	kept := make([]uint16, n+1) // slots kept on every path reached so far
	seen := make([]bool, n+1)
	seen[0] = true
	work := []int{0}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		st := kept[i]&^f.lk.kills[i] | f.lk.gens[i]
		if f.lk.uses[i]&^st != 0 {
			return false
		}
		if i == n {
			continue
		}
		ins := b.insns[i]
		bit := bits[ins.Offset]
		switch {
		case bit == 0:
		case ins.OpCode.Class() == asm.LdXClass && ins.Src == asm.RFP:
			if st&bit == 0 {
				return false
			}
		case ins.OpCode.Class() == asm.StXClass && ins.Dst == asm.RFP:
			st |= bit
		case ins.OpCode.Class() == asm.StClass && ins.Dst == asm.RFP:
			st &^= bit
		}
		var next []int
		if t := b.targets[i]; t != "" {
			next = append(next, b.labels[t])
		}
		if op := ins.OpCode.JumpOp(); !ins.OpCode.Class().IsJump() || op != asm.Ja && op != asm.Exit {
			next = append(next, i+1)
		}
		for _, j := range next {
			in := st
			if seen[j] {
				in &= kept[j]
			}
			if !seen[j] || in != kept[j] {
				seen[j], kept[j] = true, in
				work = append(work, j)
			}
		}
	}
	return true
}
