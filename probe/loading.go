package probe

import (
	"errors"
	"strings"

	"github.com/cilium/ebpf"
)

// loading is how programs of a provider are loaded beyond their program
// type; providers whose programs need nothing more have none.
type loading struct {
	attachType ebpf.AttachType
	attachTo   func(p *Point) string
	loadError  func(p *Point, err error) error
}

var loadings = map[string]*loading{} // by canonical provider name

// AttachType is the attach type a program for p must be loaded with;
// ebpf.AttachNone for the providers whose programs need none.
func (p *Point) AttachType() ebpf.AttachType {
	if l := loadings[p.Provider]; l != nil {
		return l.attachType
	}
	return ebpf.AttachNone
}

// AttachTo is the kernel object a program for p must be loaded against
// (ebpf.ProgramSpec.AttachTo): the traced function of fentry and fexit
// points, the iterator of iter points; "" for the others. The loader
// finds functions of the kernel proper without an AttachTarget.
func (p *Point) AttachTo() string {
	if l := loadings[p.Provider]; l != nil && l.attachTo != nil {
		return l.attachTo(p)
	}
	return ""
}

// LoadError turns the kernel's refusal to load a program for p into a
// one-line explanation when the refusal means that p's kind of probe
// cannot work on this kernel. It returns nil for other errors (verifier
// errors, ...), which the caller reports its own way.
func LoadError(p *Point, err error) error {
	if l := loadings[p.Provider]; l != nil && l.loadError != nil && err != nil {
		return l.loadError(p, err)
	}
	return nil
}

// ErrKindUnsupported is what the errors wrap that say that the running
// kernel lacks a kind of probe altogether (kprobes, fentry), whatever the
// point.
var ErrKindUnsupported = errors.New("this kernel lacks this kind of probe")

// kindError says that the kernel lacks a kind of probe, and what to do.
type kindError string

func (e kindError) Error() string        { return string(e) }
func (e kindError) Is(target error) bool { return target == ErrKindUnsupported }

// moduleProviders name their points provider:module:function, where
// scripts may leave the module out.
var moduleProviders = map[string]bool{"fentry": true, "fexit": true, "rawtracepoint": true}

// moduleListMatch lets a listing pattern without module ("fentry:vfs_*")
// match the names of every module.
func moduleListMatch(provider, rest, name string) bool {
	return moduleProviders[provider] && !strings.Contains(rest, ":") &&
		wildcardMatch(provider+":*:"+rest, name) && strings.Count(name, ":") == 2
}
