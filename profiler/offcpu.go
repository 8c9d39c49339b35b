package profiler

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"friday/profile"
	"friday/script"
)

// Blocked says what blocked time a collector measures.
type Blocked int

const (
	// OffCPU is offcputime's: the time by the stacks threads block in.
	OffCPU Blocked = iota
	// Wakeup is wakeuptime's: the time by the kernel stack of the thread
	// that ends it by waking the blocked one.
	Wakeup
	// OffWake is offwaketime's: the time by the stacks threads block in
	// joined with the stacks of the threads that wake them.
	OffWake
)

var blockedScripts = [...]string{OffCPU: "offcputime.bt", Wakeup: "wakeuptime.bt", OffWake: "offwaketime.bt"}

// OffCPUOptions say what blocked time to measure, and of which threads.
type OffCPUOptions struct {
	Blocked Blocked
	Filter  Filter
	Stacks  Stacks // OffCPU and OffWake
	// State keeps the threads that block in a state with a bit of State
	// set (TASK_INTERRUPTIBLE 1, TASK_UNINTERRUPTIBLE 2, ...), or for 0
	// those that leave the CPU runnable (preempted); -1 keeps all.
	State int
	// MinBlock and MaxBlock keep the blocks of that length only; 0 is no
	// bound.
	MinBlock, MaxBlock time.Duration
	// Slot, when not 0, counts the time per time slot of that length as
	// well (the slot a block ends in), for the profile to keep times.
	Slot time.Duration
	// StackStorageSize is how many distinct stacks of each kind the
	// kernel keeps; 0 is 16384.
	StackStorageSize int
	Log              io.Writer
	OnMainThread     func(func())
	// Stats asks for Result.Stats.
	Stats bool
}

// BlockedTime is a measure of blocked time being taken.
type BlockedTime struct {
	c    *collector
	o    OffCPUOptions
	stop context.CancelFunc
}

// StartOffCPU starts measuring blocked time; it returns once the probes
// are attached. It ends with ctx, or Stop.
func StartOffCPU(ctx context.Context, host *script.Host, o OffCPUOptions) (*BlockedTime, error) {
	named := o.Filter.named(o.Stacks)
	setInt := func(name string, v int64, given bool) {
		if given {
			named[name] = strconv.FormatInt(v, 10)
		}
	}
	setInt("state", int64(o.State), o.State >= 0 && o.Blocked != Wakeup)
	setInt("min-ns", int64(o.MinBlock), o.MinBlock > 0)
	setInt("max-ns", int64(o.MaxBlock), o.MaxBlock > 0)
	setInt("slot", int64(o.Slot), o.Slot > 0)
	ctx, stop := context.WithCancel(ctx)
	b := &BlockedTime{c: newCollector(), o: o, stop: stop}
	err := start(ctx, host, config{
		name: blockedScripts[o.Blocked], named: named,
		filter: o.Filter, stackSize: o.StackStorageSize, coll: b.c,
		maps: b.take, log: o.Log, onMainThrd: o.OnMainThread, stats: o.Stats,
	})
	if err != nil {
		stop()
		return nil, err
	}
	return b, nil
}

// Stop ends the measure; Wait tells when it is over.
func (b *BlockedTime) Stop() { b.stop() }

// take reads a map of blocked time the script leaves at its end.
func (b *BlockedTime) take(m *script.Map) error {
	var read func(key []any, value int64) error
	switch m.Name {
	case "@off", "@koff", "@uoff":
		if b.o.Blocked == OffWake {
			read = b.offWake
		} else {
			read = b.offCPU
		}
	case "@self", "@kself", "@uself":
		read = b.offCPU
	case "@wakeup":
		read = b.wakeup
	default:
		return nil
	}
	entries, err := m.Entries()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := read(e.Key, int64(u64(e.Value))); err != nil {
			return err
		}
	}
	return nil
}

// offCPU reads a key of blocked time by the blocked thread's stacks:
// process, thread, command, stacks, time slot.
func (b *BlockedTime) offCPU(k []any, ns int64) error {
	if len(k) != 5 {
		return fieldErr("blocked time", k)
	}
	t, err := b.task(k[0:3])
	if err != nil {
		return err
	}
	stacks, err := b.c.stackPair(flatten(k[3]))
	if err != nil {
		return err
	}
	b.c.raws = append(b.c.raws, raw{at: b.at(k[4]), task: t, stacks: stacks, value: ns})
	return nil
}

// offWake reads a key of blocked time by the blocked thread's stacks and
// its waker's: process, thread, command, stacks, then the waker's
// process, thread, command and stacks, then the time slot.
func (b *BlockedTime) offWake(k []any, ns int64) error {
	if len(k) != 6 {
		return fieldErr("blocked time", k)
	}
	w, ok := k[4].([]any)
	if !ok || len(w) != 4 {
		return fieldErr("waker", k[4])
	}
	if err := b.offCPU(append(k[:4:4], k[5]), ns); err != nil {
		return err
	}
	wt, err := b.task(w[0:3])
	if err != nil {
		return err
	}
	ws, err := b.c.stackPair(flatten(w[3]))
	if err != nil {
		return err
	}
	b.c.raws[len(b.c.raws)-1].waker = &rawWaker{task: wt, stacks: ws}
	return nil
}

// wakeup reads a key of blocked time by its waker's kernel stack: the
// stack, the waker's process, thread and command, the woken thread's,
// the time slot.
func (b *BlockedTime) wakeup(k []any, ns int64) error {
	if len(k) != 8 {
		return fieldErr("wakeup time", k)
	}
	ws, err := b.c.stackPair(k[0:1])
	if err != nil {
		return err
	}
	wt, err := b.task(k[1:4])
	if err != nil {
		return err
	}
	t, err := b.task(k[4:7])
	if err != nil {
		return err
	}
	b.c.raws = append(b.c.raws, raw{at: b.at(k[7]), task: t, stacks: pair{-1, -1},
		waker: &rawWaker{task: wt, stacks: ws}, value: ns})
	return nil
}

// task reads a process, thread and command.
func (b *BlockedTime) task(k []any) (int32, error) {
	comm, ok := k[2].(string)
	if !ok {
		return 0, fieldErr("command", k[2])
	}
	return b.c.task(uint32(u64(k[0])), uint32(u64(k[1])), comm), nil
}

// at is the time from the start of a time slot's start; 0 without slots.
func (b *BlockedTime) at(slot any) int64 {
	if b.o.Slot <= 0 {
		return 0
	}
	return max(b.c.s.since(u64(slot)*uint64(b.o.Slot)), 0)
}

// flatten is the stacks of a key: one, or a tuple of a kernel and a user
// stack.
func flatten(v any) []any {
	if t, ok := v.([]any); ok {
		return t
	}
	return []any{v}
}

// Wait waits for the measure to end and symbolizes its stacks. Values are
// microseconds, as bcc's tools give them.
func (b *BlockedTime) Wait() (*Result, error) {
	s := b.c.s
	if err := s.wait(); err != nil {
		return nil, err
	}
	for i := range b.c.raws {
		b.c.raws[i].value = (b.c.raws[i].value + 500) / 1000
	}
	prof := s.newProfile("offcpu", "microseconds")
	y := b.c.symbolize(prof)
	b.c.fill(prof, func(dst []int, r raw) []int {
		dst = append(append(dst, y.idsOf(r.stacks[1])...), y.idsOf(r.stacks[0])...)
		if r.waker == nil {
			return dst
		}
		// The waker's stacks go above, innermost first: the frames
		// where one thread woke the other meet.
		if b.o.Blocked == OffWake {
			dst = append(dst, prof.FrameID(profile.Frame{Name: "--"}))
		}
		dst = appendReversed(dst, y.idsOf(r.waker.stacks[0]))
		dst = appendReversed(dst, y.idsOf(r.waker.stacks[1]))
		w := b.c.tasks[r.waker.task]
		return append(dst, prof.FrameID(profile.Frame{Name: fmt.Sprintf("%s-%d/%d", w.comm, w.pid, w.tid), Kind: profile.User}))
	})
	res := &Result{Profile: prof, Records: b.c.records(y), LostStacks: b.c.lost}
	res.Stats = s.finish()
	return res, nil
}

func appendReversed(dst, ids []int) []int {
	for i := len(ids) - 1; i >= 0; i-- {
		dst = append(dst, ids[i])
	}
	return dst
}
