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
	for _, want := range []string{"uretprobe on Go functions is safe", "RET instructions",
		// bpftrace's sections, which users look for.
		"USAGE:", "OPTIONS:", "EXAMPLES:", "--include FILE", "--probe-filter REGEX", "-k, --warnings"} {
		if !strings.Contains(help, want) {
			t.Errorf("trace -h lacks %q:\n%s", want, out.String())
		}
	}
}

// No line of the help is wider than a terminal.
func TestTraceHelpWidth(t *testing.T) {
	var out bytes.Buffer
	(&app{stdout: &out, stderr: &out}).main([]string{"help", "trace"})
	for _, l := range strings.Split(out.String(), "\n") {
		if len(l) > 79 {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
}
