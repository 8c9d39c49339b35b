package run

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"friday/codegen"
)

// dispatch handles one ring buffer record: an 8-byte event ID followed by
// the event's arguments.
func (s *state) dispatch(rec []byte) error {
	if len(rec) < 8 {
		return fmt.Errorf("internal error: short event record (%d bytes)", len(rec))
	}
	id := binary.NativeEndian.Uint64(rec)
	ev := s.events[id]
	if ev == nil {
		return fmt.Errorf("internal error: unknown event %d", id)
	}
	args := rec[8:]
	if len(ev.Packed) > 0 {
		var err error
		if s.unpacked, err = ev.Unpack(s.unpacked, args); err != nil {
			return err
		}
		args = s.unpacked
	}
	if ev.Layout != nil && len(args) < ev.Layout.Size {
		return fmt.Errorf("internal error: event %d has %d bytes of arguments, want %d", id, len(args), ev.Layout.Size)
	}
	switch ev.Kind {
	case codegen.Exit:
		s.exiting = true
		s.exitCode = int(u64Arg(ev, args, 0))
		return nil
	case codegen.System:
		return s.system(ev, args)
	case codegen.Cat:
		return s.cat(ev, args)
	case codegen.PrintMap:
		m, err := s.userMap(ev)
		if err != nil {
			return err
		}
		top, div := u64Arg(ev, args, 0), u64Arg(ev, args, 1)
		return s.printMap(m, top, div)
	case codegen.ClearMap, codegen.ZeroMap:
		m, err := s.userMap(ev)
		if err != nil {
			return err
		}
		return s.resetMap(m, ev.Kind == codegen.ClearMap)
	}
	return s.opts.Printer.Event(ev, args)
}

// u64Arg is argument i of a record as an unsigned integer, 0 when the event
// has fewer arguments.
func u64Arg(ev *codegen.Event, args []byte, i int) uint64 {
	if ev.Layout == nil || i >= len(ev.Layout.Fields) {
		return 0
	}
	f := ev.Layout.Fields[i]
	b := args[f.Offset:]
	switch f.Type.Size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.NativeEndian.Uint16(b))
	case 4:
		return uint64(binary.NativeEndian.Uint32(b))
	}
	return binary.NativeEndian.Uint64(b)
}

// system runs the formatted command with the shell, as system() in
// bpftrace does, its output going where friday's goes.
func (s *state) system(ev *codegen.Event, args []byte) error {
	if !s.opts.Unsafe {
		return fmt.Errorf("%s: system() needs --unsafe", ev.Pos)
	}
	line, err := s.opts.Printer.Format(ev, args)
	if err != nil {
		return err
	}
	if err := s.opts.Printer.Flush(); err != nil {
		return err
	}
	cmd := exec.Command("/bin/sh", "-c", line)
	// The output goes through the printer: to -o's file, and as a "syscall"
	// record in JSON.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	// A failing command is the script's business, not an error of friday's.
	cmd.Run()
	return s.opts.Printer.Syscall(out.Bytes())
}

// cat prints a file's contents.
func (s *state) cat(ev *codegen.Event, args []byte) error {
	path, err := s.opts.Printer.Format(ev, args)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		// A missing file is reported and the script goes on, as in bpftrace.
		fmt.Fprintf(s.opts.Log, "ERROR: failed to open file '%s' (%s)\n", path, Strerror(err))
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(s.obj.MaxCatBytes)))
	if err != nil {
		fmt.Fprintf(s.opts.Log, "ERROR: failed to read file '%s' (%s)\n", path, Strerror(err))
		return nil
	}
	return s.opts.Printer.Text(data)
}

// Strerror spells a system call error as strerror(3) does.
func Strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	msg := errno.Error()
	return strings.ToUpper(msg[:1]) + msg[1:]
}
