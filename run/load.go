package run

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"friday/codegen"
	"friday/probe"
)

// ErrPermission is returned when the kernel refuses BPF for lack of
// privilege.
var ErrPermission = errors.New("friday trace needs root (CAP_BPF and CAP_PERFMON)")

func (s *state) load() error {
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK, whose
	// default is too small for a ring buffer; later ones charge the
	// memory cgroup and ignore the limit. Raising it is one system call
	// (cilium/ebpf's rlimit package makes it only where needed, but finds
	// that out by creating a map when the package is initialized: a cost
	// of every start of friday, even one that loads nothing). A failure
	// shows up as a clearer error below.
	_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
	s.maps = make(map[string]*ebpf.Map, len(s.obj.Maps))
	for _, m := range s.obj.Maps {
		bm, err := ebpf.NewMapWithOptions(m.Spec, ebpf.MapOptions{})
		if err != nil {
			if isPermission(err) {
				return ErrPermission
			}
			return fmt.Errorf("cannot create map %s: %w", m.Name, err)
		}
		s.maps[m.Spec.Name] = bm
		s.maps[m.Name] = bm
	}
	s.progs = make([]*ebpf.Program, len(s.obj.Programs))
	for i, p := range s.obj.Programs {
		prog, err := s.loadProgram(p)
		if err != nil {
			return err
		}
		s.progs[i] = prog
	}
	return nil
}

func (s *state) loadProgram(p *codegen.Program) (*ebpf.Program, error) {
	insns := make(asm.Instructions, len(p.Insns))
	copy(insns, p.Insns)
	for i, ins := range insns {
		ref := ins.Reference()
		if ref == "" || !ins.IsLoadFromMap() {
			continue
		}
		m := s.maps[ref]
		if m == nil {
			return nil, fmt.Errorf("internal error: program %s uses unknown map %q", p.Name, ref)
		}
		if err := insns[i:i+1].AssociateMap(ref, m); err != nil {
			return nil, fmt.Errorf("internal error: %w", err)
		}
	}
	spec := &ebpf.ProgramSpec{
		Name:         p.Name,
		Type:         p.Type,
		AttachType:   p.Attach,
		AttachTo:     p.AttachTo,
		Instructions: insns,
		License:      s.obj.License,
	}
	var opts ebpf.ProgramOptions
	if s.opts.Verbose {
		opts.LogLevel = ebpf.LogLevelStats
	}
	prog, err := ebpf.NewProgramWithOptions(spec, opts)
	if err != nil {
		if isPermission(err) {
			return nil, ErrPermission
		}
		if len(p.Points) > 0 {
			if le := probe.LoadError(p.Points[0], err); le != nil {
				return nil, le
			}
		}
		return nil, s.rejected(p, insns, err)
	}
	if s.opts.Verbose {
		s.printStats(p, insns, prog)
	}
	return prog, nil
}

func isPermission(err error) bool {
	return errors.Is(err, unix.EPERM) && os.Geteuid() != 0
}

func (s *state) printStats(p *codegen.Program, insns asm.Instructions, prog *ebpf.Program) {
	fmt.Fprintf(s.opts.Log, "%s (%s): %d instructions\n", probeNames(p), p.Name, insns.Size()/asm.InstructionSize)
	for _, line := range strings.Split(prog.VerifierLog, "\n") {
		if line != "" {
			fmt.Fprintf(s.opts.Log, "  %s\n", line)
		}
	}
}

// verifierInsn matches the verifier's trace of one instruction, "12: (85)
// call ...", which it prints before judging it.
var verifierInsn = regexp.MustCompile(`^([0-9]+): \([0-9a-f]{2}\)`)

// logTail is how many lines of the verifier's log are shown without -v:
// the last instructions it looked at and its verdict.
const logTail = 8

// rejected explains a program the kernel refused: which probe, which line
// of the script (found from the last instruction the verifier looked at),
// and the end of the verifier's log (all of it with -v).
func (s *state) rejected(p *codegen.Program, insns asm.Instructions, err error) error {
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		return fmt.Errorf("%s: cannot load program: %w", probeNames(p), err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: the kernel's verifier rejected the program", probeNames(p))
	// EINVAL and EACCES are how the verifier says no; the log says why.
	if !errors.Is(ve.Cause, unix.EINVAL) && !errors.Is(ve.Cause, unix.EACCES) {
		fmt.Fprintf(&b, ": %v", ve.Cause)
	}
	if src := failedSource(insns, ve.Log); src != "" {
		fmt.Fprintf(&b, "\n  at %s", src)
	}
	if tooComplex(ve) {
		b.WriteString("\nThe program is too complex for the verifier, which follows every path" +
			"\nthrough it and gives up after 1,000,000 instructions or 8,192 jumps in a" +
			"\nrow: a while loop is unrolled, so bound it lower or write it as" +
			"\n`for $i : 0..N`, whose body is checked once; or split the probe's work" +
			"\nbetween probes.")
	}
	log := ve.Log
	if !s.opts.Verbose && len(log) > logTail {
		log = log[len(log)-logTail:]
		b.WriteString("\nverifier log (end; -v shows all of it):")
	} else {
		b.WriteString("\nverifier log:")
	}
	for _, line := range log {
		b.WriteString("\n  " + line)
	}
	return errors.New(b.String())
}

// tooComplex is whether the verifier gave up on the program's size
// rather than finding a fault in it.
func tooComplex(ve *ebpf.VerifierError) bool {
	if errors.Is(ve.Cause, unix.E2BIG) {
		return true
	}
	for _, line := range ve.Log {
		if strings.Contains(line, "is too complex") || strings.Contains(line, "program is too large") {
			return true
		}
	}
	return false
}

// insnRef matches messages naming an instruction without tracing it, such
// as "unreachable insn 19" from the verifier's first pass.
var insnRef = regexp.MustCompile(`\binsn ([0-9]+)\b`)

// failedSource finds the script position of the last instruction the
// verifier traced or, when it traced none, of the instruction it names.
func failedSource(insns asm.Instructions, log []string) string {
	for _, re := range []*regexp.Regexp{verifierInsn, insnRef} {
		for i := len(log) - 1; i >= 0; i-- {
			m := re.FindStringSubmatch(log[i])
			if m == nil {
				continue
			}
			off, _ := strconv.ParseUint(m[1], 10, 64)
			return sourceAt(insns, asm.RawInstructionOffset(off))
		}
	}
	return ""
}

// sourceAt is the source attached to the instruction at raw offset off or,
// when it has none, to the closest instruction before it.
func sourceAt(insns asm.Instructions, off asm.RawInstructionOffset) string {
	var src string
	iter := insns.Iterate()
	for iter.Next() {
		if iter.Offset > off {
			break
		}
		if s := iter.Ins.Source(); s != nil {
			src = strings.TrimSpace(s.String())
		}
	}
	return src
}

func probeNames(p *codegen.Program) string {
	names := make([]string, 0, len(p.Points))
	for _, pt := range p.Points {
		names = append(names, pt.Name)
	}
	if len(names) > 3 {
		names = append(names[:3], fmt.Sprintf("and %d more", len(names)-3))
	}
	if len(names) == 0 {
		return p.Name
	}
	return strings.Join(names, ", ")
}
