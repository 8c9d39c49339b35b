package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"friday/internal/testenv"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestCgroupPathHierarchies resolves ids in hierarchies that are plain
// directories, as a mountinfo file describes them: an id is found by the
// inode number of its directory, v1 hierarchies are named after where
// they are mounted, the v2 one is "unified" and comes first.
func TestCgroupPathHierarchies(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"v2/user.slice/app", "v1/pids/user.slice", "v1/blkio", "with space/net_cls/x", "v1/notcgroup/user.slice"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mountinfo := filepath.Join(dir, "mountinfo")
	info := fmt.Sprintf(`30 22 0:27 / %[1]s/v1 rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / %[1]s/v1/pids rw,relatime shared:9 - cgroup cgroup rw,pids
32 30 0:29 / %[1]s/v1/blkio rw,relatime - cgroup cgroup rw,blkio
33 30 0:30 / %[2]s/net_cls rw,relatime - cgroup cgroup rw,net_cls
34 22 0:31 / %[1]s/v2 rw,nosuid shared:4 master:1 - cgroup2 cgroup2 rw,nsdelegate
35 30 0:32 / %[1]s/v1/notcgroup rw - ext4 /dev/sda1 rw
36 30 0:28 / %[1]s/v1/pids rw,relatime - cgroup cgroup rw,pids
`, dir, strings.ReplaceAll(filepath.Join(dir, "with space"), " ", `\040`))
	if err := os.WriteFile(mountinfo, []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	app := inode(t, filepath.Join(dir, "v2/user.slice/app"))
	slice := inode(t, filepath.Join(dir, "v1/pids/user.slice"))
	x := inode(t, filepath.Join(dir, "with space/net_cls/x"))
	other := inode(t, filepath.Join(dir, "v1/notcgroup/user.slice"))
	c := newCgroups(mountinfo)
	for _, tc := range []struct {
		id     uint64
		filter string
		want   string
	}{
		{app, "", "unified:/user.slice/app"},
		{slice, "", "pids:/user.slice"},
		{slice, "p*", "pids:/user.slice"},
		{slice, "*s", "pids:/user.slice"},
		{slice, "unified", ""},
		{x, "", "net_cls:/x"},
		// Only cgroup file systems are searched.
		{other, "", ""},
	} {
		if got := c.path(tc.id, tc.filter); got != tc.want {
			t.Errorf("path(%d, %q) = %q, want %q", tc.id, tc.filter, got, tc.want)
		}
	}
	// A cgroup made after the hierarchies were first read is found too.
	made := filepath.Join(dir, "v2/user.slice/later")
	if err := os.Mkdir(made, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, want := c.path(inode(t, made), ""), "unified:/user.slice/later"; got != want {
		t.Errorf("path of a new cgroup = %q, want %q", got, want)
	}
	// The v2 hierarchy comes first, then the others by name; a hierarchy
	// mounted twice is searched once.
	var names []string
	for _, h := range readCgroupMounts(mountinfo) {
		names = append(names, h.name)
	}
	if got, want := strings.Join(names, " "), "unified blkio net_cls pids"; got != want {
		t.Errorf("hierarchies %q, want %q", got, want)
	}
	// A directory whose inode number is the id in several hierarchies is
	// listed in each: here, both hierarchies are mounted on one directory.
	both := fmt.Sprintf("1 0 0:1 / %[1]s rw - cgroup cgroup rw,memory\n2 0 0:2 / %[1]s rw - cgroup2 cgroup2 rw\n", dir)
	if err := os.WriteFile(mountinfo, []byte(both), 0o644); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("unified:/,%s:/", filepath.Base(dir))
	if got := newCgroups(mountinfo).path(inode(t, dir), ""); got != want {
		t.Errorf("path of a directory in both = %q, want %q", got, want)
	}
}

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
	prog := fmt.Sprintf(`BEGIN { printf("%%s|%%s|\n", cgroup_path(cgroupid(%q), "unified"), cgroup_path(%d, "unified")); exit(); }`, dir, inode(t, dir))
	if rc := traceMain([]string{"-q", "-e", prog}, &stdout, &stderr); rc != 0 {
		t.Fatalf("exit status %d, stderr:\n%s", rc, &stderr)
	}
	want := fmt.Sprintf("unified:%s|unified:%s|\n\n\n", path, path)
	if got := stdout.String(); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}
