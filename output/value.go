package output

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"syscall"
	"unicode/utf8"

	"friday/internal/syscalls"
	"friday/run"
	"friday/types"
)

var ne = binary.NativeEndian

// intBits reads an integer of size bytes; signed values are sign-extended.
func intBits(b []byte, size int, signed bool) uint64 {
	switch size {
	case 1:
		if signed {
			return uint64(int8(b[0]))
		}
		return uint64(b[0])
	case 2:
		if signed {
			return uint64(int16(ne.Uint16(b)))
		}
		return uint64(ne.Uint16(b))
	case 4:
		if signed {
			return uint64(int32(ne.Uint32(b)))
		}
		return uint64(ne.Uint32(b))
	}
	if len(b) < 8 {
		return 0
	}
	return ne.Uint64(b)
}

func u64(b []byte) uint64 { return ne.Uint64(b) }

// appendInt formats a 64-bit value as signed or unsigned decimal.
func appendInt(dst []byte, v uint64, signed bool) []byte {
	if signed {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	return strconv.AppendUint(dst, v, 10)
}

// cString is s up to its first NUL.
func cString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// appendBuffer writes printable ASCII as it is and every other byte as a
// \xNN escape, as bpftrace prints buf() values.
func appendBuffer(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			dst = append(dst, c)
		} else {
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// bufferData is the data of a buf() value: the bytes its length byte
// counts, within the type's capacity.
func bufferData(t *types.Type, b []byte) []byte {
	n := int(b[0])
	return b[BufferLenSize:][:min(n, t.Size-BufferLenSize)]
}

// aggValue is the number an aggregation prints: count, sum, min, max and
// the average of avg (total/count, rounding towards zero).
func aggValue(t *types.Type, b []byte) uint64 {
	switch t.Kind {
	case types.Avg, types.Stats:
		count, total := u64(b), u64(b[8:])
		if count == 0 {
			return 0
		}
		if t.Signed {
			return uint64(int64(total) / int64(count))
		}
		return total / count
	}
	return u64(b)
}

// statsFields are the fields of a stats value, as text and JSON name them:
// its count, average and total.
func statsFields(t *types.Type, b []byte) (names [3]string, vals [3]uint64, signed [3]bool) {
	return [3]string{"count", "average", "total"},
		[3]uint64{u64(b), aggValue(t, b), u64(b[8:])},
		[3]bool{false, t.Signed, t.Signed}
}

// appendText formats a value as the text output shows it.
func (p *Printer) appendText(dst []byte, t *types.Type, b []byte) []byte {
	switch t.Kind {
	case types.Int:
		return appendInt(dst, intBits(b, t.Size, t.Signed), t.Signed)
	case types.Bool:
		return strconv.AppendBool(dst, b[0] != 0)
	case types.Pointer:
		dst = append(dst, "0x"...)
		return strconv.AppendUint(dst, intBits(b, t.Size, false), 16)
	case types.Enum:
		v := intBits(b, t.Size, t.Signed)
		if name, ok := t.EnumNames[int64(v)]; ok {
			return append(dst, name...)
		}
		return appendInt(dst, v, t.Signed)
	case types.String:
		s := cString(b[:t.Size])
		dst = append(dst, s...)
		if len(s) == t.Size {
			// No NUL within its capacity: a string cut short, which
			// bpftrace marks.
			dst = append(dst, p.obj.StrTrailer...)
		}
		return dst
	case types.Buffer:
		return appendBuffer(dst, bufferData(t, b))
	case types.Array:
		dst = append(dst, '[')
		for i := 0; i < t.Len; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = p.appendText(dst, t.Elem, b[i*t.Elem.Size:])
		}
		return append(dst, ']')
	case types.Struct, types.Record:
		// Records print as structs do.
		if len(t.Fields) == 0 {
			return append(dst, "{}"...)
		}
		dst = append(dst, "{ "...)
		for i, f := range t.Fields {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, '.')
			dst = append(dst, f.Name...)
			dst = append(dst, " = "...)
			dst = p.appendText(dst, f.Type, fieldBytes(f, b))
		}
		return append(dst, " }"...)
	case types.Tuple:
		dst = append(dst, '(')
		for i, f := range t.Fields {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = p.appendText(dst, f.Type, b[f.Offset:])
		}
		return append(dst, ')')
	case types.Count, types.Sum, types.Min, types.Max, types.Avg:
		return appendInt(dst, aggValue(t, b), t.Signed && t.Kind != types.Count)
	case types.Stats:
		names, vals, signed := statsFields(t, b)
		dst = append(dst, "{ "...)
		for i := range names {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, '.')
			dst = append(dst, names[i]...)
			dst = append(dst, " = "...)
			dst = appendInt(dst, vals[i], signed[i])
		}
		return append(dst, " }"...)
	}
	return append(dst, p.special(t, b)...)
}

// ValueText is a value laid out as t as the text output shows it in a
// map's value or a printed value.
func (p *Printer) ValueText(t *types.Type, b []byte) string {
	return string(p.appendText(nil, t, b))
}

// fieldBytes is the bytes of a struct field; a bitfield is extracted into
// a fresh 8-byte integer.
func fieldBytes(f types.Field, b []byte) []byte {
	if f.BitSize == 0 {
		return b[f.Offset:]
	}
	var word [8]byte
	copy(word[:], b[f.Offset:])
	v := ne.Uint64(word[:]) >> f.BitOffset & (1<<f.BitSize - 1)
	ne.PutUint64(word[:], v)
	return word[:]
}

// special formats the kinds whose text needs resolving (symbols, stacks,
// user names, ...): the same text in both output formats.
func (p *Printer) special(t *types.Type, b []byte) string {
	switch t.Kind {
	case types.Ksym:
		return symText(p.sym.Kernel(u64(b)), u64(b))
	case types.Usym:
		addr := u64(b)
		return symText(p.sym.User(ne.Uint32(b[UsymPidOff:]), addr), addr)
	case types.KStack, types.UStack:
		return p.stack(t, b)
	case types.Inet:
		return string(AppendInet(nil, b))
	case types.Username:
		return p.users.name(u64(b))
	case types.Timestamp:
		return p.timestamp(u64(b), u64(b[TimestampNsOff:]))
	case types.CgroupPath:
		filter := ""
		if id := u64(b); id != 0 {
			filter = p.eventFormat(id - 1)
		}
		return p.sym.CgroupPath(u64(b[CgroupIDOff:]), filter)
	case types.MacAddr:
		return macaddr(b[:6])
	case types.Strerror:
		return Strerror(int64(intBits(b, t.Size, true)))
	case types.Syscall:
		return syscallName(int64(intBits(b, t.Size, true)))
	case types.Signal:
		return signalName(int64(intBits(b, t.Size, true)))
	case types.Probe:
		if id := u64(b); id < uint64(len(p.obj.ProbeNames)) {
			return p.obj.ProbeNames[id]
		}
		return ""
	}
	return t.String()
}

// symText is ksym()/usym() text: the symbol's bare name, or the address in
// hex (0 stays "0", as C++'s showbase prints it).
func symText(s Sym, addr uint64) string {
	if s.Name != "" {
		return s.Name
	}
	if addr == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(addr, 16)
}

// stack formats a kernel or user stack: in bpftrace mode one frame per line
// indented by 8 spaces (in map keys too), in perf mode each line is a
// tab, the address in hex and the symbol, with the binary for user frames;
// raw mode is the bare addresses. A stack with no frames is empty text.
// Calls the compiler inlined get a line each, "name (inlined)", above the
// frame of the function they were inlined into: bpftrace shows only the
// latter.
func (p *Printer) stack(t *types.Type, b []byte) string {
	if t.Stack == types.StackBuildID {
		return buildIDStack(p.sym.BuildIDStack(t.StackDepth, u64(b)))
	}
	user := t.Kind == types.UStack
	var pid uint32
	if user {
		pid = ne.Uint32(b[UStackPidOff:])
	}
	frames := p.sym.Stack(user, t.StackDepth, u64(b))
	if t.StackDepth > 0 && len(frames) > t.StackDepth {
		frames = frames[:t.StackDepth]
	}
	if len(frames) == 0 {
		return ""
	}
	out := []byte{'\n'}
	for i, addr := range frames {
		if t.Stack == types.StackRaw {
			out = strconv.AppendUint(out, addr, 16)
			out = append(out, '\n')
			continue
		}
		var s Sym
		if user {
			s = p.sym.User(pid, addr)
			if i > 0 && s.Name != "" {
				// Outer frames hold return addresses, one past the call:
				// the call itself tells which inlined code made it.
				s.Inlined = p.sym.User(pid, addr-1).Inlined
			}
		} else {
			s = p.sym.Kernel(addr)
		}
		for _, name := range s.Inlined {
			out = appendStackLine(out, t, user, addr, Sym{Name: name, Module: s.Module}, true)
		}
		out = appendStackLine(out, t, user, addr, s, false)
	}
	return string(out)
}

// buildIDStack is the text of a ustack(build_id) value as bpftrace prints
// it: a newline, then a line per frame, unindented, with the build id in
// hex and the offset in the file ("0x" and at least two hex digits), or
// the bare address in hex when the kernel could not read the build id. A
// stack without frames is the newline alone.
func buildIDStack(frames []run.BuildIDFrame) string {
	out := []byte{'\n'}
	for _, f := range frames {
		if !f.Valid {
			out = strconv.AppendUint(out, f.Offset, 16)
			out = append(out, '\n')
			continue
		}
		out = hex.AppendEncode(out, f.ID[:])
		out = append(out, " 0x"...)
		if f.Offset < 0x10 {
			out = append(out, '0')
		}
		out = strconv.AppendUint(out, f.Offset, 16)
		out = append(out, '\n')
	}
	return string(out)
}

// appendStackLine is one line of a stack in bpftrace or perf mode.
func appendStackLine(out []byte, t *types.Type, user bool, addr uint64, s Sym, inlined bool) []byte {
	if t.Stack == types.StackPerf {
		out = append(out, '\t')
		out = strconv.AppendUint(out, addr, 16)
		out = append(out, ' ')
	} else {
		out = append(out, "        "...)
	}
	if inlined {
		out = append(out, s.Name...)
		out = append(out, " (inlined)"...)
	} else {
		out = appendFrame(out, s, addr)
	}
	if t.Stack == types.StackPerf && user {
		mod := s.Module
		if mod == "" {
			mod = "[unknown]"
		}
		out = append(out, " ("...)
		out = append(out, mod...)
		out = append(out, ')')
	}
	return append(out, '\n')
}

// appendFrame is one stack frame: name+offset, or the address in hex.
func appendFrame(dst []byte, s Sym, addr uint64) []byte {
	if s.Name == "" {
		dst = append(dst, "0x"...)
		return strconv.AppendUint(dst, addr, 16)
	}
	dst = append(dst, s.Name...)
	dst = append(dst, '+')
	return strconv.AppendUint(dst, s.Offset, 10)
}

// AppendInet appends the text of an ntop() value laid out in b (an
// IPv4 or IPv6 address, as inet_ntop writes it) to dst.
func AppendInet(dst, b []byte) []byte {
	addr := b[InetAddrOff : InetAddrOff+16]
	switch u64(b) {
	case AFInet:
		return netip.AddrFrom4([4]byte(addr[:4])).AppendTo(dst)
	case AFInet6:
		return netip.AddrFrom16([16]byte(addr)).AppendTo(dst)
	}
	return dst
}

func macaddr(b []byte) string {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, 17)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

// Strerror is the C library's message for an errno value. Go's messages
// are the C library's with a lower-case first letter.
func Strerror(n int64) string {
	// Negative errors, as helpers and syscalls return them, are named
	// too.
	if n < 0 {
		n = -n
	}
	if n <= 0 || n > 4095 {
		return "Unknown error " + strconv.FormatInt(n, 10)
	}
	s := syscall.Errno(n).Error()
	if len(s) > 5 && s[:6] == "errno " {
		return "Unknown error " + strconv.FormatInt(n, 10)
	}
	if s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// syscallName is syscall_name() text. The number is an int, as the
// kernel's syscall tracepoints hold it.
func syscallName(n int64) string {
	if name := syscalls.Name(int64(int32(n))); name != "" {
		return name
	}
	return "Unknown syscall"
}

// signalName is signal_name() text: the description strsignal(3) gives.
func signalName(n int64) string {
	const rtMin, rtMax = 34, 64 // SIGRTMIN and SIGRTMAX as the C library counts them
	if n >= rtMin && n <= rtMax {
		return "Real-time signal " + strconv.FormatInt(n-rtMin, 10)
	}
	s := syscall.Signal(n).String()
	if n <= 0 || n >= rtMin || len(s) > 7 && s[:7] == "signal " {
		return "Unknown signal " + strconv.FormatInt(n, 10)
	}
	if s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// appendJSON formats a value as the JSON output shows it. Numbers JSON
// readers would round (beyond 2^53) are strings, enums and pointers are
// their numbers, buffers arrays of their bytes as C's signed chars.
func (p *Printer) appendJSON(dst []byte, t *types.Type, b []byte) []byte {
	switch t.Kind {
	case types.Int, types.Enum:
		return appendJSONInt(dst, intBits(b, t.Size, t.Signed), t.Signed)
	case types.Pointer:
		return appendJSONInt(dst, intBits(b, t.Size, false), false)
	case types.Count:
		return appendJSONInt(dst, u64(b), false)
	case types.Sum, types.Min, types.Max, types.Avg:
		return appendJSONInt(dst, aggValue(t, b), t.Signed)
	case types.Bool:
		return strconv.AppendBool(dst, b[0] != 0)
	case types.Buffer:
		dst = append(dst, '[')
		for i, c := range bufferData(t, b) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(int8(c)), 10)
		}
		return append(dst, ']')
	case types.Array:
		dst = append(dst, '[')
		for i := 0; i < t.Len; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = p.appendJSON(dst, t.Elem, b[i*t.Elem.Size:])
		}
		return append(dst, ']')
	case types.Struct, types.Record:
		dst = append(dst, '{')
		for i, f := range t.Fields {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendJSONString(dst, []byte(f.Name))
			dst = append(dst, ": "...)
			dst = p.appendJSON(dst, f.Type, fieldBytes(f, b))
		}
		return append(dst, '}')
	case types.Tuple:
		dst = append(dst, '[')
		for i, f := range t.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = p.appendJSON(dst, f.Type, b[f.Offset:])
		}
		return append(dst, ']')
	case types.Stats:
		names, vals, signed := statsFields(t, b)
		dst = append(dst, '{')
		for i := range names {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendJSONString(dst, []byte(names[i]))
			dst = append(dst, ": "...)
			dst = appendJSONInt(dst, vals[i], signed[i])
		}
		return append(dst, '}')
	}
	return appendJSONString(dst, p.appendText(nil, t, b))
}

// appendJSONInt writes an integer as a JSON number, or as a string when a
// double, which is what JSON readers make of numbers, cannot hold it.
func appendJSONInt(dst []byte, v uint64, signed bool) []byte {
	exact := v < 1<<53
	if signed {
		n := int64(v)
		exact = -1<<53 <= n && n <= 1<<53 || float64(n) != 0x1p63 && int64(float64(n)) == n
	} else if !exact {
		exact = float64(v) != 0x1p64 && uint64(float64(v)) == v
	}
	if exact {
		return appendInt(dst, v, signed)
	}
	dst = append(dst, '"')
	dst = appendInt(dst, v, signed)
	return append(dst, '"')
}

// appendJSONString writes s as a JSON string. Bytes that are not UTF-8
// become U+FFFD so that the output stays valid JSON.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				if c < 0x20 {
					dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
				} else {
					dst = append(dst, c)
				}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// checkType reports a type whose stated size is too small for what the
// printer reads of it, so that malformed input gives an error instead of
// reading out of bounds. Aggregations are sized by codegen.ValueSize, and
// their entries are checked against it.
func checkType(t *types.Type) error {
	if t == nil {
		return fmt.Errorf("missing type")
	}
	need := 0
	switch t.Kind {
	case types.Int, types.Enum:
		if t.Size != 1 && t.Size != 2 && t.Size != 4 && t.Size != 8 {
			return fmt.Errorf("integer of %d bytes", t.Size)
		}
	case types.Bool, types.Buffer:
		need = 1
	case types.Pointer, types.Ksym, types.KStack, types.Username, types.Strerror, types.Syscall, types.Signal, types.Probe:
		need = 8
	case types.Usym, types.UStack, types.Timestamp, types.CgroupPath:
		need = 16
	case types.Inet:
		need = InetAddrOff + 16
	case types.MacAddr:
		need = 6
	case types.Array:
		if t.Elem == nil || t.Len < 0 || t.Elem.Size*t.Len > t.Size {
			return fmt.Errorf("array %s larger than its %d bytes", t, t.Size)
		}
		return checkType(t.Elem)
	case types.Struct, types.Tuple, types.Record:
		for _, f := range t.Fields {
			if err := checkType(f.Type); err != nil {
				return err
			}
			if f.Offset < 0 || f.Offset+f.Type.Size > t.Size && f.BitSize == 0 {
				return fmt.Errorf("field %s of %s lies outside its %d bytes", f.Name, t, t.Size)
			}
		}
	}
	if t.Size < need {
		return fmt.Errorf("%s value of %d bytes, want %d", t, t.Size, need)
	}
	return nil
}
