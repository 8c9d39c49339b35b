package main

import (
	"fmt"
	"io"
	"runtime"

	"golang.org/x/sys/unix"

	"friday/doctor"
)

// writeInfo writes what `friday trace --info` reports, under the headings
// of bpftrace's --info: the system, how friday was built, and what the
// kernel supports, which `friday doctor` details.
func writeInfo(w io.Writer) error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return err
	}
	fmt.Fprintf(w, "System\n  OS: %s %s %s\n  Arch: %s\n\n",
		unix.ByteSliceToString(u.Sysname[:]), unix.ByteSliceToString(u.Release[:]),
		unix.ByteSliceToString(u.Version[:]), unix.ByteSliceToString(u.Machine[:]))
	fmt.Fprintf(w, "Build\n  version: friday %s\n  Go: %s\n  compiler: friday's own (no LLVM, no clang)\n\n", version, runtime.Version())
	fmt.Fprintln(w, "Kernel support (friday doctor explains each line)")
	return doctor.Run(doctor.Options{}).WriteSummary(w)
}
