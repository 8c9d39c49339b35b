package codegen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"friday/check"
	"friday/internal/testenv"
	"friday/lazybtf"
	"friday/probe"
	"friday/syntax"
	"friday/types"
)

// A case in testdata/*.txt is one or more lines "> script" followed by
// expectations, one per line:
//
//	ok             the program loads
//	insns N        ... and has N instructions in total
//	lookups N      ... and calls map_lookup_elem N times in its code
//	atomics N      ... and has N atomic adds, fetches N atomic fetch-adds
//	error TEXT     generating or loading fails with TEXT in the message
//	run HOW        "BEGIN" runs BEGIN; "getpgid" attaches the tracepoints
//	               and calls getpgid() three times; "exec" attaches them
//	               and runs /bin/true
//	@... / event   expected map contents and events after the run, in order
type testCase struct {
	file   string
	line   int
	script string
	want   []string
}

func readCases(t testing.TB, path string) []testCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	inScript := false
	for i, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, ">"):
			if !inScript {
				cases = append(cases, testCase{file: path, line: i + 1})
			}
			c := &cases[len(cases)-1]
			c.script += strings.TrimPrefix(strings.TrimPrefix(l, ">"), " ") + "\n"
			inScript = true
			continue
		case strings.TrimSpace(l) == "":
		case len(cases) == 0:
			t.Fatalf("%s:%d: text before the first case", path, i+1)
		default:
			c := &cases[len(cases)-1]
			c.want = append(c.want, l)
		}
		inScript = false
	}
	return cases
}

// What the tests know of the machine they run on, shared among them as a
// command shares it among its scripts.
var (
	probes    = probe.NewResolver(loadBTF)
	kernel    = NewKernel(loadBTF)
	loadBTF   = sync.OnceValues(lazybtf.LoadKernel)
	kernelBTF = func() *lazybtf.Spec {
		if spec, err := loadBTF(); err == nil {
			return spec
		}
		return nil
	}
)

// expand resolves attach points on the machine, for the checker.
func expand(ap *syntax.AttachPoint) ([]*probe.Point, error) {
	return probes.Expand(ap, probe.UserOptions{})
}

// compile runs the whole front end and the code generator on src.
func compile(src string) (*Object, error) { return compileWith(src, check.Options{}) }

// compileWith is compile with more check options (Unsafe); the probes,
// the BTF and $1 (the test's pid) are always given.
func compileWith(src string, opts check.Options) (*Object, error) {
	f, err := syntax.Parse("test.bt", []byte(src))
	if err != nil {
		return nil, err
	}
	opts.Expand, opts.BTF, opts.Params = expand, kernelBTF, []string{fmt.Sprint(os.Getpid())}
	p, err := check.Check(f, opts)
	if err != nil {
		return nil, err
	}
	return Generate(p, Options{Kernel: kernel})
}

func load(obj *Object) (*ebpf.Collection, error) {
	return ebpf.NewCollectionWithOptions(obj.CollectionSpec(), ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{LogSizeStart: 1 << 20},
	})
}

func TestLoad(t *testing.T) {
	testenv.BPF(t)
	for _, c := range readCases(t, "testdata/load.txt") {
		where := fmt.Sprintf("%s:%d", c.file, c.line)
		obj, err := compile(c.script)
		var coll *ebpf.Collection
		if err == nil {
			coll, err = load(obj)
		}
		for _, w := range c.want {
			verb, arg, _ := strings.Cut(w, " ")
			switch verb {
			case "ok":
				if err != nil {
					t.Errorf("%s: %v", where, err)
				}
			case "loads":
				// Where the kernel refuses the program's kind outright (as
				// it does fentry without BPF trampolines), only that
				// refusal, which friday explains, is accepted.
				if err != nil && !refusedKind(obj, err) {
					t.Errorf("%s: %v", where, err)
				}
			case "error":
				if err == nil || !strings.Contains(err.Error(), arg) {
					t.Errorf("%s: got error %v, want one containing %q", where, err, arg)
				}
			case "prealloc":
				// "prealloc @m yes": the map's elements are preallocated.
				name, want, _ := strings.Cut(arg, " ")
				got := "missing"
				for _, m := range obj.Maps {
					if m.Name == name {
						got = map[bool]string{true: "yes", false: "no"}[m.Spec.Flags&unix.BPF_F_NO_PREALLOC == 0]
					}
				}
				if got != want {
					t.Errorf("%s: %s preallocated: %s, want %s", where, name, got, want)
				}
			case "ring":
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				size := uint32(0)
				for _, m := range obj.Maps {
					if m.Name == obj.RingBuf {
						size = m.Spec.MaxEntries
					}
				}
				if fmt.Sprint(size) != arg {
					t.Errorf("%s: a ring buffer of %d bytes, want %s", where, size, arg)
				}
			case "insns", "lookups", "atomics", "fetches", "loops":
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if n := countCode(obj, verb); fmt.Sprint(n) != arg {
					var b strings.Builder
					Dump(&b, obj)
					t.Errorf("%s: %d %s, want %s\n%s", where, n, verb, arg, b.String())
				}
			default:
				t.Fatalf("%s: unknown expectation %q", where, w)
			}
		}
		if coll != nil {
			coll.Close()
		}
	}
}

// countCode counts the instructions of obj's programs ("insns"), their
// lookups of the script's maps, not of the lost events' counters
// ("lookups"), their calls of bpf_loop ("loops"), or their atomic adds
// without ("atomics") or with the old value fetched ("fetches").
func countCode(obj *Object, what string) int {
	n := 0
	for _, p := range obj.Programs {
		m := ""
		for _, ins := range p.Insns {
			switch what {
			case "insns":
				n++
				continue
			case "atomics", "fetches":
				op := ins.OpCode.AtomicOp()
				if op == asm.AddAtomic && what == "atomics" || op == asm.FetchAdd && what == "fetches" {
					n++
				}
				continue
			}
			if ins.IsLoadFromMap() && ins.Dst == asm.R1 {
				m = ins.Reference()
			}
			switch {
			case !ins.IsBuiltinCall():
			case what == "loops" && ins.Constant == int64(asm.FnLoop),
				what == "lookups" && ins.Constant == int64(asm.FnMapLookupElem) && strings.HasPrefix(m, "AT_"):
				n++
			}
		}
	}
	return n
}

// refusedKind reports whether err is the kernel refusing to load any
// program of the kind of obj's points, whatever their code.
func refusedKind(obj *Object, err error) bool {
	if obj == nil {
		return false
	}
	for _, p := range obj.Programs {
		for _, pt := range p.Points {
			if probe.LoadError(pt, err) != nil {
				return true
			}
		}
	}
	return false
}

func TestRun(t *testing.T) {
	testenv.BPF(t)
	for _, c := range readCases(t, "testdata/run.txt") {
		where := fmt.Sprintf("%s:%d", c.file, c.line)
		if len(c.want) == 0 || !strings.HasPrefix(c.want[0], "run ") {
			t.Fatalf("%s: case must start with a run line", where)
		}
		got, err := runCase(c.script, strings.TrimPrefix(c.want[0], "run "))
		if err != nil {
			got = []string{"error " + err.Error()}
		}
		want := c.want[1:]
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got:\n\t%s\nwant:\n\t%s", where, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
}

// runCase loads a script, runs it and describes its events and maps.
func runCase(src, how string) ([]string, error) {
	obj, err := compile(src)
	if err != nil {
		return nil, err
	}
	coll, err := load(obj)
	if err != nil {
		return nil, err
	}
	defer coll.Close()
	var rd *ringbuf.Reader
	if obj.RingBuf != "" {
		rd, err = ringbuf.NewReader(coll.Maps[obj.RingBuf])
		if err != nil {
			return nil, err
		}
		defer rd.Close()
	}
	for _, p := range obj.Programs {
		prog := coll.Programs[p.Name]
		for _, pt := range p.Points {
			switch {
			case pt.Provider == "begin" && how == "BEGIN":
				if _, err := prog.Run(&ebpf.RunOptions{}); err != nil {
					return nil, err
				}
			case pt.Provider == "tracepoint" && how == "getpgid":
				l, err := probes.Attach(pt, prog)
				if err != nil {
					return nil, err
				}
				for i := 0; i < 3; i++ {
					unix.Getpgid(0)
				}
				l.Close()
			case pt.Provider == "tracepoint" && how == "exec":
				l, err := probes.Attach(pt, prog)
				if err != nil {
					return nil, err
				}
				err = exec.Command("/bin/true").Run()
				l.Close()
				if err != nil {
					return nil, err
				}
			}
		}
	}
	var out []string
	if rd != nil {
		recs, err := readRecords(rd)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			out = append(out, describeEvent(obj, rec))
		}
	}
	for _, m := range obj.Maps {
		if m.Internal {
			continue
		}
		out = append(out, describeMap(m, coll.Maps[m.Spec.Name])...)
	}
	return out, nil
}

// readRecords returns the records waiting in rd, once none has come for
// 100ms.
func readRecords(rd *ringbuf.Reader) ([][]byte, error) {
	var recs [][]byte
	rd.SetDeadline(time.Now().Add(100 * time.Millisecond))
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec.RawSample)
	}
}

func describeEvent(obj *Object, b []byte) string {
	id := binary.NativeEndian.Uint64(b)
	ev := obj.Events[id]
	kind := map[EventKind]string{Printf: "printf", Exit: "exit", Print: "print", PrintMap: "print", ClearMap: "clear", ZeroMap: "zero", Time: "time", Errorf: "errorf", Join: "join"}[ev.Kind]
	s := fmt.Sprintf("event %s %q", kind, ev.Format+ev.Map)
	args := b[8:]
	if len(ev.Packed) > 0 {
		var err error
		if args, err = ev.Unpack(nil, args); err != nil {
			return err.Error()
		}
	}
	for _, fd := range ev.Layout.Fields {
		s += " " + describeValue(fd.Type, args[fd.Offset:fd.Offset+fd.Type.Size])
	}
	return s
}

func describeValue(t *types.Type, b []byte) string {
	switch t.Kind {
	case types.String:
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return fmt.Sprintf("%q", b)
	case types.Tuple, types.Record:
		parts := make([]string, len(t.Fields))
		for i, fd := range t.Fields {
			parts[i] = describeValue(fd.Type, b[fd.Offset:fd.Offset+fd.Type.Size])
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case types.Array:
		// join()'s strings, up to the first empty one.
		var parts []string
		for i := 0; i < t.Len; i++ {
			e := b[i*t.Elem.Size : (i+1)*t.Elem.Size]
			if !slices.ContainsFunc(e, func(c byte) bool { return c != 0 }) {
				break
			}
			parts = append(parts, describeValue(t.Elem, e))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	var u uint64
	switch len(b) {
	case 1:
		u = uint64(b[0])
	case 2:
		u = uint64(binary.NativeEndian.Uint16(b))
	case 4:
		u = uint64(binary.NativeEndian.Uint32(b))
	default:
		u = binary.NativeEndian.Uint64(b)
	}
	if t.Signed {
		shift := 64 - 8*min(len(b), 8)
		return fmt.Sprint(int64(u<<shift) >> shift)
	}
	return fmt.Sprint(u)
}

// describeMap prints "@name[key] = value" lines sorted by key; per-CPU
// values are summed (or, for min/max, shown per set CPU's extreme; for
// tseries, merged interval by interval).
func describeMap(m *Map, bm *ebpf.Map) []string {
	var lines []string
	key := make([]byte, bm.KeySize())
	var prev any
	for {
		if err := bm.NextKey(prev, &key); err != nil {
			break
		}
		k := bytes.Clone(key)
		prev = k
		var vals [][]byte
		if m.PerCPU {
			if err := bm.Lookup(k, &vals); err != nil {
				continue
			}
		} else {
			v := make([]byte, bm.ValueSize())
			if err := bm.Lookup(k, &v); err != nil {
				continue
			}
			vals = [][]byte{v}
		}
		keyType := m.Key
		if m.Value.Kind == types.Hist || m.Value.Kind == types.Lhist {
			keyType = HistKey(m.Key)
		}
		if HistArray(m) {
			// Buckets held in an array: those that counted, by index.
			if combineValue(m.Value, vals) == "0" {
				continue
			}
			k = binary.NativeEndian.AppendUint64(nil, uint64(binary.NativeEndian.Uint32(k)))
		}
		ks := ""
		if keyType != nil {
			ks = "[" + describeValue(keyType, k) + "]"
		}
		lines = append(lines, fmt.Sprintf("%s%s = %s", m.Name, ks, combineValue(m.Value, vals)))
	}
	sort.Strings(lines)
	return lines
}

func combineValue(t *types.Type, vals [][]byte) string {
	u := func(b []byte, off int) uint64 { return binary.NativeEndian.Uint64(b[off:]) }
	switch t.Kind {
	case types.Count, types.Sum, types.Hist, types.Lhist:
		var s uint64
		for _, v := range vals {
			s += u(v, 0)
		}
		if t.Signed {
			return fmt.Sprint(int64(s))
		}
		return fmt.Sprint(s)
	case types.Min, types.Max:
		var best int64
		set := false
		for _, v := range vals {
			if u(v, 8) == 0 {
				continue
			}
			x := int64(u(v, 0))
			if !set || t.Kind == types.Min && x < best || t.Kind == types.Max && x > best {
				best, set = x, true
			}
		}
		return fmt.Sprint(best)
	case types.Avg, types.Stats:
		var n, tot uint64
		for _, v := range vals {
			n += u(v, 0)
			tot += u(v, 8)
		}
		return fmt.Sprintf("count %d total %d", n, int64(tot))
	case types.Tseries:
		// The intervals' values oldest first; their epochs depend on when
		// the test ran.
		var parts []string
		for _, pt := range TseriesPoints(t, TseriesMerge(t, vals)) {
			parts = append(parts, describeValue(t, binary.NativeEndian.AppendUint64(nil, pt.Value)))
		}
		return "tseries " + strings.Join(parts, " ")
	}
	// Another per-CPU value is that of the CPU the test set it on.
	v := vals[0]
	for _, w := range vals {
		if slices.ContainsFunc(w[:t.Size], func(b byte) bool { return b != 0 }) {
			v = w
			break
		}
	}
	return describeValue(t, v[:t.Size])
}
