package tracefs

import (
	"os"
	"strings"
	"testing"
)

// testdata/kmalloc.format is the format of kmem:kmalloc of Linux 6.18,
// whose gfp_flags names are those of the kernel's %pGg.
func TestPrintFlags(t *testing.T) {
	b, err := os.ReadFile("testdata/kmalloc.format")
	if err != nil {
		t.Fatal(err)
	}
	flags, err := PrintFlags(string(b), "gfp_flags")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]uint64{}
	for _, f := range flags {
		byName[f.Name] = f.Mask
	}
	// The values of linux/gfp_types.h in 6.18.
	for name, want := range map[string]uint64{
		"GFP_KERNEL": 0xcc0, "GFP_ATOMIC": 0x820, "GFP_NOWAIT": 0x2800, "GFP_DMA": 0x1,
		"GFP_TRANSHUGE_LIGHT": 0x1c20ca, "GFP_TRANSHUGE": 0x1c24ca, "__GFP_HIGHMEM": 0x2,
		"__GFP_ZERO": 0x100, "__GFP_ACCOUNT": 0x400000, "GFP_KERNEL_ACCOUNT": 0x400cc0,
	} {
		if got, ok := byName[name]; !ok || got != want {
			t.Errorf("%s = %#x (%v), want %#x", name, got, ok, want)
		}
	}
	if flags[0].Name != "GFP_TRANSHUGE" {
		t.Errorf("first name %s, want the kernel's order, GFP_TRANSHUGE first", flags[0].Name)
	}
	for v, want := range map[uint64]string{
		0:                   "0",
		0xcc0:               "GFP_KERNEL",
		0xdc0:               "GFP_KERNEL|__GFP_ZERO",
		0x820 | 0x2:         "GFP_ATOMIC|__GFP_HIGHMEM",
		0x80000000:          "0x80000000",
		0x1 | 1<<40:         "GFP_DMA|0x10000000000",
		0x40 | 0x80:         "__GFP_IO|__GFP_FS",
		0x400cc0 | 0x100000: "GFP_USER|__GFP_ACCOUNT",
	} {
		if got := string(FormatFlags(nil, v, flags)); got != want {
			t.Errorf("FormatFlags(%#x) = %s, want %s", v, got, want)
		}
	}
}

func TestPrintFlagsErrors(t *testing.T) {
	for _, format := range []string{
		`print fmt: "%s", REC->x`,
		`__print_flags(REC->f, "|", {1 <<, "A"})`,
		`__print_flags(REC->f, "|", {(1, "A"})`,
		`__print_flags(REC->f, "|", {1, A})`,
		`__print_flags(REC->f, "|", {x, "A"})`,
		`__print_flags(REC->f, "|", {1, ((void *)0)})`,
	} {
		if _, err := PrintFlags(format, "f"); err == nil {
			t.Errorf("PrintFlags(%q) gave no error", format)
		}
	}
	got, err := PrintFlags(`x ? __print_flags(REC->f, "|", { ( unsigned long)(1UL << 3) | 0x10, "A" }, {~0 & 2, "B"}, { 0, ((void *)0) } ) : "none"`, "f")
	if err != nil || len(got) != 2 || got[0] != (Flag{0x18, "A"}) || got[1] != (Flag{2, "B"}) {
		t.Errorf("got %v, %v", got, err)
	}
	if !strings.Contains(string(FormatFlags(nil, 0x1a, got)), "A|B") {
		t.Errorf("FormatFlags(0x1a) = %s", FormatFlags(nil, 0x1a, got))
	}
}
