// Package pprof converts friday's profiles to pprof's format (profile.proto,
// gzip-compressed: .pb.gz), which go tool pprof and other tools read.
package pprof

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	gp "github.com/google/pprof/profile"

	"friday/profile"
)

// kernelMapping names the kernel's code for frames that have no mapping.
const kernelMapping = "[kernel.kallsyms]"

// FromProfile converts p. A CPU profile's samples count samples and CPU
// nanoseconds (samples times the period); an off-CPU profile's count
// off-CPU nanoseconds (its values are nanoseconds, or microseconds when
// its unit says so). Samples with the same stack and task merge; each
// carries its task as labels (pid, tid, comm). Inlined frames join the
// location of the frame they were inlined into, as pprof's lines do.
func FromProfile(p *profile.Profile) (*gp.Profile, error) {
	out := &gp.Profile{
		TimeNanos:     p.Start.UnixNano(),
		DurationNanos: int64(p.Duration),
	}
	if p.Start.IsZero() {
		out.TimeNanos = 0
	}
	scale := int64(1)
	switch p.Type {
	case "cpu":
		out.SampleType = []*gp.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}}
		out.PeriodType = &gp.ValueType{Type: "cpu", Unit: "nanoseconds"}
		out.Period = p.Period
	case "offcpu":
		out.SampleType = []*gp.ValueType{{Type: "offcpu", Unit: "nanoseconds"}}
		out.PeriodType = &gp.ValueType{Type: "offcpu", Unit: "nanoseconds"}
		out.Period = 1
		if p.Unit == "microseconds" {
			scale = 1000
		}
	default:
		unit := p.Unit
		if unit == "" {
			unit = "count"
		}
		out.SampleType = []*gp.ValueType{{Type: "samples", Unit: unit}}
	}

	for i, m := range p.Mappings {
		out.Mapping = append(out.Mapping, &gp.Mapping{
			ID: uint64(i + 1), Start: m.Start, Limit: m.Limit, Offset: m.Offset, File: m.File, BuildID: m.BuildID,
			HasFunctions: true, HasFilenames: true, HasLineNumbers: true,
		})
	}
	var kernel *gp.Mapping
	// A function per name and file, found once for each frame.
	functions := map[[2]string]*gp.Function{}
	frameFuncs := make([]*gp.Function, len(p.Frames))
	function := func(id int) *gp.Function {
		if fn := frameFuncs[id]; fn != nil {
			return fn
		}
		f := p.Frames[id]
		k := [2]string{f.Name, f.File}
		fn, ok := functions[k]
		if !ok {
			fn = &gp.Function{ID: uint64(len(out.Function) + 1), Name: f.Name, SystemName: f.Name, Filename: f.File}
			out.Function = append(out.Function, fn)
			functions[k] = fn
		}
		frameFuncs[id] = fn
		return fn
	}
	// A location per run of frames: a frame, which gives the address and
	// mapping, and the calls inlined into it. pprof lists a location's
	// lines innermost first. Most runs are one frame, known by its index;
	// longer ones by their indexes as varints.
	single := make(map[int]*gp.Location, len(p.Frames))
	runs := map[string]*gp.Location{}
	var runKey []byte
	stackLocs := make([][]*gp.Location, len(p.Stacks))
	for si, stack := range p.Stacks {
		locs := make([]*gp.Location, 0, len(stack))
		for i := 0; i < len(stack); i++ {
			// Inlined calls follow the frame they were inlined into.
			j := i
			for j+1 < len(stack) && p.Frames[stack[j+1]].Kind == profile.Inlined {
				j++
			}
			var loc *gp.Location
			if i == j {
				loc = single[stack[i]]
			} else {
				runKey = runKey[:0]
				for _, id := range stack[i : j+1] {
					runKey = binary.AppendUvarint(runKey, uint64(id))
				}
				loc = runs[string(runKey)]
			}
			if loc == nil {
				loc = &gp.Location{ID: uint64(len(out.Location) + 1)}
				real := p.Frames[stack[i]]
				loc.Address = real.Address
				switch {
				case real.Mapping > 0:
					loc.Mapping = out.Mapping[real.Mapping-1]
				case real.Kind == profile.Kernel:
					if kernel == nil {
						kernel = &gp.Mapping{ID: uint64(len(out.Mapping) + 1), File: kernelMapping, HasFunctions: true}
						out.Mapping = append(out.Mapping, kernel)
					}
					loc.Mapping = kernel
				}
				loc.Line = make([]gp.Line, 0, j+1-i)
				for k := j; k >= i; k-- {
					loc.Line = append(loc.Line, gp.Line{Function: function(stack[k]), Line: int64(p.Frames[stack[k]].Line)})
				}
				out.Location = append(out.Location, loc)
				if i == j {
					single[stack[i]] = loc
				} else {
					runs[string(runKey)] = loc
				}
			}
			locs = append(locs, loc)
			i = j
		}
		// pprof lists a sample's locations leaf first.
		slices.Reverse(locs)
		stackLocs[si] = locs
	}

	type key struct{ stack, task int }
	samples := map[key]*gp.Sample{}
	for _, s := range p.Samples {
		k := key{s.Stack, s.Task}
		smp, ok := samples[k]
		if !ok {
			smp = &gp.Sample{Location: stackLocs[s.Stack], Value: make([]int64, len(out.SampleType))}
			if t := p.Tasks[s.Task]; t != (profile.Task{}) {
				smp.Label = map[string][]string{"comm": {t.Comm}}
				smp.NumLabel = map[string][]int64{"pid": {int64(t.Pid)}, "tid": {int64(t.Tid)}}
			}
			samples[k] = smp
			out.Sample = append(out.Sample, smp)
		}
		smp.Value[0] += s.Value * scale
		if p.Type == "cpu" {
			smp.Value[1] += s.Value * p.Period
		}
	}
	if err := out.CheckValid(); err != nil {
		return nil, fmt.Errorf("pprof: %v", err)
	}
	return out, nil
}

// Write writes p as a gzip-compressed pprof profile. It compresses at
// gzip's best speed, not at its default level as the pprof package's own
// Write does: in about two thirds of the time, for a file an eighth
// larger (BenchmarkWrite).
func Write(w io.Writer, p *profile.Profile) error {
	out, err := FromProfile(p)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if err := out.WriteUncompressed(zw); err != nil {
		return err
	}
	return zw.Close()
}
