package check

import (
	"github.com/cilium/ebpf/btf"

	"friday/btftypes"
	"friday/types"
)

// btfTypes gives the checker kernel BTF types; the conversion is shared
// with the probe package, which types function arguments the same way.
type btfTypes struct {
	conv *btftypes.Converter
}

type enumConst struct {
	val int64
	typ *types.Type
}

func newBTFTypes(spec *btf.Spec) *btfTypes {
	return &btfTypes{conv: btftypes.New(spec)}
}

// named looks up "struct x", "union x" or "enum x".
func (b *btfTypes) named(name string) *types.Type { return b.conv.Named(name) }

// typedef looks up a typedef or base type name such as "u32" or "pid_t".
func (b *btfTypes) typedef(name string) *types.Type { return b.conv.Typedef(name) }

// enumValue finds an enum constant by name.
func (b *btfTypes) enumValue(name string) (enumConst, bool) {
	ec, ok := b.conv.EnumValue(name)
	return enumConst{val: ec.Val, typ: ec.Type}, ok
}

// funcProto finds the prototype of kernel function name.
func (b *btfTypes) funcProto(name string) *btf.FuncProto { return b.conv.FuncProto(name) }

// protoArgs is the struct of a function prototype's parameters, laid out
// as 8-byte slots (as raw tracepoint and fentry contexts hold them).
func (b *btfTypes) protoArgs(name string, proto *btf.FuncProto) *types.Type {
	return b.conv.ProtoArgs(name, proto)
}
