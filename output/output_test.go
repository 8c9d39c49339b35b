package output

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"friday/codegen"
	"friday/run"
	"friday/types"
)

// The cases in testdata/*.txt are chunks that start with "### name". A
// chunk has commands, then the expected output in one or both formats
// after "--- text" and "--- json" lines (everything up to the next marker,
// blank lines included). Commands:
//
//	ksym ADDR NAME             a kernel symbol (frames resolve to the
//	usym ADDR NAME MODULE      closest symbol below them; "-" ends one)
//	stack kernel|user ID ADDR...
//	buildid ID FRAME...        a ustack(build_id) stack; a frame is
//	                           BUILDID@OFFSET, or ADDR when the build id
//	                           was not read
//	probes NAME...             the probe builtin's names by id
//	trailer "TEXT"             str_trunc_trailer (".." unless given)
//	strftime ID "FORMAT"       a strftime format event
//	cgroupfilter ID "FILTER"   a cgroup_path() filter event; the fake
//	                           symbolizer shows the filter before the path
//	now RFC3339                the time time() prints; boot is at the epoch
//	attached N | lost N | exit
//	map @NAME KEYTYPE VALTYPE  a map (KEYTYPE "-" for none), then entries:
//	KEY => VALUE               (just "=> VALUE" without keys; a tseries
//	                           value is {EPOCH=VALUE, ...}, TAI = UTC)
//	print @NAME [TOP [DIV]]
//	value TYPE LITERAL         print(value)
//	printf "FORMAT" TYPE LITERAL, TYPE LITERAL, ...
//	join "SEP" TYPE LITERAL
//	errorf "FORMAT" TYPE LITERAL, ...   (the message, at stdin:1:9)
//	warnf "FORMAT" TYPE LITERAL, ...
//	time "FORMAT"
//	cat "TEXT"                 cat() output
//	system "TEXT"              the output of a command run by system()
func TestOutput(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test data: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range splitCases(string(data)) {
			t.Run(filepath.Base(file)+"/"+c.name, func(t *testing.T) {
				for _, format := range []string{"text", "json"} {
					want, ok := c.want[format]
					if !ok {
						continue
					}
					got, err := runCase(c.cmds, format)
					if err != nil {
						t.Fatalf("%s:%d: %v", file, c.line, err)
					}
					if got != want {
						t.Errorf("%s:%d: %s output differs\ngot:\n%s\nwant:\n%s", file, c.line, format, quoteLines(got), quoteLines(want))
					}
				}
			})
		}
	}
}

// quoteLines shows each line with a visible end, so that trailing spaces
// and blank lines show.
func quoteLines(s string) string {
	return strings.ReplaceAll(s, "\n", "$\n")
}

type testCase struct {
	name string
	line int
	cmds []string
	want map[string]string
}

func splitCases(data string) []*testCase {
	var cases []*testCase
	var c *testCase
	block := ""
	for i, line := range strings.SplitAfter(data, "\n") {
		trimmed := strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(trimmed, "### "):
			c = &testCase{name: strings.TrimPrefix(trimmed, "### "), line: i + 1, want: map[string]string{}}
			cases = append(cases, c)
			block = ""
		case c == nil:
		case trimmed == "--- text" || trimmed == "--- json":
			block = trimmed[4:]
			c.want[block] = ""
		case block != "":
			c.want[block] += line
		case strings.TrimSpace(trimmed) != "" && !strings.HasPrefix(trimmed, "#"):
			c.cmds = append(c.cmds, trimmed)
		}
	}
	return cases
}

// fakeSymbols resolves from tables given by the test case.
type fakeSymbols struct {
	kernel, user []fakeSym
	// preparedOnly has kernel addresses resolve only once given to
	// PrepareKernel, as a map's are before it is printed.
	preparedOnly bool
	prepared     map[uint64]bool
	stacks       map[string][]uint64
	buildIDs     map[uint64][]run.BuildIDFrame
}

type fakeSym struct {
	addr         uint64
	name, module string
}

func lookup(syms []fakeSym, addr uint64) Sym {
	i := sort.Search(len(syms), func(i int) bool { return syms[i].addr > addr })
	if i == 0 {
		return Sym{}
	}
	s := syms[i-1]
	if s.name == "-" {
		return Sym{}
	}
	return Sym{Name: s.name, Offset: addr - s.addr, Module: s.module}
}

func (f *fakeSymbols) Kernel(addr uint64) Sym {
	if f.preparedOnly && !f.prepared[addr] {
		return Sym{}
	}
	return lookup(f.kernel, addr)
}
func (f *fakeSymbols) PrepareKernel(addrs []uint64) {
	for _, a := range addrs {
		f.prepared[a] = true
	}
}
func (f *fakeSymbols) User(pid uint32, addr uint64) Sym { return lookup(f.user, addr) }
func (f *fakeSymbols) CgroupPath(id uint64, filter string) string {
	p := "/sys/fs/cgroup/test/" + strconv.FormatUint(id, 10)
	if filter != "" {
		p = filter + ":" + p
	}
	return p
}
func (f *fakeSymbols) Stack(user bool, depth int, id uint64) []uint64 {
	return f.stacks[fmt.Sprint(user, id)]
}
func (f *fakeSymbols) BuildIDStack(depth int, id uint64) []run.BuildIDFrame {
	return f.buildIDs[id]
}

func runCase(cmds []string, format string) (string, error) {
	var out bytes.Buffer
	sym := &fakeSymbols{stacks: map[string][]uint64{}, buildIDs: map[uint64][]run.BuildIDFrame{}, prepared: map[uint64]bool{}}
	obj := &codegen.Object{StrTrailer: ".."}
	p, err := New(&out, format, obj, sym)
	if err != nil {
		return "", err
	}
	p.loc = time.UTC
	p.bootBase = time.Unix(0, 0)
	p.taiOffset = 0
	p.users = newUserNames("testdata/passwd")
	p.Log = &out
	maps := map[string]*codegen.Map{}
	entries := map[string][]run.Entry{}
	var cur string
	for _, cmd := range cmds {
		if err := runCommand(p, sym, obj, maps, entries, &cur, cmd); err != nil {
			return "", fmt.Errorf("%s: %v", cmd, err)
		}
	}
	if err := p.Flush(); err != nil {
		return "", err
	}
	return out.String(), nil
}

func runCommand(p *Printer, sym *fakeSymbols, obj *codegen.Object, maps map[string]*codegen.Map, entries map[string][]run.Entry, cur *string, cmd string) error {
	verb, rest, _ := strings.Cut(strings.TrimSpace(cmd), " ")
	fields := strings.Fields(rest)
	num := func(s string) uint64 {
		n, _ := strconv.ParseUint(s, 0, 64)
		return n
	}
	switch verb {
	case "ksym":
		sym.kernel = append(sym.kernel, fakeSym{addr: num(fields[0]), name: fields[1]})
		sort.Slice(sym.kernel, func(i, j int) bool { return sym.kernel[i].addr < sym.kernel[j].addr })
	case "ksym-prepared-only":
		sym.preparedOnly = true
	case "usym":
		sym.user = append(sym.user, fakeSym{addr: num(fields[0]), name: fields[1], module: fields[2]})
		sort.Slice(sym.user, func(i, j int) bool { return sym.user[i].addr < sym.user[j].addr })
	case "stack":
		var addrs []uint64
		for _, f := range fields[2:] {
			addrs = append(addrs, num(f))
		}
		sym.stacks[fmt.Sprint(fields[0] == "user", num(fields[1]))] = addrs
	case "buildid":
		var frames []run.BuildIDFrame
		for _, f := range fields[1:] {
			id, off, ok := strings.Cut(f, "@")
			if !ok {
				frames = append(frames, run.BuildIDFrame{Offset: num(f)})
				continue
			}
			fr := run.BuildIDFrame{Valid: true, Offset: num(off)}
			if _, err := hex.Decode(fr.ID[:], []byte(id)); err != nil {
				return err
			}
			frames = append(frames, fr)
		}
		sym.buildIDs[num(fields[0])] = frames
	case "probes":
		obj.ProbeNames = fields
	case "trailer":
		t, err := strconv.Unquote(rest)
		if err != nil {
			return err
		}
		obj.StrTrailer = t
	case "strftime", "cgroupfilter":
		f, err := strconv.Unquote(strings.TrimSpace(strings.TrimPrefix(rest, fields[0])))
		if err != nil {
			return err
		}
		kind := codegen.Strftime
		if verb == "cgroupfilter" {
			kind = codegen.CgroupFilter
		}
		obj.Events = append(obj.Events, &codegen.Event{ID: num(fields[0]), Kind: kind, Format: f})
	case "now":
		now, err := time.Parse(time.RFC3339Nano, rest)
		if err != nil {
			return err
		}
		p.clock = func() time.Time { return now }
	case "attached":
		return p.Attached(int(num(rest)))
	case "lost":
		return p.Lost(num(rest))
	case "exit":
		return p.ExitMaps()
	case "cat", "system":
		s, err := strconv.Unquote(rest)
		if err != nil {
			return err
		}
		if verb == "system" {
			return p.Syscall([]byte(s))
		}
		return p.Text([]byte(s))
	case "map":
		l, err := lex(rest)
		if err != nil {
			return err
		}
		m := &codegen.Map{Name: l.next()}
		if l.peek() == "-" {
			l.next()
		} else if m.Key, err = l.parseType(); err != nil {
			return err
		}
		if m.Value, err = l.parseType(); err != nil {
			return err
		}
		maps[m.Name] = m
		entries[m.Name] = []run.Entry{}
		*cur = m.Name
	case "print":
		m := maps[fields[0]]
		if m == nil {
			return fmt.Errorf("no map %s", fields[0])
		}
		var top, div uint64
		if len(fields) > 1 {
			top = num(fields[1])
		}
		if len(fields) > 2 {
			div = num(fields[2])
		}
		return p.Map(m, entries[m.Name], top, div)
	case "value", "printf", "join", "errorf", "warnf":
		return eventCommand(p, verb, rest)
	case "time":
		f, err := strconv.Unquote(rest)
		if err != nil {
			return err
		}
		return p.Event(&codegen.Event{Kind: codegen.Time, Format: f}, nil)
	default:
		if strings.Contains(cmd, "=>") {
			m := maps[*cur]
			if m == nil {
				return fmt.Errorf("entry without a map")
			}
			es, err := mapEntries(m, cmd)
			if err != nil {
				return err
			}
			entries[m.Name] = append(entries[m.Name], es...)
			return nil
		}
		return fmt.Errorf("unknown command %q", verb)
	}
	return nil
}

var eventIDs uint64

// eventCommand builds the record of a print, printf or join event.
func eventCommand(p *Printer, verb, rest string) error {
	l, err := lex(rest)
	if err != nil {
		return err
	}
	// Each command is an event of its own: the printer keeps parsed
	// formats by event ID.
	eventIDs++
	ev := &codegen.Event{ID: eventIDs, Kind: codegen.Print}
	switch verb {
	case "printf":
		ev.Kind = codegen.Printf
	case "join":
		ev.Kind = codegen.Join
	case "errorf", "warnf":
		ev.Kind, ev.Pos, ev.Warn = codegen.Errorf, "stdin:1:9", verb == "warnf"
	}
	if verb != "value" {
		if ev.Format, err = strconv.Unquote(l.next()); err != nil {
			return err
		}
	}
	var ts []*types.Type
	var vals [][]byte
	for l.peek() != "" {
		if len(ts) > 0 {
			if err := l.expect(","); err != nil {
				return err
			}
		}
		t, err := l.parseType()
		if err != nil {
			return err
		}
		v := make([]byte, t.Size)
		if err := l.parseValue(t, v); err != nil {
			return err
		}
		ts = append(ts, t)
		vals = append(vals, v)
	}
	ev.Layout = types.TupleOf(ts...)
	rec := make([]byte, ev.Layout.Size)
	for i, f := range ev.Layout.Fields {
		copy(rec[f.Offset:], vals[i])
	}
	return p.Event(ev, rec)
}

// mapEntries turns "KEY => VALUE" into the map's raw entries; hist and
// lhist samples become one entry per bucket.
func mapEntries(m *codegen.Map, line string) ([]run.Entry, error) {
	ks, vs, _ := strings.Cut(line, "=>")
	var key []byte
	if m.Key != nil {
		kl, err := lex(ks)
		if err != nil {
			return nil, err
		}
		key = make([]byte, m.Key.Size)
		if err := kl.parseValue(m.Key, key); err != nil {
			return nil, err
		}
	} else {
		key = make([]byte, 8)
	}
	vl, err := lex(vs)
	if err != nil {
		return nil, err
	}
	t := m.Value
	switch t.Kind {
	case types.Hist, types.Lhist:
		samples, err := vl.samples()
		if err != nil {
			return nil, err
		}
		counts := map[int]uint64{}
		for _, s := range samples {
			if t.Kind == types.Hist {
				counts[HistBucket(s, t.Bits)]++
			} else {
				counts[LhistBucket(s, t.Min, t.Max, t.Step)]++
			}
		}
		if m.Key == nil {
			key = nil
		}
		base := (len(key) + 7) / 8 * 8
		var out []run.Entry
		// A "zeroed" entry: {} with a bucket list after it keeps the
		// buckets with count 0, as zero() leaves them.
		for _, idx := range zeroedBuckets(vl) {
			counts[idx] += 0
		}
		for idx, c := range counts {
			k := make([]byte, base+8)
			copy(k, key)
			ne.PutUint64(k[base:], uint64(idx))
			v := make([]byte, 8)
			ne.PutUint64(v, c)
			out = append(out, run.Entry{Key: k, Value: v})
		}
		return out, nil
	case types.Avg, types.Stats:
		samples, err := vl.samples()
		if err != nil {
			return nil, err
		}
		v := make([]byte, 16)
		var total int64
		for _, s := range samples {
			total += s
		}
		ne.PutUint64(v, uint64(len(samples)))
		ne.PutUint64(v[8:], uint64(total))
		return []run.Entry{{Key: key, Value: v}}, nil
	case types.Tseries:
		v, err := tseriesValue(vl, t)
		if err != nil {
			return nil, err
		}
		return []run.Entry{{Key: key, Value: v}}, nil
	case types.Count, types.Sum, types.Min, types.Max:
		n, err := vl.int()
		if err != nil {
			return nil, err
		}
		v := make([]byte, 16)
		ne.PutUint64(v, uint64(n))
		ne.PutUint64(v[8:], 1)
		return []run.Entry{{Key: key, Value: v[:codegen.ValueSize(t)]}}, nil
	}
	v := make([]byte, t.Size)
	if err := vl.parseValue(t, v); err != nil {
		return nil, err
	}
	return []run.Entry{{Key: key, Value: v}}, nil
}

// zeroedBuckets reads an optional "zero N N ..." after hist samples.
func zeroedBuckets(l *lexer) []int {
	var out []int
	if l.peek() != "zero" {
		return nil
	}
	l.next()
	for l.peek() != "" {
		n, _ := l.int()
		out = append(out, int(n))
	}
	return out
}

// tseriesValue reads {EPOCH=VALUE, ...}: the intervals of a tseries that
// hold a value, each in its slot with a count of 1.
func tseriesValue(l *lexer, t *types.Type) ([]byte, error) {
	v := make([]byte, codegen.TseriesSize(t))
	if err := l.expect("{"); err != nil {
		return nil, err
	}
	for l.peek() != "}" {
		epoch, err := l.int()
		if err != nil {
			return nil, err
		}
		if err := l.expect("="); err != nil {
			return nil, err
		}
		n, err := l.int()
		if err != nil {
			return nil, err
		}
		slot := v[uint64(epoch)%uint64(t.Max)*codegen.TseriesSlot:]
		ne.PutUint64(slot, uint64(epoch))
		ne.PutUint64(slot[8:], uint64(n))
		ne.PutUint64(slot[16:], 1)
		if l.peek() == "," {
			l.next()
		}
	}
	return v, l.expect("}")
}
