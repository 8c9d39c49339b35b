package codegen

import (
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf/asm"
)

// Dump writes every program's instructions in the notation of bpftool prog
// dump xlated, each statement's instructions after the script line they
// come from.
func Dump(w io.Writer, obj *Object) error {
	var b strings.Builder
	for _, p := range obj.Programs {
		names := make([]string, len(p.Points))
		for i, pt := range p.Points {
			names[i] = pt.Name
		}
		fmt.Fprintf(&b, "%s (%s, %d instructions): %s\n", p.Name, p.Type, len(p.Insns), strings.Join(names, ", "))
		iter := p.Insns.Iterate()
		for iter.Next() {
			ins := iter.Ins
			if sym := ins.Symbol(); sym != "" && iter.Offset > 0 {
				fmt.Fprintf(&b, "%s:\n", sym)
			}
			if src := ins.Source(); src != nil {
				fmt.Fprintf(&b, "; %s\n", src)
			}
			fmt.Fprintf(&b, "%4d: %s\n", iter.Offset, formatInsn(*ins))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var aluSyms = map[asm.ALUOp]string{
	asm.Add: "+=", asm.Sub: "-=", asm.Mul: "*=", asm.Div: "/=", asm.Mod: "%=",
	asm.SDiv: "s/=", asm.SMod: "s%=", asm.Or: "|=", asm.And: "&=", asm.LSh: "<<=",
	asm.RSh: ">>=", asm.ArSh: "s>>=", asm.Xor: "^=", asm.Mov: "=",
}

var jumpSyms = map[asm.JumpOp]string{
	asm.JEq: "==", asm.JNE: "!=", asm.JGT: ">", asm.JGE: ">=", asm.JLT: "<",
	asm.JLE: "<=", asm.JSGT: "s>", asm.JSGE: "s>=", asm.JSLT: "s<", asm.JSLE: "s<=", asm.JSet: "&",
}

var sizeNames = map[asm.Size]string{asm.Byte: "u8", asm.Half: "u16", asm.Word: "u32", asm.DWord: "u64"}

// formatInsn spells one instruction as bpftool does; what it does not
// know it leaves to cilium/ebpf's notation.
func formatInsn(ins asm.Instruction) string {
	op := ins.OpCode
	switch cls := op.Class(); {
	case ins.IsLoadFromMap():
		return fmt.Sprintf("r%d = map[%s]", ins.Dst, ins.Reference())
	case ins.IsLoadOfFunctionPointer():
		return fmt.Sprintf("r%d = func[%s]", ins.Dst, ins.Reference())
	case op.IsDWordLoad():
		return fmt.Sprintf("r%d = %#x", ins.Dst, uint64(ins.Constant))
	case cls.IsALU():
		alu := op.ALUOp()
		reg := "r"
		if cls == asm.ALUClass {
			reg = "w"
		}
		switch {
		case alu == asm.Neg:
			return fmt.Sprintf("%s%d = -%s%d", reg, ins.Dst, reg, ins.Dst)
		case alu == asm.Swap:
			return fmt.Sprintf("r%d = bswap%d r%d", ins.Dst, ins.Constant, ins.Dst)
		case aluSyms[alu] == "":
			return fmt.Sprint(ins)
		case op.Source() == asm.ImmSource:
			return fmt.Sprintf("%s%d %s %d", reg, ins.Dst, aluSyms[alu], ins.Constant)
		default:
			return fmt.Sprintf("%s%d %s %s%d", reg, ins.Dst, aluSyms[alu], reg, ins.Src)
		}
	case cls == asm.LdXClass:
		sx := ""
		if op.Mode() == asm.MemSXMode {
			sx = "s"
		}
		return fmt.Sprintf("r%d = *(%s%s *)(r%d %+d)", ins.Dst, sx, sizeNames[op.Size()], ins.Src, ins.Offset)
	case cls == asm.StXClass && op.Mode() == asm.MemMode:
		return fmt.Sprintf("*(%s *)(r%d %+d) = r%d", sizeNames[op.Size()], ins.Dst, ins.Offset, ins.Src)
	case cls == asm.StClass:
		return fmt.Sprintf("*(%s *)(r%d %+d) = %d", sizeNames[op.Size()], ins.Dst, ins.Offset, ins.Constant)
	case cls.IsJump():
		j := op.JumpOp()
		switch {
		case j == asm.Exit:
			return "exit"
		case j == asm.Call && ins.IsBuiltinCall():
			return fmt.Sprintf("call %s#%d", helperName(asm.BuiltinFunc(ins.Constant)), ins.Constant)
		case j == asm.Call:
			return fmt.Sprintf("call pc%+d", ins.Constant)
		case j == asm.Ja:
			return fmt.Sprintf("goto pc%+d", ins.Offset)
		case jumpSyms[j] == "":
			return fmt.Sprint(ins)
		case op.Source() == asm.ImmSource:
			return fmt.Sprintf("if r%d %s %#x goto pc%+d", ins.Dst, jumpSyms[j], ins.Constant, ins.Offset)
		default:
			return fmt.Sprintf("if r%d %s r%d goto pc%+d", ins.Dst, jumpSyms[j], ins.Src, ins.Offset)
		}
	}
	return fmt.Sprint(ins)
}

// helperName spells a helper as the kernel does: FnMapLookupElem is
// bpf_map_lookup_elem.
func helperName(fn asm.BuiltinFunc) string {
	name := strings.TrimPrefix(fn.String(), "Fn")
	var b strings.Builder
	b.WriteString("bpf")
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			if i == 0 || !(name[i-1] >= 'A' && name[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// StatementAt returns the script position and text of the statement that
// instruction insnIndex (counted in 8-byte slots, as the verifier counts)
// of prog was generated from, or "".
func StatementAt(obj *Object, prog *Program, insnIndex int) string {
	last := ""
	iter := prog.Insns.Iterate()
	for iter.Next() {
		if int(iter.Offset) > insnIndex {
			break
		}
		if src := iter.Ins.Source(); src != nil {
			last = src.String()
		}
	}
	return last
}
