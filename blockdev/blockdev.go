// Package blockdev names the kernel's block devices by their device
// numbers, as the block layer's tracepoints give them (MKDEV: the major
// number above 20 bits of minor), and the other way round.
package blockdev

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// sysBlock lists block devices by MAJOR:MINOR, as links into sysfs.
const sysBlock = "/sys/dev/block"

// Dev is a kernel device number: major<<20 | minor.
type Dev uint32

// Make is the device number of major and minor.
func Make(major, minor uint32) Dev { return Dev(major<<20 | minor&(1<<20-1)) }

func (d Dev) Major() uint32 { return uint32(d) >> 20 }
func (d Dev) Minor() uint32 { return uint32(d) & (1<<20 - 1) }

// Names remembers the names of devices it has looked up: a tool names the
// disk of each I/O it reports.
type Names struct {
	mu    sync.Mutex
	names map[Dev]string
}

// Name is the name of device d ("sda", "nvme0n1p1", "loop3"), or
// "MAJOR:MINOR" when the system has no device of that number (any more).
func (n *Names) Name(d Dev) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.names[d]; ok {
		return name
	}
	if n.names == nil {
		n.names = map[Dev]string{}
	}
	name := fmt.Sprintf("%d:%d", d.Major(), d.Minor())
	if target, err := os.Readlink(filepath.Join(sysBlock, name)); err == nil {
		name = filepath.Base(target)
		n.names[d] = name
	}
	return name
}

// Lookup is the device number of the block device name ("sda" or
// "/dev/sda").
func Lookup(name string) (Dev, error) {
	base := filepath.Base(name)
	b, err := os.ReadFile(filepath.Join("/sys/class/block", base, "dev"))
	if err != nil {
		return 0, fmt.Errorf("no such disk %q", name)
	}
	var major, minor uint32
	if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d:%d", &major, &minor); err != nil {
		return 0, fmt.Errorf("disk %q: unreadable device number %q", name, b)
	}
	return Make(major, minor), nil
}
