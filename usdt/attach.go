package usdt

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Attach attaches prog (of type ebpf.Kprobe) at the probe site, raising its
// semaphore while attached. pid > 0 limits it to that process; cookie is
// what the program reads with bpf_get_attach_cookie.
func (p Probe) Attach(prog *ebpf.Program, pid int, cookie uint64) (link.Link, error) {
	ex, err := link.OpenExecutable(p.Path)
	if err != nil {
		return nil, err
	}
	return ex.Uprobe(p.Provider+"_"+p.Name, prog, &link.UprobeOptions{
		Address:      p.Offset,
		RefCtrOffset: p.SemaphoreOffset,
		PID:          pid,
		Cookie:       cookie,
	})
}
