package run

import (
	"os"

	"golang.org/x/sys/unix"
)

// Capabilities that open BPF and perf events to a user other than root.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// CheckPrivilege returns ErrPermission unless the process may load BPF
// programs and open perf events: as root, or with CAP_BPF and CAP_PERFMON
// (or CAP_SYS_ADMIN, which kernels before 5.8 ask for).
func CheckPrivilege() error {
	if os.Geteuid() == 0 {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return ErrPermission
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	if has(capSysAdmin) || (has(capBPF) && has(capPerfmon)) {
		return nil
	}
	return ErrPermission
}
