package run

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"golang.org/x/sys/unix"

	"friday/codegen"
)

// pcap file constants: the magic of files with nanosecond time stamps,
// and the link type of packets that start with their IP header. The
// files are little-endian; readers go by the magic.
const (
	pcapMagicNanos = 0xa1b23c4d
	linkTypeRaw    = 101
	pcapSnapLen    = 0xfffff // the most bytes bpf_skb_output appends
	skbRecordSize  = 32      // codegen.SkbRecord
)

// pcapFiles writes packets to the pcap files of skboutput().
type pcapFiles struct {
	names []string
	files []*os.File
	bufs  []*bufio.Writer
	// realMinusBoot converts the records' CLOCK_BOOTTIME to the wall
	// clock time of the packets.
	realMinusBoot int64
}

// createPcapFiles creates (or truncates) the files and writes their
// headers.
func createPcapFiles(names []string) (*pcapFiles, error) {
	p := &pcapFiles{names: names, realMinusBoot: realMinusBoot()}
	hdr := make([]byte, 24)
	le := binary.LittleEndian
	le.PutUint32(hdr[0:], pcapMagicNanos)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], pcapSnapLen)
	le.PutUint32(hdr[20:], linkTypeRaw)
	for _, name := range names {
		f, err := os.Create(name)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("skboutput(): %w", err)
		}
		b := bufio.NewWriter(f)
		b.Write(hdr)
		p.files = append(p.files, f)
		p.bufs = append(p.bufs, b)
	}
	return p, nil
}

// realMinusBoot is CLOCK_REALTIME - CLOCK_BOOTTIME in nanoseconds.
func realMinusBoot() int64 {
	var real, boot unix.Timespec
	unix.ClockGettime(unix.CLOCK_REALTIME, &real)
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot)
	return real.Nano() - boot.Nano()
}

// write appends the packet of one sample: an SkbRecord and the bytes.
// The kernel pads samples to 8 bytes; the record says how many are the
// packet's.
func (p *pcapFiles) write(sample []byte) error {
	if len(sample) < skbRecordSize {
		return fmt.Errorf("internal error: short skboutput() sample (%d bytes)", len(sample))
	}
	u := func(i int) uint64 { return binary.NativeEndian.Uint64(sample[8*i:]) }
	r := codegen.SkbRecord{File: u(0), Time: u(1), Offset: u(2), Len: u(3)}
	data := sample[skbRecordSize:]
	if r.File >= uint64(len(p.bufs)) || r.Len > uint64(len(data)) || r.Offset > r.Len {
		return fmt.Errorf("internal error: bad skboutput() sample (file %d, %d bytes at %d, %d sent)", r.File, r.Len, r.Offset, len(data))
	}
	pkt := data[r.Offset:r.Len]
	ts := int64(r.Time) + p.realMinusBoot
	hdr := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint32(hdr[0:], uint32(ts/1e9))
	le.PutUint32(hdr[4:], uint32(ts%1e9))
	le.PutUint32(hdr[8:], uint32(len(pkt)))
	le.PutUint32(hdr[12:], uint32(len(pkt)))
	b := p.bufs[r.File]
	b.Write(hdr)
	_, err := b.Write(pkt)
	if err != nil {
		return fmt.Errorf("skboutput(): %s: %w", p.names[r.File], err)
	}
	return nil
}

func (p *pcapFiles) close() error {
	var errs []error
	for i, f := range p.files {
		if err := p.bufs[i].Flush(); err != nil {
			errs = append(errs, fmt.Errorf("skboutput(): %s: %w", p.names[i], err))
		}
		f.Close()
	}
	return errors.Join(errs...)
}

// skbWriter reads the packets of skboutput() from the perf buffers while
// the script runs.
type skbWriter struct {
	rd    *perf.Reader
	files *pcapFiles
	done  chan error
	lost  uint64
}

// perfPages is the size of each CPU's perf buffer in pages, from
// BPFTRACE_PERF_RB_PAGES as in bpftrace.
func perfPages() int {
	if n, err := strconv.Atoi(os.Getenv("BPFTRACE_PERF_RB_PAGES")); err == nil && n > 0 {
		return n
	}
	return 64
}

func startSkbWriter(m *ebpf.Map, names []string) (*skbWriter, error) {
	files, err := createPcapFiles(names)
	if err != nil {
		return nil, err
	}
	rd, err := perf.NewReader(m, perfPages()*os.Getpagesize())
	if err != nil {
		files.close()
		return nil, fmt.Errorf("cannot read skboutput() packets: %w", err)
	}
	w := &skbWriter{rd: rd, files: files, done: make(chan error, 1)}
	go func() { w.done <- w.loop() }()
	return w, nil
}

func (w *skbWriter) loop() error {
	var rec perf.Record
	for {
		err := w.rd.ReadInto(&rec)
		if errors.Is(err, perf.ErrFlushed) {
			// finish: the samples sent before it are all read.
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading skboutput() packets: %w", err)
		}
		w.lost += rec.LostSamples
		if len(rec.RawSample) > 0 {
			if err := w.files.write(rec.RawSample); err != nil {
				return err
			}
		}
	}
}

// finish writes what the probes sent before they were detached, closes
// the files and gives the number of packets lost.
func (w *skbWriter) finish() (uint64, error) {
	if err := w.rd.Flush(); err != nil {
		// Closing the reader unblocks it instead.
		w.rd.Close()
	}
	err := <-w.done
	w.rd.Close()
	return w.lost, errors.Join(err, w.files.close())
}

// finishSkb writes out skboutput()'s last packets, once the probes are
// detached, and reports the ones lost.
func (s *state) finishSkb() error {
	if s.skb == nil {
		return nil
	}
	lost, err := s.skb.finish()
	s.skb = nil
	if err != nil {
		return err
	}
	if lost > 0 {
		return s.opts.Printer.Lost(lost)
	}
	return nil
}
