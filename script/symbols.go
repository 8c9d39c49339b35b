package script

import (
	"friday/cgroup"
	"friday/mounts"
	"friday/output"
	"friday/run"
	"friday/symbol"
)

// symbols resolves what printed values only identify, for one run of a
// script: addresses through package symbol, stack ids through the running
// script's stack maps, cgroup ids through the mounted cgroup hierarchies.
type symbols struct {
	res     *symbol.Resolver
	stacks  *run.Stacks
	cgroups *cgroup.Resolver
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
	return &symbols{res: res, stacks: stacks, cgroups: cgroup.New(mounts.Table)}
}

func sym(f symbol.Frame) output.Sym {
	s := output.Sym{Name: f.Name, Offset: f.Offset, Module: f.Module}
	for _, in := range f.Inlined {
		s.Inlined = append(s.Inlined, in.Name)
	}
	return s
}

func (s *symbols) Kernel(addr uint64) output.Sym { return sym(s.res.Kernel(addr)) }

func (s *symbols) PrepareKernel(addrs []uint64) { s.res.PrepareKernel(addrs) }

func (s *symbols) User(pid uint32, addr uint64) output.Sym {
	if s.follow != nil && pid == s.cpid {
		s.follow.Sync()
	}
	return sym(s.res.User(int(pid), addr))
}

func (s *symbols) Stack(user bool, depth int, id uint64) []uint64 {
	return s.stacks.Stack(user, depth, id)
}

func (s *symbols) BuildIDStack(depth int, id uint64) []run.BuildIDFrame {
	return s.stacks.BuildIDStack(depth, id)
}

func (s *symbols) CgroupPath(id uint64, filter string) string { return s.cgroups.Path(id, filter) }
