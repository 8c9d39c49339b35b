// Package cgroup turns cgroup ids into the paths of their cgroups, as
// bpftrace's cgroup_path() prints them.
package cgroup

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"friday/mounts"
	"friday/uprobe"
)

// hierarchy is a mounted cgroup hierarchy: the cgroup v2 one, which
// bpftrace calls "unified", or a v1 one, named after its mount point.
type hierarchy struct {
	name, dir string
	// paths holds the path from dir of each cgroup, by the inode number
	// of its directory.
	paths map[uint64]string
}

// Resolver resolves cgroup ids as bpftrace's cgroup_path() does: a cgroup's
// id is the inode number of its directory, so the id is looked for in every
// mounted hierarchy, and each one it names a directory in contributes
// "name:/path". Hierarchies are read from the mount table and indexed on first
// use; an id found nowhere has them indexed again, once, for it may name a
// cgroup made since.
type Resolver struct {
	table   string
	mu      sync.Mutex
	roots   []hierarchy
	indexed bool
	missed  map[uint64]bool
}

// New returns a resolver of the hierarchies the mount table file lists, in
// the format of /proc/mounts (mounts.Table for this process's).
func New(table string) *Resolver {
	return &Resolver{table: table, missed: map[uint64]bool{}}
}

// Path is the comma-separated "name:/path" of the cgroup with id in each
// hierarchy whose name matches filter (any with "" or "*"), in bpftrace's
// order: unified first, then the others by name. It is "" when no
// hierarchy has the cgroup.
func (c *Resolver) Path(id uint64, filter string) string {
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

func (c *Resolver) known(id uint64) bool {
	for _, h := range c.roots {
		if _, ok := h.paths[id]; ok {
			return true
		}
	}
	return false
}

func (c *Resolver) index() {
	c.roots = hierarchies(c.table)
	for i := range c.roots {
		c.roots[i].paths = indexDirs(c.roots[i].dir)
	}
	c.indexed = true
}

// hierarchies lists the cgroup hierarchies the mount table lists, unified
// first and the others by name. A hierarchy mounted twice is searched
// once, where it is first mounted.
func hierarchies(table string) []hierarchy {
	ms, err := mounts.Read(table)
	if err != nil {
		return nil
	}
	var roots []hierarchy
	seen := map[string]bool{}
	for _, m := range ms {
		var name string
		switch m.FSType {
		case "cgroup2":
			name = "unified"
		case "cgroup":
			name = filepath.Base(m.Dir)
		default:
			continue
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		roots = append(roots, hierarchy{name: name, dir: m.Dir})
	}
	slices.SortStableFunc(roots, func(a, b hierarchy) int {
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

// indexDirs maps the inode number of each directory under root to its
// path from root ("/" for root itself). Other file systems mounted below
// root are not part of its hierarchy.
func indexDirs(root string) map[uint64]string {
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
