package check

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"friday/types"
)

// Dump describes what the checker inferred, one line per map, probe,
// function and variable, in a stable order: maps by name, then probes and
// functions in source order with their variables by position.
func (p *Program) Dump() string {
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(p.Maps)) {
		m := p.Maps[n]
		key := ""
		if m.Key != nil {
			key = keyList(m.Key)
		}
		fmt.Fprintf(&b, "%s%s: %s\n", n, key, m.Value)
	}
	for _, n := range slices.Sorted(maps.Keys(p.Funcs)) {
		f := p.Funcs[n]
		params := make([]string, len(f.Params))
		for i, v := range f.Params {
			params[i] = v.Name + ": " + v.Type.String()
		}
		fmt.Fprintf(&b, "fn %s(%s): %s\n", n, strings.Join(params, ", "), f.Result)
		dumpVars(&b, f.Info, f.Params)
	}
	for _, pr := range p.Probes {
		var pts []string
		for _, pt := range pr.Points {
			pts = append(pts, pt.Name)
		}
		if len(pts) == 0 {
			for _, ap := range pr.Syntax.Points {
				pts = append(pts, ap.Raw)
			}
		}
		fmt.Fprintf(&b, "probe %s\n", strings.Join(pts, ","))
		dumpVars(&b, pr.Info, nil)
	}
	return b.String()
}

func dumpVars(b *strings.Builder, info *Info, skip []*Var) {
	if info == nil {
		return
	}
	seen := map[*Var]bool{}
	for _, v := range skip {
		seen[v] = true
	}
	var vars []*Var
	add := func(v *Var) {
		if !seen[v] {
			seen[v] = true
			vars = append(vars, v)
		}
	}
	for _, v := range info.Vars {
		add(v)
	}
	for _, v := range info.Decls {
		add(v)
	}
	slices.SortFunc(vars, CompareVars)
	for _, v := range vars {
		fmt.Fprintf(b, "  %s: %s\n", v.Name, typeName(v.Type))
	}
}

func typeName(t *types.Type) string {
	if t == nil {
		return "unknown"
	}
	return t.String()
}

// keyList spells a key type as the dump of a checked program shows it.
func keyList(t *types.Type) string {
	if t == nil {
		return "[]"
	}
	if t.Kind != types.Tuple {
		return "[" + t.String() + "]"
	}
	parts := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		parts[i] = f.Type.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
