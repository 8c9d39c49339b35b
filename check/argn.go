package check

import (
	"strings"

	"friday/syntax"
)

// usesArgN reports whether a probe body reads arg0, arg1, ... or sarg0,
// ...: points whose ArgSpec differs (USDT sites keeping arguments in
// different places) then need a program each.
func usesArgN(p *syntax.Probe) bool {
	found := false
	inspect(p, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Ident:
			found = found || isArgN(n.Name)
		case *syntax.Call:
			found = found || isArgN(n.Name)
		}
		return !found
	})
	return found
}

func isArgN(name string) bool {
	rest, ok := strings.CutPrefix(name, "arg")
	if !ok {
		rest, ok = strings.CutPrefix(name, "sarg")
	}
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
