// Package syscalls names the system calls of x86-64 Linux by number, for
// syscall_name() and the __NR_ constants of scripts. The table is
// generated from the kernel's lists; the numbers never change once a call
// is added, so a newer kernel only adds names past the table's end.
package syscalls

//go:generate go run gen.go

// FirstX32 is the first number of the calls only the x32 ABI has: below
// it the numbers are those of the 64-bit calls.
const FirstX32 = 512

// Name is the name of system call nr, "" if x86-64 has no call of that
// number.
func Name(nr int64) string {
	if nr < 0 || nr >= int64(len(x86_64)) {
		return ""
	}
	return x86_64[nr]
}

// Each calls f with the number and the name of every 64-bit system call.
func Each(f func(nr int, name string)) {
	for nr, name := range x86_64[:FirstX32] {
		if name != "" {
			f(nr, name)
		}
	}
}
