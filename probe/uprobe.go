package probe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"

	"friday/syntax"
	"friday/uprobe"
)

func init() {
	for _, ret := range []bool{false, true} {
		name, alias := "uprobe", "u"
		if ret {
			name, alias = "uretprobe", "ur"
		}
		pv := &provider{
			name:     name,
			aliases:  []string{alias},
			progType: ebpf.Kprobe,
			expand: func(r *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
				return expandUprobe(r, ap, args, name, ret)
			},
			search: func(r *resolver, pattern string) ([]string, error) {
				return searchUprobes(r, pattern, name)
			},
			attach:      attachUprobe,
			newestFirst: always,
		}
		if !ret {
			// Like bpftrace, a listing without a provider shows a -p
			// process's functions once, as uprobes.
			pv.list = func(r *resolver) ([]string, error) {
				if r.user.Pid <= 0 {
					return nil, nil
				}
				return uprobe.List("", "*", r.user.Pid)
			}
		}
		register(pv)
	}
}

// UserOptions configure the user-space providers (uprobe, uretprobe,
// usdt) for one script.
type UserOptions struct {
	// Pid is the -p process: its points fire in it only, library names
	// are looked up in its mappings first, and the binary may be left
	// out: uprobe:function names a function of its executable,
	// usdt:[provider:]name a probe in any file it maps.
	Pid int
	// Unsafe (--unsafe) allows raw addresses that do not start a function
	// and offsets not known to start an instruction.
	Unsafe bool
}

// splitUserTarget splits the parts after a uprobe provider into binary and
// function. The binary may be left out with a process to search; a
// language part ("cpp", "c") before the function is accepted as bpftrace
// does and changes nothing, C++ names being matched demangled anyway.
func splitUserTarget(r *resolver, ap *syntax.AttachPoint, args []string, provider string) (target, fn string, err error) {
	switch {
	case len(args) == 1 && r.user.Pid > 0:
		return "", args[0], nil
	case len(args) == 2:
		return args[0], args[1], nil
	case len(args) == 3 && (args[1] == "cpp" || args[1] == "c"):
		return args[0], args[2], nil
	case len(args) > 3 && args[1] == "cpp":
		// A C++ name written without quotes keeps its "::" split.
		return args[0], strings.Join(args[2:], ":"), nil
	}
	return "", "", argCountError(ap, provider, "a binary and a function ("+provider+":binary:function), or -p PID and a function")
}

func expandUprobe(r *resolver, ap *syntax.AttachPoint, args []string, provider string, ret bool) ([]*Point, error) {
	target, fn, err := splitUserTarget(r, ap, args, provider)
	if err != nil {
		return nil, err
	}
	if fn == "" {
		return nil, fmt.Errorf("%s: missing function name", ap.Raw)
	}
	locs, err := uprobe.Resolve(target, fn, uprobe.Options{PID: r.user.Pid, Return: ret, Unsafe: r.user.Unsafe, Cache: &r.binaries})
	switch {
	case errors.Is(err, uprobe.ErrNoFunction) && hasWildcard(fn):
		return nil, noAttachPoints("function of "+target+" matches "+fn, "run 'friday trace -l \""+provider+":"+target+":*\"' to list them")
	case errors.Is(err, uprobe.ErrNoFunction):
		return nil, noMatch(provider, target+":"+fn, "", "run 'friday trace -l \""+provider+":"+target+":*\"' to list its functions")
	case err != nil:
		return nil, fmt.Errorf("%s: %w", ap.Raw, err)
	}
	// The return instructions of one Go function are one point: the
	// script sees a single uretprobe, as it does on C code.
	var points []*Point
	byName := map[string]*Point{}
	for _, loc := range locs {
		name := provider + ":" + shownTarget(target, loc.Path) + ":" + loc.Spec
		if p := byName[name]; p != nil {
			p.Locations = append(p.Locations, loc)
			continue
		}
		fnName := loc.Func
		if fnName == "" {
			fnName = loc.Spec
		}
		p := &Point{
			Provider:  provider,
			Target:    loc.Path,
			Func:      fnName,
			Name:      name,
			Pid:       r.user.Pid,
			Locations: []uprobe.Location{loc},
		}
		byName[name] = p
		points = append(points, p)
	}
	return points, nil
}

// searchUprobes lists the functions of the binary a "uprobe:binary:pattern"
// listing pattern names.
func searchUprobes(r *resolver, pattern, provider string) ([]string, error) {
	rest := strings.TrimPrefix(pattern, provider+":")
	target, fn := rest, "*"
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		target, fn = rest[:i], rest[i+1:]
	}
	if target == "*" || target == "" {
		if r.user.Pid <= 0 {
			return nil, fmt.Errorf("listing %s probes needs a binary (%s:BINARY:PATTERN) or -p PID", provider, provider)
		}
		target = ""
	}
	names, err := uprobe.List(target, fn, r.user.Pid)
	if err != nil {
		return nil, err
	}
	return showTargets(r, names, "uprobe", provider, target)
}

// shownTarget is the binary as probe names show it: as written when that
// is a path without wildcards (bpftrace shows "uprobe:./prog:f"), else the
// file found.
func shownTarget(written, found string) string {
	if strings.Contains(written, "/") && !hasWildcard(written) {
		return written
	}
	return found
}

// showTargets respells listed names "listed:/found/path:..." as
// "provider:target:..." when the target is shown as written.
func showTargets(r *resolver, names []string, listed, provider, target string) ([]string, error) {
	from, to := listed+":", provider+":"
	if shownTarget(target, "") != "" {
		paths, err := uprobe.SearchTargets(target, r.user.Pid)
		if err != nil {
			return nil, err
		}
		if len(paths) == 1 {
			from, to = listed+":"+paths[0]+":", provider+":"+target+":"
		}
	}
	for i, n := range names {
		if rest, ok := strings.CutPrefix(n, from); ok {
			names[i] = to + rest
		}
	}
	return names, nil
}

// multiLink detaches all the links of one point.
type multiLink []Link

func (m multiLink) Close() error {
	var errs []error
	for _, l := range m {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}

func attachUprobe(_ *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	if len(p.Locations) == 0 {
		return nil, fmt.Errorf("%s: internal error: no location to attach to", p.Name)
	}
	links := make(multiLink, 0, len(p.Locations))
	for _, loc := range p.Locations {
		l, err := loc.Attach(prog, p.Pid, 0)
		if err != nil {
			links.Close()
			return nil, attachError(p, err)
		}
		links = append(links, l)
	}
	if len(links) == 1 {
		return links[0], nil
	}
	return links, nil
}
