package doctor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"friday/tracefs"
)

type check struct {
	name string
	fn   func(*env) Result
}

func (c check) run(e *env) Result {
	r := c.fn(e)
	r.Name = c.name
	return r
}

// checks run in this order; later ones rely on what earlier ones found
// (privileges, working BPF, a mounted tracefs).
var checks = []check{
	{"privileges", checkPrivileges},
	{"kernel", checkKernel},
	{"bpf", checkBPF},
	{"btf", checkBTF},
	{"tracefs", checkTracefs},
	{"debugfs", checkDebugfs},
	{"tracepoint", checkTracepoint},
	{"raw tracepoint", checkRawTracepoint},
	{"tp_btf", checkTpBTF},
	{"kprobe", checkKprobe},
	{"fentry", checkFentry},
	{"uprobe", checkUprobe},
	{"perf software", checkPerfSoftware},
	{"perf hardware", checkPerfHardware},
	{"perf paranoid", checkParanoid},
	{"lockdown", checkLockdown},
	{"unpriv bpf", checkUnprivBPF},
	{"memlock", checkMemlock},
	{"bpf jit", checkJIT},
	{"bpf stats", checkBPFStats},
	{"kernel symbols", checkKallsyms},
	{"stack depth", checkStackDepth},
	{"frame pointers", checkFramePointers},
	{"debug symbols", checkDebugSymbols},
}

// Capability bits of CapEff.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

func checkPrivileges(e *env) Result {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Result{Status: Fail, Detail: "cannot read /proc/self/status: " + err.Error()}
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			e.caps, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	has := func(c uint) bool { return e.caps&(1<<c) != 0 }
	var have, lack []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{capBPF, "CAP_BPF"}, {capPerfmon, "CAP_PERFMON"}, {capSysAdmin, "CAP_SYS_ADMIN"}} {
		if has(c.bit) {
			have = append(have, c.name)
		} else {
			lack = append(lack, c.name)
		}
	}
	who := fmt.Sprintf("uid %d", os.Geteuid())
	if os.Geteuid() == 0 {
		who = "root"
	}
	detail := who + "; effective: " + orNone(have)
	switch {
	case has(capSysAdmin) || has(capBPF) && has(capPerfmon):
		e.privileged = true
		if len(lack) == 0 {
			return Result{Status: OK, Detail: detail}
		}
		return Result{Status: OK, Detail: detail + "; missing " + strings.Join(lack, " ") + " is covered by the others"}
	case has(capBPF):
		return Result{Status: Warn, Detail: detail + "; without CAP_PERFMON only some program types load",
			Fix: "run as root or grant CAP_PERFMON"}
	}
	return Result{Status: Fail, Detail: detail, Fix: "run as root (sudo) or grant CAP_BPF and CAP_PERFMON"}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}

func checkKernel(e *env) Result {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Result{Status: Fail, Detail: err.Error()}
	}
	return Result{Status: OK, Detail: fmt.Sprintf("Linux %s %s", unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Machine[:]))}
}

// trivialProgram is "return 0" as a program of the given kind.
func trivialProgram(spec *ebpf.ProgramSpec) (*ebpf.Program, error) {
	spec.Instructions = asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	spec.License = "GPL"
	return ebpf.NewProgram(spec)
}

func checkBPF(e *env) Result {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		return Result{Status: Fail, Detail: "creating a BPF map failed: " + errText(err), Fix: bpfFix(err)}
	}
	m.Close()
	p, err := trivialProgram(&ebpf.ProgramSpec{Type: ebpf.SocketFilter})
	if err != nil {
		return Result{Status: Fail, Detail: "loading a BPF program failed: " + errText(err), Fix: bpfFix(err)}
	}
	p.Close()
	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096})
	if err != nil {
		e.bpfWorks = true
		return Result{Status: Warn, Detail: "maps and programs load, but no ring buffer: " + err.Error(),
			Fix: "use a kernel of 5.8 or later; friday needs ring buffers for output"}
	}
	rb.Close()
	e.bpfWorks = true
	return Result{Status: OK, Detail: "maps, programs and ring buffers load"}
}

// errText is err's message without cilium/ebpf's hint about the memlock
// limit, which it adds to every EPERM; the memlock check tells whether
// the limit matters.
func errText(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, " (MEMLOCK may be too low"); i >= 0 {
		if j := strings.IndexByte(msg[i:], ')'); j >= 0 {
			msg = msg[:i] + msg[i+j+1:]
		}
	}
	return msg
}

func bpfFix(err error) string {
	switch {
	case errors.Is(err, unix.EPERM):
		return "run as root; check kernel.unprivileged_bpf_disabled and lockdown"
	case errors.Is(err, unix.ENOSYS):
		return "the kernel was built without CONFIG_BPF_SYSCALL"
	}
	return ""
}

func checkBTF(e *env) Result {
	const path = "/sys/kernel/btf/vmlinux"
	if _, err := os.Stat(path); err != nil {
		return Result{Status: Fail, Detail: path + " missing: no typed args for tp_btf/fentry, no struct types",
			Fix: "use a kernel built with CONFIG_DEBUG_INFO_BTF=y"}
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return Result{Status: Fail, Detail: "cannot parse " + path + ": " + err.Error()}
	}
	var task *btf.Struct
	if err := spec.TypeByName("task_struct", &task); err != nil {
		return Result{Status: Warn, Detail: path + " parses but has no struct task_struct"}
	}
	return Result{Status: OK, Detail: fmt.Sprintf("%s parses (task_struct is %d bytes)", path, task.Size)}
}

func checkTracefs(e *env) Result {
	if d := tracingDir(); d != "" {
		return Result{Status: OK, Detail: "mounted at " + d}
	}
	// Mount it for the probe checks that follow; without --fix it is
	// unmounted again at the end.
	if err := e.mountFS("tracefs", tracefs.MountPoint); err != nil {
		return Result{Status: Fail, Detail: "not mounted and mounting failed: " + err.Error(),
			Fix: "the kernel needs CONFIG_FTRACE for tracepoints"}
	}
	if e.opts.Fix {
		return Result{Status: OK, Detail: "was not mounted; mounted at " + tracefs.MountPoint}
	}
	return Result{Status: Warn, Detail: "not mounted (friday mounts it at " + tracefs.MountPoint + " when it needs it)",
		Fix: "friday doctor --fix, or mount -t tracefs tracefs " + tracefs.MountPoint}
}

const debugfsDir = "/sys/kernel/debug"

func checkDebugfs(e *env) Result {
	if d := mounted("debugfs"); d != "" {
		return Result{Status: OK, Detail: "mounted at " + d}
	}
	if !e.opts.Fix {
		return Result{Status: Warn, Detail: "not mounted; only older tools need it",
			Fix: "friday doctor --fix, or mount -t debugfs debugfs " + debugfsDir}
	}
	if err := e.mountFS("debugfs", debugfsDir); err != nil {
		return Result{Status: Warn, Detail: "not mounted and mounting failed: " + err.Error()}
	}
	return Result{Status: OK, Detail: "was not mounted; mounted at " + debugfsDir}
}
