package uprobe

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// debugRoot is where distributions install separate debug information
// (Debian's *-dbg and *-dbgsym packages, Fedora's debuginfo).
var debugRoot = "/usr/lib/debug"

// Note is one ELF note.
type Note struct {
	Name string
	Type uint32
	Desc []byte
}

// ReadNotes returns the notes of the named section, none when the section
// is missing.
func ReadNotes(f *elf.File, section string) ([]Note, error) {
	sec := f.Section(section)
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", section, err)
	}
	var notes []Note
	for len(data) > 0 {
		if len(data) < 12 {
			return nil, fmt.Errorf("%s: truncated note", section)
		}
		namesz := uint64(f.ByteOrder.Uint32(data[0:]))
		descsz := uint64(f.ByteOrder.Uint32(data[4:]))
		typ := f.ByteOrder.Uint32(data[8:])
		nameEnd := 12 + align4(namesz)
		descEnd := nameEnd + align4(descsz)
		if descEnd > uint64(len(data)) {
			return nil, fmt.Errorf("%s: truncated note", section)
		}
		notes = append(notes, Note{
			Name: string(bytes.TrimRight(data[12:12+namesz], "\x00")),
			Type: typ,
			Desc: data[nameEnd : nameEnd+descsz],
		})
		data = data[descEnd:]
	}
	return notes, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// BuildID returns the GNU build ID of the file as hex, "" when it has none.
func (b *Binary) BuildID() string { return buildID(b.file) }

func buildID(f *elf.File) string {
	const ntGNUBuildID = 3
	notes, _ := ReadNotes(f, ".note.gnu.build-id")
	for _, n := range notes {
		if n.Name == "GNU" && n.Type == ntGNUBuildID && len(n.Desc) > 0 {
			return hex.EncodeToString(n.Desc)
		}
	}
	return ""
}

// openDebugFile finds the separate debug information of a stripped file the
// way debuggers do: by build ID under the debug root, then by the name and
// checksum .gnu_debuglink records, next to the file, in its .debug
// directory, or under the debug root. It returns nil when there is none.
func (b *Binary) openDebugFile() *elf.File {
	if id := b.BuildID(); len(id) > 2 {
		p := filepath.Join(debugRoot, ".build-id", id[:2], id[2:]+".debug")
		if f, err := elf.Open(p); err == nil {
			if buildID(f) == id {
				return f
			}
			f.Close()
		}
	}
	name, crc, err := b.debugLink()
	if err != nil || name == "" {
		return nil
	}
	dir := filepath.Dir(b.Path)
	if real, err := filepath.EvalSymlinks(b.Path); err == nil {
		dir = filepath.Dir(real)
	}
	for _, p := range []string{
		filepath.Join(dir, name),
		filepath.Join(dir, ".debug", name),
		filepath.Join(debugRoot, dir, name),
	} {
		data, err := os.ReadFile(p)
		if err != nil || crc32.ChecksumIEEE(data) != crc {
			continue
		}
		if f, err := elf.NewFile(bytes.NewReader(data)); err == nil {
			return f
		}
	}
	return nil
}

// debugLink reads .gnu_debuglink: a file name, padding to 4 bytes, and the
// CRC-32 of the debug file.
func (b *Binary) debugLink() (string, uint32, error) {
	sec := b.file.Section(".gnu_debuglink")
	if sec == nil {
		return "", 0, nil
	}
	data, err := sec.Data()
	if err != nil {
		return "", 0, err
	}
	end := bytes.IndexByte(data, 0)
	if end <= 0 {
		return "", 0, errors.New("bad .gnu_debuglink")
	}
	at := int(align4(uint64(end + 1)))
	if at+4 > len(data) {
		return "", 0, errors.New("bad .gnu_debuglink")
	}
	return string(data[:end]), b.file.ByteOrder.Uint32(data[at:]), nil
}
