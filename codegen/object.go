// Package codegen turns a checked program into BPF instructions and the
// table of maps and events that the runtime needs to load and read them.
package codegen

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"friday/probe"
	"friday/types"
)

// Object is everything needed to load and run a compiled script.
type Object struct {
	Programs []*Program
	Maps     []*Map   // user maps (@x) and internal ones
	Events   []*Event // asynchronous actions, indexed by Event.ID
	RingBuf  string   // name of the ring buffer map events are sent through
	// LostMap names a per-CPU array of uint64 counters, indexed by event
	// ID, of events that did not fit into the ring buffer (the runtime
	// reports the sum over all keys and CPUs); empty when none.
	LostMap string
	// StartMap names a one-entry array holding the CLOCK_MONOTONIC time
	// in nanoseconds that elapsed counts from. Generate fills it; the
	// runtime may overwrite it right before attaching.
	StartMap string
	// ProbeNames are the full names of probes, indexed by the value of
	// the probe builtin when it is stored as a number (types.Probe).
	ProbeNames []string
	// SkbMap names the perf event array skboutput() sends packets
	// through, empty when none: each sample is an SkbRecord followed by
	// the packet's first SkbRecord.Len bytes.
	SkbMap string
	// SkbFiles are the pcap files of skboutput(), indexed by
	// SkbRecord.File.
	SkbFiles []string
	// NoExitMaps is set when the script's config block (or the
	// environment's BPFTRACE_PRINT_MAPS_ON_EXIT) turns off printing the
	// maps at exit.
	NoExitMaps bool
	// License is the license the programs are loaded under: the config
	// setting license, GPL by default.
	License string
	// StrTrailer follows a string printed that fills its capacity without
	// a NUL, a string cut short: the config setting str_trunc_trailer,
	// ".." unless set.
	StrTrailer string
	// MaxCatBytes is how much of a file cat() prints: the config setting
	// max_cat_bytes.
	MaxCatBytes int
	// MissingProbes is the config setting missing_probes: "warn" or
	// "ignore" ask the runtime to go on without the attach points the
	// kernel refuses (warning about them, or not); otherwise those are
	// errors.
	MissingProbes string
}

// SkbRecord heads a sample of SkbMap, in native byte order.
type SkbRecord struct {
	File   uint64 // index in SkbFiles
	Time   uint64 // CLOCK_BOOTTIME nanoseconds
	Offset uint64 // bytes of the packet to leave out (a link-layer header)
	Len    uint64 // bytes of the packet that follow, with the offset
}

// Program is one BPF program and the points it is attached to.
type Program struct {
	Name   string // BPF object name (at most 15 bytes)
	Points []*probe.Point
	Type   ebpf.ProgramType
	Attach ebpf.AttachType
	Insns  asm.Instructions
	// AttachTo is the kernel function or tracepoint a Tracing program is
	// verified against (ProgramSpec.AttachTo); empty for other types.
	AttachTo string
	// Source maps instruction indexes to script positions, for verifier
	// errors; see LineInfo in asm.
}

// Map is a BPF map; user maps have Name "@..." and the types needed to print
// them.
type Map struct {
	Name  string
	Spec  *ebpf.MapSpec
	Key   *types.Type // nil for a map without keys
	Value *types.Type
	// PerCPU maps hold one value per CPU; the runtime combines them as the
	// value's Kind says (sum for count/sum/hist, min, max, ...).
	PerCPU bool
	// Internal maps (ring buffer, scratch space, stacks, lost counters)
	// are not printed.
	Internal bool
}

// EventKind says what the runtime does with an event record.
type EventKind uint8

const (
	Printf EventKind = iota
	System
	Cat
	Exit
	Print    // print(value): Layout has one field
	PrintMap // print(@m, top, div)
	ClearMap // clear(@m)
	ZeroMap  // zero(@m)
	Time     // time(fmt)
	Join     // join(array, sep)
	Errorf   // errorf / warnf
	Unwatch  // other runtime requests
	Strftime
	CgroupFilter // cgroup_path(id, filter): Format is the filter; never sent
)

// Event is an asynchronous action. Its ring buffer record is an 8-byte ID
// followed by the arguments laid out as Layout (a Tuple type), unless
// some travel packed.
type Event struct {
	ID     uint64
	Kind   EventKind
	Format string      // printf/system/cat/time format, join separator
	Layout *types.Type // Tuple of the arguments, as the runtime reads them
	// Packed lists the fields of Layout, long strings or arrays of them,
	// that the record holds after the others, which are laid out as
	// Fixed: each string as its bytes up to and with its NUL, which comes
	// right after the capacity when the string fills it; the record ends
	// after the last, or before an array's strings do. Unpack puts such
	// a record back together as Layout.
	Packed []int
	Fixed  *types.Type
	Map    string // PrintMap, ClearMap, ZeroMap
	Pos    string // script position for messages: "file:line:col" or "file:line:col-endcol"
	// Source is the script line and a marker under the call, which an
	// Errorf message shows after its first line (see syntax.SourceContext).
	Source string
	Warn   bool // Errorf: the event is a warnf(), not an errorf()
	Once   bool // Errorf: shown the first time it comes only
	// Runtime marks an Errorf event reporting an error of the running
	// program (a division by zero, a helper's failure) rather than a call
	// of errorf() or warnf(). Helper names the BPF helper that failed;
	// its return code is the record's last argument (an int64), or Retcode
	// when the record has none.
	Runtime bool
	Helper  string
	Retcode int64
	// File, Line and Col are where in the script the event comes from.
	File      string
	Line, Col int
}
