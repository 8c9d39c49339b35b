package tool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"friday/probe"
	"friday/script"
)

// Variant is one script of a tool: its logic for one kind of probe.
type Variant struct {
	Name string // the rung: "tracepoint", "rawtracepoint", "fentry", "kprobe"
	File string // as errors name it: "biolatency/tracepoint.bt"
	// fsys holds File, read when the variant is compiled: not for every
	// tool each time friday starts.
	fsys fs.FS
	// Params are the script's positional parameters: the attach points
	// ($1 { ... }) of a tool whose points come from its arguments
	// (funccount's pattern), given by its Setup (Session.Ladder). The
	// tool's own Variants hold points of the same kind that every
	// machine has, which Choose tries.
	Params []string
}

// With returns the variant of v's script for the kind of probe name,
// with the positional parameters params.
func (v *Variant) With(name string, params ...string) *Variant {
	return &Variant{Name: name, File: v.File, fsys: v.fsys, Params: params}
}

// Source is the variant's script. The files are the program's own: one
// missing is a mistake in it (the tools' tests compile every variant).
func (v *Variant) Source() []byte {
	src, err := fs.ReadFile(v.fsys, v.File)
	if err != nil {
		panic(fmt.Sprintf("tool script %s: %v", v.File, err))
	}
	return src
}

// Ladder is the variants dir/NAME.bt of fsys, in the order of names: the
// tool's attach ladder, most preferred first.
func Ladder(fsys fs.FS, dir string, names ...string) []*Variant {
	vs := make([]*Variant, len(names))
	for i, n := range names {
		vs[i] = &Variant{Name: n, File: path.Join(dir, n+".bt"), fsys: fsys}
	}
	return vs
}

// Rung is what became of one variant when a tool chose the one to run.
type Rung struct {
	Variant *Variant
	// Err is why it was left; nil for the one taken.
	Err error
	// Stage is how far it got: compiling, checking that its points can
	// attach, loading (the verifier) or attaching.
	Stage Stage
}

// Stage is a step of starting a variant.
type Stage int

const (
	Compiling Stage = iota
	Checking
	Starting
	Started
)

// unsupported is the error of a variant that does not read an option
// given: its kind of probe cannot serve it.
type unsupported struct{ names []string }

func (u *unsupported) Error() string {
	return "does not support --" + strings.Join(u.names, ", --")
}

// compile compiles src, the script of variant v, with the run's options
// (host, named parameters, process).
func compile(v *Variant, src []byte, opts script.Options) (*script.Program, error) {
	opts.Params = v.Params
	// What options not given make dead is left unchecked, which spares
	// the kernel types only such code reads: the tools' tests check
	// every arm of their scripts.
	opts.SkipDead = true
	prog, err := script.Compile(v.File, src, opts)
	var oe *script.OptionsError
	if errors.As(err, &oe) {
		return nil, &unsupported{oe.Names}
	}
	return prog, err
}

// climb takes the first variant of vs that starts here, trying each in
// turn: one that fails to compile (a point this kernel lacks, an option
// it cannot serve), whose points cannot attach here (when check is set),
// or that start fails for (it does not load or attach) passes on to the
// next. It returns the variant taken (nil when none is) and what became
// of each variant tried.
func climb(vs []*Variant, opts script.Options, check bool, start func(*script.Program) error) (*Variant, []Rung) {
	if opts.Host == nil {
		opts.Host = script.NewHost()
	}
	var rungs []Rung
	for _, v := range vs {
		src := v.Source()
		if check {
			// Compiling a script of a kind of probe the kernel lacks
			// costs start-up time for nothing.
			if err := opts.Host.KindsWork(v.File, src, v.Params...); err != nil {
				rungs = append(rungs, Rung{v, err, Checking})
				continue
			}
		}
		prog, err := compile(v, src, opts)
		if err != nil {
			rungs = append(rungs, Rung{v, err, Compiling})
			continue
		}
		if check {
			if err := prog.Attachable(); err != nil {
				rungs = append(rungs, Rung{v, err, Checking})
				continue
			}
		}
		if err := start(prog); err != nil {
			rungs = append(rungs, Rung{v, err, Starting})
			continue
		}
		return v, append(rungs, Rung{v, nil, Started})
	}
	return nil, rungs
}

// Choose says which variant of t would run here with its default options,
// without attaching anything: the first that compiles, whose points can
// attach as far as is known without attaching, and that loads (the
// kernel accepts its kind of probe, its verifier the code). It returns
// nil when none would, and what became of each variant tried.
func Choose(t *Tool, host *script.Host) (*Variant, []Rung) {
	return climb(t.Variants, script.Options{Host: host}, true, func(p *script.Program) error {
		return p.Run(context.Background(), script.RunOptions{DryRun: true, Quiet: true, Log: io.Discard})
	})
}

// failure is the error to report when no variant started: that of the
// one that got furthest, the most preferred among equals. When the
// kernel lacks the kind of probe of each, each says so.
func failure(rungs []Rung) error {
	if len(rungs) == 0 {
		return errors.New("the tool has no scripts")
	}
	best := rungs[0]
	for _, r := range rungs[1:] {
		if r.Stage > best.Stage {
			best = r
		}
	}
	var lacking []error
	for _, r := range rungs {
		if !errors.Is(r.Err, probe.ErrKindUnsupported) {
			return best.Err
		}
		lacking = append(lacking, r.Err)
	}
	return errors.Join(lacking...)
}

// label names a variant in messages: its file, and the kind of probe
// when the file serves several.
func (v *Variant) label() string {
	if path.Base(v.File) == v.Name+".bt" {
		return v.File
	}
	return v.File + " (" + v.Name + ")"
}
