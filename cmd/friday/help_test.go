package main

import (
	"bytes"
	"strings"
	"testing"
)

// SREs used to uretprobes crashing Go programs must learn from the help
// that friday's do not.
func TestTraceHelpGoReturnProbes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := (&app{stdout: &out, stderr: &errb}).main([]string{"trace", "-h"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	help := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"uretprobe on Go functions is safe", "RET instructions"} {
		if !strings.Contains(help, want) {
			t.Errorf("trace -h lacks %q:\n%s", want, out.String())
		}
	}
}
