package codegen

import (
	"strings"
	"testing"
)

// StatementAt maps instruction indexes back to the statements they were
// generated from.
func TestStatementAt(t *testing.T) {
	src := "BEGIN {\n  @a = 1;\n  printf(\"%d\\n\", pid);\n}\n"
	obj, err := compile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := obj.Programs[0]
	first := StatementAt(obj, p, 0)
	if !strings.HasPrefix(first, "test.bt:2:3: @a = 1;") {
		t.Errorf("statement at 0 = %q, want the assignment on line 2", first)
	}
	last := StatementAt(obj, p, int(p.Insns.Size()/8)-1)
	if !strings.HasPrefix(last, "test.bt:3:3: printf") {
		t.Errorf("statement at the end = %q, want the printf on line 3", last)
	}
	var b strings.Builder
	if err := Dump(&b, obj); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"; test.bt:3:3: printf", "call bpf_get_current_pid_tgid#14", "r1 = map[.events]"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("dump does not show %q:\n%s", want, b.String())
		}
	}
}
