package usdt

import (
	"fmt"
	"math"

	"github.com/cilium/ebpf/asm"

	"friday/internal/bpfint"
)

// Load returns BPF instructions that put the argument's value, sign- or
// zero-extended to 64 bits as its spec says, into dst. ctx is the register
// holding the program's context (struct pt_regs *).
//
// A memory argument is read with bpf_probe_read_user into the 8-byte stack
// slot at fp+stackOff (negative, 8-aligned), which clobbers R0-R5; ctx
// must then be one of R6-R9. If the read fails the value is 0.
func (a Arg) Load(dst, ctx asm.Register, stackOff int16) (asm.Instructions, error) {
	switch a.Kind {
	case ArgConst:
		return asm.Instructions{asm.LoadImm(dst, bpfint.Truncate(a.Const, a.Size, a.Signed), asm.DWord)}, nil
	case ArgReg:
		size := min(a.Size, a.Reg.Size)
		insns := asm.Instructions{asm.LoadMem(dst, ctx, int16(a.Reg.Offset), bpfint.Size(size))}
		return append(insns, extend(dst, size, a.Signed)...), nil
	case ArgMem:
		if ctx <= asm.R5 {
			return nil, fmt.Errorf("argument %q: ctx in %v does not survive a helper call", a.Text, ctx)
		}
		if stackOff%8 != 0 || stackOff >= 0 {
			return nil, fmt.Errorf("argument %q: stack slot %d is not an 8-aligned slot below the frame pointer", a.Text, stackOff)
		}
		insns := asm.Instructions{
			asm.Mov.Imm(asm.R1, 0),
			asm.StoreMem(asm.RFP, stackOff, asm.R1, asm.DWord),
		}
		if a.Base != nil {
			insns = append(insns, asm.LoadMem(asm.R3, ctx, int16(a.Base.Offset), asm.DWord))
			if a.Offset >= math.MinInt32 && a.Offset <= math.MaxInt32 {
				if a.Offset != 0 {
					insns = append(insns, asm.Add.Imm(asm.R3, int32(a.Offset)))
				}
			} else {
				insns = append(insns, asm.LoadImm(asm.R1, a.Offset, asm.DWord), asm.Add.Reg(asm.R3, asm.R1))
			}
		} else {
			insns = append(insns, asm.LoadImm(asm.R3, a.Offset, asm.DWord))
		}
		if a.Index != nil {
			insns = append(insns, asm.LoadMem(asm.R1, ctx, int16(a.Index.Offset), asm.DWord))
			if a.Scale > 1 {
				insns = append(insns, asm.Mul.Imm(asm.R1, int32(a.Scale)))
			}
			insns = append(insns, asm.Add.Reg(asm.R3, asm.R1))
		}
		insns = append(insns,
			asm.Mov.Reg(asm.R1, asm.RFP),
			asm.Add.Imm(asm.R1, int32(stackOff)),
			asm.Mov.Imm(asm.R2, int32(a.Size)),
			asm.FnProbeReadUser.Call(),
			asm.LoadMem(dst, asm.RFP, stackOff, bpfint.Size(a.Size)),
		)
		return append(insns, extend(dst, a.Size, a.Signed)...), nil
	}
	return nil, fmt.Errorf("argument %q: unknown kind %v", a.Text, a.Kind)
}

// extend widens the low size bytes of r, which a load left zero-extended.
func extend(r asm.Register, size int, signed bool) asm.Instructions {
	if !signed || size >= 8 {
		return nil
	}
	shift := int32(64 - 8*size)
	return asm.Instructions{asm.LSh.Imm(r, shift), asm.ArSh.Imm(r, shift)}
}
