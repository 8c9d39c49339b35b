package uprobe

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Attach attaches prog (of type ebpf.Kprobe) at l, as a return probe when
// l.Return says so. pid > 0 limits it to that process; cookie is what the
// program reads with bpf_get_attach_cookie.
func (l Location) Attach(prog *ebpf.Program, pid int, cookie uint64) (link.Link, error) {
	ex, err := link.OpenExecutable(l.Path)
	if err != nil {
		return nil, err
	}
	// cilium/ebpf calls the file offset an address; the symbol only names
	// the event when it falls back to tracefs.
	opts := &link.UprobeOptions{Address: l.Offset, PID: pid, Cookie: cookie}
	name := l.Func
	if name == "" {
		name = l.Spec
	}
	if l.Return {
		return ex.Uretprobe(name, prog, opts)
	}
	return ex.Uprobe(name, prog, opts)
}
