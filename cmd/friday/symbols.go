package main

import (
	"io/fs"
	"path/filepath"
	"sync"
	"syscall"

	"friday/output"
	"friday/run"
	"friday/symbol"
)

// symbols resolves what printed values only identify: addresses through
// package symbol, stack ids through the running script's stack maps,
// cgroup ids through the cgroup v2 hierarchy.
type symbols struct {
	res     *symbol.Resolver
	stacks  *run.Stacks
	cgroups sync.Map // cgroup id -> path
	// follow records the code the -c command maps (nil without one, or
	// when the kernel refuses): its stacks resolve however soon it exits.
	follow *symbol.Follower
	cpid   uint32
}

// newSymbols symbolizes through res, and has the processes whose user
// stacks stacks finds in map keys snapshotted as soon as they are seen, so
// that their stacks still resolve when the maps are printed after they
// exited.
func newSymbols(res *symbol.Resolver, stacks *run.Stacks) *symbols {
	stacks.Seen = func(pid uint32) { res.Snapshot(int(pid)) }
	return &symbols{res: res, stacks: stacks}
}

func sym(f symbol.Frame) output.Sym {
	s := output.Sym{Name: f.Name, Offset: f.Offset, Module: f.Module}
	for _, in := range f.Inlined {
		s.Inlined = append(s.Inlined, in.Name)
	}
	return s
}

func (s *symbols) Kernel(addr uint64) output.Sym { return sym(s.res.Kernel(addr)) }

func (s *symbols) User(pid uint32, addr uint64) output.Sym {
	if s.follow != nil && pid == s.cpid {
		s.follow.Sync()
	}
	return sym(s.res.User(int(pid), addr))
}

func (s *symbols) Stack(user bool, depth int, id uint64) []uint64 {
	return s.stacks.Stack(user, depth, id)
}

// cgroupRoot is where the cgroup v2 hierarchy is mounted.
const cgroupRoot = "/sys/fs/cgroup"

// CgroupPath finds the cgroup whose directory has id as its inode number,
// which is what the kernel uses as a cgroup v2 id. The hierarchy is walked
// once per id not seen before.
func (s *symbols) CgroupPath(id uint64) string {
	if p, ok := s.cgroups.Load(id); ok {
		return p.(string)
	}
	path := ""
	filepath.WalkDir(cgroupRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Ino == id {
			path = "/" + trimRoot(p)
			return filepath.SkipAll
		}
		return nil
	})
	s.cgroups.Store(id, path)
	return path
}

func trimRoot(p string) string {
	rel, err := filepath.Rel(cgroupRoot, p)
	if err != nil || rel == "." {
		return ""
	}
	return rel
}
