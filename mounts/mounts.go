// Package mounts reads the kernel's table of mounted file systems.
package mounts

import (
	"os"
	"strings"
)

// Mount is one mounted file system: where it is mounted and its type.
type Mount struct {
	Dir, FSType string
}

// Table is where the kernel lists this process's mounts.
const Table = "/proc/self/mounts"

// Read reads the table in file, in the format of /proc/mounts.
func Read(file string) ([]Mount, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(string(b)), nil
}

// Parse reads a table in the format of /proc/mounts: source, mount point,
// type and options a line, separated by blanks.
func Parse(text string) []Mount {
	var ms []Mount
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		ms = append(ms, Mount{Dir: unescape(f[1]), FSType: f[2]})
	}
	return ms
}

// First returns where the first mount of fstype is, or "".
func First(ms []Mount, fstype string) string {
	for _, m := range ms {
		if m.FSType == fstype {
			return m.Dir
		}
	}
	return ""
}

// unescape undoes the octal escapes (\040 for a space, ...) the table
// uses in paths.
func unescape(s string) string {
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
