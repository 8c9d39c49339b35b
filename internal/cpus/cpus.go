// Package cpus reads which CPUs are online, for what opens a perf event on
// each of them.
package cpus

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Online reads the CPUs the kernel lists as online.
func Online() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("reading online CPUs: %w", err)
	}
	return ParseList(strings.TrimSpace(string(b)))
}

// ParseList parses the kernel's CPU list format, "0-3,5,7-8".
func ParseList(s string) ([]int, error) {
	var cpus []int
	for _, r := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("bad CPU list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad CPU list %q", s)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
