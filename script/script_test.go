package script

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"friday/internal/testenv"
)

// Two scripts compiled and run at the same time in one process, sharing
// a host, each counting system calls of its own that this test makes:
// their maps are read, printed and cleared while they run, and what they
// print reaches their own output and callbacks.
func TestConcurrentScripts(t *testing.T) {
	testenv.BPF(t)
	pid := strconv.Itoa(os.Getpid())
	host := NewHost()
	// getpgid(v) and getsid(v) with arguments no process has fail, but
	// their tracepoints see v: the scripts aggregate what the test passes.
	const pgids = `
BEGIN { @limit = getopt("limit", 0); }
tracepoint:syscalls:sys_enter_getpgid /pid == $1/ {
	@calls = count();
	@lin = lhist(args.pid, 0, 100, 10);
	@sum = sum(args.pid);
}`
	const sids = `
tracepoint:syscalls:sys_enter_getsid /pid == $1/ {
	printf("sid %d\n", args.pid);
	@sids[args.pid] = count();
}
END { printf("end\n"); }`
	var a, b *Program
	var aErr, bErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		a, aErr = Compile("pgids.bt", []byte(pgids), Options{Host: host, Params: []string{pid}, Named: map[string]string{"limit": "7"}})
	})
	wg.Go(func() {
		b, bErr = Compile("sids.bt", []byte(sids), Options{Host: host, Params: []string{pid}})
	})
	wg.Wait()
	if aErr != nil || bErr != nil {
		t.Fatalf("compiling: %v; %v", aErr, bErr)
	}
	if got := fmt.Sprint(a.Getopts()); got != "[limit]" {
		t.Errorf("getopts = %s, want [limit]", got)
	}
	var names []string
	for _, p := range b.Points() {
		names = append(names, p.Provider+" "+p.Name)
	}
	if got, want := strings.Join(names, ", "), "tracepoint tracepoint:syscalls:sys_enter_getsid, end END"; got != want {
		t.Errorf("points = %s, want %s", got, want)
	}

	var mainCalls atomic.Int32
	onMain := func(f func()) { mainCalls.Add(1); f() }
	var aOut, bOut bytes.Buffer
	var events []string
	var exitMaps []string
	// The callbacks read maps while the events are handled.
	var running atomic.Pointer[Run]
	seen := 0
	ra, err := a.Start(context.Background(), RunOptions{Output: &aOut, Quiet: true, OnMainThread: onMain})
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Stop()
	rb, err := b.Start(context.Background(), RunOptions{
		Output:       &bOut,
		OnMainThread: onMain,
		Event: func(e *Event) error {
			events = append(events, fmt.Sprintf("%q %v", e.Format, e.Args()))
			for i := range e.Len() {
				if got, want := string(e.AppendText([]byte("x"), i)), "x"+e.Str(i); got != want {
					t.Errorf("%q: argument %d appended as %q, want %q", e.Format, i, got, want)
				}
			}
			if r := running.Load(); r != nil && e.Format == "end\n" {
				m, err := r.Map("@sids")
				if err != nil {
					return err
				}
				seen = len(m.Raw)
			}
			return nil
		},
		Map: func(m *Map) error {
			exitMaps = append(exitMaps, m.Name)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Stop()
	running.Store(rb)

	for _, v := range []int{5, 15, 15, 95, 150} {
		unix.Getpgid(-v)
	}
	for _, v := range []int{3, 4, 4} {
		unix.Getsid(-v)
	}
	// Maps are updated as the calls are made: they hold them all now.
	checkEntries(t, ra, "@calls", "[{[] 5}]")
	checkEntries(t, ra, "@sum", "[{[] -280}]")
	checkEntries(t, rb, "@sids", "[{[-3] 1} {[-4] 2}]", "[{[-4] 2} {[-3] 1}]")
	maps, err := ra.Maps()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range maps {
		got = append(got, m.Name)
	}
	if want := "@calls @limit @lin @sum"; strings.Join(got, " ") != want {
		t.Errorf("maps = %v, want %s", got, want)
	}
	if err := ra.PrintMap("@calls"); err != nil {
		t.Fatal(err)
	}
	if err := ra.ClearMap("@calls"); err != nil {
		t.Fatal(err)
	}
	// A map without keys is an array: clearing zeroes its one value.
	checkEntries(t, ra, "@calls", "[{[] 0}]")
	unix.Getpgid(-25)
	unix.Getpgid(-25)
	checkEntries(t, ra, "@calls", "[{[] 2}]")
	checkEntries(t, ra, "@limit", "[{[] 7}]")
	if _, err := ra.Map("@nothing"); err == nil {
		t.Error("reading a map the script does not have gave no error")
	}

	m, err := ra.Map("@lin")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := m.Entries()
	if err != nil || len(entries) != 1 {
		t.Fatalf("@lin: %v, %v", entries, err)
	}
	// The arguments are negative: getpgid and getsid take them as pids.
	want := []Bucket{{math.MinInt64, -1, 7}}
	for lo := int64(0); lo < 100; lo += 10 {
		want = append(want, Bucket{lo, lo + 9, 0})
	}
	want = append(want, Bucket{100, math.MaxInt64, 0})
	if !reflect.DeepEqual(entries[0].Value, want) {
		t.Errorf("@lin = %v, want %v", entries[0].Value, want)
	}

	ra.Stop()
	rb.Stop()
	if err := ra.Wait(); err != nil {
		t.Errorf("pgids: %v", err)
	}
	if err := rb.Wait(); err != nil {
		t.Errorf("sids: %v", err)
	}
	if _, err := ra.Map("@calls"); err == nil {
		t.Error("reading a map after the end gave no error")
	}
	if out := aOut.String(); !strings.HasPrefix(out, "@calls: 5\n") || !strings.Contains(out, "\n@calls: 2\n") {
		t.Errorf("pgids printed:\n%s", out)
	}
	if out := bOut.String(); !strings.HasPrefix(out, "sid -3\nsid -4\nsid -4\nend\n") {
		t.Errorf("sids printed:\n%s", out)
	}
	if got, want := strings.Join(events, "; "), `"sid %d\n" [-3]; "sid %d\n" [-4]; "sid %d\n" [-4]; "end\n" []`; got != want {
		t.Errorf("events: %s, want %s", got, want)
	}
	if seen != 2 {
		t.Errorf("END's printf saw %d keys of @sids, want 2", seen)
	}
	if fmt.Sprint(exitMaps) != "[@sids]" {
		t.Errorf("maps printed at exit: %v", exitMaps)
	}
	// BEGIN of one, END of the other.
	if n := mainCalls.Load(); n != 2 {
		t.Errorf("%d runs on the main thread, want 2", n)
	}
}

// checkEntries compares the decoded entries of a running script's map
// with any of the texts want.
func checkEntries(t *testing.T, r *Run, name string, want ...string) {
	t.Helper()
	m, err := r.Map(name)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := m.Entries()
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(entries)
	for _, w := range want {
		if got == w {
			return
		}
	}
	t.Errorf("%s = %s, want %s", name, got, strings.Join(want, " or "))
}
