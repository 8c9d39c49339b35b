package btftypes

import (
	"bytes"
	"encoding/binary"
	"os"

	"github.com/cilium/ebpf/btf"
)

// kernelBTF is where the running kernel describes its types.
const kernelBTF = "/sys/kernel/btf/vmlinux"

// enumIndex maps each enum constant name of raw BTF data to the ID of the
// first enum that defines it, read from the data without decoding its
// types: finding one constant by decoding every type of the kernel
// (Spec.All) takes about 50 MB and a second.
func enumIndex(raw []byte) map[string]btf.TypeID {
	const hdrLen = 24
	if len(raw) < hdrLen {
		return nil
	}
	bo := binary.ByteOrder(binary.LittleEndian)
	if bo.Uint16(raw) != 0xeb9f {
		bo = binary.BigEndian
		if bo.Uint16(raw) != 0xeb9f {
			return nil
		}
	}
	hl, typeOff, typeLen := bo.Uint32(raw[4:]), bo.Uint32(raw[8:]), bo.Uint32(raw[12:])
	strOff, strLen := bo.Uint32(raw[16:]), bo.Uint32(raw[20:])
	if uint64(hl)+uint64(typeOff)+uint64(typeLen) > uint64(len(raw)) ||
		uint64(hl)+uint64(strOff)+uint64(strLen) > uint64(len(raw)) {
		return nil
	}
	types := raw[hl+typeOff : hl+typeOff+typeLen]
	strs := raw[hl+strOff : hl+strOff+strLen]
	name := func(off uint32) string {
		if off >= uint32(len(strs)) {
			return ""
		}
		s := strs[off:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return string(s)
	}
	// The bytes that follow a type's 12, by kind (include/uapi/linux/btf.h).
	extra := func(kind, vlen int) int {
		switch kind {
		case 1, 14, 17: // int, var, decl tag
			return 4
		case 3: // array
			return 12
		case 4, 5, 15, 19: // struct, union, datasec, enum64
			return 12 * vlen
		case 6, 13: // enum, func proto
			return 8 * vlen
		}
		return 0
	}
	idx := map[string]btf.TypeID{}
	for id, off := btf.TypeID(1), 0; off+12 <= len(types); id++ {
		info := bo.Uint32(types[off+4:])
		kind, vlen := int(info>>24&0x1f), int(info&0xffff)
		members := off + 12
		off = members + extra(kind, vlen)
		if off > len(types) {
			return nil
		}
		if kind != 6 && kind != 19 {
			continue
		}
		size := extra(kind, 1)
		for i := range vlen {
			n := name(bo.Uint32(types[members+i*size:]))
			if _, dup := idx[n]; !dup {
				idx[n] = id
			}
		}
	}
	return idx
}

// KernelEnumIndex maps each enum constant name of the running kernel's BTF
// to the ID of the enum that defines it (see Converter.Enums); nil when it
// cannot be read.
func KernelEnumIndex() map[string]btf.TypeID {
	raw, err := os.ReadFile(kernelBTF)
	if err != nil {
		return nil
	}
	return enumIndex(raw)
}
