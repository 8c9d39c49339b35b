// Package probe turns attach points as written into concrete kernel attach
// points, lists what can be attached, and attaches loaded programs.
// Each provider (tracepoint, interval, ...) lives in a file of its own.
package probe

import "friday/types"

// Point is one concrete attach point after aliases and wildcards were
// resolved.
type Point struct {
	Provider string // canonical provider: "begin", "end", "tracepoint", "interval", ...
	Target   string // tracepoint category, binary path, time unit, ...
	Func     string // tracepoint event name, function, period/frequency text
	Name     string // full name as the probe builtin prints it, e.g. "tracepoint:syscalls:sys_enter_read"

	// Args is the struct type of args for providers that have typed
	// arguments (tracepoint: fields of the format file, offsets from ctx).
	Args *types.Type

	// Period for interval/profile: nanoseconds (Period) or frequency (Hz).
	Period uint64
	Hz     uint64
}
