package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"friday/internal/testenv"
)

// TestCgroupPathOfOwnCgroup runs cgroup_path() on the cgroup v2 directory
// this test runs in, as /proc/self/cgroup names it.
func TestCgroupPathOfOwnCgroup(t *testing.T) {
	testenv.BPF(t)
	mount := ""
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if fields := strings.Fields(sc.Text()); len(fields) > 8 && strings.Contains(sc.Text(), " - cgroup2 ") {
			mount = fields[4]
			break
		}
	}
	if mount == "" {
		t.Skip("no cgroup v2 hierarchy mounted")
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	path := ""
	for _, line := range strings.Split(string(self), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			path = p
		}
	}
	if path == "" {
		t.Skip("this process is in no cgroup v2 cgroup")
	}
	dir := filepath.Join(mount, path)
	var stdout, stderr bytes.Buffer
	prog := fmt.Sprintf(`BEGIN { printf("%%s|%%s|\n", cgroup_path(cgroupid(%q), "unified"), cgroup_path(cgroupid(%q), "u*")); exit(); }`, dir, dir)
	if rc := (&app{stdout: &stdout, stderr: &stderr}).trace([]string{"-q", "-e", prog}); rc != 0 {
		t.Fatalf("exit status %d, stderr:\n%s", rc, &stderr)
	}
	want := fmt.Sprintf("unified:%s|unified:%s|\n\n\n", path, path)
	if got := stdout.String(); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}
