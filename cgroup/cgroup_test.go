package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestPath resolves ids in hierarchies that are plain
// directories, as a mount table describes them: an id is found by the
// inode number of its directory, v1 hierarchies are named after where
// they are mounted, the v2 one is "unified" and comes first.
func TestPath(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"v2/user.slice/app", "v1/pids/user.slice", "v1/blkio", "with space/net_cls/x", "v1/notcgroup/user.slice"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	table := filepath.Join(dir, "mounts")
	text := fmt.Sprintf(`tmpfs %[1]s/v1 tmpfs rw,mode=755 0 0
cgroup %[1]s/v1/pids cgroup rw,pids 0 0
cgroup %[1]s/v1/blkio cgroup rw,blkio 0 0
cgroup %[2]s/net_cls cgroup rw,net_cls 0 0
cgroup2 %[1]s/v2 cgroup2 rw,nsdelegate 0 0
/dev/sda1 %[1]s/v1/notcgroup ext4 rw 0 0
cgroup %[1]s/v1/pids cgroup rw,pids 0 0
`, dir, strings.ReplaceAll(filepath.Join(dir, "with space"), " ", `\040`))
	if err := os.WriteFile(table, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	app := inode(t, filepath.Join(dir, "v2/user.slice/app"))
	slice := inode(t, filepath.Join(dir, "v1/pids/user.slice"))
	x := inode(t, filepath.Join(dir, "with space/net_cls/x"))
	other := inode(t, filepath.Join(dir, "v1/notcgroup/user.slice"))
	c := New(table)
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
		if got := c.Path(tc.id, tc.filter); got != tc.want {
			t.Errorf("path(%d, %q) = %q, want %q", tc.id, tc.filter, got, tc.want)
		}
	}
	// A cgroup made after the hierarchies were first read is found too.
	made := filepath.Join(dir, "v2/user.slice/later")
	if err := os.Mkdir(made, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Path(inode(t, made), ""), "unified:/user.slice/later"; got != want {
		t.Errorf("path of a new cgroup = %q, want %q", got, want)
	}
	// The v2 hierarchy comes first, then the others by name; a hierarchy
	// mounted twice is searched once.
	var names []string
	for _, h := range hierarchies(table) {
		names = append(names, h.name)
	}
	if got, want := strings.Join(names, " "), "unified blkio net_cls pids"; got != want {
		t.Errorf("hierarchies %q, want %q", got, want)
	}
	// A directory whose inode number is the id in several hierarchies is
	// listed in each: here, both hierarchies are mounted on one directory.
	both := fmt.Sprintf("cgroup %[1]s cgroup rw,memory 0 0\ncgroup2 %[1]s cgroup2 rw 0 0\n", dir)
	if err := os.WriteFile(table, []byte(both), 0o644); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("unified:/,%s:/", filepath.Base(dir))
	if got := New(table).Path(inode(t, dir), ""); got != want {
		t.Errorf("path of a directory in both = %q, want %q", got, want)
	}
}
