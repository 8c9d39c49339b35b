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

	"golang.org/x/sys/unix"

	"friday/mounts"
)

// MountPoint is where tracefs is mounted when no mount of it is found.
const MountPoint = "/sys/kernel/tracing"

// Dir returns the directory of the tracing file system. It looks for a
// tracefs mount, then for the tracing directory of a debugfs mount, and
// otherwise mounts tracefs at MountPoint: users expect a tracer to work on a
// machine that booted without tracefs mounted. Each call reads the mount
// table again: callers keep the result.
func Dir() (string, error) {
	ms, err := mounts.Read(mounts.Table)
	if err != nil {
		return "", fmt.Errorf("finding tracefs: %w", err)
	}
	if d := FindInMounts(ms); d != "" {
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

// FindInMounts returns the tracing directory among ms: a tracefs mount
// point, or else the tracing directory inside a debugfs mount. It returns
// "" when there is neither.
func FindInMounts(ms []mounts.Mount) string {
	if d := mounts.First(ms, "tracefs"); d != "" {
		return d
	}
	if d := mounts.First(ms, "debugfs"); d != "" {
		tracing := filepath.Join(d, "tracing")
		if _, err := os.Stat(filepath.Join(tracing, "events")); err == nil {
			return tracing
		}
	}
	return ""
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
