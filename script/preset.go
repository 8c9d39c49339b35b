package script

import (
	"encoding/binary"
	"fmt"

	"friday/codegen"
	"friday/run"
	"friday/types"
)

// MapEntry is a key of one of the script's maps and its value, as Go
// values: integers of any Go integer type, bools, strings, and tuples
// as []any. Key holds the key's parts, one per element of a key of
// several.
type MapEntry struct {
	Map   string // "@name"
	Key   []any
	Value any
}

// preset lays out the entries for the kernel, in the types the script
// gave the maps.
func (p *Program) preset(entries []MapEntry) ([]run.Preset, error) {
	var out []run.Preset
	for _, e := range entries {
		m, err := p.userMap(e.Map)
		if err != nil {
			return nil, err
		}
		if m.Key == nil || m.PerCPU {
			return nil, fmt.Errorf("map %s cannot be preset: it is not a map of keys to plain values", e.Map)
		}
		key := make([]byte, m.Key.Size)
		var kv any = e.Key
		if m.Key.Kind != types.Tuple && len(e.Key) == 1 {
			kv = e.Key[0]
		}
		if err := encode(key, m.Key, kv); err != nil {
			return nil, fmt.Errorf("key of %s: %v", e.Map, err)
		}
		val := make([]byte, codegen.ValueSize(m.Value))
		if err := encode(val, m.Value, e.Value); err != nil {
			return nil, fmt.Errorf("value of %s: %v", e.Map, err)
		}
		out = append(out, run.Preset{Map: m, Key: key, Value: val})
	}
	return out, nil
}

// encode lays out v as a value of type t in b.
func encode(b []byte, t *types.Type, v any) error {
	ne := binary.NativeEndian
	switch t.Kind {
	case types.Int:
		n, ok := integer(v)
		if !ok {
			return fmt.Errorf("%v (%T) is not an integer", v, v)
		}
		switch t.Size {
		case 1:
			b[0] = byte(n)
		case 2:
			ne.PutUint16(b, uint16(n))
		case 4:
			ne.PutUint32(b, uint32(n))
		default:
			ne.PutUint64(b, n)
		}
		return nil
	case types.Bool:
		x, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%v (%T) is not a bool", v, v)
		}
		if x {
			b[0] = 1
		}
		return nil
	case types.String:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%v (%T) is not a string", v, v)
		}
		if len(s) >= t.Size {
			return fmt.Errorf("string %q does not fit in %d bytes", s, t.Size)
		}
		copy(b, s)
		return nil
	case types.Tuple:
		parts, ok := v.([]any)
		if !ok || len(parts) != len(t.Fields) {
			return fmt.Errorf("%v is not a tuple of %d elements", v, len(t.Fields))
		}
		for i, f := range t.Fields {
			if err := encode(b[f.Offset:], f.Type, parts[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("values of type %s cannot be preset", t)
}

// integer is v's bits if it is of a Go integer type.
func integer(v any) (uint64, bool) {
	switch x := v.(type) {
	case int:
		return uint64(x), true
	case int8:
		return uint64(x), true
	case int16:
		return uint64(x), true
	case int32:
		return uint64(x), true
	case int64:
		return uint64(x), true
	case uint:
		return uint64(x), true
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	}
	return 0, false
}
