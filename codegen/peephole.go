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
