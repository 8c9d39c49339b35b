package tools

import (
	"cmp"
	"embed"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"friday/blockdev"
	"friday/cgroup"
	"friday/mounts"
	"friday/tool"
)

//go:embed blkthrot
var blkthrotScripts embed.FS

var blkthrot = &tool.Tool{
	Name:     "blkthrot",
	Summary:  "Count block I/O throttled by blk cgroup limits (blk-throttle)",
	Interval: true,
	Variants: tool.Ladder(blkthrotScripts, "blkthrot", "rawtracepoint", "kprobe"),
	Examples: []string{
		"# count bios throttled and not, per blk cgroup and disk",
		"1 10 # print 1 second summaries, 10 times",
		"-T 1 # 1s summaries with timestamps",
		"-d sdc # I/O of sdc only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &blkthrotOpts{}
		fs.BoolVarP(&o.timestamp, "timestamp", "T", false, "include timestamp on output")
		fs.StringVarP(&o.disk, "disk", "d", "", "trace this `DISK` only")
		return o
	},
}

type blkthrotOpts struct {
	timestamp bool
	disk      string

	names   blockdev.Names
	cgroups *cgroup.Resolver
}

func (o *blkthrotOpts) Setup(s *tool.Session) error {
	if o.disk != "" {
		dev, err := blockdev.Lookup(o.disk)
		if err != nil {
			return err
		}
		s.Param("disk", uint32(dev))
	}
	o.cgroups = cgroup.New(mounts.Table)
	s.Banner("Tracing block I/O throttles by cgroup... Hit Ctrl-C to end.")
	return nil
}

// blkthrotRow is a line of the summary: the I/O of a blk cgroup to a
// disk.
type blkthrotRow struct {
	Cgroup         string `json:"cgroup"`
	Disk           string `json:"disk"`
	Throttled      uint64 `json:"throttled"`
	NotThrottled   uint64 `json:"not_throttled"`
	ThrottledKB    uint64 `json:"throttled_kb"`
	NotThrottledKB uint64 `json:"not_throttled_kb"`
}

func (o *blkthrotOpts) Summary(s *tool.Session) error {
	s.Heading(o.timestamp)
	rows := map[[2]uint64]*blkthrotRow{}
	for _, name := range []string{"@bios", "@bytes"} {
		entries, err := s.Map(name)
		if err != nil {
			return err
		}
		if err := s.ClearMap(name); err != nil {
			return err
		}
		for _, e := range entries {
			id, dev := unsigned(e.Key[0]), unsigned(e.Key[1])
			k := [2]uint64{id, dev}
			r := rows[k]
			if r == nil {
				r = &blkthrotRow{Cgroup: o.cgroupPath(id), Disk: o.names.Name(blockdev.Dev(dev))}
				rows[k] = r
			}
			n := unsigned(e.Value)
			switch throttled := e.Key[2].(bool); {
			case name == "@bios" && throttled:
				r.Throttled += n
			case name == "@bios":
				r.NotThrottled += n
			case throttled:
				r.ThrottledKB += n / 1024
			default:
				r.NotThrottledKB += n / 1024
			}
		}
	}
	list := make([]blkthrotRow, 0, len(rows))
	for _, r := range rows {
		list = append(list, *r)
	}
	// The most throttled first.
	slices.SortFunc(list, func(a, b blkthrotRow) int {
		return cmp.Or(cmp.Compare(b.Throttled, a.Throttled), cmp.Compare(b.NotThrottled, a.NotThrottled),
			strings.Compare(a.Cgroup, b.Cgroup), strings.Compare(a.Disk, b.Disk))
	})
	if s.JSON() {
		s.Set("rows", list)
		return nil
	}
	s.Printf("%-8s %10s %14s %10s %14s %s\n", "DISK", "THROTTLED", "NOT_THROTTLED", "THROT_KB", "NOT_THROT_KB", "CGROUP")
	for _, r := range list {
		s.Printf("%-8s %10d %14d %10d %14d %s\n", r.Disk, r.Throttled, r.NotThrottled, r.ThrottledKB, r.NotThrottledKB, r.Cgroup)
	}
	return nil
}

// cgroupPath is the path of a blk cgroup: in the blkio hierarchy of
// cgroup v1 where it is mounted, else in the unified one; its id when
// neither has it (it was removed).
func (o *blkthrotOpts) cgroupPath(id uint64) string {
	for _, h := range []string{"blkio*", "unified"} {
		if p := o.cgroups.Path(id, h); p != "" {
			_, path, _ := strings.Cut(strings.Split(p, ",")[0], ":")
			return path
		}
	}
	return "#" + strconv.FormatUint(id, 10)
}
