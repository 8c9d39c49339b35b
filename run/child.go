package run

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// holdScript is what a held command runs before it becomes the command: a
// shell that says it is ready on fd 4, waits for the go-ahead on fd 3 and
// then execs the command in its place. Go cannot run code between fork and
// exec; a shell can, and, unlike a copy of friday, it is a single thread
// that makes no system call while it waits, so probes filtered on cpid see
// only what the command does (as with bpftrace: a read and the execve).
// exec keeps the pid, so cpid is known before the probes are attached.
const holdScript = `echo >&4; exec 4>&-; read go <&3 || exit 1; exec "$@" 3<&-`

// Command is a command started by StartCommand, held before its first
// instruction until Release.
type Command struct {
	cmd   *exec.Cmd
	gate  *os.File
	ready *os.File
	done  chan struct{}
	err   error
}

// StartCommand starts line (split into words as a shell would, looked up
// in PATH, with no shell) held until Release.
func StartCommand(line string) (*Command, error) {
	argv, err := splitCommand(line)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("empty command for -c")
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, fmt.Errorf("command %q: %w", argv[0], errors.Unwrap(err))
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	c := &exec.Cmd{
		Path:       "/bin/sh",
		Args:       append([]string{"sh", "-c", holdScript, "sh"}, argv...),
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		ExtraFiles: []*os.File{r, readyW},
	}
	err = c.Start()
	r.Close()
	readyW.Close()
	if err != nil {
		w.Close()
		readyR.Close()
		return nil, fmt.Errorf("cannot start command: %w", err)
	}
	cmd := &Command{cmd: c, gate: w, ready: readyR, done: make(chan struct{})}
	go func() {
		cmd.err = c.Wait()
		close(cmd.done)
	}()
	return cmd, nil
}

// Pid is the process id the command runs as (cpid).
func (c *Command) Pid() int { return c.cmd.Process.Pid }

// waitHeld waits until the command's process has started and waits for
// Release; it returns early if the process died.
func (c *Command) waitHeld() {
	var b [1]byte
	c.ready.Read(b[:])
	c.ready.Close()
}

// Release lets the command run.
func (c *Command) Release() error {
	_, err := c.gate.Write([]byte{'\n'})
	c.gate.Close()
	if err != nil {
		return fmt.Errorf("command exited before it could run: %w", err)
	}
	return nil
}

// Done is closed when the command has exited.
func (c *Command) Done() <-chan struct{} { return c.done }

// Stop ends the command if it still runs: a held command never starts, a
// running one gets SIGTERM and, after a grace period, SIGKILL.
func (c *Command) Stop() {
	c.gate.Close()
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// splitCommand splits a -c command into words with the shell's quoting,
// which users write as they would at a prompt ("sh -c 'a; b'"): blanks
// separate words, single quotes keep everything, double quotes keep all
// but a backslash before " \ $ or `, and a backslash outside quotes keeps
// the next character. Nothing is expanded.
func splitCommand(line string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			continue
		case c == '\\':
			if i+1 < len(line) {
				i++
				w.WriteByte(line[i])
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("command for -c has an unterminated ' quote: %s", line)
			}
			w.WriteString(line[i+1 : i+1+end])
			i += 1 + end
		case c == '"':
			closed := false
			for i++; i < len(line); i++ {
				if line[i] == '"' {
					closed = true
					break
				}
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				}
				w.WriteByte(line[i])
			}
			if !closed {
				return nil, fmt.Errorf("command for -c has an unterminated \" quote: %s", line)
			}
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
