// Package tracefs finds the kernel's tracing file system, mounting it when
// nothing has, and reads the event lists and format files kept there.
package tracefs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// MountPoint is where tracefs is mounted when no mount of it is found.
const MountPoint = "/sys/kernel/tracing"

var (
	once   sync.Once
	dir    string
	dirErr error
)

// Dir returns the directory of the tracing file system. It looks for a
// tracefs mount, then for the tracing directory of a debugfs mount, and
// otherwise mounts tracefs at MountPoint: users expect a tracer to work on a
// machine that booted without tracefs mounted. The result is remembered.
func Dir() (string, error) {
	once.Do(func() { dir, dirErr = findOrMount() })
	return dir, dirErr
}

func findOrMount() (string, error) {
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "", fmt.Errorf("finding tracefs: %w", err)
	}
	if d := FindInMounts(string(mounts)); d != "" {
		return d, nil
	}
	if err := unix.Mount("tracefs", MountPoint, "tracefs", 0, ""); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return "", fmt.Errorf("tracefs is not mounted and mounting it at %s needs root", MountPoint)
		}
		return "", fmt.Errorf("tracefs is not mounted and mounting it at %s failed: %w", MountPoint, err)
	}
	return MountPoint, nil
}

// FindInMounts returns the tracing directory named by a /proc/mounts text:
// a tracefs mount point, or else the tracing directory inside a debugfs
// mount. It returns "" when there is neither.
func FindInMounts(mounts string) string {
	debugfs := ""
	for _, line := range strings.Split(mounts, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		switch f[2] {
		case "tracefs":
			return unescapeMountPath(f[1])
		case "debugfs":
			if debugfs == "" {
				debugfs = filepath.Join(unescapeMountPath(f[1]), "tracing")
			}
		}
	}
	if debugfs != "" {
		if _, err := os.Stat(filepath.Join(debugfs, "events")); err == nil {
			return debugfs
		}
	}
	return ""
}

// unescapeMountPath undoes the octal escapes (\040 for a space, ...) that
// /proc/mounts uses in paths.
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + byte(c-'0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Event is a tracepoint: its category (the kernel calls it system) and name.
type Event struct {
	Category, Name string
}

// Events lists the tracepoints of the tracing directory root, in the order
// of its available_events file.
func Events(root string) ([]Event, error) {
	f, err := os.Open(filepath.Join(root, "available_events"))
	if err != nil {
		return nil, readErr(err)
	}
	defer f.Close()
	var evs []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cat, name, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if ok {
			evs = append(evs, Event{cat, name})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, readErr(err)
	}
	return evs, nil
}

// Format reads the format file of one tracepoint.
func Format(root string, ev Event) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "events", ev.Category, ev.Name, "format"))
	if err != nil {
		return "", readErr(err)
	}
	return string(b), nil
}

// readErr turns a permission error into the one line users need: tracefs
// is readable by root only.
func readErr(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("reading tracefs needs root: %w", err)
	}
	return err
}
