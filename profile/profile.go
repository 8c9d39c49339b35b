// Package profile is friday's profile of stack samples that keeps the time
// of each sample, so that a part of the profile (a time range) can be
// drawn, and its file format, JSON.
//
// The file is one JSON object:
//
//	{
//	  "format": "friday-profile", "version": 1,
//	  "type": "cpu",            // or "offcpu"
//	  "unit": "samples",        // of values: samples, microseconds, nanoseconds
//	  "frequency": 99,          // Hz of a CPU profile
//	  "period": 10101010,       // nanoseconds a CPU sample stands for
//	  "start": "2026-01-02T15:04:05.123456789Z",
//	  "duration": 30000000000,  // nanoseconds
//	  "mappings": [{"start": 4194304, "limit": 4259840, "offset": 0,
//	                "file": "/usr/bin/app", "build_id": "3f2a..."}],
//	  "frames": [{"name": "main", "kind": "user", "file": "main.c",
//	              "line": 12, "address": 4198710, "mapping": 1}],
//	  "stacks": [[0, 1, 2]],    // frame indexes, root first
//	  "tasks": [{"pid": 42, "tid": 43, "comm": "app"}],
//	  "samples": {"time": [120, 10101130], "stack": [0, 0],
//	              "task": [0, 0], "value": [1, 1]}
//	}
//
// Frames, stacks and tasks are each listed once and referred to by index;
// samples are columns, one entry per sample: its time in nanoseconds from
// start, its stack, its task and its value (1 each when "value" is
// absent). A frame's kind is "user", "kernel", "inlined" (a call the
// compiler inlined into the frame after it, nearer the root) or "jit";
// mapping is the 1-based index of its mapping, 0 for none; file, line,
// address and mapping are left out when unknown.
package profile

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Profile is a profile of stack samples with their times.
type Profile struct {
	Type      string // "cpu" or "offcpu"
	Unit      string // of sample values: "samples", "microseconds", "nanoseconds"
	Frequency int    // of a CPU profile's sampling, in Hz
	Period    int64  // nanoseconds a CPU sample stands for
	Start     time.Time
	Duration  time.Duration
	Mappings  []Mapping
	Frames    []Frame
	Stacks    [][]int // frame indexes, root first
	Tasks     []Task
	Samples   []Sample

	frameIDs map[Frame]int
	stackIDs map[string]int
	taskIDs  map[Task]int
	// StackID's buffers.
	scratchIDs []int
	scratchKey []byte
}

// Mapping is a file mapped into a process's memory.
type Mapping struct {
	Start   uint64 `json:"start"`
	Limit   uint64 `json:"limit"`
	Offset  uint64 `json:"offset"`
	File    string `json:"file"`
	BuildID string `json:"build_id,omitempty"`
}

// Frame is a function in a stack.
type Frame struct {
	Name    string `json:"name"`
	Kind    string `json:"kind,omitempty"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Address uint64 `json:"address,omitempty"`
	Mapping int    `json:"mapping,omitempty"`
}

// Frame kinds.
const (
	User    = "user"
	Kernel  = "kernel"
	Inlined = "inlined"
	JIT     = "jit"
)

// Task is a thread, and its process.
type Task struct {
	Pid  int    `json:"pid"`
	Tid  int    `json:"tid"`
	Comm string `json:"comm"`
}

// Sample is one sample: when, where, in which task, how much.
type Sample struct {
	Time  int64 // nanoseconds from Start
	Stack int
	Task  int
	Value int64
}

// Add adds a sample, listing its frames (root first) and task if new.
func (p *Profile) Add(at time.Duration, frames []Frame, task Task, value int64) {
	p.Samples = append(p.Samples, Sample{Time: int64(at), Stack: p.StackID(frames), Task: p.TaskID(task), Value: value})
}

// StackID is the index of the stack of frames (root first) in Stacks,
// listing it and its frames if new.
func (p *Profile) StackID(frames []Frame) int {
	ids := p.scratchIDs[:0]
	for _, f := range frames {
		ids = append(ids, p.FrameID(f))
	}
	p.scratchIDs = ids
	return p.StackIDOf(ids)
}

// FrameID is the index of f in Frames, listing it if new.
func (p *Profile) FrameID(f Frame) int {
	if p.frameIDs == nil {
		p.index()
	}
	return listed(p.frameIDs, &p.Frames, f)
}

// StackIDOf is the index in Stacks of the stack of the frames of Frames
// at the indexes ids (root first), listing it if new: for a caller that
// indexes its frames once each (FrameID) rather than once a stack.
func (p *Profile) StackIDOf(ids []int) int {
	if p.frameIDs == nil {
		p.index()
	}
	key := p.scratchKey[:0]
	for _, id := range ids {
		key = binary.AppendUvarint(key, uint64(id))
	}
	p.scratchKey = key
	s, ok := p.stackIDs[string(key)]
	if !ok {
		s = len(p.Stacks)
		p.Stacks = append(p.Stacks, slices.Clone(ids))
		p.stackIDs[string(key)] = s
	}
	return s
}

// TaskID is the index of task in Tasks, listing it if new.
func (p *Profile) TaskID(task Task) int {
	if p.frameIDs == nil {
		p.index()
	}
	return listed(p.taskIDs, &p.Tasks, task)
}

// listed is the index of v in *list, which ids indexes, listing it if
// new.
func listed[T comparable](ids map[T]int, list *[]T, v T) int {
	id, ok := ids[v]
	if !ok {
		id = len(*list)
		*list = append(*list, v)
		ids[v] = id
	}
	return id
}

// index maps what the profile lists to its place, for Add.
func (p *Profile) index() {
	p.frameIDs, p.stackIDs, p.taskIDs = map[Frame]int{}, map[string]int{}, map[Task]int{}
	for i, f := range p.Frames {
		p.frameIDs[f] = i
	}
	for i, s := range p.Stacks {
		var key []byte
		for _, id := range s {
			key = binary.AppendUvarint(key, uint64(id))
		}
		p.stackIDs[string(key)] = i
	}
	for i, t := range p.Tasks {
		p.taskIDs[t] = i
	}
}

// FoldedName is a frame's name as folded stacks write it: with _[k],
// _[i] or _[j] after kernel, inlined and JIT frames.
func (f Frame) FoldedName() string {
	switch f.Kind {
	case Kernel:
		return f.Name + "_[k]"
	case Inlined:
		return f.Name + "_[i]"
	case JIT:
		return f.Name + "_[j]"
	}
	return f.Name
}

// String is the root frame that names a task in folded stacks.
func (t Task) String() string { return fmt.Sprintf("%s-%d/%d", t.Comm, t.Pid, t.Tid) }

// Folded calls f for each task and stack with samples between from and to
// (nanoseconds from the start; to <= 0 for the end), with the frames
// FoldedFrames gives and the sum of the samples' values.
func (p *Profile) Folded(from, to int64, f func(frames []string, value int64)) {
	type key struct{ stack, task int }
	sums := map[key]int64{}
	var order []key
	for _, s := range p.Samples {
		if s.Time < from || to > 0 && s.Time >= to {
			continue
		}
		k := key{s.Stack, s.Task}
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		sums[k] += s.Value
	}
	var frames []string
	for _, k := range order {
		frames = p.FoldedFrames(frames[:0], k.stack, k.task)
		f(frames, sums[k])
	}
}

// FoldedFrames appends to dst the frames of a stack as folded stacks
// write them, root first: the task's frame (none for a profile without
// tasks, such as one of merged stacks), then the stack's frames.
func (p *Profile) FoldedFrames(dst []string, stack, task int) []string {
	if t := p.Tasks[task]; t != (Task{}) {
		dst = append(dst, t.String())
	}
	for _, id := range p.Stacks[stack] {
		dst = append(dst, p.Frames[id].FoldedName())
	}
	return dst
}

// file is the JSON form, with samples in columns.
type file struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	Type      string    `json:"type"`
	Unit      string    `json:"unit"`
	Frequency int       `json:"frequency,omitempty"`
	Period    int64     `json:"period,omitempty"`
	Start     time.Time `json:"start"`
	Duration  int64     `json:"duration"`
	Mappings  []Mapping `json:"mappings"`
	Frames    []Frame   `json:"frames"`
	Stacks    [][]int   `json:"stacks"`
	Tasks     []Task    `json:"tasks"`
	Samples   struct {
		Time  []int64 `json:"time"`
		Stack []int   `json:"stack"`
		Task  []int   `json:"task"`
		Value []int64 `json:"value,omitempty"`
	} `json:"samples"`
}

// Format is the value of the file's "format" member.
const Format = "friday-profile"

// Write writes the profile as JSON.
func (p *Profile) Write(w io.Writer) error {
	f := file{Format: Format, Version: 1, Type: p.Type, Unit: p.Unit, Frequency: p.Frequency, Period: p.Period,
		Start: p.Start, Duration: int64(p.Duration), Mappings: p.Mappings, Frames: p.Frames, Stacks: p.Stacks, Tasks: p.Tasks}
	s := &f.Samples
	allOne := true
	for _, x := range p.Samples {
		s.Time = append(s.Time, x.Time)
		s.Stack = append(s.Stack, x.Stack)
		s.Task = append(s.Task, x.Task)
		s.Value = append(s.Value, x.Value)
		allOne = allOne && x.Value == 1
	}
	if allOne {
		s.Value = nil
	}
	if f.Mappings == nil {
		f.Mappings = []Mapping{}
	}
	enc := json.NewEncoder(w)
	return enc.Encode(&f)
}

// Read reads a profile written by Write, checking that its indexes hold.
func Read(r io.Reader) (*Profile, error) {
	var f file
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a friday profile: %v", err)
	}
	if f.Format != Format {
		return nil, errors.New("not a friday profile: no \"format\": \"friday-profile\"")
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("friday profile version %d: this friday reads version 1", f.Version)
	}
	p := &Profile{Type: f.Type, Unit: f.Unit, Frequency: f.Frequency, Period: f.Period, Start: f.Start,
		Duration: time.Duration(f.Duration), Mappings: f.Mappings, Frames: f.Frames, Stacks: f.Stacks, Tasks: f.Tasks}
	s := f.Samples
	n := len(s.Time)
	if len(s.Stack) != n || len(s.Task) != n || s.Value != nil && len(s.Value) != n {
		return nil, errors.New("friday profile: the sample columns differ in length")
	}
	for i, m := range p.Frames {
		if m.Mapping < 0 || m.Mapping > len(p.Mappings) {
			return nil, fmt.Errorf("friday profile: frame %d names mapping %d of %d", i, m.Mapping, len(p.Mappings))
		}
	}
	for i, st := range p.Stacks {
		for _, id := range st {
			if id < 0 || id >= len(p.Frames) {
				return nil, fmt.Errorf("friday profile: stack %d names frame %d of %d", i, id, len(p.Frames))
			}
		}
	}
	p.Samples = make([]Sample, n)
	for i := range n {
		v := int64(1)
		if s.Value != nil {
			v = s.Value[i]
		}
		if s.Stack[i] < 0 || s.Stack[i] >= len(p.Stacks) || s.Task[i] < 0 || s.Task[i] >= len(p.Tasks) {
			return nil, fmt.Errorf("friday profile: sample %d names a stack or task that is not listed", i)
		}
		p.Samples[i] = Sample{Time: s.Time[i], Stack: s.Stack[i], Task: s.Task[i], Value: v}
	}
	slices.SortStableFunc(p.Samples, func(a, b Sample) int { return cmp.Compare(a.Time, b.Time) })
	return p, nil
}

// ParseFoldedFrame reads a frame name of folded stacks, with its
// annotation telling its kind.
func ParseFoldedFrame(name string) Frame {
	for _, a := range [...]struct{ suffix, kind string }{{"_[k]", Kernel}, {"_[i]", Inlined}, {"_[j]", JIT}} {
		if n, ok := strings.CutSuffix(name, a.suffix); ok {
			return Frame{Name: n, Kind: a.kind}
		}
	}
	return Frame{Name: name, Kind: User}
}
