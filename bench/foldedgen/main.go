// Command foldedgen writes N distinct folded stacks, the same on every
// run, for the flame graph benchmarks (bench/flamegraph.sh).
package main

import (
	"fmt"
	"os"
	"strconv"

	"friday/internal/stackgen"
)

func main() {
	n, err := strconv.Atoi(os.Args[len(os.Args)-1])
	if len(os.Args) != 2 || err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "usage: foldedgen N > stacks.folded")
		os.Exit(2)
	}
	if err := stackgen.Write(os.Stdout, n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
