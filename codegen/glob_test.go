package codegen

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"friday/internal/testenv"
)

// globCases are strings and patterns; globRef says which match.
var globCases = [][2]string{
	{"vfs_read", "vfs_*"}, {"vfs_read", "*read"}, {"vfs_read", "v?s_re[a-c]d"},
	{"vfs_read", "vfs"}, {"vfs_read", "[!v]*"}, {"vfs_read", "*d*d"},
	{"vfs_read", "*s*r*a*"}, {"vfs_read", "*"}, {"vfs_read", "vfs_read"},
	{"vfs_read", "vfs_read?"}, {"vfs_read", "[]v]fs_read"}, {"[v", "[v"},
	{"vfs_read", "**_?**"}, {"", ""}, {"", "*"}, {"", "?"}, {"a", ""},
	{"vfs_read", "[!a-z]*"}, {"vfs_read", "*[d]"}, {"vfs_read", "v[a-f-]s*"},
	{"-", "[a-]"}, {"b", "[!a-]"}, {"]", "[]]"}, {"x]", "[]x]]"},
	{"/usr/lib/libc.so.6", "/*/*/*.so*"}, {"/usr/lib/libc.so.6", "*/lib?.so.[0-9]"},
	{"aaaaaaaaab", "*a*a*a*b"}, {"aaaaaaaaaa", "*a*a*a*b"}, {"abcabcabd", "*abd"},
	{"mississippi", "m*iss*ppi"}, {"mississippi", "m*is?i*[p]?"}, {"abc", "a[b"},
	{"]", "[!]]"}, {"x", "[!]x]"}, {"d", "[a-c-e]"}, {"-", "[a-c-e]"}, {"e", "[a-c-e]"},
	{"[!]", "[!]"}, {"[]", "[]"}, {"ab]c", "*[]]c"}, {"q", "[z-a]"}, {"a-z", "a[-]z"},
	{"xyz", "*[x-z][!a]"}, {"abc", "[abc][!abc]*"},
}

// globRef is globmatch as bpftrace's documentation defines it.
func globRef(s, p string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globRef(s[i:], p[1:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globRef(s[1:], p[1:])
	case '[':
		if el, n, err := parseGlobClass(p[1:]); err == nil {
			if s == "" {
				return false
			}
			in := false
			for _, r := range el.ranges {
				in = in || r[0] <= s[0] && s[0] <= r[1]
			}
			return in != el.negate && globRef(s[1:], p[1+n:])
		}
	}
	return s != "" && s[0] == p[0] && globRef(s[1:], p[1:])
}

// Patterns compiled into the program and patterns read at run time must
// both match as the documentation says, in strings of their own length
// (@c, @r) and in strings of 1024 bytes (@C, @R), which a probe of its
// own per case tests: the verifier checks the loops over them at that
// length.
func TestGlobmatch(t *testing.T) {
	testenv.BPF(t)
	var b strings.Builder
	b.WriteString("BEGIN {\n")
	for i, c := range globCases {
		fmt.Fprintf(&b, "@s[%d] = %q; @p[%d] = %q;\n", i, c[0], i, c[1])
	}
	for i, c := range globCases {
		if _, err := parseGlob(c[1]); err != nil {
			// A class without an end is an error in a constant pattern.
			continue
		}
		fmt.Fprintf(&b, "@c[%d] = globmatch(%q, %q);\n", i, c[0], c[1])
	}
	for i := range globCases {
		fmt.Fprintf(&b, "@r[%d] = globmatch(@s[%d], @p[%d]);\n", i, i, i)
	}
	b.WriteString("}\n")
	for i, c := range globCases {
		fmt.Fprintf(&b, "BEGIN { $s = (string[1024])@s[%d]; @R[%d] = globmatch($s, @p[%d]);", i, i, i)
		if _, err := parseGlob(c[1]); err == nil {
			fmt.Fprintf(&b, " @C[%d] = globmatch($s, %q);", i, c[1])
		}
		b.WriteString(" }\n")
	}
	obj, err := compile(b.String())
	if err != nil {
		t.Fatal(err)
	}
	coll, err := load(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	for _, p := range obj.Programs {
		if _, err := coll.Programs[p.Name].Run(&ebpf.RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{"@c", "@r", "@C", "@R"} {
		got := map[int]bool{}
		for _, line := range describeMap(mapNamed(obj, m), coll.Maps[mapNamed(obj, m).Spec.Name]) {
			// @c[i] = 0 or 1
			k, v, _ := strings.Cut(strings.TrimPrefix(line, m+"["), "] = ")
			i, _ := strconv.Atoi(k)
			got[i] = v == "1"
		}
		for i, c := range globCases {
			res, ok := got[i]
			if !ok {
				if m == "@r" || m == "@R" {
					t.Errorf("%s: no result for globmatch(%q, %q)", m, c[0], c[1])
				}
				continue
			}
			if want := globRef(c[0], c[1]); res != want {
				t.Errorf("%s: globmatch(%q, %q) = %v, want %v", m, c[0], c[1], res, want)
			}
		}
	}
}

func mapNamed(obj *Object, name string) *Map {
	for _, m := range obj.Maps {
		if m.Name == name {
			return m
		}
	}
	return nil
}
