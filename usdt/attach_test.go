package usdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/ringbuf"

	"friday/internal/testenv"
)

// The record a probe's program sends: which probe, then its arguments.
const (
	bufOff     = -64 // 8 words: probe index and up to 7 arguments
	scratchOff = -72
)

// argsProgram sends probe number id's arguments, read as Load reads them,
// to the ring buffer rb.
func argsProgram(t *testing.T, rb *ebpf.Map, id int, p Probe) *ebpf.Program {
	t.Helper()
	if len(p.Args) > 7 {
		t.Fatalf("%s has %d arguments", p.Name, len(p.Args))
	}
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.Mov.Imm(asm.R1, int32(id)),
		asm.StoreMem(asm.RFP, bufOff, asm.R1, asm.DWord),
	}
	for j, a := range p.Args {
		load, err := a.Load(asm.R7, asm.R6, scratchOff)
		if err != nil {
			t.Fatalf("%s argument %d: %v", p.Name, j, err)
		}
		insns = append(insns, load...)
		insns = append(insns, asm.StoreMem(asm.RFP, int16(bufOff+8*(j+1)), asm.R7, asm.DWord))
	}
	insns = append(insns,
		asm.LoadMapPtr(asm.R1, rb.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, bufOff),
		asm.Mov.Imm(asm.R3, int32(8*(len(p.Args)+1))),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnRingbufOutput.Call(),
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
	)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, Instructions: insns, License: "GPL"})
	if err != nil {
		t.Fatalf("loading the program for %s (%s): %v", p.Name, p.ArgsText, err)
	}
	t.Cleanup(func() { prog.Close() })
	return prog
}

// expected gives what prog.c passes to each probe in round i.
func expected(name string, i int64) []int64 {
	table := func(k int64) int64 { return 10 * (k&7 + 1) }
	switch name {
	case "pair":
		return []int64{int64(int32(i)), i * 1000}
	case "constant":
		return []int64{42}
	case "global":
		return []int64{3 * (i + 1)}
	case "small":
		return []int64{int64(int8(-i)), int64(uint16(i * 700))}
	case "indexed":
		return []int64{table(i), -i}
	case "table":
		return []int64{table(i)}
	case "guarded":
		return []int64{i + 7}
	}
	return nil
}

// Every argument kind the compiler produced is read back with the values
// the program passed, and the semaphore is raised while attached.
func TestAttachReadsArguments(t *testing.T) {
	testenv.BPF(t)
	const rounds = 100
	for _, bld := range builds {
		t.Run(bld.name, func(t *testing.T) {
			path := buildProg(t, bld.flags...)
			probes, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer rb.Close()
			for id, p := range probes {
				if p.ArgsErr != nil {
					t.Fatalf("%s: %v", p.Name, p.ArgsErr)
				}
				prog := argsProgram(t, rb, id, p)
				l, err := p.Attach(prog, 0, 0)
				if err != nil {
					t.Fatalf("attaching to %s: %v", p.Name, err)
				}
				defer l.Close()
			}

			out, err := exec.Command(path, strconv.Itoa(rounds)).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", path, err, out)
			}
			var acc int64
			for i := int64(0); i < rounds; i++ {
				acc += 10*(i&7+1) + int64(int8(-i))
			}
			if got, want := strings.TrimSpace(string(out)), fmt.Sprintf("%d %d", acc, rounds); got != want {
				t.Errorf("program printed %q, want %q (the second number counts rounds the semaphore was raised in)", got, want)
			}

			rd, err := ringbuf.NewReader(rb)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			round := map[string]int64{}
			total := 0
			for total < rounds*len(probes) {
				rd.SetDeadline(time.Now().Add(5 * time.Second))
				rec, err := rd.Read()
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				total++
				words := make([]int64, len(rec.RawSample)/8)
				for k := range words {
					words[k] = int64(binary.LittleEndian.Uint64(rec.RawSample[8*k:]))
				}
				p := probes[words[0]]
				i := round[p.Name]
				round[p.Name]++
				if want := expected(p.Name, i); fmt.Sprint(words[1:]) != fmt.Sprint(want) {
					t.Errorf("%s (%s) round %d: read %v, want %v", p.Name, p.ArgsText, i, words[1:], want)
				}
			}
			for _, p := range probes {
				if round[p.Name] != rounds {
					t.Errorf("%s fired %d times, want %d", p.Name, round[p.Name], rounds)
				}
			}
		})
	}
}
