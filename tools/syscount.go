package tools

import (
	"cmp"
	"embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"friday/internal/syscalls"
	"friday/script"
	"friday/tool"
)

//go:embed syscount
var syscountScripts embed.FS

var syscount = &tool.Tool{
	Name:     "syscount",
	Summary:  "Summarize syscall counts and latencies",
	Variants: tool.Ladder(syscountScripts, "syscount", "tracepoint"),
	Examples: []string{
		"# count syscalls, print the top 10 at Ctrl-C",
		"-i 1 # print the top 10 every second",
		"-p $(pidof dd) # look only at a particular process",
		"-L # measure and sort output by latency",
		"-P # group statistics by pid, not by syscall",
		"-x -i 5 # count only failed syscalls",
		"-e ENOENT -i 5 # count only syscalls failed with a given errno",
		"--syscall read # count read() only",
	},
	New: func(fs *pflag.FlagSet) tool.Handler {
		o := &syscountOpts{}
		fs.IntVarP(&o.pid, "pid", "p", 0, "trace only this `PID`")
		fs.IntVarP(&o.interval, "interval", "i", 0, "print summary at this `INTERVAL` (seconds)")
		fs.IntVarP(&o.duration, "duration", "d", 0, "total `DURATION` of trace, in seconds")
		fs.IntVarP(&o.top, "top", "T", 10, "print only the `TOP` syscalls by count or latency")
		fs.BoolVarP(&o.failures, "failures", "x", false, "trace only failed syscalls (return < 0)")
		fs.StringVarP(&o.errno, "errno", "e", "", "trace only syscalls that return this error (numeric or EPERM, etc.)")
		fs.BoolVarP(&o.latency, "latency", "L", false, "collect syscall latency")
		fs.BoolVarP(&o.ms, "milliseconds", "m", false, "display latency in milliseconds (default: microseconds)")
		fs.BoolVarP(&o.process, "process", "P", false, "count by process and not by syscall")
		fs.BoolVarP(&o.list, "list", "l", false, "print list of recognized syscalls and exit")
		fs.StringVar(&o.syscall, "syscall", "", "trace this `SYSCALL` only (use option -l to get all recognized syscalls)")
		return o
	},
}

type syscountOpts struct {
	pid, interval, duration, top         int
	failures, latency, ms, process, list bool
	errno, syscall                       string
}

func (o *syscountOpts) Setup(s *tool.Session) error {
	if o.list {
		var names []string
		syscalls.Each(func(_ int, name string) { names = append(names, name) })
		slices.Sort(names)
		for _, n := range names {
			s.Printf("%s\n", n)
		}
		return tool.ErrDone
	}
	if o.pid != 0 {
		s.Param("pid", o.pid)
	}
	if o.failures {
		s.Param("failures", true)
	}
	if o.errno != "" {
		n, err := errnoNumber(o.errno)
		if err != nil {
			return err
		}
		s.Param("errno", n)
	}
	if o.syscall != "" {
		nr := -1
		syscalls.Each(func(n int, name string) {
			if name == o.syscall {
				nr = n
			}
		})
		if nr < 0 {
			return tool.Usage("syscall %q not found (-l lists them)", o.syscall)
		}
		s.Param("syscall", nr)
	}
	if o.latency {
		s.Param("latency", true)
	}
	if o.process {
		s.Param("process", true)
	}
	if o.top < 1 {
		return tool.Usage("--top must be at least 1")
	}
	s.Interval = time.Duration(o.interval) * time.Second
	s.Duration = time.Duration(o.duration) * time.Second
	what := "syscalls, printing top " + strconv.Itoa(o.top)
	if o.syscall != "" {
		what = "syscall '" + o.syscall + "'"
	}
	if o.failures {
		what = "failed " + what
	}
	s.Banner("Tracing " + what + "... Ctrl+C to quit.")
	return nil
}

// errnoNumber reads an error number or name (EPERM).
func errnoNumber(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n, nil
	}
	for n := 1; n < 4096; n++ {
		if unix.ErrnoName(syscall.Errno(n)) == strings.ToUpper(s) {
			return n, nil
		}
	}
	return 0, tool.Usage("unknown error %q for -e", s)
}

// syscountRow is one line of the summary.
type syscountRow struct {
	Syscall string  `json:"syscall,omitempty"`
	Pid     uint64  `json:"pid,omitempty"`
	Comm    string  `json:"comm,omitempty"`
	Count   uint64  `json:"count"`
	Time    float64 `json:"total_time,omitempty"` // in the summary's "unit"
	ns      uint64
}

func (o *syscountOpts) Summary(s *tool.Session) error {
	name := "@syscall"
	if o.process {
		name = "@process"
	}
	if o.latency {
		name += "_time"
	}
	entries, err := s.Map(name)
	if err != nil {
		return err
	}
	if err := s.ClearMap(name); err != nil {
		return err
	}
	div, unit, timeFmt := 1e3, "us", "%16.3f"
	if o.ms {
		div, unit, timeFmt = 1e6, "ms", "%16.6f"
	}
	rows := make([]syscountRow, 0, len(entries))
	for _, e := range entries {
		var r syscountRow
		if o.process {
			r.Pid, r.Comm = unsigned(e.Key[0]), e.Key[1].(string)
		} else {
			r.Syscall = syscalls.Name(signed(e.Key[0]))
			if r.Syscall == "" {
				r.Syscall = fmt.Sprintf("[unknown: %d]", signed(e.Key[0]))
			}
		}
		if st, ok := e.Value.(script.Stats); ok {
			r.Count, r.ns = st.Count, unsigned(st.Total)
			r.Time = float64(r.ns) / div
		} else {
			r.Count = unsigned(e.Value)
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b syscountRow) int {
		if o.latency {
			return cmp.Compare(b.ns, a.ns)
		}
		return cmp.Compare(b.Count, a.Count)
	})
	rows = rows[:min(len(rows), o.top)]
	if s.JSON() {
		if o.latency {
			s.Set("unit", unit)
		}
		s.Set("rows", rows)
		return nil
	}
	col := "SYSCALL"
	if o.process {
		col = "PID    COMM"
	}
	s.Printf("[%s]\n", time.Now().Format("15:04:05"))
	if o.latency {
		s.Printf("%-22s %8s %16s\n", col, "COUNT", "TIME ("+unit+")")
	} else {
		s.Printf("%-22s %8s\n", col, "COUNT")
	}
	for _, r := range rows {
		key := r.Syscall
		if o.process {
			key = fmt.Sprintf("%-6d %-15s", r.Pid, r.Comm)
		}
		if o.latency {
			s.Printf("%-22s %8d "+timeFmt+"\n", key, r.Count, r.Time)
		} else {
			s.Printf("%-22s %8d\n", key, r.Count)
		}
	}
	s.Printf("\n")
	return nil
}
