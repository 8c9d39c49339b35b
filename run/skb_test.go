package run

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"friday/internal/testenv"
)

// The packets skboutput() sends reach their pcap files: a program sends
// samples laid out as bpf_skb_output lays them out (record, then packet
// bytes, then the kernel's padding) through a perf event array, and the
// files must hold exactly the packets after their offsets.
func TestSkbWriter(t *testing.T) {
	testenv.BPF(t)
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerfEventArray})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// File 1 gets 5 bytes at offset 2 of a 7-byte packet; file 0 a
	// 3-byte one.
	samples := [][]byte{
		append(words(1, 1e9, 2, 7), 0xe0, 0xe1, 0x45, 0, 0, 3, 4),
		append(words(0, 2e9+5, 0, 3), 0x60, 1, 2),
	}
	insns := asm.Instructions{asm.Mov.Reg(asm.R6, asm.R1)}
	for _, s := range samples {
		insns = append(insns, sendSample(s, m)...)
	}
	insns = append(insns, asm.Mov.Imm(asm.R0, 0), asm.Return())
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.RawTracepoint, License: "GPL", Instructions: insns})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()

	dir := t.TempDir()
	names := []string{filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")}
	w, err := startSkbWriter(m, names)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prog.Run(&ebpf.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	offset := w.files.realMinusBoot
	if lost, err := w.finish(); lost != 0 || err != nil {
		t.Fatalf("finish: %d lost, %v", lost, err)
	}
	header := []byte{0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x0f, 0, 101, 0, 0, 0}
	packet := func(ns int64, data ...byte) []byte {
		ts := ns + offset
		h := make([]byte, 16)
		binary.LittleEndian.PutUint32(h, uint32(ts/1e9))
		binary.LittleEndian.PutUint32(h[4:], uint32(ts%1e9))
		binary.LittleEndian.PutUint32(h[8:], uint32(len(data)))
		binary.LittleEndian.PutUint32(h[12:], uint32(len(data)))
		return append(h, data...)
	}
	want := [][]byte{
		append(header, packet(2e9+5, 0x60, 1, 2)...),
		append(header, packet(1e9, 0x45, 0, 0, 3, 4)...),
	}
	for i, name := range names {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[i]) {
			t.Errorf("%s:\n got % x\nwant % x", filepath.Base(name), got, want[i])
		}
	}
}

// sendSample writes b on the stack, padded to 8 bytes as the kernel pads
// samples, and sends it with bpf_perf_event_output.
func sendSample(b []byte, m *ebpf.Map) asm.Instructions {
	padded := append(b, make([]byte, (8-len(b)%8)%8)...)
	var insns asm.Instructions
	for i := 0; i < len(padded); i += 8 {
		insns = append(insns,
			asm.LoadImm(asm.R0, int64(binary.NativeEndian.Uint64(padded[i:])), asm.DWord),
			asm.StoreMem(asm.RFP, int16(i-len(padded)), asm.R0, asm.DWord))
	}
	return append(insns,
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.LoadMapPtr(asm.R2, m.FD()),
		asm.LoadImm(asm.R3, 0xffffffff, asm.DWord),
		asm.Mov.Reg(asm.R4, asm.RFP),
		asm.Add.Imm(asm.R4, int32(-len(padded))),
		asm.Mov.Imm(asm.R5, int32(len(padded))),
		asm.FnPerfEventOutput.Call())
}
