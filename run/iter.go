package run

import (
	"fmt"
	"io"

	"github.com/cilium/ebpf"

	"friday/probe"
)

// runIterators runs each iterator once over everything it iterates; as
// in bpftrace, the script ends when they are done.
func (s *state) runIterators(iters []probe.Link, end []*ebpf.Program) error {
	for _, l := range iters {
		if s.exiting {
			break
		}
		// The programs send their output through the ring buffer: the
		// iterator's own sequence file stays empty.
		if err := probe.RunIterator(l, io.Discard); err != nil {
			s.finish(true, end)
			return fmt.Errorf("running the iterator: %w", err)
		}
		if err := s.drain(true); err != nil {
			s.finish(true, end)
			return err
		}
	}
	return s.finish(!s.exiting, end)
}
