package tools

import (
	"fmt"
	"testing"
)

// bcc's patterns become the attach points of the ladder's rungs: entry
// and return points, a target path quoted when it holds a comma or a
// blank.
func TestPatternPoints(t *testing.T) {
	for _, c := range []struct{ pattern, want string }{
		{"vfs_*", "[[fentry fentry:vfs_*] [kprobe kprobe:vfs_*]] [[fentry fexit:vfs_*] [kprobe kretprobe:vfs_*]]"},
		{"p:do_sys_open", "[[fentry fentry:do_sys_open] [kprobe kprobe:do_sys_open]] [[fentry fexit:do_sys_open] [kprobe kretprobe:do_sys_open]]"},
		{"c:malloc", "[[uprobe uprobe:c:malloc]] [[uprobe uretprobe:c:malloc]]"},
		{"p:/usr/bin/x:read*", "[[uprobe uprobe:/usr/bin/x:read*]] [[uprobe uretprobe:/usr/bin/x:read*]]"},
		{"/tmp/a,b c/prog:main", `[[uprobe uprobe:"/tmp/a,b c/prog":main]] [[uprobe uretprobe:"/tmp/a,b c/prog":main]]`},
		{"t:block:*", "[[tracepoint tracepoint:block:*]] [[tracepoint tracepoint:block:*]]"},
		{"u:pthread:*mutex*", "[[usdt usdt:pthread:*mutex*]] [[usdt usdt:pthread:*mutex*]]"},
	} {
		p, err := parsePattern(c.pattern)
		if err != nil {
			t.Errorf("%s: %v", c.pattern, err)
			continue
		}
		if got := fmt.Sprint(p.points(false), " ", p.points(true)); got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.pattern, got, c.want)
		}
	}
	for _, bad := range []string{"", "a:b:c:d", "x:cat:name", "c:", ":malloc"} {
		if _, err := parsePattern(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// -r matches the names of the points from their start, as bcc does.
func TestPatternRegexp(t *testing.T) {
	p, _ := parsePattern("c:^(write|read)$")
	re, err := p.regexp()
	if err != nil || p.name != "*" {
		t.Fatalf("%v, name %q", err, p.name)
	}
	for name, want := range map[string]bool{
		"uprobe:/lib/libc.so.6:read":   true,
		"uprobe:/lib/libc.so.6:write":  true,
		"uprobe:/lib/libc.so.6:pread":  false,
		"uprobe:/lib/libc.so.6:readv":  false,
		"tracepoint:syscalls:read":     true,
		"usdt:/bin/x:provider:read":    true,
		"usdt:/bin/x:provider:reading": false,
	} {
		if re.MatchString(name) != want {
			t.Errorf("%s: match %v, want %v", name, !want, want)
		}
	}
}
