package codegen

import (
	"fmt"

	"github.com/cilium/ebpf/asm"
)

// builder collects the instructions of one BPF function. Jumps name their
// target by label and are resolved at the end, so that peephole passes can
// delete instructions without breaking offsets.
type builder struct {
	insns   []asm.Instruction
	targets []string       // jump target label per instruction, "" if none
	labels  map[string]int // label -> index of the instruction it precedes
	nlabel  int

	src        asm.Comment // statement being generated
	srcPending bool        // src not yet attached to an instruction
}

func newBuilder() *builder {
	return &builder{labels: map[string]int{}}
}

func (b *builder) emit(insns ...asm.Instruction) {
	for _, ins := range insns {
		if b.srcPending {
			ins = ins.WithSource(b.src)
			b.srcPending = false
		}
		b.insns = append(b.insns, ins)
		b.targets = append(b.targets, "")
	}
}

// setSource makes the next instruction carry the script position and text
// of the statement being generated; cilium/ebpf turns it into BTF line
// info, which the verifier quotes in its log.
func (b *builder) setSource(c string) {
	if c == "" || asm.Comment(c) == b.src {
		return
	}
	b.src = asm.Comment(c)
	b.srcPending = true
}

func (b *builder) newLabel() string {
	b.nlabel++
	return fmt.Sprintf("L%d", b.nlabel)
}

func (b *builder) mark(label string) { b.labels[label] = len(b.insns) }

// jmpImm emits "if dst op imm goto label".
func (b *builder) jmpImm(op asm.JumpOp, dst asm.Register, imm int32, label string) {
	b.emit(asm.Instruction{OpCode: op.Op(asm.ImmSource), Dst: dst, Constant: int64(imm)})
	b.targets[len(b.targets)-1] = label
}

// jmpReg emits "if dst op src goto label".
func (b *builder) jmpReg(op asm.JumpOp, dst, src asm.Register, label string) {
	b.emit(asm.Instruction{OpCode: op.Op(asm.RegSource), Dst: dst, Src: src})
	b.targets[len(b.targets)-1] = label
}

func (b *builder) ja(label string) {
	b.emit(asm.Instruction{OpCode: asm.Ja.Op(asm.ImmSource)})
	b.targets[len(b.targets)-1] = label
}

// finish removes jumps to the next instruction, resolves labels and
// returns the instructions.
func (b *builder) finish() (asm.Instructions, error) {
	b.dropUnreachable()
	b.dropNoops()
	b.dropReloads()
	b.hoistStackAddr()
	b.dropUselessJumps()
	pos := make([]int, len(b.insns)+1)
	for i, ins := range b.insns {
		pos[i+1] = pos[i] + int(ins.Width())
	}
	out := make(asm.Instructions, len(b.insns))
	for i, ins := range b.insns {
		if t := b.targets[i]; t != "" {
			idx, ok := b.labels[t]
			if !ok {
				return nil, fmt.Errorf("internal error: undefined label %s", t)
			}
			d := pos[idx] - pos[i] - 1
			if d < -32768 || d > 32767 {
				return nil, fmt.Errorf("program too large: jump of %d instructions", d)
			}
			ins.Offset = int16(d)
		}
		out[i] = ins
	}
	return out, nil
}

// dropUselessJumps deletes unconditional jumps whose target is the next
// instruction; they come from if/else chains with empty branches.
func (b *builder) dropUselessJumps() {
	for i := 0; i < len(b.insns); i++ {
		ins := b.insns[i]
		if b.targets[i] == "" || ins.OpCode != asm.Ja.Op(asm.ImmSource) || b.labels[b.targets[i]] != i+1 {
			continue
		}
		if ins.Source() != nil && i+1 < len(b.insns) && b.insns[i+1].Source() == nil {
			b.insns[i+1] = b.insns[i+1].WithSource(ins.Source())
		}
		b.remove(i)
		i--
	}
}

// remove deletes instruction i, moving labels that pointed past it.
func (b *builder) remove(i int) {
	b.insns = append(b.insns[:i], b.insns[i+1:]...)
	b.targets = append(b.targets[:i], b.targets[i+1:]...)
	for l, idx := range b.labels {
		if idx > i {
			b.labels[l] = idx - 1
		}
	}
}

// dropUnreachable deletes instructions no path reaches (code after exit()
// or return); the verifier refuses programs that have any.
func (b *builder) dropUnreachable() {
	n := len(b.insns)
	reach := make([]bool, n+1)
	work := []int{0}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		if i >= n || reach[i] {
			continue
		}
		reach[i] = true
		ins := b.insns[i]
		if t := b.targets[i]; t != "" {
			work = append(work, b.labels[t])
			if ins.OpCode.JumpOp() == asm.Ja {
				continue
			}
		}
		if ins.OpCode.JumpOp() == asm.Exit {
			continue
		}
		work = append(work, i+1)
	}
	for i := n - 1; i >= 0; i-- {
		if !reach[i] {
			b.remove(i)
		}
	}
}
