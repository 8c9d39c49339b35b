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

// friday tools lists every tool with the variant that would run here;
// friday TOOL runs it, friday help TOOL shows its help.
func TestTools(t *testing.T) {
	var out, errb bytes.Buffer
	if code := (&app{stdout: &out, stderr: &errb}).main([]string{"tools"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if len(line) >= 80 {
			t.Errorf("friday tools: a line of %d columns: %q", len(line), line)
		}
	}
	for _, want := range []string{"TOOL           VARIANT        DESCRIPTION\n", "\nbiolatency     ", "\nsyscount       "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("friday tools lacks %q:\n%s", want, out.String())
		}
	}
	var help bytes.Buffer
	if code := (&app{stdout: &help, stderr: &errb}).main([]string{"help", "tools"}); code != 0 || help.String() != out.String() {
		t.Errorf("friday help tools (exit %d) differs from friday tools:\n%s", code, help.String())
	}
	help.Reset()
	if code := (&app{stdout: &help, stderr: &errb}).main([]string{"help", "runqlat"}); code != 0 || !strings.HasPrefix(help.String(), "usage: friday runqlat [-h]") {
		t.Errorf("friday help runqlat (exit %d):\n%s", code, help.String())
	}
	help.Reset()
	if code := (&app{stdout: &help, stderr: &errb}).main([]string{"runqlat", "-h"}); code != 0 || !strings.HasPrefix(help.String(), "usage: friday runqlat [-h]") {
		t.Errorf("friday runqlat -h (exit %d):\n%s", code, help.String())
	}
}
