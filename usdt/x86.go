package usdt

// x86-64's struct pt_regs: the slot of each full register, 8 bytes each.
var x86PtRegs = []string{
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10",
	"r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax",
	"rip", "cs", "eflags", "rsp", "ss",
}

// x86Registers maps every register name an argument spec may use, with its
// narrower parts, to its bytes in pt_regs. x86 is little-endian: the low
// part of a register is at the start of its slot, and the legacy high-byte
// registers (ah, ...) one byte further.
var x86Registers = func() map[string]Register {
	slot := map[string]int{}
	for i, name := range x86PtRegs {
		slot[name] = i * 8
	}
	m := map[string]Register{}
	add := func(name, full string, size, shift int) {
		m[name] = Register{Name: name, Offset: slot[full] + shift, Size: size}
	}
	for _, r := range []struct{ full, r32, r16, r8, r8h string }{
		{"rax", "eax", "ax", "al", "ah"},
		{"rbx", "ebx", "bx", "bl", "bh"},
		{"rcx", "ecx", "cx", "cl", "ch"},
		{"rdx", "edx", "dx", "dl", "dh"},
		{"rsi", "esi", "si", "sil", ""},
		{"rdi", "edi", "di", "dil", ""},
		{"rbp", "ebp", "bp", "bpl", ""},
		{"rsp", "esp", "sp", "spl", ""},
	} {
		add(r.full, r.full, 8, 0)
		add(r.r32, r.full, 4, 0)
		add(r.r16, r.full, 2, 0)
		add(r.r8, r.full, 1, 0)
		if r.r8h != "" {
			add(r.r8h, r.full, 1, 1)
		}
	}
	for _, n := range []string{"8", "9", "10", "11", "12", "13", "14", "15"} {
		full := "r" + n
		add(full, full, 8, 0)
		add(full+"d", full, 4, 0)
		add(full+"w", full, 2, 0)
		add(full+"b", full, 1, 0)
		add(full+"l", full, 1, 0) // the name some assemblers use for the low byte
	}
	add("rip", "rip", 8, 0)
	return m
}()
