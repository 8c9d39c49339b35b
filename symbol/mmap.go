package symbol

import (
	"debug/elf"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile returns the bytes of the ELF file r as far as its headers place
// them, mapped read-only: tables looked up in place, such as Go's
// pclntab, are read a few bytes at a time in a few places, and the kernel
// then reads in only the pages touched, once. unmap releases them; until
// then a file truncated under the mapping faults on access (see
// debug.SetPanicOnFault). A reader that is no file (an image in memory) is
// copied instead.
func mapFile(ef *elf.File, r io.ReaderAt) (data []byte, unmap func(), err error) {
	size := elfExtent(ef)
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			size = min(size, fi.Size())
		}
		if size == 0 {
			return nil, func() {}, nil
		}
		m, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return nil, nil, err
		}
		return m, func() { unix.Munmap(m) }, nil
	}
	if s, ok := r.(interface{ Size() int64 }); ok {
		size = min(size, s.Size())
	}
	data = make([]byte, size)
	n, err := r.ReadAt(data, 0)
	if n < len(data) {
		return nil, nil, err
	}
	return data, func() {}, nil
}

// elfExtent is the end of the last byte of the file that its headers
// place: the file need not tell its own size (an image in memory).
func elfExtent(ef *elf.File) int64 {
	var end uint64
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOBITS {
			end = max(end, s.Offset+s.FileSize)
		}
	}
	for _, p := range ef.Progs {
		end = max(end, p.Off+p.Filesz)
	}
	return int64(min(end, 1<<40))
}
