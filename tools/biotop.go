package tools

import (
	"cmp"
	"embed"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"friday/blockdev"
	"friday/script"
	"friday/tool"
)

//go:embed biotop
var biotopScripts embed.FS

var biotop = &tool.Tool{
	Name:     "biotop",
	Summary:  "Block device (disk) I/O by process",
	Interval: true,
	Variants: tool.Ladder(biotopScripts, "biotop", "tracepoint"),
	Examples: []string{
		"# block device I/O top, 1 second refresh",
		"-C # don't clear the screen",
		"-p 181 # only trace PID 181",
		"5 # 5 second summaries",
		"5 10 # 5 second summaries, 10 times only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &biotopOpts{}
		fs.BoolVarP(&o.noclear, "noclear", "C", false, "don't clear the screen")
		fs.IntVarP(&o.maxrows, "maxrows", "r", 20, "maximum rows to print, default 20")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		return o
	},
}

type biotopOpts struct {
	noclear      bool
	maxrows, pid int
	names        blockdev.Names
}

func (o *biotopOpts) Setup(s *tool.Session) error {
	if o.maxrows < 1 {
		return tool.Usage("--maxrows must be at least 1")
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	topInterval(s)
	return nil
}

// topInterval makes a summary a second the default of a tool in the
// manner of top, and says how often it prints.
func topInterval(s *tool.Session) {
	if s.Interval == 0 {
		s.Interval = time.Second
	}
	s.Banner(fmt.Sprintf("Tracing... Output every %d secs. Hit Ctrl-C to end", int(s.Interval.Seconds())))
}

// biotopRow is a line of the summary: the I/O of a process to a disk in
// one direction.
type biotopRow struct {
	Pid    uint64  `json:"pid"`
	Comm   string  `json:"comm"`
	D      string  `json:"d"`
	Major  uint32  `json:"maj"`
	Minor  uint32  `json:"min"`
	Disk   string  `json:"disk"`
	IO     uint64  `json:"io"`
	Kbytes uint64  `json:"kbytes"`
	AvgMs  float64 `json:"avg_ms"`
	bytes  uint64
}

func (o *biotopOpts) Summary(s *tool.Session) error {
	io, err := s.Map("@io")
	if err != nil {
		return err
	}
	bytes, err := s.Map("@bytes")
	if err != nil {
		return err
	}
	for _, m := range []string{"@io", "@bytes"} {
		if err := s.ClearMap(m); err != nil {
			return err
		}
	}
	sizes := map[string]uint64{}
	for _, e := range bytes {
		sizes[fmt.Sprint(e.Key)] = unsigned(e.Value)
	}
	rows := make([]*biotopRow, 0, len(io))
	for _, e := range io {
		st := e.Value.(script.Stats)
		dev := blockdev.Dev(unsigned(e.Key[2]))
		r := &biotopRow{Pid: unsigned(e.Key[0]), Comm: e.Key[1].(string), D: "R", Major: dev.Major(), Minor: dev.Minor(),
			Disk: o.names.Name(dev), IO: st.Count, bytes: sizes[fmt.Sprint(e.Key)]}
		if e.Key[3] == true {
			r.D = "W"
		}
		r.Kbytes = r.bytes / 1024
		if r.IO > 0 {
			r.AvgMs = float64(unsigned(st.Total)) / 1000 / float64(r.IO)
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b *biotopRow) int {
		return cmp.Or(cmp.Compare(b.bytes, a.bytes), cmp.Compare(a.Pid, b.Pid), cmp.Compare(a.D, b.D), cmp.Compare(a.Disk, b.Disk))
	})
	rows = rows[:min(len(rows), o.maxrows)]
	s.TopHeading(!o.noclear, true)
	if s.JSON() {
		s.Set("rows", rows)
		return nil
	}
	s.Printf("%-7s %-16s %1s %-3s %-3s %-8s %5s %7s %6s\n", "PID", "COMM", "D", "MAJ", "MIN", "DISK", "I/O", "Kbytes", "AVGms")
	for _, r := range rows {
		s.Printf("%-7d %-16s %1s %-3d %-3d %-8s %5d %7d %6.2f\n", r.Pid, r.Comm, r.D, r.Major, r.Minor, r.Disk, r.IO, r.Kbytes, r.AvgMs)
	}
	return nil
}
