package tools

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"friday/internal/testenv"
	"friday/probe"
	"friday/script"
	"friday/tool"
)

// The tools are tested against workloads whose truth is known: each case
// of testdata/*.txt (see testdata/README.md) runs a tool twice at once,
// printing text and JSON, while a workload runs, and checks what the JSON
// reports (facts) and how the text looks. It runs once per variant of the
// tool that can attach here; a variant whose kind of probe the kernel
// lacks must still load, through the verifier.
func TestTools(t *testing.T) {
	testenv.BPF(t)
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	host := script.NewHost()
	for _, file := range files {
		cases, err := parseCases(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			tl := Lookup(c.tool)
			if tl == nil {
				t.Errorf("%s:%d: no tool %q", c.file, c.line, c.tool)
				continue
			}
			for _, v := range tl.Variants {
				t.Run(c.tool+"/"+c.name+"/"+v.Name, func(t *testing.T) {
					vars := setupCase(t, c)
					if attachable(t, tl, v, host, c, vars) {
						runCase(t, c, tl, v, host, vars)
					}
				})
			}
		}
	}
}

// attachable says whether variant v of tl can run the case here: its
// kind of probe works on this kernel, and it serves the case's flags
// (a variant serves the options its script reads). One that cannot
// attach because the kernel lacks its kind of probe must still load,
// through the verifier, where its kind loads.
func attachable(t *testing.T, tl *tool.Tool, v *tool.Variant, host *script.Host, c *toolCase, vars map[string]string) bool {
	_, rungs := tool.Choose(&tool.Tool{Name: tl.Name, Variants: []*tool.Variant{v}}, host)
	last := rungs[len(rungs)-1]
	lacking := last.Err != nil && errors.Is(last.Err, probe.ErrKindUnsupported)
	if lacking && last.Stage != tool.Checking {
		t.Logf("%s does not load here: %v", v.File, last.Err)
		return false
	}
	var stdout, stderr bytes.Buffer
	args := append(c.args(vars), "--dry-run", "--variant", v.Name)
	if code := tl.Main(context.Background(), tool.Env{Stdout: &stdout, Stderr: &stderr, Host: host}, args); code != 0 {
		if strings.Contains(stderr.String(), "does not support --") || strings.Contains(stderr.String(), "does not serve these arguments") {
			t.Logf("%s does not serve the flags: %s", v.File, &stderr)
			return false
		}
		if strings.Contains(stderr.String(), "No matches for "+v.Name+" ") && kindMissing(host, v.Name) {
			// The function it probes is not in this kernel either
			// (mdflush's md_flush_request without md).
			t.Logf("%s cannot load here: %s", v.File, &stderr)
			return false
		}
		t.Errorf("%s:%d: --dry-run of %s failed:\n%s", c.file, c.line, v.File, &stderr)
		return false
	}
	if lacking {
		t.Logf("%s loads, cannot attach here: %v", v.File, last.Err)
		return false
	}
	return true
}

// kindMissing says whether the kernel lacks the kind of probe named (a
// kprobe on a function every kernel has cannot attach).
func kindMissing(host *script.Host, kind string) bool {
	v := tool.Ladder(fstest.MapFS{kind + ".bt": {Data: []byte(kind + ":vfs_read {}")}}, ".", kind)[0]
	_, rungs := tool.Choose(&tool.Tool{Variants: []*tool.Variant{v}}, host)
	return errors.Is(rungs[len(rungs)-1].Err, probe.ErrKindUnsupported)
}

// toolCase is one case of a test file.
type toolCase struct {
	file     string
	line     int
	name     string
	tool     string
	argLine  string
	setup    []string
	workload string
	facts    []string
	text     []string
	wait     bool
}

// args are the tool's arguments, variables expanded.
func (c *toolCase) args(vars map[string]string) []string {
	fields := strings.Fields(expand(c.argLine, vars, false))
	return fields[1:]
}

func parseCases(path string) ([]*toolCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cases []*toolCase
	var c *toolCase
	section := ""
	var workload []string
	finish := func() {
		if c != nil {
			c.workload = strings.Join(workload, "\n")
			cases = append(cases, c)
		}
		workload = nil
	}
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "=== "):
			finish()
			c = &toolCase{file: path, line: i + 1, name: strings.TrimPrefix(line, "=== ")}
			section = ""
			continue
		case c == nil:
			continue
		case strings.HasPrefix(line, "--- "):
			section = strings.TrimPrefix(line, "--- ")
			if section == "wait" {
				c.wait = true
			}
			continue
		}
		if strings.TrimSpace(line) == "" && section != "workload" {
			continue
		}
		switch section {
		case "args":
			c.argLine = line
			c.tool = strings.Fields(line)[0]
		case "setup":
			c.setup = append(c.setup, line)
		case "workload":
			workload = append(workload, line)
		case "facts":
			c.facts = append(c.facts, line)
		case "text":
			c.text = append(c.text, line)
		default:
			return nil, fmt.Errorf("%s:%d: text outside a section", path, i+1)
		}
	}
	finish()
	for _, c := range cases {
		if c.tool == "" {
			return nil, fmt.Errorf("%s:%d: case without args", c.file, c.line)
		}
	}
	return cases, nil
}

// expand replaces $NAME by the variable's value (quoted for a regular
// expression when quote is set).
func expand(s string, vars map[string]string, quote bool) string {
	return os.Expand(s, func(name string) string {
		v, ok := vars[name]
		if !ok {
			return "$" + name
		}
		if quote {
			return regexp.QuoteMeta(v)
		}
		return v
	})
}

// lineWriter is a writer that tells when a line matching re has been
// written.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	re   *regexp.Regexp
	seen chan struct{}
}

func newLineWriter(re *regexp.Regexp) *lineWriter {
	return &lineWriter{re: re, seen: make(chan struct{})}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case <-w.seen:
	default:
		for _, l := range strings.Split(w.buf.String(), "\n") {
			if w.re.MatchString(l) {
				close(w.seen)
				break
			}
		}
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// banner is the line a tool says it traces with (bcc's runqlen and
// profile sample).
var banner = regexp.MustCompile(`^(Tracing|Sampling)\b`)

var never = regexp.MustCompile(`\x00`)

// toolRun is the tool running in this process.
type toolRun struct {
	stdout, stderr *lineWriter
	cancel         context.CancelFunc
	done           chan int
}

func startTool(tl *tool.Tool, host *script.Host, args []string) *toolRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &toolRun{stdout: newLineWriter(never), stderr: newLineWriter(banner), cancel: cancel, done: make(chan int, 1)}
	go func() {
		r.done <- tl.Main(ctx, tool.Env{Stdout: r.stdout, Stderr: r.stderr, Host: host}, args)
	}()
	return r
}

// started waits for the tool to say it traces; false if it ended first.
func (r *toolRun) started(timeout time.Duration) bool {
	select {
	case <-r.stderr.seen:
		return true
	case code := <-r.done:
		r.done <- code
		return false
	case <-time.After(timeout):
		return false
	}
}

// setupCase makes what the case needs and returns its variables.
func setupCase(t *testing.T, c *toolCase) map[string]string {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"UID":  strconv.Itoa(os.Getuid()),
		"TMP":  dir,
		"VARS": filepath.Join(dir, "vars"),
		// $WORK runs a workload of this test binary's (see workloads).
		"WORK": "env " + workloadEnv + "=1 " + self,
	}
	for _, s := range c.setup {
		setup(t, s, vars)
	}
	return vars
}

func runCase(t *testing.T, c *toolCase, tl *tool.Tool, v *tool.Variant, host *script.Host, vars map[string]string) {
	where := fmt.Sprintf("%s:%d", c.file, c.line)
	dir := vars["TMP"]
	args := append(c.args(vars), "--variant", v.Name)
	text := startTool(tl, host, args)
	js := startTool(tl, host, append(args, "-f", "json"))
	defer text.cancel()
	defer js.cancel()
	for _, r := range []*toolRun{text, js} {
		if !r.started(20 * time.Second) {
			t.Fatalf("%s: %s did not start:\n%s", where, c.argLine, r.stderr)
		}
	}

	cmd := exec.Command("bash", "-e", "-c", c.workload)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var werr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &werr, &werr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	vars["WORKPID"] = strconv.Itoa(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: workload: %v\n%s", where, err, &werr)
	}
	readVars(t, vars)

	for _, r := range []*toolRun{text, js} {
		if !c.wait {
			// Both at once: neither counts for longer than the other.
			r.cancel()
		}
	}
	for _, r := range []*toolRun{text, js} {
		select {
		case code := <-r.done:
			if code != 0 {
				t.Fatalf("%s: exit status %d\n%s", where, code, r.stderr)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the tool did not end\n%s", where, r.stderr)
		}
	}
	checkText(t, where, text.stdout.String(), c.text, vars)
	records, err := leaves(js.stdout.String())
	if err != nil {
		t.Fatalf("%s: %v\n%s", where, err, js.stdout)
	}
	for _, f := range c.facts {
		f = expand(f, vars, false)
		if err := checkFact(f, records); err != nil {
			t.Errorf("%s: %s: %v\n--- JSON:\n%s--- text:\n%s--- stderr:\n%s", where, f, err, js.stdout, text.stdout, js.stderr)
		}
	}
}

// checkText checks that each pattern matches a line of out, in order.
func checkText(t *testing.T, where, out string, patterns []string, vars map[string]string) {
	lines := strings.Split(out, "\n")
	i := 0
	for _, p := range patterns {
		re, err := regexp.Compile(expand(p, vars, true))
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			t.Errorf("%s: no line matches %q (after those before it)\n--- text:\n%s", where, p, out)
			return
		}
		i++
	}
}

// readVars adds the NAME=VALUE lines the workload wrote to $VARS.
func readVars(t *testing.T, vars map[string]string) {
	f, err := os.Open(vars["VARS"])
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
}

// netnsSeq numbers the network namespaces the cases make.
var netnsSeq atomic.Int64

// setup makes what a case needs, undone when the test ends.
func setup(t *testing.T, what string, vars map[string]string) {
	switch f := strings.Fields(what); f[0] {
	case "loop":
		// A loop device over a file: $DISK is its name, $DISK_DEV its
		// path.
		dev := loopDevice(t, 16<<20)
		vars["DISK"], vars["DISK_DEV"] = filepath.Base(dev), dev
	case "fs":
		// A file system of type f[1] made on a loop device of its own
		// and mounted on $FS; $DISK is the device's name.
		if len(f) != 2 {
			t.Fatalf("setup %q: want fs TYPE", what)
		}
		// 512 MiB, sparse: the least that mkfs.xfs takes is 300.
		dev := loopDevice(t, 512<<20)
		testenv.Run(t, testenv.Tool(t, "mkfs."+f[1]), "-q", dev)
		dir := t.TempDir()
		testenv.Run(t, testenv.Tool(t, "mount"), "-t", f[1], dev, dir)
		t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
		vars["FS"], vars["DISK"] = dir, filepath.Base(dev)
	case "process":
		// A process started before the tool, which its flags may name:
		// $NAME is its pid.
		if len(f) < 3 {
			t.Fatalf("setup %q: want process NAME COMMAND...", what)
		}
		cmd := exec.Command("bash", "-c", "exec "+expand(strings.Join(f[2:], " "), vars, false))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		vars[f[1]] = strconv.Itoa(cmd.Process.Pid)
	case "build":
		// A C program of the test data (with USDT probes of sys/sdt.h):
		// $NAME is its path.
		if len(f) != 3 {
			t.Fatalf("setup %q: want build NAME FILE.c", what)
		}
		gcc := testenv.Tool(t, "gcc")
		bin := filepath.Join(t.TempDir(), f[1])
		testenv.Run(t, gcc, "-O2", "-g0", "-o", bin, filepath.Join("testdata", f[2]))
		vars[f[1]] = bin
	case "cgroup":
		// A cgroup of a v1 hierarchy: $NAME its directory, $NAME_PATH
		// its path in the hierarchy.
		if len(f) != 3 {
			t.Fatalf("setup %q: want cgroup NAME CONTROLLER", what)
		}
		root := cgroupRoot(t, f[2])
		path := fmt.Sprintf("/friday-test-%d-%s", os.Getpid(), strings.ToLower(f[1]))
		dir := root + path
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeCgroup(t, dir, root) })
		vars[f[1]], vars[f[1]+"_PATH"] = dir, path
	case "wait":
		// Until a process of the setup says it is ready.
		path := expand(strings.Join(f[1:], " "), vars, false)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(path); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("setup %q: %s never appeared", what, path)
			}
		}
	case "netns":
		// Two network namespaces joined by a veth pair, named for the
		// test: $A and $B (the names given) are their names, $A_IP and
		// $B_IP their addresses. A veth sends each segment alone (no
		// segmentation offload), as counters count them.
		if len(f) != 3 {
			t.Fatalf("setup %q: want netns A B", what)
		}
		ip := testenv.Tool(t, "ip")
		seq := netnsSeq.Add(1)
		id := fmt.Sprintf("friday-%d-%d", os.Getpid(), seq)
		for i, name := range f[1:] {
			ns := id + "-" + strings.ToLower(name)
			testenv.Run(t, ip, "netns", "add", ns)
			t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
			// The tools see every namespace: addresses of this process
			// and pair keep another test run's connections out of the
			// counts.
			vars[name], vars[name+"_IP"] = ns, fmt.Sprintf("10.%d.%d.%d", os.Getpid()%256, seq%256, i+1)
		}
		a, b := vars[f[1]], vars[f[2]]
		testenv.Run(t, ip, "-n", a, "link", "add", "veth0", "gso_max_segs", "1", "type", "veth",
			"peer", "name", "veth1", "netns", b, "gso_max_segs", "1")
		for i, ns := range []string{a, b} {
			dev := fmt.Sprintf("veth%d", i)
			testenv.Run(t, ip, "-n", ns, "addr", "add", vars[f[i+1]+"_IP"]+"/24", "dev", dev)
			testenv.Run(t, ip, "-n", ns, "link", "set", dev, "up")
			testenv.Run(t, ip, "-n", ns, "link", "set", "lo", "up")
		}
	case "tool":
		// A command the workload needs.
		for _, name := range f[1:] {
			testenv.Tool(t, name)
		}
	default:
		t.Fatalf("unknown setup %q", what)
	}
}

// cgroupRoot is where the v1 hierarchy of controller is mounted.
func cgroupRoot(t *testing.T, controller string) string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[2] == "cgroup" && slices.Contains(strings.Split(f[3], ","), controller) {
			return f[1]
		}
	}
	t.Fatalf("no cgroup v1 hierarchy has the %s controller", controller)
	return ""
}

// removeCgroup moves what is left in the cgroup at dir to the root
// and removes it.
func removeCgroup(t *testing.T, dir, root string) {
	if b, err := os.ReadFile(dir + "/cgroup.procs"); err == nil {
		for _, pid := range strings.Fields(string(b)) {
			os.WriteFile(root+"/cgroup.procs", []byte(pid), 0)
		}
	}
	for range 50 {
		// A cgroup is busy for a while after its last task exited.
		if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("cannot remove the cgroup %s", dir)
}

// leaves turns JSON lines into flat records: each object that holds no
// other object, with the plain values of the objects around it (a
// histogram's bucket gets the histogram's disk and the interval's time).
func leaves(out string) ([]map[string]any, error) {
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			return nil, fmt.Errorf("a line is not JSON: %v: %s", err, line)
		}
		collect(v, map[string]any{}, &recs)
	}
	return recs, nil
}

func collect(v any, outer map[string]any, recs *[]map[string]any) bool {
	switch v := v.(type) {
	case []any:
		found := false
		for _, e := range v {
			found = collect(e, outer, recs) || found
		}
		return found
	case map[string]any:
		rec := map[string]any{}
		for k, x := range outer {
			rec[k] = x
		}
		for k, x := range v {
			switch x.(type) {
			case map[string]any:
			case []any:
				if s, ok := words(x); ok {
					rec[k] = s
				}
			default:
				rec[k] = x
			}
		}
		inner := false
		for _, x := range v {
			switch x.(type) {
			case map[string]any, []any:
				inner = collect(x, rec, recs) || inner
			}
		}
		if !inner {
			*recs = append(*recs, rec)
		}
		return true
	}
	return false
}

// words is an array of plain values as one string, its elements joined
// by spaces.
func words(v any) (string, bool) {
	var parts []string
	for _, e := range v.([]any) {
		switch e.(type) {
		case map[string]any, []any:
			return "", false
		}
		parts = append(parts, fmt.Sprint(e))
	}
	return strings.Join(parts, " "), true
}

var factRe = regexp.MustCompile(`^(count|sum|min|max)(?:\s+([a-z_]+(?:\+[a-z_]+)*))?((?:\s+[a-z_]+(?:=|!=|~|>=|<=)(?:"(?:[^"\\]|\\.)*"|\S+))*)\s+(=|>=|<=|>|<)\s+(-?[0-9.]+)$`)
var condRe = regexp.MustCompile(`([a-z_]+)(=|!=|~|>=|<=)("(?:[^"\\]|\\.)*"|\S+)`)

// checkFact checks one fact about the records:
//
//	count [CONDITION...] OP NUMBER     the number of records that match
//	sum|min|max FIELD [CONDITION...] OP NUMBER
//
// A CONDITION is field=value, field!=value, field~regexp, field>=number
// or field<=number; a value with blanks is quoted. OP is =, >=, <=, > or
// <. FIELD may be fields joined by +: their sum.
func checkFact(fact string, recs []map[string]any) error {
	m := factRe.FindStringSubmatch(fact)
	if m == nil {
		return errors.New("not a fact (see testdata/README.md)")
	}
	agg, field, conds, op := m[1], m[2], m[3], m[4]
	want, _ := strconv.ParseFloat(m[5], 64)
	if agg == "count" && field != "" {
		conds, field = " "+field+conds, ""
	}
	var got float64
	n := 0
	for _, r := range recs {
		ok, err := matches(r, conds)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		var x float64
		if agg != "count" {
			for _, f := range strings.Split(field, "+") {
				v, isNum := r[f].(float64)
				if !isNum {
					return fmt.Errorf("field %s is not a number in %v", f, r)
				}
				x += v
			}
		}
		switch agg {
		case "count":
			got++
		case "sum":
			got += x
		default:
			if n == 0 || agg == "min" && x < got || agg == "max" && x > got {
				got = x
			}
		}
		n++
	}
	if n == 0 && agg != "count" {
		return errors.New("no record matches")
	}
	if !compare(got, op, want) {
		return fmt.Errorf("got %v", got)
	}
	return nil
}

func matches(r map[string]any, conds string) (bool, error) {
	for _, c := range condRe.FindAllStringSubmatch(conds, -1) {
		key, op, val := c[1], c[2], c[3]
		if u, err := strconv.Unquote(val); err == nil {
			val = u
		}
		v, ok := r[key]
		if !ok {
			return false, nil
		}
		s := fmt.Sprint(v)
		switch op {
		case "=", "!=":
			equal := s == val
			if n, isNum := v.(float64); isNum {
				w, err := strconv.ParseFloat(val, 64)
				equal = err == nil && n == w
			}
			if equal != (op == "=") {
				return false, nil
			}
		case "~":
			re, err := regexp.Compile(val)
			if err != nil {
				return false, err
			}
			if !re.MatchString(s) {
				return false, nil
			}
		default:
			n, isNum := v.(float64)
			w, err := strconv.ParseFloat(val, 64)
			if !isNum || err != nil || !compare(n, op, w) {
				return false, nil
			}
		}
	}
	return true, nil
}

func compare(a float64, op string, b float64) bool {
	switch op {
	case "=":
		return a == b
	case ">=":
		return a >= b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case "<":
		return a < b
	}
	return false
}

// loopDevice makes a loop device over a file of size bytes, detached when
// the test ends, and returns its path.
func loopDevice(t *testing.T, size int64) string {
	losetup := testenv.Tool(t, "losetup")
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	dev := strings.TrimSpace(testenv.Run(t, losetup, "--find", "--show", img))
	t.Cleanup(func() { exec.Command(losetup, "-d", dev).Run() })
	return dev
}
