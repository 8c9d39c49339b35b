package tools

import (
	"cmp"
	"embed"
	"slices"

	"github.com/spf13/pflag"

	"friday/script"
	"friday/tool"
)

//go:embed filetop
var filetopScripts embed.FS

// vfs_read() and vfs_write() are the tool's subject: the system calls
// that call them stand for them only where they cannot be probed.
var filetop = &tool.Tool{
	Name:     "filetop",
	Summary:  "File reads and writes by process",
	Interval: true,
	Variants: tool.Ladder(filetopScripts, "filetop", "kprobe", "tracepoint"),
	Notes: map[string]string{
		"tracepoint": `system calls stand for vfs_read() and vfs_write() here:
read() and pread64(), write() and pwrite64() on an open
descriptor, whose file the task's file table gives`,
	},
	Examples: []string{
		"# file I/O top, 1 second refresh",
		"-C # don't clear the screen",
		"-p 181 # PID 181 only",
		"5 # 5 second summaries",
		"5 10 # 5 second summaries, 10 times only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &filetopOpts{}
		fs.BoolVarP(&o.all, "all-files", "a", false, "include non-regular file types (sockets, FIFOs, etc)")
		fs.BoolVarP(&o.noclear, "noclear", "C", false, "don't clear the screen")
		fs.IntVarP(&o.maxrows, "maxrows", "r", 20, "maximum rows to print, default 20")
		fs.StringVarP(&o.sort, "sort", "s", "all", "sort column, default all: `{all,reads,writes,rbytes,wbytes}`")
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace this `PID` only")
		return o
	},
}

type filetopOpts struct {
	all, noclear bool
	maxrows, pid int
	sort         string
}

func (o *filetopOpts) Setup(s *tool.Session) error {
	if o.maxrows < 1 {
		return tool.Usage("--maxrows must be at least 1")
	}
	if !slices.Contains([]string{"all", "reads", "writes", "rbytes", "wbytes"}, o.sort) {
		return tool.Usage("argument -s/--sort: invalid choice: %q (choose from all, reads, writes, rbytes, wbytes)", o.sort)
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	if o.all {
		s.Param("all_files", true)
	}
	topInterval(s)
	return nil
}

// filetopRow is a line of the summary: a thread's reads and writes of a
// file.
type filetopRow struct {
	Tid    uint64 `json:"tid"`
	Comm   string `json:"comm"`
	Reads  uint64 `json:"reads"`
	Writes uint64 `json:"writes"`
	RKb    uint64 `json:"r_kb"`
	WKb    uint64 `json:"w_kb"`
	T      string `json:"t"`
	File   string `json:"file"`
	RBytes uint64 `json:"rbytes"`
	WBytes uint64 `json:"wbytes"`
}

func (o *filetopOpts) Summary(s *tool.Session) error {
	entries, err := s.Map("@io")
	if err != nil {
		return err
	}
	if err := s.ClearMap("@io"); err != nil {
		return err
	}
	type file struct {
		tid        uint64
		comm, name string
		typ        uint64
	}
	byFile := map[file]*filetopRow{}
	var rows []*filetopRow
	for _, e := range entries {
		k := file{unsigned(e.Key[0]), e.Key[1].(string), e.Key[2].(string), unsigned(e.Key[4])}
		r := byFile[k]
		if r == nil {
			name := k.name
			// A name longer than what the script keeps ends in "...".
			if n := int(unsigned(e.Key[3])); n > len(name) && len(name) > 3 {
				name = name[:len(name)-3] + "..."
			}
			r = &filetopRow{Tid: k.tid, Comm: k.comm, T: string(rune(k.typ)), File: name}
			byFile[k] = r
			rows = append(rows, r)
		}
		st := e.Value.(script.Stats)
		if e.Key[5] == true {
			r.Writes, r.WBytes = r.Writes+st.Count, r.WBytes+unsigned(st.Total)
		} else {
			r.Reads, r.RBytes = r.Reads+st.Count, r.RBytes+unsigned(st.Total)
		}
	}
	key := func(r *filetopRow) uint64 {
		switch o.sort {
		case "reads":
			return r.Reads
		case "writes":
			return r.Writes
		case "rbytes":
			return r.RBytes
		case "wbytes":
			return r.WBytes
		}
		return r.RBytes + r.WBytes + r.Reads + r.Writes
	}
	slices.SortFunc(rows, func(a, b *filetopRow) int {
		return cmp.Or(cmp.Compare(key(b), key(a)), cmp.Compare(a.Tid, b.Tid), cmp.Compare(a.File, b.File))
	})
	rows = rows[:min(len(rows), o.maxrows)]
	for _, r := range rows {
		r.RKb, r.WKb = r.RBytes/1024, r.WBytes/1024
	}
	s.TopHeading(!o.noclear, true)
	if s.JSON() {
		s.Set("rows", rows)
		return nil
	}
	s.Printf("%-7s %-16s %-6s %-6s %-7s %-7s %1s %s\n", "TID", "COMM", "READS", "WRITES", "R_Kb", "W_Kb", "T", "FILE")
	for _, r := range rows {
		s.Printf("%-7d %-16s %-6d %-6d %-7d %-7d %1s %s\n", r.Tid, r.Comm, r.Reads, r.Writes, r.RKb, r.WKb, r.T, r.File)
	}
	return nil
}
