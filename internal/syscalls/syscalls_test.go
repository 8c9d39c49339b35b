package syscalls

import (
	"syscall"
	"testing"
)

func TestName(t *testing.T) {
	// The standard library's numbers come from another copy of the
	// kernel's table.
	for nr, want := range map[int64]string{
		syscall.SYS_READ: "read", syscall.SYS_EXECVE: "execve", syscall.SYS_GETPPID: "getppid",
		syscall.SYS_EXIT_GROUP: "exit_group", syscall.SYS_PRLIMIT64: "prlimit64",
		syscall.SYS_PWRITE64: "pwrite64", 435: "clone3", 512: "rt_sigaction", 547: "pwritev2",
	} {
		if got := Name(nr); got != want {
			t.Errorf("Name(%d) = %q, want %q", nr, got, want)
		}
	}
	for _, nr := range []int64{-1, 400, 423, 548, 1 << 40} {
		if got := Name(nr); got != "" {
			t.Errorf("Name(%d) = %q, want none", nr, got)
		}
	}
}

func TestEach(t *testing.T) {
	seen := map[string]int{}
	Each(func(nr int, name string) {
		if nr >= FirstX32 {
			t.Errorf("x32 call %s (%d) among the 64-bit ones", name, nr)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("%s numbered both %d and %d", name, prev, nr)
		}
		seen[name] = nr
	})
	if seen["openat"] != syscall.SYS_OPENAT || len(seen) < 360 {
		t.Errorf("openat = %d, %d calls", seen["openat"], len(seen))
	}
}
