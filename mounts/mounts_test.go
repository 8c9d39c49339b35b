package mounts

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	text := `proc /proc proc rw,relatime 0 0
tracefs /sys/kernel/trac\040ing tracefs rw 0 0
short line

cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0
odd /a\12b\\x ext4 rw 0 0
`
	want := []Mount{
		{"/proc", "proc"},
		{"/sys/kernel/trac ing", "tracefs"},
		{"/sys/fs/cgroup/memory", "cgroup"},
		{`/a\12b\\x`, "ext4"},
	}
	got := Parse(text)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %q, want %q", got, want)
	}
	if d := First(got, "cgroup"); d != "/sys/fs/cgroup/memory" {
		t.Errorf("First(cgroup) = %q", d)
	}
	if d := First(got, "debugfs"); d != "" {
		t.Errorf("First(debugfs) = %q, want none", d)
	}
}

func TestReadOwnTable(t *testing.T) {
	ms, err := Read(Table)
	if err != nil {
		t.Fatal(err)
	}
	if First(ms, "proc") == "" {
		t.Errorf("no proc mount in %s: %q", Table, ms)
	}
}
