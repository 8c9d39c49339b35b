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
	for id, n := range spec.Names() {
		if _, dup := found[n]; dup || !wildcardMatch(name, n) {
			// The first of several types of one name (kernel modules
			// repeat some) is listed.
			continue
		}
		t, err := spec.TypeByID(id)
		if err != nil {
			return nil, err
		}
		if typeKind(t) == kind {
			found[n] = t
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
	packed := false
	switch t := t.(type) {
	case *btf.Enum:
		for _, v := range t.Values {
			val := strconv.FormatUint(v.Value, 10)
			if t.Signed {
				val = strconv.FormatInt(int64(v.Value), 10)
			}
			if t.Size == 8 {
				// A 64-bit enum's values are written as libbpf does.
				val += map[bool]string{false: "ULL", true: "LL"}[t.Signed]
			}
			fmt.Fprintf(b, "%s%s = %s,\n", in, v.Name, val)
		}
	case *btf.Struct:
		packed = isPacked(t.Members, t.Size)
		writeMembers(b, t.Members, t.Size, packed, true, depth+1)
	case *btf.Union:
		writeMembers(b, t.Members, t.Size, false, false, depth+1)
	}
	b.WriteString(strings.Repeat("\t", depth) + "}")
	if packed {
		b.WriteString(" __attribute__((packed))")
	}
}

// writeMembers writes the members of a struct or union of size bytes,
// and in a struct the padding between them and after the last as libbpf's
// btf_dump writes it, so that the definition compiles to the kernel's
// layout (gaps before cacheline-aligned members become "long: 64;" lines).
func writeMembers(b *strings.Builder, members []btf.Member, size uint32, packed, isStruct bool, depth int) {
	in := strings.Repeat("\t", depth)
	off, prevBitfield := 0, false
	for _, m := range members {
		mAlign := 1
		if !packed {
			mAlign = alignOf(m.Type)
		}
		bits, mOff := int(m.BitfieldSize), int(m.Offset)
		writePadding(b, off, mOff, mAlign, prevBitfield && bits != 0, in)
		b.WriteString(in + declarator(m.Type, m.Name, depth))
		if bits > 0 {
			fmt.Fprintf(b, ": %d", bits)
			off = mOff + bits
			prevBitfield = true
		} else {
			sz, _ := btf.Sizeof(m.Type)
			off = mOff + 8*max(sz, 0)
			prevBitfield = false
		}
		b.WriteString(";\n")
	}
	if isStruct {
		align := 1
		if !packed {
			align = structAlign(members, size)
		}
		writePadding(b, off, 8*int(size), align, false, in)
	}
}

// writePadding fills the bits from cur to next with unnamed bitfields,
// as btf_dump does: the widest of long, int, short and char that brings
// cur to a boundary of its size without passing next, an explicit ": 0"
// of it when the compiler would not align there by itself (or the bits
// to there, inside bitfields), then whole ones of it and the smallest
// that holds what remains. nextAlign is the alignment in bytes of what
// follows.
func writePadding(b *strings.Builder, cur, next, nextAlign int, inBitfield bool, in string) {
	if cur >= next {
		return
	}
	pads := []struct {
		name string
		bits int
	}{{"long", 64}, {"int", 32}, {"short", 16}, {"char", 8}}
	roundUp := func(x, n int) int { return (x + n - 1) / n * n }
	padName, padBits, newOff := "", 0, 0
	for _, p := range pads {
		padName, padBits = p.name, p.bits
		if newOff = roundUp(cur, padBits); newOff <= next {
			break
		}
	}
	if newOff > cur && newOff <= next {
		if inBitfield || newOff == next && roundUp(cur, 8*nextAlign) != newOff ||
			newOff != next && next-newOff <= newOff-cur {
			n := 0
			if inBitfield {
				n = newOff - cur
			}
			fmt.Fprintf(b, "%s%s: %d;\n", in, padName, n)
		}
		cur = newOff
	}
	for cur != next {
		bits := min(next-cur, padBits)
		if bits == padBits {
			fmt.Fprintf(b, "%s%s: %d;\n", in, padName, padBits)
			cur += bits
			continue
		}
		for i := len(pads) - 1; i >= 0; i-- {
			if pads[i].bits >= bits {
				fmt.Fprintf(b, "%s%s: %d;\n", in, pads[i].name, bits)
				cur += bits
				break
			}
		}
	}
}

// alignOf is the alignment in bytes of t on x86-64, as libbpf computes it
// from BTF: a struct or union laid out unlike its members' alignment
// would is packed (1).
func alignOf(t btf.Type) int {
	switch t := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		return min(int(t.Size), 8)
	case *btf.Enum:
		return min(int(t.Size), 8)
	case *btf.Float:
		return min(int(t.Size), 8)
	case *btf.Pointer:
		return 8
	case *btf.Array:
		return alignOf(t.Type)
	case *btf.Struct:
		return structAlign(t.Members, t.Size)
	case *btf.Union:
		return structAlign(t.Members, t.Size)
	}
	return 1
}

// structAlign is the alignment of a struct or union of size bytes with
// members: the largest of theirs, or 1 when a member is placed off its
// alignment or the size is not a multiple of it (a packed struct).
func structAlign(members []btf.Member, size uint32) int {
	if isPacked(members, size) {
		return 1
	}
	align := 1
	for _, m := range members {
		align = max(align, alignOf(m.Type))
	}
	return align
}

// isPacked tells whether a struct's layout is one only packing gives.
func isPacked(members []btf.Member, size uint32) bool {
	align := 1
	for _, m := range members {
		a := alignOf(m.Type)
		if m.BitfieldSize == 0 && int(m.Offset)%(8*a) != 0 {
			return true
		}
		align = max(align, a)
	}
	return int(size)%align != 0
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
		return pointer(t.Target, name, depth)
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
// a pointer ("char * const p", libbpf's spacing), before other types
// ("const char *p").
func qualified(q string, t btf.Type, name string, depth int) string {
	switch t := t.(type) {
	case *btf.Pointer:
		return pointer(t.Target, strings.TrimSuffix(" "+q+" "+name, " "), depth)
	case *btf.Array, *btf.FuncProto:
		// As libbpf, which drops what compilers put on arrays and
		// functions themselves (the elements say const already).
		return declarator(t, name, depth)
	}
	return q + " " + declarator(t, name, depth)
}

// pointer writes a pointer to target whose declarator after the '*' is
// inner: "(*inner)(params)" for a function, and a returned pointer set
// apart from it as libbpf does ("char * (*f)(void)").
func pointer(target btf.Type, inner string, depth int) string {
	if fp, ok := target.(*btf.FuncProto); ok {
		return declarator(fp.Return, "(*"+inner+")("+params(fp)+")", depth)
	}
	if strings.HasPrefix(inner, "(") {
		inner = " " + inner
	}
	return declarator(target, "*"+inner, depth)
}

// params lists a function prototype's parameter types; none is "void", as
// libbpf writes it.
func params(fp *btf.FuncProto) string {
	if len(fp.Params) == 0 {
		return "void"
	}
	if _, void := fp.Params[0].Type.(*btf.Void); void && len(fp.Params) == 1 {
		return "void"
	}
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
