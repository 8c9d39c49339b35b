package probe

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"

	"friday/lazybtf"
	"friday/syntax"
)

func init() {
	register(&provider{
		name:     "iter",
		aliases:  []string{"it"},
		progType: ebpf.Tracing,
		expand:   expandIter,
		list:     listIters,
		details:  iterDetails,
		attach:   attachIter,
	})
	loadings["iter"] = &loading{
		attachType: ebpf.AttachTraceIter,
		attachTo:   func(p *Point) string { return p.Func },
		loadError:  iterLoadError,
	}
}

// iterCtxPrefix names the BTF struct of each iterator's context, e.g.
// bpf_iter__task: what the program gets, a pointer per field.
const iterCtxPrefix = "bpf_iter__"

// iterNames lists the kernel's iterators, sorted. Names with a further
// "__" are the verifier's variants of a context, not iterators.
func (r *resolver) iterNames() ([]string, error) {
	iterator := func(it string) bool { return !strings.Contains(it, "__") }
	return kernelBTFNames[*btf.Struct](r, &r.kernel.mu, &r.kernel.iters, iterCtxPrefix, iterator)
}

func iterCtx(spec *lazybtf.Spec, it string) (*btf.Struct, error) {
	return lazybtf.TypeByName[*btf.Struct](spec, iterCtxPrefix+it)
}

func expandIter(r *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
	if len(args) == 2 && args[0] != "" {
		// bpftrace pins the iterator and exits; reading the pin then runs
		// the program, whose printf must write to the pin's file.
		return nil, fmt.Errorf("%s: pinning an iterator (iter:%s:PIN) is not supported: run it unpinned (iter:%s)", ap.Raw, args[0], args[0])
	}
	if len(args) != 1 || args[0] == "" {
		return nil, argCountError(ap, "iter", "an iterator (iter:task, iter:task_file, ...)")
	}
	it := args[0]
	if hasWildcard(it) {
		return nil, fmt.Errorf("%s: iter probes take no wildcards: name one iterator", ap.Raw)
	}
	spec, err := r.kernelBTF()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ap.Raw, err)
	}
	ctx, err := iterCtx(spec, it)
	if errors.Is(err, btf.ErrNotFound) {
		msg := fmt.Sprintf("%s: this kernel has no %s iterator", ap.Raw, it)
		if all, err := r.iterNames(); err == nil {
			if best := nearest(it, slices.Values(all)); best != "" {
				msg += "; did you mean iter:" + best + "?"
			}
		}
		return nil, errors.New(msg)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ap.Raw, err)
	}
	return []*Point{{
		Provider: "iter",
		Func:     it,
		Name:     "iter:" + it,
		Args:     r.converter(spec).Type(ctx),
	}}, nil
}

func listIters(r *resolver) ([]string, error) {
	return withPrefix("iter:", r.iterNames)
}

// iterDetails lists the context's pointers in C.
func iterDetails(r *resolver, name string) ([]string, error) {
	spec, err := r.kernelBTF()
	if err != nil {
		return nil, err
	}
	ctx, err := iterCtx(spec, strings.TrimPrefix(name, "iter:"))
	if err != nil {
		return nil, err
	}
	var lines []string
	var walk func(ms []btf.Member)
	walk = func(ms []btf.Member) {
		for _, m := range ms {
			if m.Name != "" {
				lines = append(lines, strings.TrimSpace(cDecl(m.Type, m.Name)))
				continue
			}
			// The kernel wraps each pointer in an anonymous union to
			// give it 8 bytes on 32-bit machines too.
			switch u := m.Type.(type) {
			case *btf.Union:
				walk(u.Members)
			case *btf.Struct:
				walk(u.Members)
			}
		}
	}
	walk(ctx.Members)
	return lines, nil
}

func iterLoadError(p *Point, err error) error {
	if errors.Is(err, btf.ErrNotFound) {
		return fmt.Errorf("%s: this kernel has no %s iterator", p.Name, p.Func)
	}
	return nil
}

// iterLink is an attached iterator: nothing runs until RunIterator reads
// it.
type iterLink struct{ it *link.Iter }

func (l *iterLink) Close() error { return l.it.Close() }

func attachIter(_ *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	it, err := link.AttachIter(link.IterOptions{Program: prog})
	if err != nil {
		return nil, attachError(p, err)
	}
	return &iterLink{it: it}, nil
}

// RunIterator runs an attached iter point once over everything it
// iterates, copying what the program writes into the iterator's sequence
// file (bpf_seq_printf, bpf_seq_write) to w. The program runs as the
// sequence file is read, so this returns when the iteration is over.
func RunIterator(l Link, w io.Writer) error {
	il, ok := l.(*iterLink)
	if !ok {
		return errors.New("not an iterator link")
	}
	rd, err := il.it.Open()
	if err != nil {
		return err
	}
	_, err = io.Copy(w, rd)
	if cerr := rd.Close(); err == nil {
		err = cerr
	}
	return err
}
