package probe

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"

	"friday/syntax"
	"friday/usdt"
)

func init() {
	register(&provider{
		name:     "usdt",
		aliases:  []string{"U"},
		progType: ebpf.Kprobe,
		expand:   expandUSDT,
		search:   searchUSDT,
		list:     listProcessUSDT,
		details:  usdtDetails,
		attach:   attachUSDT,

		newestFirst: always,
	})
}

// splitUSDT splits the parts after "usdt:" into binary, provider and
// probe name. Without a provider any provider matches; without a binary
// (only with -p) every file the process maps is searched, and two parts
// not starting with a path are then provider and name.
func splitUSDT(r *resolver, ap *syntax.AttachPoint, args []string) (target, provider, name string, err error) {
	switch {
	case len(args) == 1 && r.user.Pid > 0:
		return "", "", args[0], nil
	case len(args) == 2 && r.user.Pid > 0 && !strings.Contains(args[0], "/"):
		// With a process, "usdt:provider:name" searches every file it
		// maps; a library name works alike ("usdt:libc:setjmp").
		return "", args[0], args[1], nil
	case len(args) == 2:
		return args[0], "", args[1], nil
	case len(args) == 3:
		return args[0], args[1], args[2], nil
	}
	return "", "", "", argCountError(ap, "usdt", "a binary and a probe (usdt:binary:[provider:]name), or -p PID and a probe")
}

func expandUSDT(r *resolver, ap *syntax.AttachPoint, args []string) ([]*Point, error) {
	target, provider, name, err := splitUSDT(r, ap, args)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("%s: missing probe name", ap.Raw)
	}
	sites, err := usdt.Find(target, provider, name, r.user.Pid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ap.Raw, err)
	}
	if len(sites) == 0 {
		where := target
		if where == "" {
			where = fmt.Sprintf("the files process %d maps", r.user.Pid)
		}
		hint := fmt.Sprintf("run 'friday trace -l \"usdt:%s:*\"' to list them", target)
		if !hasWildcard(ap.Raw) {
			return nil, noMatch("usdt", strings.Join(args, ":"), "", "no usdt probe in "+where+" matches; "+hint)
		}
		return nil, noAttachPoints("usdt probe in "+where+" matches", hint)
	}
	// Every site is a point of its own: each is attached, and sites that
	// keep their arguments in different places get programs of their own.
	points := make([]*Point, 0, len(sites))
	for i := range sites {
		s := &sites[i]
		points = append(points, &Point{
			Provider: "usdt",
			Target:   s.Path,
			Func:     s.Name,
			Name:     "usdt:" + shownTarget(target, s.Path) + ":" + s.Provider + ":" + s.Name,
			Pid:      r.user.Pid,
			USDT:     s,
			ArgSpec:  usdtArgSpec(s),
		})
	}
	return points, nil
}

// usdtArgSpec describes where a site's arguments are, such that two sites
// with the same description are read by the same instructions. A spec
// relative to the instruction pointer differs from site to site in its
// offset, and so does its description.
func usdtArgSpec(s *usdt.Probe) string {
	if s.ArgsErr != nil {
		return "invalid: " + s.ArgsErr.Error()
	}
	reg := func(r *usdt.Register) string {
		if r == nil {
			return "-"
		}
		return fmt.Sprintf("%d/%d", r.Offset, r.Size)
	}
	var b strings.Builder
	for _, a := range s.Args {
		fmt.Fprintf(&b, "%d:%d:%t:%d:%s:%s:%s:%d:%d;", a.Kind, a.Size, a.Signed, a.Const,
			reg(a.Reg), reg(a.Base), reg(a.Index), a.Scale, a.Offset)
	}
	return b.String()
}

// searchUSDT lists the probes a "usdt:binary[:provider]:name" listing
// pattern names.
func searchUSDT(r *resolver, pattern string) ([]string, error) {
	parts := strings.Split(strings.TrimPrefix(pattern, "usdt:"), ":")
	target := parts[0]
	provider, name := "", ""
	switch len(parts) {
	case 1:
	case 2:
		name = parts[1]
	default:
		provider, name = parts[1], strings.Join(parts[2:], ":")
	}
	if target == "*" || target == "" {
		if r.user.Pid <= 0 {
			return nil, fmt.Errorf("listing usdt probes needs a binary (usdt:BINARY:PATTERN) or -p PID")
		}
		target = ""
	}
	if len(parts) != 2 {
		names, err := usdt.List(target, provider, name, r.user.Pid)
		if err != nil {
			return nil, err
		}
		return showTargets(r, names, "usdt", "usdt", target)
	}
	// One pattern part may stand for the provider, the probe or both
	// ("usdt:/bin/x:*"), as the listed names join them.
	all, err := usdt.List(target, "", "", r.user.Pid)
	if err != nil {
		return nil, err
	}
	if all, err = showTargets(r, all, "usdt", "usdt", target); err != nil {
		return nil, err
	}
	var out []string
	for _, n := range all {
		rest := n[strings.LastIndexByte(n[:strings.LastIndexByte(n, ':')], ':')+1:]
		prov, probe, _ := strings.Cut(rest, ":")
		if wildcardMatch(name, probe) || wildcardMatch(name, prov) || wildcardMatch(name, rest) {
			out = append(out, n)
		}
	}
	return out, nil
}

// listProcessUSDT lists the probes of a -p process, for listings that
// name no provider.
func listProcessUSDT(r *resolver) ([]string, error) {
	if r.user.Pid <= 0 {
		return nil, nil
	}
	return usdt.List("", "", "", r.user.Pid)
}

// usdtDetails lists the argument specs of a probe's sites, for -lv.
func usdtDetails(r *resolver, name string) ([]string, error) {
	rest := strings.TrimPrefix(name, "usdt:")
	i := strings.LastIndexByte(rest, ':')
	j := strings.LastIndexByte(rest[:i], ':')
	sites, err := usdt.Find(rest[:j], rest[j+1:i], rest[i+1:], r.user.Pid)
	if err != nil {
		return nil, err
	}
	var lines []string
	seen := map[string]bool{}
	for _, s := range sites {
		for k, a := range s.Args {
			l := fmt.Sprintf("arg%d: %s", k, a.Text)
			if !seen[l] {
				seen[l] = true
				lines = append(lines, l)
			}
		}
	}
	return lines, nil
}

func attachUSDT(_ *Resolver, p *Point, prog *ebpf.Program) (Link, error) {
	if p.USDT == nil {
		return nil, fmt.Errorf("%s: internal error: no probe site to attach to", p.Name)
	}
	l, err := p.USDT.Attach(prog, p.Pid, 0)
	if err != nil {
		return nil, attachError(p, err)
	}
	return l, nil
}
