package doctor

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// needBPF is the result of a probe check when BPF itself does not work.
func needBPF(e *env) (Result, bool) {
	if !e.bpfWorks {
		return Result{Status: Fail, Detail: "not tried: BPF does not work (see bpf)"}, false
	}
	return Result{}, true
}

// quiet is an error shown without cilium/ebpf's memlock hint.
type quiet struct{ error }

func (q quiet) Error() string { return errText(q.error) }
func (q quiet) Unwrap() error { return q.error }

// attachTrial loads a trivial program of spec's kind, attaches it with
// attach and removes both again. It returns the step that failed.
func attachTrial(spec *ebpf.ProgramSpec, attach func(*ebpf.Program) (link.Link, error)) error {
	p, err := trivialProgram(spec)
	if err != nil {
		return fmt.Errorf("loading the program: %w", quiet{err})
	}
	defer p.Close()
	l, err := attach(p)
	if err != nil {
		return fmt.Errorf("attaching: %w", quiet{err})
	}
	return l.Close()
}

func checkTracepoint(e *env) Result {
	if r, ok := needBPF(e); !ok {
		return r
	}
	err := attachTrial(&ebpf.ProgramSpec{Type: ebpf.TracePoint}, func(p *ebpf.Program) (link.Link, error) {
		return link.Tracepoint("sched", "sched_switch", p, nil)
	})
	if err != nil {
		return Result{Status: Fail, Detail: "tracepoint:sched:sched_switch: " + err.Error(),
			Fix: "tracepoints need tracefs and CONFIG_TRACEPOINTS"}
	}
	return Result{Status: OK, Detail: "attached to tracepoint:sched:sched_switch"}
}

func checkRawTracepoint(e *env) Result {
	if r, ok := needBPF(e); !ok {
		return r
	}
	err := attachTrial(&ebpf.ProgramSpec{Type: ebpf.RawTracepoint}, func(p *ebpf.Program) (link.Link, error) {
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_switch", Program: p})
	})
	if err != nil {
		return Result{Status: Fail, Detail: "rawtracepoint:sched_switch: " + err.Error()}
	}
	return Result{Status: OK, Detail: "attached to rawtracepoint:sched_switch"}
}

func checkTpBTF(e *env) Result {
	if r, ok := needBPF(e); !ok {
		return r
	}
	err := attachTrial(&ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "sched_switch"},
		func(p *ebpf.Program) (link.Link, error) { return link.AttachTracing(link.TracingOptions{Program: p}) })
	if err != nil {
		return Result{Status: Fail, Detail: "tracepoint with BTF args (tp_btf:sched_switch): " + err.Error(),
			Fix: "needs BTF and kernel 5.5 or later; plain tracepoints still work"}
	}
	return Result{Status: OK, Detail: "attached to tp_btf:sched_switch (typed args)"}
}

// kernelFunction is a traceable kernel function that exists here.
func (e *env) kernelFunction() string {
	k, err := e.kallsyms()
	if err != nil {
		return "do_sys_openat2"
	}
	for _, name := range []string{"do_sys_openat2", "vfs_read", "do_nanosleep"} {
		if _, ok := k.Addr(name); ok {
			return name
		}
	}
	return "do_sys_openat2"
}

func checkKprobe(e *env) Result {
	if r, ok := needBPF(e); !ok {
		return r
	}
	fn := e.kernelFunction()
	// link.Kprobe creates the probe through the kprobe PMU and falls back
	// to kprobe_events in tracefs; it removes the probe on Close.
	err := attachTrial(&ebpf.ProgramSpec{Type: ebpf.Kprobe}, func(p *ebpf.Program) (link.Link, error) {
		return link.Kprobe(fn, p, nil)
	})
	if err == nil {
		return Result{Status: OK, Detail: "attached to kprobe:" + fn}
	}
	_, pmuErr := os.Stat("/sys/bus/event_source/devices/kprobe/type")
	_, evErr := os.Stat(filepath.Join(tracingDir(), "kprobe_events"))
	if pmuErr != nil && evErr != nil {
		return Result{Status: Fail, Detail: "the kernel has no kprobes (no kprobe PMU, no kprobe_events)",
			Fix: "kprobe:/kretprobe: cannot work; use tracepoint: or rawtracepoint: (args typed from BTF) instead, " +
				"or a kernel built with CONFIG_KPROBES=y"}
	}
	return Result{Status: Fail, Detail: "kprobe:" + fn + ": " + err.Error()}
}

func checkFentry(e *env) Result {
	if r, ok := needBPF(e); !ok {
		return r
	}
	fn := e.kernelFunction()
	err := attachTrial(&ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: fn},
		func(p *ebpf.Program) (link.Link, error) { return link.AttachTracing(link.TracingOptions{Program: p}) })
	if err != nil {
		detail := "fentry:" + fn + ": " + err.Error()
		if errors.Is(err, unix.EPERM) {
			// cilium/ebpf suggests the memlock limit on EPERM, but the
			// bpf check loaded other programs under the same limit.
			detail = "fentry:" + fn + ": the kernel refuses to load fentry programs (EPERM)"
		}
		return Result{Status: Fail, Detail: detail,
			Fix: "fentry:/fexit: cannot work here; use tracepoints, or a kernel with " +
				"CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS and BPF trampolines"}
	}
	return Result{Status: OK, Detail: "attached to fentry:" + fn}
}

// uprobeTarget is an executable file and the file offset of its entry
// point: this program itself, else /bin/true.
func uprobeTarget() (string, uint64, error) {
	var errs []error
	self, err := os.Executable()
	if err != nil {
		errs = append(errs, err)
	}
	for _, path := range []string{self, "/bin/true"} {
		if path == "" {
			continue
		}
		off, err := entryOffset(path)
		if err == nil {
			return path, off, nil
		}
		errs = append(errs, err)
	}
	return "", 0, errors.Join(errs...)
}

func entryOffset(path string) (uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && f.Entry >= p.Vaddr && f.Entry < p.Vaddr+p.Filesz {
			return f.Entry - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("%s: entry point outside the executable segments", path)
}

func checkUprobe(e *env) Result {
	if r, ok := needBPF(e); !ok {
		return r
	}
	path, off, err := uprobeTarget()
	if err != nil {
		return Result{Status: Fail, Detail: "no executable to try: " + err.Error()}
	}
	ex, err := link.OpenExecutable(path)
	if err != nil {
		return Result{Status: Fail, Detail: err.Error()}
	}
	err = attachTrial(&ebpf.ProgramSpec{Type: ebpf.Kprobe}, func(p *ebpf.Program) (link.Link, error) {
		return ex.Uprobe("", p, &link.UprobeOptions{Address: off})
	})
	if err != nil {
		return Result{Status: Fail, Detail: "uprobe on " + path + ": " + err.Error(),
			Fix: "the kernel needs CONFIG_UPROBE_EVENTS"}
	}
	return Result{Status: OK, Detail: fmt.Sprintf("attached to the entry point of %s", filepath.Base(path))}
}

func perfOpen(typ uint32, config uint64) error {
	attr := unix.PerfEventAttr{
		Type:   typ,
		Config: config,
		Sample: 1000000,
		Bits:   unix.PerfBitDisabled,
	}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

func checkPerfSoftware(e *env) Result {
	if err := perfOpen(unix.PERF_TYPE_SOFTWARE, unix.PERF_COUNT_SW_CPU_CLOCK); err != nil {
		return Result{Status: Fail, Detail: "cpu-clock event on CPU 0: " + err.Error(),
			Fix: "profile: and software: need perf events (CONFIG_PERF_EVENTS) and privileges"}
	}
	return Result{Status: OK, Detail: "cpu-clock events open (profile:, interval:, software:)"}
}

func checkPerfHardware(e *env) Result {
	if err := perfOpen(unix.PERF_TYPE_HARDWARE, unix.PERF_COUNT_HW_CPU_CYCLES); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODEV) {
			return Result{Status: Warn, Detail: "no PMU: hardware: probes (cycles, cache misses) are unavailable, " +
				"typical of virtual machines; profile: uses the cpu-clock timer instead"}
		}
		return Result{Status: Warn, Detail: "cycles event on CPU 0: " + err.Error()}
	}
	return Result{Status: OK, Detail: "cycles events open (hardware:)"}
}
