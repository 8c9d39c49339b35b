// Command goinline prints a program counter taken inside a chain of
// inlined calls, and how the Go runtime itself expands it.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
)

// leaf returns the logical frames above it. The first is the physical
// return address in main.main, inside the calls inlined there; the runtime
// adds a marker per inlined call after it.
//
//go:noinline
func leaf() []uintptr {
	pcs := make([]uintptr, 16)
	return pcs[:runtime.Callers(2, pcs)]
}

func inner() []uintptr { return leaf() }

func middle() []uintptr { return inner() }

func outer() []uintptr { return middle() }

func main() {
	pcs := outer()
	fmt.Printf("pc %#x\n", pcs[0]-1)
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		fmt.Printf("frame %s %s %d\n", f.Function, f.File, f.Line)
		if !more || f.Function == "main.main" {
			break
		}
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
}
