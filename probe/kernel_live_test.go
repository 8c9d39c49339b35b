package probe

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"friday/internal/testenv"
	"friday/syntax"
	"friday/types"
)

// liveBTF returns the kernel's BTF, read independently of the resolver.
func liveBTF(t *testing.T) *btf.Spec {
	t.Helper()
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		testenv.Unavailable(t, "no kernel BTF: %v", err)
	}
	return spec
}

// TestLiveKprobeExpand compares a kprobe wildcard with the kernel's text
// symbols (or ftrace's list, when the resolver could read it: a subset).
func TestLiveKprobeExpand(t *testing.T) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		t.Skipf("no kallsyms: %v", err)
	}
	defer f.Close()
	text := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) >= 3 && strings.ContainsAny(fl[1], "tT") {
			text[fl[2]] = true
		}
	}
	if !text["vfs_read"] {
		t.Fatal("vfs_read is not a text symbol of /proc/kallsyms")
	}
	pts, err := machine.Expand(&syntax.AttachPoint{Raw: "k:vfs_rea*"}, UserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pts {
		if !text[p.Func] || !strings.HasPrefix(p.Func, "vfs_rea") || p.ProgramType() != ebpf.Kprobe {
			t.Errorf("k:vfs_rea* gave %s (func %s, %s)", p.Name, p.Func, p.ProgramType())
		}
		found = found || p.Name == "kprobe:vfs_read"
	}
	if !found {
		t.Errorf("k:vfs_rea* lacks kprobe:vfs_read: %d points", len(pts))
	}
}

// TestLiveFentryArgs checks the args of kfunc and kretfunc points against
// the kernel's BTF prototype.
func TestLiveFentryArgs(t *testing.T) {
	spec := liveBTF(t)
	var fn *btf.Func
	if err := spec.TypeByName("vfs_read", &fn); err != nil {
		t.Fatal(err)
	}
	proto := fn.Type.(*btf.FuncProto)
	for _, raw := range []string{"kfunc:vfs_read", "kretfunc:vfs_read"} {
		p := expandOne(t, raw)
		if p.ProgramType() != ebpf.Tracing || p.AttachTo() != "vfs_read" {
			t.Errorf("%s: %s to %q", raw, p.ProgramType(), p.AttachTo())
		}
		want := len(proto.Params)
		if raw == "kretfunc:vfs_read" {
			want++
			if p.AttachType() != ebpf.AttachTraceFExit {
				t.Errorf("%s: attach type %s", raw, p.AttachType())
			}
		}
		if len(p.Args.Fields) != want {
			t.Fatalf("%s: %d fields, BTF has %d parameters", raw, len(p.Args.Fields), len(proto.Params))
		}
		for i, f := range p.Args.Fields {
			if f.Offset != 8*i {
				t.Errorf("%s: %s at %d, want slot %d", raw, f.Name, f.Offset, i)
			}
			if i < len(proto.Params) && f.Name != proto.Params[i].Name {
				t.Errorf("%s: field %d is %s, BTF says %s", raw, i, f.Name, proto.Params[i].Name)
			}
		}
		if c, ok := p.Args.Field("count"); !ok || c.Type.Kind != types.Int || c.Type.Size != 8 || c.Type.Signed {
			t.Errorf("%s: count is %v, want size_t", raw, c.Type)
		}
		if r, ok := p.Args.Field(RetvalField); ok != (raw == "kretfunc:vfs_read") || ok && !r.Type.Signed {
			t.Errorf("%s: %s field %v", raw, RetvalField, r.Type)
		}
	}
}

// TestLiveKernelList lists kfuncs from the kernel's BTF, and kprobes only
// where the kernel has them.
func TestLiveKernelList(t *testing.T) {
	liveBTF(t)
	got, err := machine.List("kfunc:*tcp_send*", false, UserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !sort.StringsAreSorted(got) || len(got) == 0 {
		t.Fatalf("-l kfunc:*tcp_send*: %v", got)
	}
	for _, n := range got {
		if !strings.HasPrefix(n, "fentry:") || !strings.Contains(n, "tcp_send") {
			t.Errorf("-l kfunc:*tcp_send* lists %s", n)
		}
	}
	got, err = machine.List("kfunc:vfs_read", true, UserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fentry:vmlinux:vfs_read", "    struct file * file", "    char * buf", "    size_t count", "    loff_t * pos"}
	checkLines(t, "-lv kfunc:vfs_read", got, want)

	got, err = machine.List("kprobe:vfs_read", false, UserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kerr := machine.kprobesWork(); (kerr == nil) != (len(got) == 1) {
		t.Errorf("-l kprobe:vfs_read lists %v; kprobes: %v", got, kerr)
	}
}

// tracingCounter loads the counting program of attach_test.go for p,
// with p's attach type and target; the kernel's error is returned.
func tracingCounter(t *testing.T, p *Point) (*ebpf.Program, *ebpf.Map, error) {
	return loadCounter(t, &ebpf.ProgramSpec{Type: p.ProgramType(), AttachType: p.AttachType(), AttachTo: p.AttachTo()})
}

// oneLine checks an error meant for users: one line, naming the point
// and saying what to use instead.
func oneLine(t *testing.T, p *Point, err error) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, p.Name+": ") || !strings.Contains(msg, "use ") {
		t.Errorf("error is not one clear line: %q", msg)
	}
}

// firesOnRead makes the kernel read a file, which vfs_read probes see,
// closes l and reports whether the program counting in m ran.
func firesOnRead(t *testing.T, l Link, m *ebpf.Map) bool {
	t.Helper()
	os.ReadFile("/proc/self/stat")
	n := count(t, m)
	l.Close()
	return n > 0
}

// TestLiveKprobe loads a kprobe program, which works on every kernel, and
// attaches it: where the kernel has no kprobes the error says so.
func TestLiveKprobe(t *testing.T) {
	for _, raw := range []string{"kprobe:vfs_read", "kretprobe:vfs_read"} {
		p := expandOne(t, raw)
		prog, m := counterProgram(t, p.ProgramType())
		l, err := machine.Attach(p, prog)
		if kerr := machine.kprobesWork(); kerr != nil {
			if err == nil {
				l.Close()
				t.Fatalf("%s attached although %v", raw, kerr)
			}
			oneLine(t, p, err)
			if err.Error() != raw+": "+errNoKprobes.Error() {
				t.Errorf("%s: %v", raw, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !firesOnRead(t, l, m) {
			t.Errorf("%s: the program did not run", raw)
		}
	}
}

// TestLiveFentry loads an fentry program; a kernel that refuses it gets
// an explanation in one line.
func TestLiveFentry(t *testing.T) {
	liveBTF(t)
	p := expandOne(t, "kfunc:vfs_read")
	prog, m, err := tracingCounter(t, p)
	if err != nil {
		le := LoadError(p, err)
		if le == nil {
			t.Fatalf("loading: %v, not explained", err)
		}
		oneLine(t, p, le)
		return
	}
	l, err := machine.Attach(p, prog)
	if err != nil {
		t.Fatal(err)
	}
	if !firesOnRead(t, l, m) {
		t.Errorf("%s: the program did not run", p.Name)
	}
}

// TestLiveIter runs the task iterator, whose program runs once per task.
func TestLiveIter(t *testing.T) {
	liveBTF(t)
	p := expandOne(t, "iter:task")
	if f, ok := p.Args.Field("task"); !ok || f.Offset != 8 || f.Type.Kind != types.Pointer || f.Type.Elem.Name != "struct task_struct" {
		t.Fatalf("iter:task args: %v", p.Args)
	}
	prog, m, err := tracingCounter(t, p)
	if err != nil {
		if le := LoadError(p, err); le != nil {
			oneLine(t, p, le)
			return
		}
		testenv.Unavailable(t, "BPF is unusable: loading an iterator: %v", err)
	}
	l, err := machine.Attach(p, prog)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	if err := RunIterator(l, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := count(t, m); n < uint64(len(procs))/2 || n == 0 {
		t.Errorf("the iterator ran %d times for about %d processes", n, len(procs))
	}
}

// watched is written while a watchpoint watches it.
var watched uint64

// TestLiveWatchpoint watches a variable of this process and writes it;
// where breakpoints do not work the error says so in one line.
func TestLiveWatchpoint(t *testing.T) {
	addr := uintptr(unsafe.Pointer(&watched))
	p := expandOne(t, fmt.Sprintf("watchpoint:%#x:8:w", addr))
	prog, m := counterProgram(t, p.ProgramType())
	l, err := machine.Attach(p, prog)
	if err != nil {
		if machine.breakpointsFire() != nil {
			oneLine(t, p, err)
			return
		}
		t.Fatal(err)
	}
	for i := range 10 {
		atomic.StoreUint64(&watched, uint64(i))
	}
	n := count(t, m)
	l.Close()
	if n < 10 {
		t.Errorf("%s: the program ran %d times for 10 writes", p.Name, n)
	}
}
