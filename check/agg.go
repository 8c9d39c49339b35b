package check

import (
	"friday/syntax"
	"friday/types"
)

// aggregate checks an aggregation call assigned to a map and returns the
// map value type it makes. Aggregate types have Size 8: the size of one
// counter slot; codegen decides how many slots a kind needs.
func (b *body) aggregate(call *syntax.Call) *types.Type {
	ci := &Call{Name: call.Name, Args: call.Args}
	b.info.Calls[call] = ci
	args := call.Args
	agg := func(k types.Kind, signed bool) *types.Type {
		return &types.Type{Kind: k, Size: 8, Signed: signed}
	}
	value := func() (*types.Type, bool) {
		t := b.expr(args[0])
		if t == nil {
			return nil, false
		}
		if !isIntegral(t) && !isPtr(t) {
			b.errorf(args[0].Pos(), "%s() only supports integer arguments (%s provided)", call.Name, t)
			return nil, false
		}
		return t, true
	}
	switch call.Name {
	case "count":
		if !b.nargs(call, "count", args, 0, 0) {
			return nil
		}
		return agg(types.Count, false)
	case "sum", "min", "max", "avg", "stats":
		if !b.nargs(call, call.Name, args, 1, 1) {
			return nil
		}
		t, ok := value()
		if !ok {
			return nil
		}
		kind := map[string]types.Kind{"sum": types.Sum, "min": types.Min, "max": types.Max,
			"avg": types.Avg, "stats": types.Stats}[call.Name]
		return agg(kind, isSigned(t))
	case "hist":
		if !b.nargs(call, "hist", args, 1, 2) {
			return nil
		}
		_, ok := value()
		bits := int64(0)
		if len(args) == 2 {
			var bok bool
			bits, bok = b.constInt(args[1], "hist() second argument")
			if bok && (bits < 0 || bits > 5) {
				b.errorf(args[1].Pos(), "hist: bits %d must be 0..5", bits)
				return nil
			}
			ok = ok && bok
		}
		if !ok {
			return nil
		}
		t := agg(types.Hist, true)
		t.Bits = int(bits)
		return t
	case "lhist":
		if !b.nargs(call, "lhist", args, 4, 4) {
			return nil
		}
		_, ok := value()
		var p [3]int64
		for i, name := range []string{"min", "max", "step"} {
			v, vok := b.constInt(args[i+1], "lhist() "+name)
			p[i] = v
			ok = ok && vok
		}
		if !ok {
			return nil
		}
		min, max, step := p[0], p[1], p[2]
		switch {
		case step < 1:
			b.errorf(args[3].Pos(), "lhist() step must be >= 1 (%d provided)", step)
			return nil
		case min < 0:
			b.errorf(args[1].Pos(), "lhist: invalid min value (must be non-negative literal)")
			return nil
		case min >= max:
			b.errorf(args[1].Pos(), "lhist() min must be less than max (provided min %d and max %d)", min, max)
			return nil
		case (max-min)/step > 1000:
			b.errorf(call.Pos(), "lhist() too many buckets, must be <= 1000 (would need %d)", (max-min)/step)
			return nil
		}
		t := agg(types.Lhist, true)
		t.Min, t.Max, t.Step = min, max, step
		return t
	case "tseries":
		if !b.nargs(call, "tseries", args, 3, 4) {
			return nil
		}
		vt, ok := value()
		interval, iok := b.constInt(args[1], "tseries() interval")
		n, nok := b.constInt(args[2], "tseries() number of intervals")
		if !ok || !iok || !nok {
			return nil
		}
		switch {
		case interval < 1:
			b.errorf(call.Pos(), "tseries() interval_ns must be >= 1 (%d provided)", interval)
			return nil
		case n < 1:
			b.errorf(call.Pos(), "tseries() num_intervals must be >= 1 (%d provided)", n)
			return nil
		case n > 1000000:
			b.errorf(call.Pos(), "tseries() num_intervals must be < 1000000 (%d provided)", n)
			return nil
		}
		t := agg(types.Tseries, isSigned(vt))
		t.Step, t.Max = interval, n
		if len(args) == 4 {
			fn, ok := b.constStr(args[3], "tseries()")
			if !ok {
				return nil
			}
			if fn != "avg" && fn != "max" && fn != "min" && fn != "sum" {
				b.errorf(args[3].Pos(), "tseries() expects one of the following aggregation functions: avg, max, min, sum (\"%s\" provided)", fn)
				return nil
			}
			ci.Mode = fn
			t.Agg = fn
		}
		return t
	}
	return nil
}
