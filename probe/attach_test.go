package probe

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"friday/internal/bpftest"
	"friday/internal/testenv"
	"friday/syntax"
)

// counterProgram loads a program of type typ that adds one to slot 0 of an
// array map each time it runs, and returns both.
func counterProgram(t *testing.T, typ ebpf.ProgramType) (*ebpf.Program, *ebpf.Map) {
	t.Helper()
	prog, m, err := loadCounter(t, &ebpf.ProgramSpec{Type: typ})
	if err != nil {
		testenv.Unavailable(t, "BPF is unusable: loading a %s program: %v", typ, err)
	}
	return prog, m
}

// loadCounter loads spec with the counting instructions and a map for
// them; the kernel's error is returned.
func loadCounter(t *testing.T, spec *ebpf.ProgramSpec) (*ebpf.Program, *ebpf.Map, error) {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		testenv.Unavailable(t, "BPF is unusable: creating a map: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	spec.License, spec.Instructions = "GPL", bpftest.CounterInsns(m, 0)
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		return nil, m, err
	}
	t.Cleanup(func() { prog.Close() })
	return prog, m, nil
}

func count(t *testing.T, m *ebpf.Map) uint64 {
	t.Helper()
	var v uint64
	if err := m.Lookup(uint32(0), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// kernelFDs counts this process's perf event and BPF link descriptors, to
// show that Close leaves none behind.
func kernelFDs(t *testing.T) map[string]int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && (strings.Contains(target, "perf_event") || strings.Contains(target, "bpf_link")) {
			n[target]++
		}
	}
	return n
}

func expandOne(t *testing.T, raw string) *Point {
	t.Helper()
	pts, err := machine.Expand(&syntax.AttachPoint{Raw: raw}, UserOptions{})
	if err != nil {
		if os.Geteuid() != 0 {
			testenv.Unavailable(t, "not root: %v", err)
		}
		t.Fatal(err)
	}
	if len(pts) != 1 {
		t.Fatalf("%s expands to %d points", raw, len(pts))
	}
	return pts[0]
}

// TestAttach attaches a counting program to each kind of point, makes the
// events happen, sees the count move, and checks that closing the link
// stops the count and releases every descriptor.
func TestAttach(t *testing.T) {
	tests := []struct {
		point string
		work  func()
	}{
		{"t:syscalls:sys_enter_getpid", func() {
			for range 10 {
				syscall.Getpid()
			}
		}},
		{"rt:sys_enter", func() {
			for range 10 {
				syscall.Getpid()
			}
		}},
		{"i:ms:10", func() { time.Sleep(100 * time.Millisecond) }},
		{"p:hz:199", spin},
		{"p:ms:5", spin},
		{"s:page-faults:1", touchPages},
		{"s:cpu-clock:100000", spin},
	}
	for _, tc := range tests {
		t.Run(tc.point, func(t *testing.T) {
			p := expandOne(t, tc.point)
			prog, m := counterProgram(t, p.ProgramType())
			before := kernelFDs(t)
			l, err := machine.Attach(p, prog)
			if err != nil {
				t.Fatal(err)
			}
			tc.work()
			n := count(t, m)
			if n == 0 {
				l.Close()
				t.Fatalf("%s: the program did not run", p.Name)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			after := count(t, m)
			tc.work()
			if again := count(t, m); again != after {
				t.Errorf("%s: the program still runs after Close (%d, then %d)", p.Name, after, again)
			}
			if got := kernelFDs(t); len(got) != len(before) || !sameCounts(got, before) {
				t.Errorf("descriptors before attach %v, after close %v", before, got)
			}
		})
	}
}

func sameCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// spin keeps a CPU busy for a while so that CPU clocks fire.
func spin() {
	end := time.Now().Add(200 * time.Millisecond)
	for x := 0; time.Now().Before(end); x++ {
		_ = x * x
	}
}

// touchPages faults in fresh anonymous memory.
func touchPages() {
	b, err := syscall.Mmap(-1, 0, 64<<12, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	for i := 0; i < len(b); i += 1 << 12 {
		b[i] = 1
	}
	syscall.Munmap(b)
}

// TestAttachHardware: hardware events need a PMU, which virtual machines
// often lack; then the error is one line that says so.
func TestAttachHardware(t *testing.T) {
	p := expandOne(t, "h:cycles:1000000")
	prog, _ := counterProgram(t, p.ProgramType())
	before := kernelFDs(t)
	l, err := machine.Attach(p, prog)
	if err == nil {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		want := "hardware:cycles:1000000: hardware event cpu-cycles is not available: this machine has no hardware performance counters (PMU) for it"
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	}
	if got := kernelFDs(t); !sameCounts(got, before) {
		t.Errorf("descriptors before attach %v, after %v", before, got)
	}
}

// TestAttachBeginEnd: BEGIN and END are run by the runtime.
func TestAttachBeginEnd(t *testing.T) {
	p := expandOne(t, "BEGIN")
	if _, err := machine.Attach(p, nil); err == nil || !strings.Contains(err.Error(), "runtime runs it") {
		t.Errorf("Attach(BEGIN) = %v", err)
	}
}
