package codegen

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"

	"friday/check"
	"friday/internal/testenv"
)

// override() must pass the verifier where the kernel has
// bpf_override_return, and otherwise say which kernel option it lacks.
func TestOverride(t *testing.T) {
	testenv.BPF(t)
	src := `kprobe:vfs_read /comm == "override.test"/ { override(-1); }`
	if _, err := compileWith(src, check.Options{}); err == nil || !strings.Contains(err.Error(), "unsafe") {
		t.Errorf("override() without unsafe: got error %v, want one about unsafe mode", err)
	}
	obj, err := compileWith(src, check.Options{Unsafe: true})
	if errors.Is(features.HaveProgramHelper(ebpf.Kprobe, asm.FnOverrideReturn), ebpf.ErrNotSupported) {
		if err == nil || !strings.Contains(err.Error(), "CONFIG_BPF_KPROBE_OVERRIDE") {
			t.Fatalf("without bpf_override_return: got error %v, want one naming CONFIG_BPF_KPROBE_OVERRIDE", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	coll, err := load(obj)
	if err != nil {
		t.Fatal(err)
	}
	coll.Close()
}
