package main

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"friday/uprobe"
)

// cgroupHierarchy is a mounted cgroup hierarchy: the cgroup v2 one, which
// bpftrace calls "unified", or a v1 one, named after its mount point.
type cgroupHierarchy struct {
	name, dir string
	// paths holds the path from dir of each cgroup, by the inode number
	// of its directory.
	paths map[uint64]string
}

// cgroups resolves cgroup ids as bpftrace's cgroup_path() does: a cgroup's
// id is the inode number of its directory, so the id is looked for in every
// mounted hierarchy, and each one it names a directory in contributes
// "name:/path". Hierarchies are read from mountinfo and indexed on first
// use; an id found nowhere has them indexed again, once, for it may name a
// cgroup made since.
type cgroups struct {
	mountinfo string
	mu        sync.Mutex
	roots     []cgroupHierarchy
	indexed   bool
	missed    map[uint64]bool
}

func newCgroups(mountinfo string) *cgroups {
	return &cgroups{mountinfo: mountinfo, missed: map[uint64]bool{}}
}

// path is the comma-separated "name:/path" of the cgroup with id in each
// hierarchy whose name matches filter (any with "" or "*"), in bpftrace's
// order: unified first, then the others by name. It is "" when no
// hierarchy has the cgroup.
func (c *cgroups) path(id uint64, filter string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.indexed || !c.known(id) && !c.missed[id] {
		c.index()
		if !c.known(id) {
			c.missed[id] = true
		}
	}
	var found []string
	for _, h := range c.roots {
		if p, ok := h.paths[id]; ok && uprobe.MatchWildcard(filter, h.name) {
			found = append(found, h.name+":"+p)
		}
	}
	return strings.Join(found, ",")
}

func (c *cgroups) known(id uint64) bool {
	for _, h := range c.roots {
		if _, ok := h.paths[id]; ok {
			return true
		}
	}
	return false
}

func (c *cgroups) index() {
	c.roots = readCgroupMounts(c.mountinfo)
	for i := range c.roots {
		c.roots[i].paths = indexCgroups(c.roots[i].dir)
	}
	c.indexed = true
}

// readCgroupMounts lists the cgroup hierarchies mountinfo shows mounted,
// unified first and the others by name. A hierarchy mounted twice is
// searched once, where it is first mounted.
func readCgroupMounts(mountinfo string) []cgroupHierarchy {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil
	}
	defer f.Close()
	var roots []cgroupHierarchy
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 5 || sep+1 >= len(fields) {
			continue
		}
		dir := unescapeMount(fields[4])
		var name string
		switch fields[sep+1] {
		case "cgroup2":
			name = "unified"
		case "cgroup":
			name = filepath.Base(dir)
		default:
			continue
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		roots = append(roots, cgroupHierarchy{name: name, dir: dir})
	}
	slices.SortStableFunc(roots, func(a, b cgroupHierarchy) int {
		switch {
		case a.name == b.name:
			return 0
		case a.name == "unified":
			return -1
		case b.name == "unified":
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return roots
}

// unescapeMount undoes the octal escapes (\040 for a space, ...) of a
// path in mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// indexCgroups maps the inode number of each directory under root to its
// path from root ("/" for root itself). Other file systems mounted below
// root are not part of its hierarchy.
func indexCgroups(root string) map[uint64]string {
	paths := map[uint64]string{}
	var rootSt syscall.Stat_t
	if syscall.Stat(root, &rootSt) != nil {
		return paths
	}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) != nil {
			return nil
		}
		if st.Dev != rootSt.Dev {
			return filepath.SkipDir
		}
		path := "/"
		if rel, err := filepath.Rel(root, p); err == nil && rel != "." {
			path += rel
		}
		paths[st.Ino] = path
		return nil
	})
	return paths
}
