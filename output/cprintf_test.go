package output

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"friday/printf"
	"friday/types"
)

// TestAgainstCPrintf formats every combination of flags, width, precision
// and conversion with 64-bit arguments and compares the result with the C
// library's printf, as run by coreutils' printf(1).
func TestAgainstCPrintf(t *testing.T) {
	path, err := exec.LookPath("printf")
	if err != nil {
		t.Skip("no printf(1) to compare with")
	}
	p, err := New(&strings.Builder{}, "text", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cFormat strings.Builder
	var cArgs, want []string
	add := func(spec, cSpec, cArg string, arg Arg) {
		f, err := printf.Parse("[" + spec + "]\n")
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Sprintf(f, []Arg{arg})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, got)
		cFormat.WriteString("[" + cSpec + "]\n")
		cArgs = append(cArgs, cArg)
	}
	for _, flags := range []string{"", "-", "+", " ", "#", "0", "-0", "+0", "#0", "-#", " 0", "+-"} {
		for _, width := range []string{"", "1", "5", "12"} {
			for _, prec := range []string{"", ".0", ".3"} {
				for _, conv := range []string{"d", "u", "x", "X", "o"} {
					if strings.Contains(flags, "#") && (conv == "d" || conv == "u") {
						continue // undefined in C, refused by printf(1)
					}
					for _, v := range []int64{0, 1, -300, 255, -(1 << 62)} {
						b := make([]byte, 8)
						ne.PutUint64(b, uint64(v))
						cArg := strconv.FormatUint(uint64(v), 10)
						if conv == "d" {
							cArg = strconv.FormatInt(v, 10)
						}
						spec := "%" + flags + width + prec
						add(spec+"ll"+conv, spec+conv, cArg, Arg{Type: types.I64, Data: b})
					}
				}
			}
		}
	}
	for _, flags := range []string{"", "-"} {
		for _, width := range []string{"", "2", "8"} {
			for _, prec := range []string{"", ".0", ".2", ".9"} {
				spec := "%" + flags + width + prec + "s"
				b := make([]byte, 8)
				copy(b, "hello")
				add(spec, spec, "hello", Arg{Type: types.StringOf(8), Data: b})
			}
		}
	}
	out, err := exec.Command(path, append([]string{cFormat.String()}, cArgs...)...).Output()
	if err != nil {
		t.Fatalf("printf(1): %v", err)
	}
	got := strings.SplitAfter(string(out), "\n")
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s with %s: C gives %q, friday %q", strings.Split(cFormat.String(), "\n")[i], cArgs[i], got[i], want[i])
		}
	}
}
