package doctor

import (
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

func checkParanoid(e *env) Result {
	const path = "/proc/sys/kernel/perf_event_paranoid"
	v, err := readInt(path)
	if err != nil {
		return Result{Status: Warn, Detail: "cannot read " + path + ": " + err.Error()}
	}
	detail := fmt.Sprintf("kernel.perf_event_paranoid = %d", v)
	if e.caps&(1<<capPerfmon|1<<capSysAdmin) != 0 {
		return Result{Status: OK, Detail: detail + " (does not limit this privileged user)"}
	}
	if v > 1 {
		return Result{Status: Warn, Detail: detail + ": unprivileged users cannot profile the kernel",
			Fix: "sysctl kernel.perf_event_paranoid=1, or run as root"}
	}
	return Result{Status: OK, Detail: detail}
}

func checkLockdown(e *env) Result {
	const path = "/sys/kernel/security/lockdown"
	s, err := readTrim(path)
	if err != nil {
		if mounted("securityfs") == "" {
			return Result{Status: OK, Detail: "securityfs not mounted; no lockdown LSM state to read"}
		}
		return Result{Status: OK, Detail: "no lockdown LSM"}
	}
	// The active mode is the bracketed word: "none [integrity] confidentiality".
	mode := s
	if i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']'); i >= 0 && j > i {
		mode = s[i+1 : j]
	}
	switch mode {
	case "none":
		return Result{Status: OK, Detail: "lockdown: none"}
	case "integrity":
		return Result{Status: Warn, Detail: "lockdown: integrity; writing user memory and some helpers are refused",
			Fix: "boot with lockdown=none or disable Secure Boot enforcement"}
	}
	return Result{Status: Fail, Detail: "lockdown: " + mode + "; reading kernel memory is refused, most tracing fails",
		Fix: "boot with lockdown=none or disable Secure Boot enforcement"}
}

func checkUnprivBPF(e *env) Result {
	const path = "/proc/sys/kernel/unprivileged_bpf_disabled"
	v, err := readInt(path)
	if err != nil {
		return Result{Status: OK, Detail: "cannot read " + path + "; does not matter for privileged users"}
	}
	detail := fmt.Sprintf("kernel.unprivileged_bpf_disabled = %d", v)
	if v == 0 {
		return Result{Status: OK, Detail: detail + ": any user may load some BPF (tracing still needs privileges)"}
	}
	if !e.privileged {
		return Result{Status: Fail, Detail: detail + ": only privileged users may use BPF", Fix: "run as root"}
	}
	return Result{Status: OK, Detail: detail + ": only privileged users may use BPF, as tracing needs anyway"}
}

// checkMemlock finds out whether BPF memory is charged to RLIMIT_MEMLOCK
// (older kernels) or to the memory cgroup, by creating a map with the
// limit lowered to zero.
func checkMemlock(e *env) Result {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &old); err != nil {
		return Result{Status: Warn, Detail: err.Error()}
	}
	limit := "unlimited"
	if old.Cur != unix.RLIM_INFINITY {
		limit = fmt.Sprintf("%d KiB", old.Cur/1024)
	}
	if !e.bpfWorks {
		return Result{Status: Warn, Detail: "RLIMIT_MEMLOCK " + limit + "; not tried without BPF"}
	}
	zero := unix.Rlimit{Cur: 0, Max: old.Max}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &zero); err != nil {
		return Result{Status: Warn, Detail: "RLIMIT_MEMLOCK " + limit + "; cannot test: " + err.Error()}
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	unix.Setrlimit(unix.RLIMIT_MEMLOCK, &old)
	if err == nil {
		m.Close()
		return Result{Status: OK, Detail: "RLIMIT_MEMLOCK " + limit + "; BPF memory is charged to the memory cgroup, the limit does not matter"}
	}
	if old.Cur == unix.RLIM_INFINITY || old.Cur >= 64<<20 {
		return Result{Status: OK, Detail: "RLIMIT_MEMLOCK " + limit + " (BPF memory counts against it)"}
	}
	return Result{Status: Warn, Detail: "RLIMIT_MEMLOCK " + limit + " and BPF memory counts against it: large maps fail",
		Fix: "ulimit -l unlimited (friday raises it itself when it has CAP_SYS_RESOURCE)"}
}

func checkJIT(e *env) Result {
	const path = "/proc/sys/net/core/bpf_jit_enable"
	v, err := readInt(path)
	if err != nil {
		// Kernels built with CONFIG_BPF_JIT_ALWAYS_ON have no switch.
		if os.IsNotExist(err) {
			return Result{Status: OK, Detail: "no " + path + " (JIT always on, or no JIT)"}
		}
		return Result{Status: Warn, Detail: err.Error()}
	}
	switch v {
	case 1:
		return Result{Status: OK, Detail: "net.core.bpf_jit_enable = 1"}
	case 2:
		return Result{Status: Warn, Detail: "net.core.bpf_jit_enable = 2: JIT debug output to the kernel log",
			Fix: "sysctl net.core.bpf_jit_enable=1"}
	}
	return Result{Status: Warn, Detail: fmt.Sprintf("net.core.bpf_jit_enable = %d: programs are interpreted, much slower", v),
		Fix: "sysctl net.core.bpf_jit_enable=1"}
}

func checkBPFStats(e *env) Result {
	const path = "/proc/sys/kernel/bpf_stats_enabled"
	v, err := readInt(path)
	if err != nil {
		return Result{Status: OK, Detail: "no " + path + " (no per-program run-time statistics)"}
	}
	if v == 0 {
		return Result{Status: OK, Detail: "kernel.bpf_stats_enabled = 0: program run time is not counted " +
			"(sysctl kernel.bpf_stats_enabled=1 to see it in bpftool prog)"}
	}
	return Result{Status: OK, Detail: fmt.Sprintf("kernel.bpf_stats_enabled = %d: program run time is counted "+
		"(costs about 20ns per program run)", v)}
}

// checkKallsyms reads the kernel symbols that ksym() and kstack print.
func checkKallsyms(e *env) Result {
	k, err := e.kallsyms()
	if err != nil {
		return Result{Status: Warn, Detail: "kstack and ksym() print bare addresses: " + err.Error(),
			Fix: "run as root"}
	}
	return Result{Status: OK, Detail: fmt.Sprintf("%d symbols in /proc/kallsyms", k.Len())}
}

// minStackDepth is the deepest stack bpftrace scripts ask for by default.
const minStackDepth = 127

func checkStackDepth(e *env) Result {
	const path = "/proc/sys/kernel/perf_event_max_stack"
	v, err := readInt(path)
	if err != nil {
		return Result{Status: Warn, Detail: "cannot read " + path + ": " + err.Error()}
	}
	detail := fmt.Sprintf("kernel.perf_event_max_stack = %d", v)
	if v < minStackDepth {
		return Result{Status: Warn, Detail: detail + ": deeper stacks are cut, and stack maps asking for more fail",
			Fix: fmt.Sprintf("sysctl kernel.perf_event_max_stack=%d", minStackDepth)}
	}
	return Result{Status: OK, Detail: detail}
}
