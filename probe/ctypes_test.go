package probe

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// Definitions are written as libbpf's btf_dump writes them, which is
// what bpftrace -lv prints: the padding that keeps a member where the
// kernel has it, and libbpf's spacing of declarators.
func TestTypeDefinition(t *testing.T) {
	// The 56 bytes before and after a member at a 64-byte boundary.
	sevenLongs := strings.Repeat("\tlong: 64;\n", 7)
	var (
		long   = &btf.Int{Name: "long int", Size: 8, Encoding: btf.Signed}
		intT   = &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
		char   = &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
		u8     = &btf.Int{Name: "unsigned char", Size: 1}
		cChar  = &btf.Const{Type: char}
		ret    = &btf.FuncProto{Return: &btf.Pointer{Target: cChar}, Params: []btf.FuncParam{{Type: &btf.Pointer{Target: intT}}}}
		noArgs = &btf.FuncProto{Return: &btf.Void{}}
	)
	for _, c := range []struct {
		name string
		t    btf.Type
		want string
	}{
		{"a cacheline-aligned member after a small one", &btf.Struct{Name: "s", Size: 128, Members: []btf.Member{
			{Name: "a", Type: intT, Offset: 0},
			{Name: "b", Type: long, Offset: 64 * 8},
		}}, "struct s {\n\tint a;\n" + sevenLongs + "\tlong int b;\n" + sevenLongs + "};"},
		{"bitfields and the gap after them", &btf.Struct{Name: "b", Size: 8, Members: []btf.Member{
			{Name: "x", Type: intT, Offset: 0, BitfieldSize: 3},
			{Name: "y", Type: intT, Offset: 8, BitfieldSize: 2},
			{Name: "z", Type: u8, Offset: 32},
		}}, `struct b {
	int x: 3;
	char: 5;
	int y: 2;
	int: 0;
	unsigned char z;
};`},
		{"a packed struct", &btf.Struct{Name: "p", Size: 5, Members: []btf.Member{
			{Name: "c", Type: char, Offset: 0},
			{Name: "i", Type: intT, Offset: 8},
		}}, `struct p {
	char c;
	int i;
} __attribute__((packed));`},
		{"function pointers, const pointers and arrays", &btf.Struct{Name: "f", Size: 32, Members: []btf.Member{
			{Name: "name", Type: &btf.Const{Type: &btf.Pointer{Target: ret}}, Offset: 0},
			{Name: "run", Type: &btf.Pointer{Target: noArgs}, Offset: 64},
			{Name: "p", Type: &btf.Const{Type: &btf.Pointer{Target: cChar}}, Offset: 128},
			{Name: "s", Type: &btf.Const{Type: &btf.Array{Type: cChar, Nelems: 8}}, Offset: 192},
		}}, `struct f {
	const char * (* const name)(int *);
	void (*run)(void);
	const char * const p;
	const char s[8];
};`},
		{"a 64-bit enum", &btf.Enum{Name: "e", Size: 8, Values: []btf.EnumValue{{Name: "BIG", Value: 1 << 40}}}, `enum e {
	BIG = 1099511627776ULL,
};`},
	} {
		if got := typeDefinition(c.t); got != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
}
