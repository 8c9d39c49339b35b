package codegen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"

	"friday/check"
	"friday/internal/testenv"
	"friday/tracefs"
)

// The unsafe helpers must pass the verifier where the kernel has them,
// and otherwise say why it refuses them: override() needs a kernel
// option, write_user() a kernel not in lockdown.
func TestUnsafeHelpers(t *testing.T) {
	testenv.BPF(t)
	for _, c := range []struct {
		src    string
		typ    ebpf.ProgramType
		helper asm.BuiltinFunc
		why    string
	}{
		{`kprobe:vfs_read /comm == "override.test"/ { override(-1); }`, ebpf.Kprobe, asm.FnOverrideReturn, "CONFIG_BPF_KPROBE_OVERRIDE"},
		{`tracepoint:syscalls:sys_enter_write /pid == 1/ { $n = (uint64)args.count; @ok = write_user(args.buf, "XY", 2); @some = write_user(args.buf, (int32)7, $n); }`,
			ebpf.TracePoint, asm.FnProbeWriteUser, "kernel_lockdown(7)"},
	} {
		if _, err := compileWith(c.src, check.Options{}); err == nil || !strings.Contains(err.Error(), "unsafe") {
			t.Errorf("%s without unsafe: got error %v, want one about unsafe mode", c.src, err)
		}
		obj, err := compileWith(c.src, check.Options{Unsafe: true})
		has := !errors.Is(features.HaveProgramHelper(c.typ, c.helper), ebpf.ErrNotSupported)
		needsKernel(t, obj, err, has, c.why)
	}
}

// debugf() lines reach the kernel's trace buffer, formatted by the
// kernel; the line carries this run's pid to be told from others'.
func TestDebugf(t *testing.T) {
	testenv.BPF(t)
	dir, err := tracefs.Dir()
	if err != nil {
		testenv.Unavailable(t, "tracefs: %v", err)
	}
	tag := fmt.Sprintf("friday-debugf-%d", os.Getpid())
	src := fmt.Sprintf(`BEGIN { $name = "disk"; $n = -3; debugf("%s %%s %%d %%-4u| %%X %%c\n", $name, $n, (uint8)7, 0xbeef, 0x41); }`, tag)
	got, err := runCase(src, "BEGIN")
	if err != nil || len(got) != 0 {
		t.Fatalf("run: %v %q", err, got)
	}
	trace, err := os.ReadFile(filepath.Join(dir, "trace"))
	if err != nil {
		t.Fatal(err)
	}
	want := tag + " disk -3 7   | BEEF A"
	for _, l := range strings.Split(string(trace), "\n") {
		if _, line, ok := strings.Cut(l, "bpf_trace_printk: "); ok && strings.HasPrefix(line, tag) {
			if line != want {
				t.Fatalf("trace line %q, want %q", line, want)
			}
			return
		}
	}
	t.Fatalf("no line %q in the trace buffer", want)
}

// skboutput() sends packets through one perf event array and names each
// pcap file once; the program is one the kernel loads where it loads
// fentry programs at all.
func TestSkboutput(t *testing.T) {
	testenv.BPF(t)
	obj, err := compile(`fentry:dev_hard_start_xmit { $r = skboutput("b.pcap", args.first, args.first->len, 14); skboutput("a.pcap", args.first, 64, 0); skboutput("b.pcap", args.first, 20, 0); }`)
	if err != nil {
		t.Fatal(err)
	}
	if obj.SkbMap == "" || strings.Join(obj.SkbFiles, " ") != "b.pcap a.pcap" {
		t.Errorf("skb map %q, files %q; want a map and files b.pcap, a.pcap", obj.SkbMap, obj.SkbFiles)
	}
	coll, err := load(obj)
	if err != nil && !refusedKind(obj, err) {
		t.Fatal(err)
	}
	if coll != nil {
		coll.Close()
	}
}

// socket_cookie() is refused in the probes whose programs the kernel does
// not let call bpf_get_socket_cookie; should a kernel start allowing
// one, the refusal must go.
func TestSocketCookieProgramTypes(t *testing.T) {
	testenv.BPF(t)
	for _, c := range []struct {
		script string
		typ    ebpf.ProgramType
	}{
		{`tracepoint:sock:inet_sock_set_state { @ = socket_cookie(args.skaddr); }`, ebpf.TracePoint},
		{`rawtracepoint:inet_sock_set_state { @ = socket_cookie(args.sk); }`, ebpf.RawTracepoint},
		{`profile:hz:99 { @ = socket_cookie(0); }`, ebpf.PerfEvent},
	} {
		obj, err := compile(c.script)
		has := !errors.Is(features.HaveProgramHelper(c.typ, asm.FnGetSocketCookie), ebpf.ErrNotSupported)
		needsKernel(t, obj, err, has, "socket_cookie() cannot be used in")
	}
}
