package flame

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"

	"friday/folded"
)

// Palettes are the color schemes a flame graph may use: hot (CPU), mem
// (memory), io (blocking), and lang, which tells code by where it runs:
// kernel, native user code, the Go runtime, Java and JIT-compiled code,
// inlined calls.
var Palettes = []string{"hot", "mem", "io", "lang"}

// Kind is what a frame's code is, as the lang palette colors it.
type Kind uint8

const (
	User      Kind = iota // native user code
	Kernel                // _[k], or below a kernel entry
	GoRuntime             // the Go runtime
	Java                  // Java, and JIT-compiled code (_[j])
	Inlined               // _[i]
	Waker                 // _[w]
	Task                  // the root frame naming a task, "comm-PID/TID"
	Separator             // "-" between user and kernel frames
)

var kindNames = [...]string{"user", "kernel", "Go runtime", "Java/JIT", "inlined", "waker", "task", "separator"}

func (k Kind) String() string { return kindNames[k] }

// annotations are the suffixes that tell a frame's kind.
var annotations = [...]struct {
	suffix string
	kind   Kind
}{{"_[k]", Kernel}, {"_[j]", Java}, {"_[i]", Inlined}, {"_[w]", Waker}}

// displayName is a frame's name without its annotation, as shown.
func displayName(name string) string {
	if len(name) > 4 && name[len(name)-4] == '_' && name[len(name)-3] == '[' && name[len(name)-1] == ']' {
		for _, a := range annotations {
			if strings.HasSuffix(name, a.suffix) {
				return name[:len(name)-4]
			}
		}
	}
	return name
}

// javaPackages are the top-level packages a JVM frame's class name starts
// with, as perf-map-agent and async-profiler write them ("java/util/...",
// "Ljava/lang/..."). Go's standard library has net/ and io/: those are
// left out, and com/ and org/ must be at least three deep.
var javaPackages = []string{"java/", "javax/", "jdk/", "sun/", "scala/", "kotlin/"}

// FrameKind classifies a frame by its annotation, else by its name; depth
// is its distance from the root (1 for the root's children).
func FrameKind(name string, depth int) Kind {
	for _, a := range annotations {
		if strings.HasSuffix(name, a.suffix) {
			return a.kind
		}
	}
	switch {
	case name == "-" || name == "--":
		return Separator
	case strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "runtime/") ||
		strings.HasPrefix(name, "internal/runtime/") || strings.HasPrefix(name, "runtime·"):
		return GoRuntime
	}
	if depth == 1 {
		if _, _, _, ok := folded.Task(name); ok {
			return Task
		}
	}
	j := strings.TrimPrefix(name, "L")
	for _, p := range javaPackages {
		if strings.HasPrefix(j, p) {
			return Java
		}
	}
	if (strings.HasPrefix(j, "com/") || strings.HasPrefix(j, "org/")) && strings.Count(j, "/") >= 2 {
		return Java
	}
	if strings.HasPrefix(name, "Interpreter") || strings.Contains(name, ".java:") {
		return Java
	}
	return User
}

// rgb is a color.
type rgb struct{ r, g, b uint8 }

func (c rgb) hex() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// nameHash gives three numbers in [0, 1) from a name, so that a function
// has the same shade everywhere and in every graph.
func nameHash(name string) (v1, v2, v3 float64) {
	h := fnv.New64a()
	h.Write([]byte(name))
	x := h.Sum64()
	return float64(x&0xffff) / 65536, float64(x>>16&0xffff) / 65536, float64(x>>32&0xffff) / 65536
}

func shade(base, span float64, v float64) uint8 { return uint8(math.Round(base + span*v)) }

// frameColor is a frame's color in a palette.
func frameColor(palette, name string, depth int) rgb {
	v1, v2, v3 := nameHash(displayName(name))
	switch palette {
	case "mem":
		return rgb{shade(0, 60, v2), shade(190, 50, v1), shade(30, 90, v3)}
	case "io":
		return rgb{shade(80, 60, v1), shade(80, 60, v1), shade(190, 55, v2)}
	case "lang":
		switch FrameKind(name, depth) {
		case Kernel:
			return rgb{shade(225, 30, v1), shade(130, 45, v2), shade(10, 30, v3)}
		case GoRuntime:
			return rgb{shade(40, 60, v1), shade(180, 45, v2), shade(190, 45, v2)}
		case Java:
			return rgb{shade(50, 60, v1), shade(185, 55, v2), shade(50, 50, v3)}
		case Inlined:
			return rgb{shade(200, 40, v1), shade(200, 40, v1), shade(60, 50, v3)}
		case Waker:
			return rgb{shade(160, 50, v1), shade(90, 50, v2), shade(200, 45, v3)}
		case Task:
			return rgb{shade(175, 25, v1), shade(175, 25, v1), shade(205, 30, v2)}
		case Separator:
			return rgb{200, 200, 200}
		}
		return rgb{shade(200, 55, v1), shade(50, 50, v2), shade(50, 50, v2)}
	}
	if name == "-" || name == "--" {
		return rgb{200, 200, 200}
	}
	return rgb{shade(205, 50, v3), shade(0, 230, v1), shade(0, 55, v2)}
}

// diffColor colors a frame of a differential graph by its change: red
// grew, blue shrank, the deeper the more, relative to the largest change.
func diffColor(delta, maxDelta float64) rgb {
	if maxDelta == 0 || delta == 0 {
		return rgb{250, 250, 250}
	}
	v := uint8(math.Round(210 - 210*math.Min(1, math.Abs(delta)/maxDelta)))
	if delta > 0 {
		return rgb{255, v, v}
	}
	return rgb{v, v, 255}
}
