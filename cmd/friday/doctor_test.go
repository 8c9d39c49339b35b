package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"friday/internal/testenv"
)

func TestDoctorCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := (&app{stdout: &out, stderr: &errb}).main([]string{"doctor", "-f", "json"})
	var r struct {
		Checks []struct{ Name, Status, Detail, Fix string }
		Usable bool
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("doctor -f json printed no JSON: %v\n%s%s", err, out.String(), errb.String())
	}
	if !r.Usable {
		testenv.Unavailable(t, "BPF is unusable here:\n%s", out.String())
	}
	if code != 0 || errb.Len() != 0 || len(r.Checks) == 0 {
		t.Errorf("exit %d, stderr %q, %d checks", code, errb.String(), len(r.Checks))
	}

	out.Reset()
	if code := (&app{stdout: &out, stderr: &errb}).main([]string{"doctor"}); code != 0 || !strings.HasPrefix(out.String(), "privileges") {
		t.Errorf("text output (exit %d):\n%s", code, out.String())
	}
}

func TestDoctorUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string // expected on stdout
		err  string // expected on stderr
	}{
		{[]string{"doctor", "-f", "xml"}, 1, "", `unknown output format "xml"`},
		{[]string{"doctor", "now"}, 1, "", "doctor takes no arguments"},
		{[]string{"doctor", "--bogus"}, 1, "", "unknown flag: --bogus"},
		{[]string{"doctor", "-h"}, 0, "--fix", ""},
		{[]string{"help", "doctor"}, 0, "friday doctor [flags]", ""},
	} {
		var out, errb bytes.Buffer
		code := (&app{stdout: &out, stderr: &errb}).main(c.args)
		if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errb.String(), c.err) ||
			c.err == "" && errb.Len() != 0 {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", c.args, code, out.String(), errb.String())
		}
		// pflag's note on flags that take no value is noise in help.
		if strings.Contains(out.String(), "[=true|false]") {
			t.Errorf("%v: help shows [=true|false]:\n%s", c.args, out.String())
		}
	}
}
