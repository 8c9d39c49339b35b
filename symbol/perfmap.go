package symbol

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// perfSym is one line of a JIT's /tmp/perf-PID.map: "START SIZE name",
// hex numbers, written by runtimes such as the JVM, V8 and LuaJIT.
type perfSym struct {
	start, size uint64
	name        string
}

func readPerfMap(pid int) []perfSym {
	if syms, err := parsePerfMapFile(fmt.Sprintf("/tmp/perf-%d.map", pid)); err == nil {
		return syms
	}
	// A process in another PID namespace writes the file under its own
	// pid, inside its own root. Most processes share friday's, which a
	// link tells more cheaply than the process's status.
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if self, _ := os.Readlink("/proc/self/ns/pid"); err != nil || ns == self {
		return nil
	}
	if n := nsPid(pid); n != 0 && n != pid {
		if syms, err := parsePerfMapFile(fmt.Sprintf("/proc/%d/root/tmp/perf-%d.map", pid, n)); err == nil {
			return syms
		}
	}
	return nil
}

// nsPid is pid as the process sees it in its innermost PID namespace.
func nsPid(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[len(f)-1])
				return n
			}
		}
	}
	return 0
}

func parsePerfMapFile(path string) ([]perfSym, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var syms []perfSym
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		// Names may contain spaces, so split only the first two fields.
		parts := strings.SplitN(strings.TrimSpace(sc.Text()), " ", 3)
		if len(parts) != 3 {
			continue
		}
		start, err1 := strconv.ParseUint(strings.TrimPrefix(parts[0], "0x"), 16, 64)
		size, err2 := strconv.ParseUint(strings.TrimPrefix(parts[1], "0x"), 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		syms = append(syms, perfSym{start, size, parts[2]})
	}
	// JITs append as they compile, and code space is reused: the entry
	// written last wins for the same start.
	sort.SliceStable(syms, func(i, j int) bool { return syms[i].start < syms[j].start })
	out := syms[:0]
	for _, s := range syms {
		if len(out) > 0 && out[len(out)-1].start == s.start {
			out[len(out)-1] = s
			continue
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func lookupPerfMap(syms []perfSym, addr uint64) (Frame, bool) {
	i := sort.Search(len(syms), func(i int) bool { return syms[i].start > addr }) - 1
	if i < 0 || addr >= syms[i].start+syms[i].size {
		return Frame{}, false
	}
	return Frame{Name: syms[i].name, Offset: addr - syms[i].start, Module: "[jit]"}, true
}
