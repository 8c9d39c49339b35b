// Package tools holds the tools of the suite, which package tool runs:
// each is a Go file with its flags and output, and a directory of
// scripts in the bpftrace language, one per rung of its attach ladder.
package tools

import (
	"slices"
	"strings"

	"friday/tool"
)

// all are the tools, by name.
var all = []*tool.Tool{
	bashreadline,
	biolatency,
	biopattern,
	biosnoop,
	biotop,
	bitesize,
	blkthrot,
	btrfsslower,
	cpudist,
	execsnoop,
	exitsnoop,
	ext4slower,
	filelife,
	filetop,
	fsslower,
	funccount,
	funclatency,
	gethostlatency,
	hardirqs,
	killsnoop,
	mdflush,
	mountsnoop,
	mysqldQslower,
	oomkill,
	opensnoop,
	runqlat,
	runqlen,
	runqslower,
	softirqs,
	statsnoop,
	syscount,
	tcpaccept,
	tcpconnect,
	tcpdrop,
	tcplife,
	tcpretrans,
	tcprtt,
	tcpstates,
	tcpsynbl,
	tcptop,
	vfsstat,
	workq,
	xfsslower,
}

// All returns the tools, sorted by name.
func All() []*tool.Tool {
	out := slices.Clone(all)
	slices.SortFunc(out, func(a, b *tool.Tool) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Lookup returns the tool called name, or nil.
func Lookup(name string) *tool.Tool {
	for _, t := range all {
		if t.Name == name {
			return t
		}
	}
	return nil
}
