package check

import (
	"github.com/cilium/ebpf/btf"

	"friday/btftypes"
	"friday/lazybtf"
	"friday/types"
)

// btfTypes gives the checker kernel BTF types; the conversion is shared
// with the probe package, which types function arguments the same way.
type btfTypes struct {
	load func() *lazybtf.Spec
	conv *btftypes.Converter
	// local are the types the script defines, which win over the kernel's.
	local map[string]*types.Type
}

type enumConst struct {
	val int64
	typ *types.Type
}

func newBTFTypes(load func() *lazybtf.Spec, local map[string]*types.Type) *btfTypes {
	return &btfTypes{load: load, local: local}
}

func (b *btfTypes) converter() *btftypes.Converter {
	if b.conv == nil {
		var spec *lazybtf.Spec
		if b.load != nil {
			spec = b.load()
		}
		b.conv = btftypes.New(spec)
		b.conv.Local = func(name string) *types.Type { return b.local[name] }
	}
	return b.conv
}

// named looks up "struct x", "union x" or "enum x".
func (b *btfTypes) named(name string) *types.Type { return b.converter().Named(name) }

// typedef looks up a typedef or base type name such as "u32" or "pid_t".
func (b *btfTypes) typedef(name string) *types.Type { return b.converter().Typedef(name) }

// enumValue finds an enum constant by name.
func (b *btfTypes) enumValue(name string) (enumConst, bool) {
	ec, ok := b.converter().EnumValue(name)
	return enumConst{val: ec.Val, typ: ec.Type}, ok
}

// funcProto finds the prototype of kernel function name.
func (b *btfTypes) funcProto(name string) *btf.FuncProto { return b.converter().FuncProto(name) }

// protoArgs is the struct of a function prototype's parameters, laid out
// as 8-byte slots (as raw tracepoint and fentry contexts hold them).
func (b *btfTypes) protoArgs(name string, proto *btf.FuncProto) *types.Type {
	return b.converter().ProtoArgs(name, proto)
}
