package uprobe

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"friday/internal/bpftest"
	"friday/internal/testenv"
)

// counters is an array map with one counter per probe, and a program per
// counter that adds one to it.
type counters struct {
	m     *ebpf.Map
	progs []*ebpf.Program
}

func newCounters(t *testing.T, n int) *counters {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: uint32(n)})
	must(t, err)
	c := &counters{m: m}
	t.Cleanup(func() {
		for _, p := range c.progs {
			p.Close()
		}
		m.Close()
	})
	for i := 0; i < n; i++ {
		p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, Instructions: bpftest.CounterInsns(m, int32(i)), License: "GPL"})
		must(t, err)
		c.progs = append(c.progs, p)
	}
	return c
}

func (c *counters) get(t *testing.T, i int) uint64 {
	t.Helper()
	var v uint64
	must(t, c.m.Lookup(uint32(i), &v))
	return v
}

// attach puts counter i's program on every location.
func (c *counters) attach(t *testing.T, i int, locs []Location) {
	t.Helper()
	if len(locs) == 0 {
		t.Fatal("no locations to attach to")
	}
	for _, l := range locs {
		lk, err := l.Attach(c.progs[i], 0, 0)
		if err != nil {
			t.Fatalf("attaching to %s:%s at 0x%x: %v", l.Path, l.Spec, l.Offset, err)
		}
		t.Cleanup(func() { lk.Close() })
	}
}

func runProgram(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", path, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestAttachC(t *testing.T) {
	testenv.BPF(t)
	const calls = 7
	for _, bld := range cBuilds {
		t.Run(bld.name, func(t *testing.T) {
			path := buildC(t, "prog.c", "prog", bld.flags...)
			b := openBinary(t, path)
			second := objdumpFunc(t, path, "probe_a")[1]
			fa, err := b.Lookup("probe_a")
			must(t, err)

			specs := []struct {
				fn   string
				opts Options
			}{
				{"probe_a", Options{}},
				{"probe_c", Options{Return: true}},
				{fmt.Sprintf("probe_a+%d", second.addr-fa.Addr), Options{}},
				{"probe_*", Options{}}, // probe_a, probe_b and probe_c: three hits per round
			}
			c := newCounters(t, len(specs))
			for i, s := range specs {
				locs, err := Resolve(path, s.fn, s.opts)
				must(t, err)
				c.attach(t, i, locs)
			}
			runProgram(t, path, strconv.Itoa(calls))
			for i, want := range []uint64{calls, calls, calls, 3 * calls} {
				if got := c.get(t, i); got != want {
					t.Errorf("%s: %d hits, want %d", specs[i].fn, got, want)
				}
			}
		})
	}
}

// A uretprobe on a Go function must count each return once and leave the
// program working.
func TestAttachGoReturn(t *testing.T) {
	testenv.BPF(t)
	const calls = 25
	path := buildGo(t, "goprog", "goprog")
	locs, err := Resolve(path, "main.work", Options{Return: true})
	must(t, err)
	if len(locs) < 2 {
		t.Fatalf("main.work: %d return locations, want several", len(locs))
	}
	c := newCounters(t, 1)
	c.attach(t, 0, locs)
	want := 0
	for i := 0; i < calls; i++ {
		switch i % 3 {
		case 0:
			want += i * 7
		case 1:
			want += i + 11
		default:
			want += i - 5
		}
	}
	if out := runProgram(t, path, strconv.Itoa(calls)); out != strconv.Itoa(want) {
		t.Errorf("probed program printed %q, want %d", out, want)
	}
	if got := c.get(t, 0); got != calls {
		t.Errorf("%d returns counted, want %d", got, calls)
	}
}

// A probe limited to one process does not see another running the same
// code.
func TestAttachOneProcess(t *testing.T) {
	testenv.BPF(t)
	path := buildC(t, "prog.c", "prog")
	locs, err := Resolve(path, "probe_a", Options{})
	must(t, err)
	start := func(n int) (*exec.Cmd, func()) {
		cmd := exec.Command(path, strconv.Itoa(n), "wait")
		stdin, err := cmd.StdinPipe()
		must(t, err)
		must(t, cmd.Start())
		return cmd, func() {
			stdin.Write([]byte("\n"))
			stdin.Close()
			must(t, cmd.Wait())
		}
	}
	traced, finishTraced := start(5)
	_, finishOther := start(9)
	c := newCounters(t, 1)
	lk, err := locs[0].Attach(c.progs[0], traced.Process.Pid, 0)
	must(t, err)
	defer lk.Close()
	finishOther()
	finishTraced()
	if got := c.get(t, 0); got != 5 {
		t.Errorf("%d hits, want the traced process's 5", got)
	}
}
