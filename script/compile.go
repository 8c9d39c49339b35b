// Package script compiles and runs programs written in the bpftrace
// language: it takes a script from its source text through the syntax
// tree, the checked program and the BPF instructions to programs loaded
// and attached in the kernel, and hands what they report (events and
// maps) to a printer and to Go callbacks while it runs. Every command
// that runs a script stands on it: Compile, then Program.Start or
// Program.Run.
//
// Nothing is kept between calls but what a Host holds, given explicitly:
// several scripts may be compiled and run in one process, one after the
// other or at the same time. A tool that prints a histogram every second
// reads it while the script runs:
//
//	prog, err := script.Compile("lat.bt", src, script.Options{Host: host})
//	...
//	r, err := prog.Start(ctx, script.RunOptions{Output: os.Stdout})
//	...
//	for {
//		select {
//		case <-tick.C:
//			m, err := r.Map("@usecs") // m.Entries() holds []Bucket values
//			...
//			r.ClearMap("@usecs")
//		case <-r.Done():
//			return r.Wait()
//		}
//	}
package script

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"friday/check"
	"friday/codegen"
	"friday/output"
	"friday/probe"
	"friday/run"
	"friday/syntax"
)

// Options say how to compile a script: the facts and settings that shape
// its code.
type Options struct {
	// Host is what the scripts of the process know of the machine; nil
	// gives the script a Host of its own, which reads everything again.
	Host *Host
	// Dir is the directory import paths are relative to; "" is the
	// current directory.
	Dir string
	// Params are the positional parameters $1, $2, ...
	Params []string
	// Named are the named parameters ("--name=value", or "--name" with
	// the value ""), which getopt() reads. One the script does not read
	// is an error, except "help": see HelpError.
	Named map[string]string
	// Pid is the -p process: user-space probes fire in it only and
	// their binaries may be left out, and the script ends when it exits.
	Pid int
	// Command is the -c command, started held (run.StartCommand): cpid is
	// its pid. Running the program lets it go, and the script ends when
	// it exits. Whoever started it stops it if the program never runs.
	Command *run.Command
	// Unsafe allows actions with side effects on the system (system(),
	// signal(), override(), raw addresses in uprobes).
	Unsafe bool
	// MaxStrLen is the capacity of strings read at run time, given
	// outside the script (BPFTRACE_MAX_STRLEN): it wins over the script's
	// config block; 0 leaves it to the config block, or 1024.
	MaxStrLen int
	// Warn receives the compiler's warnings; nil drops them.
	Warn func(*syntax.Error)
	// Includes are C headers read before the script (--include): see
	// syntax.ParseHeader. One named by a relative path that is not found
	// from the current directory (linux/path.h) is taken as a system
	// header, whose types BTF gives, and left out.
	Includes []string
	// Warnings adds run-time checks (-k): a warning each time a probe
	// read or a map update fails.
	Warnings bool
	// ProbeFilter, when set, keeps only the attach points whose name
	// (as the probe builtin gives it) it matches.
	ProbeFilter *regexp.Regexp
	// StackMapSize is how many distinct stacks of each kind the kernel
	// keeps for kstack and ustack values (bcc's --stack-storage-size); 0
	// is 4096. A stack that finds the map full is not recorded.
	StackMapSize int
	// SkipDead leaves unchecked what options not given make dead code:
	// see check.Options.SkipDead.
	SkipDead bool
}

// Program is a compiled script: the BPF programs, maps and events of its
// object, and the points they attach to.
type Program struct {
	file *syntax.File
	prog *check.Program
	obj  *codegen.Object
	host *Host
	pid  int
	cmd  *run.Command
	// unsafe allows system() when the program runs.
	unsafe bool
}

// Compile compiles the script src, whose name errors show ("stdin" for
// one given on the command line). Errors about places in the script are
// *Error.
func Compile(name string, src []byte, opts Options) (*Program, error) {
	f, prog, err := checkScript(name, src, &opts)
	if err != nil {
		return nil, err
	}
	if err := checkNamed(opts.Named, prog.Getopts); err != nil {
		return nil, err
	}
	h := opts.Host
	gopts := codegen.Options{Kernel: h.kernel, Warnings: opts.Warnings, StackMapSize: opts.StackMapSize}
	if opts.Command != nil {
		gopts.CPID = opts.Command.Pid()
	}
	obj, err := codegen.Generate(prog, gopts)
	if err != nil {
		return nil, &Error{name, src, err}
	}
	return &Program{
		file: f, prog: prog, obj: obj,
		host: h, pid: opts.Pid, cmd: opts.Command, unsafe: opts.Unsafe,
	}, nil
}

// Probes are the attach points of the script src, as `friday trace -l
// FILE` lists them: it is parsed and checked, not compiled.
func Probes(name string, src []byte, opts Options) ([]*probe.Point, error) {
	_, prog, err := checkScript(name, src, &opts)
	if err != nil {
		return nil, err
	}
	var pts []*probe.Point
	for _, p := range prog.Probes {
		pts = append(pts, p.Points...)
	}
	return pts, nil
}

// checkScript parses the script with its includes and imports and checks
// it, filling in the defaults of opts.
func checkScript(name string, src []byte, opts *Options) (*syntax.File, *check.Program, error) {
	if opts.Host == nil {
		opts.Host = NewHost()
	}
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	headers, err := readHeaders(opts.Includes)
	if err != nil {
		return nil, nil, err
	}
	f, err := syntax.ParseIncluding(name, src, headers)
	if err != nil {
		return nil, nil, &Error{name, src, err}
	}
	if err := syntax.ResolveImports(f, dir); err != nil {
		return nil, nil, &Error{name, src, err}
	}
	// Syntax errors are worth showing to anyone; past them, attach
	// points are looked up in places only root may read.
	if err := run.CheckPrivilege(); err != nil {
		return nil, nil, err
	}
	h := opts.Host
	user := probe.UserOptions{Pid: opts.Pid, Unsafe: opts.Unsafe}
	filter := opts.ProbeFilter
	prog, err := check.Check(f, check.Options{
		Params:    opts.Params,
		Named:     opts.Named,
		Unsafe:    opts.Unsafe,
		MaxStrLen: opts.MaxStrLen,
		Warn:      opts.Warn,
		SkipDead:  opts.SkipDead,
		Expand: func(ap *syntax.AttachPoint) ([]*probe.Point, error) {
			pts, err := h.probes.Expand(ap, user)
			if filter == nil || err != nil {
				return pts, err
			}
			return slices.DeleteFunc(pts, func(p *probe.Point) bool { return !filter.MatchString(p.Name) }), nil
		},
		BTF: h.kernelBTF,
	})
	if err != nil {
		return nil, nil, &Error{name, src, err}
	}
	return f, prog, nil
}

// readHeaders reads the --include headers.
func readHeaders(paths []string) ([]*syntax.File, error) {
	var headers []*syntax.File
	for _, path := range paths {
		src, err := os.ReadFile(path)
		system := !filepath.IsAbs(path) && !strings.HasPrefix(path, "./") && !strings.HasPrefix(path, "../")
		if errors.Is(err, fs.ErrNotExist) && system {
			continue
		}
		if err != nil {
			return nil, OpenError(path, err)
		}
		h, err := syntax.ParseHeader(path, src)
		if err != nil {
			return nil, &Error{path, src, err}
		}
		headers = append(headers, h)
	}
	return headers, nil
}

// OpenError is bpftrace's error for a file it cannot open: "failed to
// open file 'x.bt': No such file or directory".
func OpenError(path string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("failed to open file '%s': %s", path, output.Strerror(int64(errno)))
	}
	return fmt.Errorf("failed to open file '%s': %v", path, errors.Unwrap(err))
}

// File is the script's syntax tree, imports resolved.
func (p *Program) File() *syntax.File { return p.file }

// Object is the compiled object: BPF programs, maps and events.
func (p *Program) Object() *codegen.Object { return p.obj }

// Points are the points the program attaches to, BEGIN and END included
// (which it runs itself), in the order they are attached.
func (p *Program) Points() []*probe.Point {
	var pts []*probe.Point
	for _, pr := range p.obj.Programs {
		pts = append(pts, pr.Points...)
	}
	return pts
}

// Attachable says what keeps one of the program's points from attaching
// on this kernel, as far as is known without attaching (see
// probe.Resolver.Attachable): nil when nothing is known to.
func (p *Program) Attachable() error {
	for _, pt := range p.Points() {
		if err := p.host.probes.Attachable(pt); err != nil {
			return err
		}
	}
	return nil
}

// Getopts are the named parameters the script reads with getopt(), in
// the order it first reads them.
func (p *Program) Getopts() []string { return p.prog.Getopts }

// HelpError is what Compile returns when the named parameters ask for
// --help, which the script does not read itself: Hint lists those it
// reads, for the command to print as bpftrace does.
type HelpError struct{ Hint string }

func (e *HelpError) Error() string { return e.Hint }

// OptionsError is what Compile returns when named parameters were given
// that no getopt() of the script reads.
type OptionsError struct {
	Names []string // the parameters, sorted
	Hint  string   // those the script reads, as bpftrace lists them
}

func (e *OptionsError) Error() string {
	return "Unexpected command line options: " + strings.Join(e.Names, ", ") + "\n" + e.Hint
}

// checkNamed refuses named parameters that no getopt() of the script
// reads, and answers --help, unless the script reads a help option
// itself, as bpftrace does.
func checkNamed(named map[string]string, getopts []string) error {
	hint := "HINT: no custom program options defined."
	if len(getopts) > 0 {
		hint = "HINT: expected program options: --" + strings.Join(getopts, ", --")
	}
	var unexpected []string
	for name := range named {
		if !slices.Contains(getopts, name) && name != "help" {
			unexpected = append(unexpected, name)
		}
	}
	if len(unexpected) > 0 {
		slices.Sort(unexpected)
		return &OptionsError{unexpected, hint}
	}
	if _, ok := named["help"]; ok && !slices.Contains(getopts, "help") {
		return &HelpError{hint}
	}
	return nil
}

// Error is an error about places in a script.
type Error struct {
	Name string // the script's name
	Src  []byte // its text
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Format writes the error as bpftrace does: each place with its source
// line and a caret under it.
func (e *Error) Format(w io.Writer) {
	var list *syntax.ErrorList
	var gen *codegen.Error
	switch {
	case errors.As(e.Err, &list):
		list.Format(w)
	case errors.As(e.Err, &gen):
		syntax.FormatError(w, e.Name, e.Src, gen.Pos, gen.Msg)
	default:
		fmt.Fprintf(w, "ERROR: %s\n", strings.TrimRight(e.Err.Error(), "\n"))
	}
}
