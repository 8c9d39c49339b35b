package codegen

import "github.com/cilium/ebpf/asm"

// dropNoops deletes 64-bit arithmetic that leaves its register as it was:
// adding, subtracting, or-ing, xor-ing or shifting by 0, multiplying or
// dividing by 1, and moves of a register to itself. Generic lowering emits
// them for constant operands (lhist with a minimum of 0, scaling by 1).
// 32-bit forms stay: they clear the upper half.
func (b *builder) dropNoops() {
	for i := 0; i < len(b.insns); i++ {
		if !isNoop(b.insns[i]) {
			continue
		}
		if src := b.insns[i].Source(); src != nil && i+1 < len(b.insns) && b.insns[i+1].Source() == nil {
			b.insns[i+1] = b.insns[i+1].WithSource(src)
		}
		b.remove(i)
		i--
	}
}

func isNoop(ins asm.Instruction) bool {
	op := ins.OpCode
	if op.Class() != asm.ALU64Class || ins.Reference() != "" || ins.Symbol() != "" {
		return false
	}
	if op.Source() == asm.RegSource {
		return op.ALUOp() == asm.Mov && ins.Dst == ins.Src
	}
	// Signed division and modulo share the ALU op with an offset of 1;
	// they are no-ops by 1 as well, but stay out of this for clarity.
	if ins.Offset != 0 {
		return false
	}
	switch op.ALUOp() {
	case asm.Add, asm.Sub, asm.Or, asm.Xor, asm.LSh, asm.RSh, asm.ArSh:
		return ins.Constant == 0
	case asm.Mul, asm.Div:
		return ins.Constant == 1
	}
	return false
}

// hoistStackAddr computes the stack address the function takes most often
// (r = r10; r += off, three times or more: a map key filled by a helper,
// then looked up, then updated) once, at entry, into a callee-saved
// register the function leaves unused; each use becomes one move.
func (b *builder) hoistStackAddr() {
	used := map[asm.Register]bool{}
	for _, ins := range b.insns {
		used[ins.Dst], used[ins.Src] = true, true
	}
	keep := asm.Register(0)
	for _, r := range []asm.Register{asm.R9, asm.R8, asm.R7} {
		if !used[r] {
			keep = r
			break
		}
	}
	if keep == 0 {
		return
	}
	inside := b.jumpTargets()
	count := map[int64]int{}
	best, most := int64(0), 0
	for i := range b.insns {
		if off, ok := b.stackAddr(i, inside); ok {
			count[off]++
			if count[off] > most {
				best, most = off, count[off]
			}
		}
	}
	if most < 3 {
		return
	}
	for i := 0; i < len(b.insns); i++ {
		if off, ok := b.stackAddr(i, inside); ok && off == best {
			mov := asm.Mov.Reg(b.insns[i].Dst, keep).WithMetadata(b.insns[i].Metadata)
			if src := b.insns[i+1].Source(); src != nil && mov.Source() == nil {
				mov = mov.WithSource(src)
			}
			b.insns[i] = mov
			b.remove(i + 1)
			inside = b.jumpTargets()
		}
	}
	first := []asm.Instruction{asm.Mov.Reg(keep, asm.RFP), asm.Add.Imm(keep, int32(best))}
	if src := b.insns[0].Source(); src != nil {
		first[0] = first[0].WithSource(src)
		b.insns[0] = b.insns[0].WithSource(nil)
	}
	b.insns = append(first, b.insns...)
	b.targets = append([]string{"", ""}, b.targets...)
	for l := range b.labels {
		b.labels[l] += len(first)
	}
}

// stackAddr reports whether instructions i and i+1 are "r = r10; r += off"
// with no jump landing between them, and off.
func (b *builder) stackAddr(i int, inside map[int]bool) (int64, bool) {
	if i+1 >= len(b.insns) || inside[i+1] {
		return 0, false
	}
	mov, add := b.insns[i], b.insns[i+1]
	if mov.OpCode != asm.Mov.Op(asm.RegSource) || mov.Src != asm.RFP || mov.Dst == asm.RFP {
		return 0, false
	}
	if add.OpCode != asm.Add.Op(asm.ImmSource) || add.Dst != mov.Dst {
		return 0, false
	}
	return add.Constant, true
}

// dropReloads deletes the load of a stack slot right after the store of
// a register into it ("$t = ...; if ($t)"): the register still holds the
// value (a load into another register becomes a move). A jump landing on
// the load keeps it; an 8-byte slot only, as a narrower store and load
// truncate.
func (b *builder) dropReloads() {
	inside := b.jumpTargets()
	for i := 0; i+1 < len(b.insns); i++ {
		st, ld := b.insns[i], b.insns[i+1]
		if inside[i+1] || st.OpCode != asm.StoreMemOp(asm.DWord) || ld.OpCode != asm.LoadMemOp(asm.DWord) ||
			st.Dst != asm.RFP || ld.Src != asm.RFP || st.Offset != ld.Offset {
			continue
		}
		if ld.Dst != st.Src {
			b.insns[i+1] = asm.Mov.Reg(ld.Dst, st.Src).WithMetadata(ld.Metadata)
			continue
		}
		if src := ld.Source(); src != nil && i+2 < len(b.insns) && b.insns[i+2].Source() == nil {
			b.insns[i+2] = b.insns[i+2].WithSource(src)
		}
		b.remove(i + 1)
		inside = b.jumpTargets()
	}
}

// jumpTargets is the set of instructions a jump may land on.
func (b *builder) jumpTargets() map[int]bool {
	inside := map[int]bool{}
	for _, idx := range b.labels {
		inside[idx] = true
	}
	return inside
}
