package profiler

import (
	"context"
	"io"
	"strconv"
	"time"

	"friday/script"
)

// CPUOptions say how to sample CPUs.
type CPUOptions struct {
	// Hz is how many samples a second each CPU takes.
	Hz int
	// CPU is the CPU to sample; -1 samples all.
	CPU int
	// Idle keeps the samples of CPUs that were idle.
	Idle   bool
	Filter Filter // of the threads sampled: Pids and Tids only
	Stacks Stacks
	// StackStorageSize is how many distinct stacks of each kind the
	// kernel keeps; 0 is bcc's 16384.
	StackStorageSize int
	// Log receives the run's warnings (lost events); nil is os.Stderr.
	Log io.Writer
	// OnMainThread is script.RunOptions.OnMainThread.
	OnMainThread func(func())
	// Stats asks for Result.Stats.
	Stats bool
}

// CPU is a CPU profile being taken.
type CPU struct {
	c    *collector
	hz   int
	stop context.CancelFunc
}

// StartCPU starts sampling the CPUs; it returns once the probes are
// attached. The profile ends with ctx, or Stop.
func StartCPU(ctx context.Context, host *script.Host, o CPUOptions) (*CPU, error) {
	named := o.Filter.named(o.Stacks)
	if o.Idle {
		named["idle"] = ""
	}
	if o.CPU >= 0 {
		named["cpu"] = strconv.Itoa(o.CPU)
	}
	ctx, stop := context.WithCancel(ctx)
	p := &CPU{c: newCollector(), hz: o.Hz, stop: stop}
	err := start(ctx, host, config{
		name: "profile.bt", params: []string{strconv.Itoa(o.Hz)}, named: named,
		filter: o.Filter, stackSize: o.StackStorageSize, coll: p.c,
		event: p.sample, log: o.Log, onMainThrd: o.OnMainThread, stats: o.Stats,
	})
	if err != nil {
		stop()
		return nil, err
	}
	return p, nil
}

// sample takes in the record of one sample: its time, CPU, process,
// thread, command and stacks.
func (p *CPU) sample(e *script.Event) error {
	a := e.Args()
	if len(a) < 6 {
		return fieldErr("sample", a)
	}
	comm, _ := a[4].(string)
	stacks, err := p.c.stackPair(a[5:])
	if err != nil {
		return err
	}
	p.c.raws = append(p.c.raws, raw{
		at:     p.c.s.since(u64(a[0])),
		task:   p.c.task(uint32(u64(a[2])), uint32(u64(a[3])), comm),
		stacks: stacks,
		value:  1,
	})
	return nil
}

// Stop ends the profile; Wait tells when it is over.
func (p *CPU) Stop() { p.stop() }

// Wait waits for the profile to end and symbolizes its stacks.
func (p *CPU) Wait() (*Result, error) {
	s := p.c.s
	if err := s.wait(); err != nil {
		return nil, err
	}
	prof := s.newProfile("cpu", "samples")
	prof.Frequency = p.hz
	prof.Period = int64(time.Second) / int64(p.hz)
	y := p.c.symbolize(prof)
	p.c.fill(prof, func(dst []int, r raw) []int {
		return append(append(dst, y.idsOf(r.stacks[1])...), y.idsOf(r.stacks[0])...)
	})
	res := &Result{Profile: prof, Records: p.c.records(y), LostStacks: p.c.lost}
	res.Stats = s.finish()
	return res, nil
}
