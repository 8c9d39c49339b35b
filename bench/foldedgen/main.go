// Command foldedgen writes N distinct folded stacks, the same on every
// run, for the flame graph benchmarks (bench/flamegraph.sh): -shape walks
// (the default) or deep, as package stackgen describes them.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"friday/internal/stackgen"
)

func main() {
	shape := flag.String("shape", "walks", "`SHAPE` of the stacks: walks or deep")
	flag.Parse()
	s, ok := stackgen.Shapes[*shape]
	n, err := strconv.Atoi(flag.Arg(0))
	if flag.NArg() != 1 || err != nil || n <= 0 || !ok {
		fmt.Fprintln(os.Stderr, "usage: foldedgen [-shape walks|deep] N > stacks.folded")
		os.Exit(2)
	}
	if err := stackgen.Write(os.Stdout, n, s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
