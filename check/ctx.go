package check

import (
	"friday/syntax"
	"friday/types"
)

// ctx is registered after the table of builtins.go is built: Go runs the
// init functions of a package's files in file name order.
func init() {
	builtins["ctx"] = builtin{bare: true, fn: builtinCtx}
}

// builtinCtx types the program's context pointer: an iterator's context
// struct (ctx->task), the registers of the providers whose context they
// are, else a bare address.
func builtinCtx(b *body, e syntax.Expr, ci *Call, args []syntax.Expr) *types.Type {
	if !b.nargs(e, "ctx", args, 0, 0) {
		return nil
	}
	if b.allProvs("iter") && len(b.points) > 0 && b.points[0].Args != nil {
		return types.PointerTo(b.points[0].Args)
	}
	if b.allProvs("kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "profile", "interval", "software", "hardware") {
		if t := b.c.btf.named("struct pt_regs"); t != nil {
			return types.PointerTo(t)
		}
	}
	return types.U64
}
