package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"friday/internal/testenv"
	"friday/run"
)

// -d shows the tree and the instructions, loads the programs, and runs
// neither the probes nor the -c command.
func TestDebugDoesNotRun(t *testing.T) {
	testenv.BPF(t)
	mark := filepath.Join(t.TempDir(), "ran")
	var stdout, stderr bytes.Buffer
	rc := (&app{stdout: &stdout, stderr: &stderr}).trace([]string{"-d", "-c", "/usr/bin/touch " + mark, "-e", `BEGIN { printf("ran\n"); @n = count(); }`})
	if rc != 0 {
		t.Fatalf("exit status %d, stderr:\n%s", rc, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"Program\n BEGIN\n  call: printf\n", "\nBEGIN (begin, ", "Exit\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\nran\n") || strings.Contains(stderr.String(), "Attached") || strings.Contains(out, "\n@n:") {
		t.Errorf("the program ran:\n%s", out)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Errorf("the -c command ran")
	}
}

// --info reports the system, the build and, in short, what friday doctor
// finds of the kernel: tracepoints work on every kernel friday runs on.
func TestInfo(t *testing.T) {
	testenv.BPF(t)
	var stdout, stderr bytes.Buffer
	if rc := (&app{stdout: &stdout, stderr: &stderr}).trace([]string{"--info"}); rc != 0 {
		t.Fatalf("exit status %d, stderr:\n%s", rc, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"System\n  OS: Linux ", "\nBuild\n  version: friday ", "\n  tracepoint: yes\n", "\n  bpf: yes\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("--info lacks %q:\n%s", want, out)
		}
	}
}

// An attach point the kernel refuses is reported as bpftrace reports it:
// the reason, then which probe and the config setting that would skip it.
func TestPrintAttachError(t *testing.T) {
	var b bytes.Buffer
	err := fmt.Errorf("starting: %w", &run.AttachError{Point: "kprobe:f", Err: errors.New("kprobe:f: attaching: no such file or directory")})
	printError(&b, err)
	want := "ERROR: starting: kprobe:f: attaching: no such file or directory\n" +
		"ERROR: Unable to attach probe: kprobe:f. If this is expected, set the 'missing_probes' config variable to 'warn'.\n"
	if b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
}
