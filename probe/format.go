package probe

import (
	"fmt"
	"strconv"
	"strings"

	"friday/types"
)

// Format is a parsed tracepoint format file.
type Format struct {
	Category string
	Event    string
	ID       uint64        // perf event config of the tracepoint
	Fields   []FormatField // in file order, common_* fields included
	// Args is the struct the args builtin has: every field but the
	// common_* ones, at its offset from the start of the context.
	Args *types.Type
}

// FormatField is one "field:" line of a format file.
type FormatField struct {
	Decl   string // the C declaration as written: "const char * filename"
	Name   string
	Offset int
	Size   int
	Signed bool
}

// ParseFormat parses the format file text of a tracepoint of category cat.
//
// Field types follow bpftrace: char arrays are strings of the array's size
// (they print as text), other arrays are arrays of their element; __data_loc
// fields are marked DataLoc and typed as their data (a string or an array)
// with size 0, the real length being known only at run time; pointers of
// syscall tracepoints point into user memory. Scalars of a C base type or a
// fixed-width kernel type (int, u32, pid_t, ...) have that type; others
// (gfp_t, sector_t, ...) take size and signedness from the file; bool is
// Bool and "enum x" is Enum.
func ParseFormat(cat, text string) (*Format, error) {
	f := &Format{Category: cat}
	for ln, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "name:"):
			f.Event = strings.TrimSpace(strings.TrimPrefix(line, "name:"))
		case strings.HasPrefix(line, "ID:"):
			id, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "ID:")), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("format line %d: bad ID: %q", ln+1, line)
			}
			f.ID = id
		case strings.HasPrefix(line, "field:"):
			fld, err := parseFieldLine(line)
			if err != nil {
				return nil, fmt.Errorf("format line %d: %v", ln+1, err)
			}
			f.Fields = append(f.Fields, fld)
		}
	}
	if f.Event == "" {
		return nil, fmt.Errorf("format has no name line")
	}
	args, err := f.argsType()
	if err != nil {
		return nil, fmt.Errorf("tracepoint %s:%s: %v", cat, f.Event, err)
	}
	f.Args = args
	return f, nil
}

// parseFieldLine parses
// "field:unsigned int nr_sector;	offset:24;	size:4;	signed:0;".
func parseFieldLine(line string) (FormatField, error) {
	var fld FormatField
	seen := 0
	for _, item := range strings.Split(line, ";") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok {
			continue
		}
		var err error
		switch key {
		case "field":
			fld.Decl = strings.TrimSpace(val)
			seen |= 1
		case "offset":
			fld.Offset, err = strconv.Atoi(val)
			seen |= 2
		case "size":
			fld.Size, err = strconv.Atoi(val)
			seen |= 4
		case "signed":
			var s int
			s, err = strconv.Atoi(val)
			fld.Signed = s != 0
		}
		if err != nil {
			return fld, fmt.Errorf("bad %s in %q", key, line)
		}
	}
	if seen != 7 {
		return fld, fmt.Errorf("field line lacks field, offset or size: %q", line)
	}
	typ, name, _ := splitDecl(fld.Decl)
	if typ == "" || name == "" {
		return fld, fmt.Errorf("no type and name in %q", fld.Decl)
	}
	fld.Name = name
	return fld, nil
}

// splitDecl splits "char comm[16]" into the type "char", the name "comm"
// and the array suffix "[16]".
func splitDecl(decl string) (typ, name, array string) {
	d := strings.TrimSpace(decl)
	if strings.HasSuffix(d, "]") {
		if i := strings.LastIndexByte(d, '['); i >= 0 {
			d, array = strings.TrimSpace(d[:i]), d[i:]
		}
	}
	i := len(d)
	for i > 0 && isIdentByte(d[i-1]) {
		i--
	}
	return strings.TrimSpace(d[:i]), d[i:], array
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (f *Format) argsType() (*types.Type, error) {
	t := &types.Type{Kind: types.Struct, Name: "struct _tracepoint_" + f.Category + "_" + f.Event}
	user := f.Category == "syscalls"
	for _, fld := range f.Fields {
		if end := fld.Offset + fld.Size; end > t.Size {
			t.Size = end
		}
		if IsCommonField(fld.Name) {
			continue
		}
		ft, dataLoc, err := fieldType(fld, user)
		if err != nil {
			return nil, err
		}
		t.Fields = append(t.Fields, types.Field{Name: fld.Name, Type: ft, Offset: fld.Offset, DataLoc: dataLoc})
	}
	return t, nil
}

func fieldType(fld FormatField, user bool) (t *types.Type, dataLoc bool, err error) {
	typ, _, array := splitDecl(fld.Decl)
	if rest, ok := strings.CutPrefix(typ, "__data_loc "); ok {
		elem := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "[]"))
		if isChar(elem) {
			return types.StringOf(0), true, nil
		}
		return types.ArrayOf(namedType(elem, user), 0), true, nil
	}
	if array != "" {
		n := 0
		if inner := strings.TrimSpace(array[1 : len(array)-1]); inner != "" {
			if n, err = strconv.Atoi(inner); err != nil || n < 0 {
				return nil, false, fmt.Errorf("field %s: bad array length %s", fld.Name, array)
			}
		}
		if isChar(typ) {
			return types.StringOf(fld.Size), false, nil
		}
		elem := namedType(typ, user)
		if elem.Size == 0 && n > 0 {
			elem = types.IntOf(fld.Size/n, fld.Signed)
		}
		return types.ArrayOf(elem, n), false, nil
	}
	if strings.HasSuffix(stripQualifiers(typ), "*") {
		return namedType(typ, user), false, nil
	}
	return scalarType(typ, fld.Size, fld.Signed), false, nil
}

// scalarType types a non-pointer, non-array field. A declared C base type
// wins over the file's size and signedness: syscall tracepoints store every
// argument in 8 bytes marked unsigned, yet "int dfd" holds -100 (AT_FDCWD)
// in its low 4 bytes, and bpftrace reads it as an int.
func scalarType(typ string, size int, signed bool) *types.Type {
	typ = stripQualifiers(typ)
	if t, ok := baseTypes[typ]; ok && t.Size > 0 && t.Size <= size {
		return t
	}
	switch {
	case strings.HasPrefix(typ, "enum "):
		return &types.Type{Kind: types.Enum, Size: size, Signed: signed, Name: typ}
	case strings.HasPrefix(typ, "struct ") || strings.HasPrefix(typ, "union "):
		return &types.Type{Kind: types.Struct, Size: size, Name: typ, Union: strings.HasPrefix(typ, "union ")}
	}
	switch size {
	case 1, 2, 4, 8:
		return types.IntOf(size, signed)
	}
	return types.ArrayOf(types.U8, size)
}

// namedType types a C type spelled without sizes, as pointees are: the
// size is known only for the C base types and the kernel's fixed-width
// names. Other typedefs become void, which the checker lets the user cast.
func namedType(typ string, user bool) *types.Type {
	typ = stripQualifiers(typ)
	if strings.HasSuffix(typ, "*") {
		p := types.PointerTo(namedType(strings.TrimSuffix(typ, "*"), user))
		p.User = user
		return p
	}
	if t, ok := baseTypes[typ]; ok {
		return t
	}
	switch {
	case strings.HasPrefix(typ, "struct ") || strings.HasPrefix(typ, "union "):
		return &types.Type{Kind: types.Struct, Name: typ, Union: strings.HasPrefix(typ, "union ")}
	case strings.HasPrefix(typ, "enum "):
		return &types.Type{Kind: types.Enum, Size: 4, Name: typ}
	}
	return types.VoidT
}

// stripQualifiers drops const, volatile and address-space markers, which
// change nothing for reading the value.
func stripQualifiers(typ string) string {
	var out []string
	for _, w := range strings.Fields(strings.ReplaceAll(typ, "*", " * ")) {
		switch w {
		case "const", "volatile", "__seg_gs", "__seg_fs", "__user", "__rcu", "__percpu", "__iomem":
			continue
		}
		out = append(out, w)
	}
	return strings.ReplaceAll(strings.Join(out, " "), " *", "*")
}

func isChar(typ string) bool {
	switch stripQualifiers(typ) {
	case "char", "signed char":
		return true
	}
	return false
}

var baseTypes = map[string]*types.Type{
	"void": types.VoidT, "bool": types.BoolT, "_Bool": types.BoolT,
	"char": types.I8, "signed char": types.I8, "unsigned char": types.U8,
	"short": types.I16, "short int": types.I16, "signed short": types.I16,
	"unsigned short": types.U16, "unsigned short int": types.U16,
	"int": types.I32, "signed": types.I32, "signed int": types.I32,
	"unsigned": types.U32, "unsigned int": types.U32, "uint": types.U32,
	"long": types.I64, "long int": types.I64, "signed long": types.I64,
	"unsigned long": types.U64, "unsigned long int": types.U64,
	"long long": types.I64, "long long int": types.I64,
	"unsigned long long": types.U64, "unsigned long long int": types.U64,
	"u8": types.U8, "__u8": types.U8, "uint8_t": types.U8,
	"s8": types.I8, "__s8": types.I8, "int8_t": types.I8,
	"u16": types.U16, "__u16": types.U16, "uint16_t": types.U16,
	"s16": types.I16, "__s16": types.I16, "int16_t": types.I16,
	"u32": types.U32, "__u32": types.U32, "uint32_t": types.U32,
	"s32": types.I32, "__s32": types.I32, "int32_t": types.I32,
	"u64": types.U64, "__u64": types.U64, "uint64_t": types.U64,
	"s64": types.I64, "__s64": types.I64, "int64_t": types.I64,
	"size_t": types.U64, "ssize_t": types.I64, "loff_t": types.I64,
	"pid_t": types.I32, "uid_t": types.U32, "gid_t": types.U32,
	"umode_t": types.U16, "dev_t": types.U32,
}
