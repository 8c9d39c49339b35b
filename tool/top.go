package tool

import (
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// TopHeading prints what starts each summary of a tool in the manner of
// top (biotop, filetop, tcptop), as bcc's do: the screen cleared, when
// clear is set and standard output is a terminal, or else a blank line;
// then, with load, the time and the load averages. JSON has the time of
// each summary anyway.
func (s *Session) TopHeading(clear, load bool) {
	if s.JSON() {
		return
	}
	if clear && s.terminal {
		s.Printf("\033[H\033[2J")
	} else {
		s.Printf("\n")
	}
	if !load {
		return
	}
	avg, _ := os.ReadFile("/proc/loadavg")
	s.Printf("%-8s loadavg: %s\n\n", time.Now().Format("15:04:05"), strings.TrimSpace(string(avg)))
}

// isTerminal says whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
