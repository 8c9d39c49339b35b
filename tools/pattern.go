package tools

import (
	"regexp"
	"strings"

	"friday/tool"
)

// probePattern is what bcc's funccount and funclatency trace, as their
// pattern names it:
//
//	func, p:func          a kernel function
//	lib:func, p:lib:func  a function of a library or program (libc: "c")
//	t:category:event      a tracepoint
//	u:lib:probe           a USDT probe of a library or program
//
// with "*" wildcards in the names, or regular expressions with -r.
type probePattern struct {
	kind   string // "kernel", "user", "tracepoint" or "usdt"
	target string // the library or program, or the tracepoint's category
	name   string
}

func parsePattern(s string) (probePattern, error) {
	parts := strings.Split(s, ":")
	bad := tool.Usage("bad pattern %q: want func, lib:func, t:category:event or u:lib:probe (p: before a function is optional)", s)
	for _, p := range parts {
		if p == "" {
			return probePattern{}, bad
		}
	}
	switch {
	case len(parts) == 1:
		return probePattern{kind: "kernel", name: parts[0]}, nil
	case len(parts) == 2 && parts[0] == "p":
		return probePattern{kind: "kernel", name: parts[1]}, nil
	case len(parts) == 2:
		return probePattern{kind: "user", target: parts[0], name: parts[1]}, nil
	case len(parts) == 3 && parts[0] == "p":
		return probePattern{kind: "user", target: parts[1], name: parts[2]}, nil
	case len(parts) == 3 && parts[0] == "t":
		return probePattern{kind: "tracepoint", target: parts[1], name: parts[2]}, nil
	case len(parts) == 3 && parts[0] == "u":
		return probePattern{kind: "usdt", target: parts[1], name: parts[2]}, nil
	}
	return probePattern{}, bad
}

// regexp makes the pattern's name a regular expression (-r): the points
// are all those of the target, which the returned filter narrows to the
// names re matches from their start, as bcc's -r does.
func (p *probePattern) regexp() (*regexp.Regexp, error) {
	re, err := regexp.Compile(strings.TrimPrefix(p.name, "^"))
	if err != nil {
		return nil, tool.Usage("bad regular expression %q: %v", p.name, err)
	}
	p.name = "*"
	// The name is the last part of a point's: what follows its last
	// colon.
	return regexp.MustCompile(`:(?:` + re.String() + `)[^:]*$`), nil
}

// points are the pattern's attach points for the kinds of probe of
// entry (uprobe, kprobe, ...), or of return with ret, one per rung of
// the attach ladder, by the rung's name.
func (p probePattern) points(ret bool) [][2]string {
	user, kernel, fentry := "uprobe:", "kprobe:", "fentry:"
	if ret {
		user, kernel, fentry = "uretprobe:", "kretprobe:", "fexit:"
	}
	switch p.kind {
	case "kernel":
		return [][2]string{{"fentry", fentry + p.name}, {"kprobe", kernel + p.name}}
	case "user":
		return [][2]string{{"uprobe", user + quoteTarget(p.target) + ":" + p.name}}
	case "tracepoint":
		return [][2]string{{"tracepoint", "tracepoint:" + p.target + ":" + p.name}}
	}
	return [][2]string{{"usdt", "usdt:" + quoteTarget(p.target) + ":" + p.name}}
}

// quoteTarget quotes a path with characters that would end an attach
// point's part (a comma, a blank).
func quoteTarget(path string) string {
	if strings.ContainsFunc(path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+", r))
	}) {
		return `"` + path + `"`
	}
	return path
}

// funcName is what bcc's funccount and funclatency call a point (the
// probe builtin's value): a function's or USDT probe's name, a
// tracepoint's category and name.
func funcName(probe string) string {
	parts := strings.Split(probe, ":")
	if parts[0] == "tracepoint" && len(parts) == 3 {
		return parts[1] + ":" + parts[2]
	}
	return parts[len(parts)-1]
}
