package codegen

import (
	"friday/probe"
	"friday/types"
)

// exitRetval reads the return value of the function an fexit program
// traces: the kernel stores it in the context slot after the arguments,
// which the point's args describe as probe.RetvalField.
func (f *fn) exitRetval(t *types.Type) (value, bool) {
	if len(f.points) == 0 || f.points[0].Args == nil {
		return value{}, false
	}
	fd, ok := f.points[0].Args.Field(probe.RetvalField)
	if !ok {
		return value{}, false
	}
	return value{kind: vMem, m: mem{rCtx, fd.Offset}, t: fieldIntType(fd.Type, t)}, true
}
