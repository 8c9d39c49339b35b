package doctor

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"friday/mounts"
	"friday/symbol"
	"friday/tracefs"
)

// env is what the checks share: facts found by earlier checks and the
// things they set up that must be undone.
type env struct {
	opts       Options
	privileged bool // can use BPF and perf as an administrator would
	bpfWorks   bool // a program loads
	caps       uint64
	undo       []func()
	// kallsyms is the kernel's symbol table, read once.
	kallsyms func() (*symbol.Kernel, error)
}

func newEnv(opts Options) *env {
	return &env{opts: opts, kallsyms: sync.OnceValues(symbol.ReadKallsyms)}
}

func (e *env) cleanup() {
	for i := len(e.undo) - 1; i >= 0; i-- {
		e.undo[i]()
	}
	e.undo = nil
}

// mountFS makes sure a file system is mounted at dir. Without --fix a
// mount made only for the checks is removed again at the end.
func (e *env) mountFS(fstype, dir string) error {
	if err := unix.Mount(fstype, dir, fstype, 0, ""); err != nil {
		return err
	}
	if !e.opts.Fix {
		e.undo = append(e.undo, func() { unix.Unmount(dir, 0) })
	}
	return nil
}

// mounted returns the mount point of the first mount of fstype.
func mounted(fstype string) string {
	ms, _ := mounts.Read(mounts.Table)
	return mounts.First(ms, fstype)
}

// tracingDir is the tracefs directory, or "" when there is none.
func tracingDir() string {
	ms, _ := mounts.Read(mounts.Table)
	return tracefs.FindInMounts(ms)
}

// readTrim reads a small kernel file such as a sysctl.
func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func readInt(path string) (int, error) {
	s, err := readTrim(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}
