package probe

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Listing "struct NAME", "union NAME" or "enum NAME" (wildcards allowed)
// lists the kernel's types of that name from BTF, as bpftrace does; with
// -v each comes with its C definition, members one level deep (nested
// anonymous structs and unions written out), followed by an empty line.

// isTypePattern tells whether a listing pattern names types.
func isTypePattern(pattern string) bool {
	kind, _, ok := strings.Cut(pattern, " ")
	return ok && (kind == "struct" || kind == "union" || kind == "enum")
}

func (r *resolver) listTypes(pattern string, verbose bool) ([]string, error) {
	kind, name, _ := strings.Cut(pattern, " ")
	name = strings.TrimSpace(name)
	spec, err := r.kernelBTF()
	if err != nil {
		return nil, err
	}
	found := map[string]btf.Type{}
	for t, err := range spec.All() {
		if err != nil {
			return nil, err
		}
		if k := typeKind(t); k == kind && t.TypeName() != "" && wildcardMatch(name, t.TypeName()) {
			// The first of several types of one name (kernel modules
			// repeat some) is listed.
			if _, dup := found[t.TypeName()]; !dup {
				found[t.TypeName()] = t
			}
		}
	}
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	var lines []string
	for _, n := range names {
		if !verbose {
			lines = append(lines, kind+" "+n)
			continue
		}
		def := typeDefinition(found[n])
		lines = append(lines, strings.Split(def, "\n")...)
		lines = append(lines, "")
	}
	return lines, nil
}

// typeKind is the C keyword of a struct, union or enum type; "" for others.
func typeKind(t btf.Type) string {
	switch t.(type) {
	case *btf.Struct:
		return "struct"
	case *btf.Union:
		return "union"
	case *btf.Enum:
		return "enum"
	}
	return ""
}

// typeDefinition writes the C definition of a struct, union or enum.
func typeDefinition(t btf.Type) string {
	var b strings.Builder
	writeBody(&b, t, 0)
	b.WriteString(";")
	return b.String()
}

// writeBody writes "struct NAME {", the members indented one tab deeper
// than depth, and the closing brace; for an enum, its values.
func writeBody(b *strings.Builder, t btf.Type, depth int) {
	head := typeKind(t)
	if t.TypeName() != "" {
		head += " " + t.TypeName()
	}
	if s, ok := t.(*btf.Struct); ok && len(s.Members) == 0 {
		b.WriteString(head + " {}")
		return
	}
	b.WriteString(head + " {\n")
	in := strings.Repeat("\t", depth+1)
	switch t := t.(type) {
	case *btf.Enum:
		for _, v := range t.Values {
			val := strconv.FormatUint(v.Value, 10)
			if t.Signed {
				val = strconv.FormatInt(int64(v.Value), 10)
			}
			fmt.Fprintf(b, "%s%s = %s,\n", in, v.Name, val)
		}
	case *btf.Struct:
		writeMembers(b, t.Members, depth+1)
	case *btf.Union:
		writeMembers(b, t.Members, depth+1)
	}
	b.WriteString(strings.Repeat("\t", depth) + "}")
}

func writeMembers(b *strings.Builder, members []btf.Member, depth int) {
	in := strings.Repeat("\t", depth)
	for _, m := range members {
		b.WriteString(in + declarator(m.Type, m.Name, depth))
		if m.BitfieldSize > 0 {
			fmt.Fprintf(b, ": %d", m.BitfieldSize)
		}
		b.WriteString(";\n")
	}
}

// declarator writes a C declaration of name (which may be "") of type t,
// as a C programmer would: "struct list_head *next", "char comm[16]",
// "void (*func)(struct callback_head *)". Anonymous structs and unions
// are written out at depth.
func declarator(t btf.Type, name string, depth int) string {
	join := func(base, inner string) string {
		if inner == "" {
			return base
		}
		return base + " " + inner
	}
	switch t := t.(type) {
	case *btf.Pointer:
		if fp, ok := t.Target.(*btf.FuncProto); ok {
			return declarator(fp.Return, "(*"+name+")("+params(fp)+")", depth)
		}
		return declarator(t.Target, "*"+name, depth)
	case *btf.Array:
		if strings.HasPrefix(name, "*") {
			name = "(" + name + ")"
		}
		return declarator(t.Type, fmt.Sprintf("%s[%d]", name, t.Nelems), depth)
	case *btf.Const:
		return qualified("const", t.Type, name, depth)
	case *btf.Volatile:
		return qualified("volatile", t.Type, name, depth)
	case *btf.Restrict:
		return qualified("restrict", t.Type, name, depth)
	case *btf.FuncProto:
		return declarator(t.Return, name+"("+params(t)+")", depth)
	case *btf.Struct, *btf.Union, *btf.Enum:
		if t.TypeName() == "" {
			var b strings.Builder
			writeBody(&b, t, depth)
			return join(b.String(), name)
		}
		return join(typeKind(t)+" "+t.TypeName(), name)
	case *btf.Fwd:
		return join(t.Kind.String()+" "+t.Name, name)
	case *btf.Void:
		return join("void", name)
	case *btf.TypeTag:
		return declarator(t.Type, name, depth)
	}
	return join(t.TypeName(), name)
}

// qualified writes a const, volatile or restrict type: after the '*' of
// a pointer ("char *const p"), before other types ("const char *p").
func qualified(q string, t btf.Type, name string, depth int) string {
	if p, ok := t.(*btf.Pointer); ok {
		return declarator(p.Target, "*"+q+" "+name, depth)
	}
	return q + " " + declarator(t, name, depth)
}

// params lists a function prototype's parameter types; none is "", as
// libbpf writes it.
func params(fp *btf.FuncProto) string {
	ps := make([]string, len(fp.Params))
	for i, p := range fp.Params {
		if _, void := p.Type.(*btf.Void); void && i == len(fp.Params)-1 {
			ps[i] = "..."
			continue
		}
		ps[i] = declarator(p.Type, "", 0)
	}
	return strings.Join(ps, ", ")
}
