// Command goprog has a function with several returns, for finding return
// instructions and probing them.
package main

import (
	"fmt"
	"os"
	"strconv"
)

//go:noinline
func work(n int) int {
	switch {
	case n%3 == 0:
		return n * 7
	case n%3 == 1:
		return n + 11
	}
	return n - 5
}

func main() {
	n := 0
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	acc := 0
	for i := 0; i < n; i++ {
		acc += work(i)
	}
	fmt.Println(acc)
}
