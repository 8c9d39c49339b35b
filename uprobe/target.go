package uprobe

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ldCachePath is where glibc's ldconfig writes the loader's cache.
const ldCachePath = "/etc/ld.so.cache"

// ResolveTarget turns the binary part of a uprobe or usdt attach point into
// the paths of the files to attach to, the way bpftrace does:
//
//   - a path containing '/' is taken as it is (made absolute); it may hold
//     shell wildcards, which are expanded;
//   - a bare name is looked up as an executable in $PATH;
//   - otherwise it is a library name ("c", "libc", "libc.so", "libc.so.6"),
//     looked up first in the files mapped by process pid (when pid > 0),
//     then in the dynamic loader's cache and the standard library
//     directories;
//   - an empty target with pid > 0 means the executable of that process.
//
// Every returned path is absolute and names an existing ELF file.
func ResolveTarget(target string, pid int) ([]string, error) {
	if target == "" {
		if pid <= 0 {
			return nil, errors.New("missing binary path (a process id is needed to leave it out)")
		}
		exe, err := processExecutable(pid)
		if err != nil {
			return nil, err
		}
		return []string{exe}, nil
	}
	if strings.Contains(target, "/") {
		return resolvePath(target)
	}
	if p, ok := searchPath(target); ok {
		return []string{p}, nil
	}
	if pid > 0 {
		p, err := findMappedLibrary(target, pid)
		if err != nil {
			return nil, err
		}
		if p != "" {
			return []string{p}, nil
		}
	}
	if p := findLibrary(target); p != "" {
		return []string{p}, nil
	}
	return nil, fmt.Errorf("%s: no such executable in $PATH and no such library", target)
}

// SearchTargets is ResolveTarget for listings and USDT attach points, which
// with a process and no target cover every file the process maps.
func SearchTargets(target string, pid int) ([]string, error) {
	if target == "" && pid > 0 {
		return MappedFiles(pid)
	}
	return ResolveTarget(target, pid)
}

func resolvePath(target string) ([]string, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", target, err)
	}
	if !hasWildcard(abs) {
		if err := checkELF(abs); err != nil {
			return nil, err
		}
		return []string{abs}, nil
	}
	matches, err := filepath.Glob(abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", target, err)
	}
	var out []string
	for _, m := range matches {
		if checkELF(m) == nil {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no ELF file matches", target)
	}
	return out, nil
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?[") }

// checkELF reports whether path is a regular ELF file, with an error that
// names the path and says what is wrong.
func checkELF(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no such file", path)
		}
		return fmt.Errorf("%s: %v", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not an ELF file", path)
	}
	return f.Close()
}

func searchPath(name string) (string, bool) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			continue
		}
		if checkELF(p) == nil {
			return p, true
		}
	}
	return "", false
}

func processExecutable(pid int) (string, error) {
	link := fmt.Sprintf("/proc/%d/exe", pid)
	p, err := os.Readlink(link)
	if err != nil {
		return "", fmt.Errorf("process %d: %v", pid, err)
	}
	return visiblePath(pid, p), nil
}

// visiblePath returns a path naming, in our mount namespace, the file that
// process pid sees at p: p itself when that is the same file, otherwise the
// path through the process's root (a process in a container).
func visiblePath(pid int, p string) string {
	viaRoot := fmt.Sprintf("/proc/%d/root%s", pid, p)
	a, errA := os.Stat(p)
	b, errB := os.Stat(viaRoot)
	if errA == nil && errB == nil && os.SameFile(a, b) {
		return p
	}
	if errB == nil {
		return viaRoot
	}
	return p
}

// libraryMatcher says whether a file name is the library a user named.
// "c", "libc", "libc.so" and "libc.so.6" all name libc.so.6, but never
// libcap.so.2.
type libraryMatcher struct {
	exact  string // the name as given, when it is a file name already
	prefix string // "libc"
}

func newLibraryMatcher(name string) libraryMatcher {
	base := name
	if i := strings.Index(base, ".so"); i >= 0 {
		base = base[:i]
	}
	if !strings.HasPrefix(base, "lib") {
		base = "lib" + base
	}
	return libraryMatcher{exact: name, prefix: base}
}

// rank is 0 for no match, 2 for the exact file name, 1 for a versioned
// variant ("libc.so.6", "libc-2.31.so").
func (m libraryMatcher) rank(file string) int {
	switch {
	case file == m.exact:
		return 2
	case strings.HasPrefix(file, m.prefix+".so"), strings.HasPrefix(file, m.prefix+"-"):
		return 1
	}
	return 0
}

func findMappedLibrary(name string, pid int) (string, error) {
	files, err := MappedFiles(pid)
	if err != nil {
		return "", err
	}
	m := newLibraryMatcher(name)
	best, bestRank := "", 0
	for _, f := range files {
		if r := m.rank(filepath.Base(f)); r > bestRank {
			best, bestRank = f, r
		}
	}
	return best, nil
}

// MappedFiles lists the files that process pid maps executable, in the order
// of their first mapping, as paths usable from this process.
func MappedFiles(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("process %d: %v", pid, err)
	}
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.Contains(fields[1], "x") {
			continue
		}
		p := strings.Join(fields[5:], " ")
		if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, " (deleted)") || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, visiblePath(pid, p))
	}
	return out, nil
}

// findLibrary looks a library name up the way the dynamic loader would for
// a program of our own architecture: $LD_LIBRARY_PATH, the loader's cache,
// then the default directories.
func findLibrary(name string) string {
	m := newLibraryMatcher(name)
	if p := searchLibraryDirs(m, filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))); p != "" {
		return p
	}
	if entries, err := readLDCache(ldCachePath); err == nil {
		best, bestRank := "", 0
		for _, e := range entries {
			if r := m.rank(e.Name); r > bestRank && nativeELF(e.Path) {
				best, bestRank = e.Path, r
			}
		}
		if best != "" {
			return best
		}
	}
	return searchLibraryDirs(m, defaultLibraryDirs())
}

func searchLibraryDirs(m libraryMatcher, dirs []string) string {
	best, bestRank := "", 0
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if r := m.rank(e.Name()); r > bestRank && nativeELF(p) {
				best, bestRank = p, r
			}
		}
		if best != "" {
			return best
		}
	}
	return ""
}

func defaultLibraryDirs() []string {
	var triple string
	switch runtime.GOARCH {
	case "amd64":
		triple = "x86_64-linux-gnu"
	case "arm64":
		triple = "aarch64-linux-gnu"
	}
	dirs := []string{"/lib64", "/usr/lib64"}
	if triple != "" {
		dirs = append(dirs, "/lib/"+triple, "/usr/lib/"+triple)
	}
	return append(dirs, "/lib", "/usr/lib", "/usr/local/lib")
}

var nativeMachine = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"386":     elf.EM_386,
	"arm":     elf.EM_ARM,
	"riscv64": elf.EM_RISCV,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
}

// nativeELF reports whether path is an ELF file a process of our own
// architecture could load; the loader's cache also lists 32-bit libraries.
func nativeELF(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	want, ok := nativeMachine[runtime.GOARCH]
	return !ok || f.Machine == want
}

// ldCacheEntry is one library the dynamic loader's cache knows.
type ldCacheEntry struct {
	Name string // file name the loader looks for, e.g. "libc.so.6"
	Path string // where it is
}

const (
	ldCacheOldMagic = "ld.so-1.7.0"
	ldCacheNewMagic = "glibc-ld.so.cache1.1"
)

// readLDCache parses glibc's loader cache: either the new format alone, or
// the old format followed by the new one (glibc before 2.32).
func readLDCache(path string) ([]ldCacheEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseLDCache(data)
}

func parseLDCache(data []byte) ([]ldCacheEntry, error) {
	le := binary.LittleEndian
	start := 0
	if bytes.HasPrefix(data, []byte(ldCacheOldMagic)) {
		// old header: magic[11], pad, nlibs uint32; 12-byte entries
		if len(data) < 16 {
			return nil, errors.New("loader cache: truncated")
		}
		n := int(le.Uint32(data[12:]))
		start = 16 + n*12
		start = (start + 7) &^ 7
		if start > len(data) {
			return nil, errors.New("loader cache: truncated")
		}
	}
	d := data[start:]
	if !bytes.HasPrefix(d, []byte(ldCacheNewMagic)) {
		return nil, errors.New("loader cache: unknown format")
	}
	// magic[20] nlibs len_strings flags pad[3] extension_offset unused[3]
	const headerSize = 48
	const entrySize = 24 // flags key value osversion hwcap(8)
	if len(d) < headerSize {
		return nil, errors.New("loader cache: truncated")
	}
	n := int(le.Uint32(d[20:]))
	if n < 0 || headerSize+n*entrySize > len(d) {
		return nil, errors.New("loader cache: bad library count")
	}
	// String offsets count from the start of the new-format header.
	str := func(off uint32) (string, bool) {
		o := int(off)
		if o < 0 || o >= len(d) {
			return "", false
		}
		end := bytes.IndexByte(d[o:], 0)
		if end < 0 {
			return "", false
		}
		return string(d[o : o+end]), true
	}
	out := make([]ldCacheEntry, 0, n)
	for i := 0; i < n; i++ {
		e := d[headerSize+i*entrySize:]
		key, ok1 := str(le.Uint32(e[4:]))
		val, ok2 := str(le.Uint32(e[8:]))
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("loader cache: entry %d points outside the file", i)
		}
		out = append(out, ldCacheEntry{Name: key, Path: val})
	}
	return out, nil
}
