package tools

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"friday/internal/testenv"
	"friday/script"
	"friday/tool"
)

// Every tool's help is bcc's layout, within 80 columns, with examples.
func TestHelp(t *testing.T) {
	for _, tl := range All() {
		var out, errb bytes.Buffer
		if code := tl.Main(context.Background(), tool.Env{Stdout: &out, Stderr: &errb}, []string{"-h"}); code != 0 {
			t.Errorf("%s -h: exit %d: %s", tl.Name, code, &errb)
		}
		help := out.String()
		for _, want := range []string{"usage: friday " + tl.Name + " [-h]", "\n" + tl.Summary + "\n", "\noptions:\n", "\nexamples:\n    friday " + tl.Name} {
			if !strings.Contains(help, want) {
				t.Errorf("%s -h lacks %q:\n%s", tl.Name, want, help)
			}
		}
		for _, l := range strings.Split(help, "\n") {
			if len(l) >= 80 {
				t.Errorf("%s -h: a line of %d columns: %q", tl.Name, len(l), l)
			}
		}
	}
}

// Mistakes on the command line say which and show the usage; the ladder
// says why no variant runs.
func TestCommandLine(t *testing.T) {
	for _, c := range []struct {
		args   string
		bpf    bool // needs BPF
		code   int
		stdout string // a regular expression
		stderr string
	}{
		{args: "biolatency -z", code: 2, stderr: `(?s)^usage: friday biolatency \[-h\].*error: unknown shorthand flag: 'z' in -z\nRun 'friday biolatency -h' for help.\n$`},
		{args: "biolatency --bogus", code: 2, stderr: `unknown flag: --bogus`},
		{args: "biolatency -D -F", code: 2, stderr: `can only use -D or -F`},
		{args: "biolatency 1 2 3", code: 2, stderr: `unrecognized arguments: 3`},
		{args: "biolatency 0", code: 2, stderr: `interval must be a positive whole number, got "0"`},
		{args: "biolatency -f xml", code: 2, stderr: `unknown output format "xml"`},
		{args: "execsnoop 5", code: 2, stderr: `unrecognized arguments: 5`},
		{args: "opensnoop -f O_BOGUS", code: 2, stderr: `unknown flag "O_BOGUS" for -f`},
		{args: "syscount -e EBOGUS", code: 2, stderr: `unknown error "EBOGUS" for -e`},
		{args: "syscount -l", code: 0, stdout: `(?m)^getppid$`},
		{args: "filetop -s bogus", code: 2, stderr: `argument -s/--sort: invalid choice: "bogus"`},
		{args: "fsslower -t zfs", code: 2, stderr: `unknown file system type "zfs" \(want btrfs, ext4, nfs, xfs\)`},
		{args: "ext4slower 1 2", code: 2, stderr: `unrecognized arguments: 2`},
		{args: "ext4slower soon", code: 2, stderr: `min_ms must be a whole number of milliseconds, got "soon"`},
		{args: "biopattern -d nosuchdisk", code: 1, stderr: `no such disk "nosuchdisk"`},
		{args: "vfsstat -v --dry-run", bpf: true, code: 0, stderr: `vfsstat/kprobe.bt loads`},
		{args: "fsslower --dry-run -v --variant tracepoint", bpf: true, code: 0, stderr: `fsslower/tracepoint.bt loads: the kernel's verifier accepts it\n.*cannot be probed here: the\n.*system calls`},
		{args: "funccount", code: 2, stderr: `the following arguments are required: pattern`},
		{args: "funccount vfs_read vfs_write", code: 2, stderr: `unrecognized arguments: vfs_write`},
		{args: "funccount a:b:c:d", code: 2, stderr: `bad pattern "a:b:c:d": want func, lib:func, t:category:event or u:lib:probe`},
		{args: "funccount -r c:(", code: 2, stderr: `bad regular expression "\("`},
		{args: "funclatency -u -m vfs_read", code: 2, stderr: `can only use one of -u and -m`},
		{args: "funclatency t:sched:sched_switch", code: 2, stderr: `funclatency times functions, not tracepoints`},
		{args: "mysqld_qslower", code: 2, stderr: `(?s)^usage: friday mysqld_qslower \[-h\].* PID \[min_ms\]\n.*the following arguments are required: PID\n`},
		{args: "mysqld_qslower 1 fast", code: 2, stderr: `min_ms must be a number of milliseconds, got "fast"`},
		{args: "biolatency -d nosuchdisk", code: 1, stderr: `^friday biolatency: no such disk "nosuchdisk"\n$`},
		{args: "biolatency --variant nope", bpf: true, code: 1, stderr: `no variant "nope" \(the tool has tracepoint, rawtracepoint, kprobe\)`},
		{args: "runqlat -P --variant tracepoint", bpf: true, code: 1, stderr: `^friday runqlat: does not support --pids\n$`},
		{args: "runqlat -P --dry-run -v", bpf: true, code: 0, stderr: `runqlat/tracepoint.bt left: does not support --pids\n.*runqlat/rawtracepoint.bt loads`},
		{args: "biolatency --dry-run --variant kprobe -Q -D", bpf: true, code: 0, stderr: `biolatency/kprobe.bt loads: the kernel's verifier accepts it`},
		// The summarizing tools count what they lost, and the probes the
		// kernel skipped (missed, when any), as the others do.
		{args: "softirqs --stats 1 1", bpf: true, code: 0, stderr: `(?m)^friday softirqs: [1-9][0-9]* events, [0-9]+ lost, [0-9]+ ns/event, [0-9.]+% CPU(, [0-9]+ missed)?$`},
		{args: "hardirqs --stats 1 1", bpf: true, code: 0, stderr: `(?m)^friday hardirqs: [0-9]+ events, [0-9]+ lost, ([0-9]+|-) ns/event, [0-9.]+% CPU(, [0-9]+ missed)?$`},
	} {
		if c.bpf {
			testenv.BPF(t)
		}
		args := strings.Fields(c.args)
		var out, errb bytes.Buffer
		code := Lookup(args[0]).Main(context.Background(), tool.Env{Stdout: &out, Stderr: &errb}, args[1:])
		if code != c.code || !regexp.MustCompile(c.stdout).MatchString(out.String()) || !regexp.MustCompile(c.stderr).MatchString(errb.String()) {
			t.Errorf("%s: exit %d\n--- stdout:\n%s--- stderr:\n%s", c.args, code, &out, &errb)
		}
	}
}

// A variant for a kind of probe the kernel lacks fails at attach with the
// probe layer's one-line message, and a tool whose other rungs work never
// fails because of it.
func TestMissingKind(t *testing.T) {
	testenv.BPF(t)
	var out, errb bytes.Buffer
	code := biolatency.Main(context.Background(), tool.Env{Stdout: &out, Stderr: &errb}, []string{"--variant", "kprobe", "1", "1"})
	if v, rungs := tool.Choose(&tool.Tool{Variants: biolatency.Variants[2:]}, nil); v != nil {
		t.Skipf("this kernel has kprobes: %v", rungs)
	}
	if code != 1 || !strings.HasPrefix(errb.String(), "friday biolatency: kprobe:") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("exit %d\n%s", code, &errb)
	}

	// A kernel function's rungs both lacking: each says why.
	if v, rungs := tool.Choose(&tool.Tool{Variants: funccount.Variants[3:]}, nil); v != nil {
		t.Skipf("this kernel has fentry or kprobes: %v", rungs)
	}
	out.Reset()
	errb.Reset()
	code = funccount.Main(context.Background(), tool.Env{Stdout: &out, Stderr: &errb}, []string{"vfs_read"})
	if code != 1 || !regexp.MustCompile(`^friday funccount: fentry:vfs_read: .*\nkprobe:vfs_read: .*\n$`).MatchString(errb.String()) {
		t.Errorf("exit %d\n%s", code, &errb)
	}
}

// TestEveryArm: the tools leave unchecked what options not given make
// dead (script.Options.SkipDead); every arm of every script must check
// all the same, as friday trace checks it.
func TestEveryArm(t *testing.T) {
	testenv.BPF(t)
	host := script.NewHost()
	for _, tl := range All() {
		for _, v := range tl.Variants {
			_, full := script.Compile(v.File, v.Source(), script.Options{Host: host, Params: v.Params})
			if full == nil {
				continue
			}
			// A variant for another kernel fails here however it is checked.
			_, skip := script.Compile(v.File, v.Source(), script.Options{Host: host, Params: v.Params, SkipDead: true})
			if skip == nil || skip.Error() != full.Error() {
				t.Errorf("%s checked in full: %v", v.File, full)
			}
		}
	}
}
