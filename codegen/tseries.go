package codegen

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"friday/check"
	"friday/syntax"
	"friday/types"
)

// A tseries value (types.Tseries) is a ring of t.Max slots of TseriesSlot
// bytes. A value stored at CLOCK_TAI time now belongs to the interval
// (epoch) now / t.Step and goes to slot epoch % t.Max, which holds
//
//	epoch  uint64  the interval of the values in the slot; 0: never used
//	value  int64   their aggregate (uint64 when unsigned); avg: the total
//	aux    uint64  avg: how many values; last (no t.Agg): when the
//	               latest was stored, to pick it among the CPUs' copies
//
// A slot still holding an older epoch is stale: the next value stored
// there starts it afresh. TAI time makes the intervals start at round
// wall-clock times (seconds, tenths, ...), as bpftrace's do.
const TseriesSlot = 24

// TseriesSize is the size of one (per-CPU) tseries value.
func TseriesSize(t *types.Type) int { return int(t.Max) * TseriesSlot }

// maxPerCPUValue is the largest value the kernel allows in a per-CPU map
// (PCPU_MIN_UNIT_SIZE).
const maxPerCPUValue = 32 << 10

// MaxTseriesIntervals is the most intervals one tseries value can keep.
const MaxTseriesIntervals = maxPerCPUValue / TseriesSlot

// tseriesZeroName is an array map of one all-zero element, as big as the
// largest tseries value: the first value of a new key is copied from it,
// since it would not fit on the BPF stack.
const tseriesZeroName = ".tszero"

func (g *gen) tseriesZero() string {
	size := 0
	for _, cm := range g.p.Maps {
		if cm.Value != nil && cm.Value.Kind == types.Tseries {
			size = max(size, TseriesSize(cm.Value))
		}
	}
	g.internalMap(tseriesZeroName, &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: uint32(size), MaxEntries: 1})
	return tseriesZeroName
}

// tseries is @m[keys] = tseries(v, interval, n[, agg]).
func (f *fn) tseries(s *syntax.AssignStmt, m *Map, keys []syntax.Expr, c *check.Call) {
	t := m.Value
	if t.Kind != types.Tseries || t.Step < 1 || t.Max < 1 {
		f.errorf(s.Pos(), "internal error: tseries() into %s, which holds a %s", m.Name, t)
	}
	if t.Max > MaxTseriesIntervals {
		f.errorf(s.RHS.Pos(), "tseries() keeps at most %d intervals (%d requested)", MaxTseriesIntervals, t.Max)
	}
	if len(c.Args) == 0 {
		f.errorf(s.Pos(), "tseries() needs an argument")
	}
	v := f.keep(f.evalInt(c.Args[0]))
	key := f.mapKey(m, keys, s.Pos(), 0)
	now := f.alloc(8)
	f.call(asm.FnKtimeGetTaiNs)
	f.emit(asm.StoreMem(now.base, int16(now.off), asm.R0, asm.DWord))

	found, end := f.b.newLabel(), f.b.newLabel()
	f.lookup(m, key)
	f.b.jmpImm(asm.JNE, asm.R0, 0, found)
	// A new key: insert zeros, then update them like any other value.
	// BPF_NOEXIST keeps what another CPU may have inserted meanwhile.
	zk := f.alloc(8)
	f.emit(storeImm(zk.base, int16(zk.off), 0, asm.DWord))
	f.mapPtr(asm.R1, f.g.tseriesZero())
	f.addr(asm.R2, zk)
	f.call(asm.FnMapLookupElem)
	f.b.jmpImm(asm.JEq, asm.R0, 0, end)
	f.emit(asm.Mov.Reg(asm.R3, asm.R0))
	f.mapPtr(asm.R1, m.Spec.Name)
	f.addr(asm.R2, key)
	f.emit(asm.Mov.Imm(asm.R4, 1)) // BPF_NOEXIST
	f.call(asm.FnMapUpdateElem)
	f.lookup(m, key)
	f.b.jmpImm(asm.JEq, asm.R0, 0, end)

	f.b.mark(found)
	// R1 = epoch; R0 = its slot.
	f.emit(asm.LoadMem(asm.R1, now.base, int16(now.off), asm.DWord))
	if fitsImm(t.Step) {
		f.emit(asm.Div.Imm(asm.R1, int32(t.Step)))
	} else {
		f.loadConst(asm.R2, t.Step)
		f.emit(asm.Div.Reg(asm.R1, asm.R2))
	}
	f.emit(asm.Mov.Reg(asm.R2, asm.R1), asm.Mod.Imm(asm.R2, int32(t.Max)))
	// Never taken; the verifier does not bound a remainder by itself.
	f.b.jmpImm(asm.JGE, asm.R2, int32(t.Max), end)
	f.emit(asm.Mul.Imm(asm.R2, TseriesSlot), asm.Add.Reg(asm.R0, asm.R2))
	vr := f.toReg(v, asm.R4).r

	if t.Agg == "" {
		// The last value replaces whatever the slot holds.
		f.emit(asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord), asm.StoreMem(asm.R0, 8, vr, asm.DWord),
			asm.LoadMem(asm.R3, now.base, int16(now.off), asm.DWord), asm.StoreMem(asm.R0, 16, asm.R3, asm.DWord))
		f.b.mark(end)
		f.drop(v)
		return
	}
	// A slot of an older interval starts afresh with v.
	same := f.b.newLabel()
	f.emit(asm.LoadMem(asm.R3, asm.R0, 0, asm.DWord))
	f.b.jmpReg(asm.JEq, asm.R3, asm.R1, same)
	f.emit(asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord), asm.StoreMem(asm.R0, 8, vr, asm.DWord))
	if t.Agg == "avg" {
		f.emit(storeImm(asm.R0, 16, 1, asm.DWord))
	}
	f.b.ja(end)

	f.b.mark(same)
	switch t.Agg {
	case "sum", "avg":
		f.emit(asm.LoadMem(asm.R3, asm.R0, 8, asm.DWord), asm.Add.Reg(asm.R3, vr), asm.StoreMem(asm.R0, 8, asm.R3, asm.DWord))
		if t.Agg == "avg" {
			f.emit(asm.LoadMem(asm.R3, asm.R0, 16, asm.DWord), asm.Add.Imm(asm.R3, 1), asm.StoreMem(asm.R0, 16, asm.R3, asm.DWord))
		}
	case "min", "max":
		// Keep the stored value unless v beats it.
		keep := map[bool]asm.JumpOp{true: asm.JGE, false: asm.JLE}[t.Agg == "min"]
		if t.Signed {
			keep = map[bool]asm.JumpOp{true: asm.JSGE, false: asm.JSLE}[t.Agg == "min"]
		}
		f.emit(asm.LoadMem(asm.R3, asm.R0, 8, asm.DWord))
		f.b.jmpReg(keep, vr, asm.R3, end)
		f.emit(asm.StoreMem(asm.R0, 8, vr, asm.DWord))
	default:
		f.errorf(s.Pos(), "internal error: tseries() aggregation %q", t.Agg)
	}
	f.b.mark(end)
	f.drop(v)
}

// TseriesPoint is the value of one interval of a tseries.
type TseriesPoint struct {
	Epoch uint64 // interval start = Epoch * Step nanoseconds of CLOCK_TAI
	Value uint64 // int64 bits when the tseries is signed
}

var hostOrder = binary.NativeEndian

// TseriesMerge combines the per-CPU copies of a tseries value into one in
// the same layout. Each slot keeps the latest epoch any CPU has there;
// the copies of that epoch combine as the aggregation does, and older
// ones are stale.
func TseriesMerge(t *types.Type, vals [][]byte) []byte {
	out := make([]byte, len(vals[0]))
	for off := 0; off+TseriesSlot <= len(out); off += TseriesSlot {
		dst := out[off : off+TseriesSlot]
		for _, v := range vals {
			if len(v) < off+TseriesSlot {
				continue
			}
			src := v[off : off+TseriesSlot]
			epoch, cur := hostOrder.Uint64(src), hostOrder.Uint64(dst)
			if epoch == 0 || epoch < cur {
				continue
			}
			if epoch > cur {
				copy(dst, src)
				continue
			}
			mergeSlot(t, dst, src)
		}
	}
	return out
}

// mergeSlot adds the copy src of a slot to dst, both of the same epoch.
func mergeSlot(t *types.Type, dst, src []byte) {
	a, b := hostOrder.Uint64(dst[8:]), hostOrder.Uint64(src[8:])
	switch t.Agg {
	case "sum":
		hostOrder.PutUint64(dst[8:], a+b)
	case "avg":
		hostOrder.PutUint64(dst[8:], a+b)
		hostOrder.PutUint64(dst[16:], hostOrder.Uint64(dst[16:])+hostOrder.Uint64(src[16:]))
	case "min", "max":
		less := b < a
		if t.Signed {
			less = int64(b) < int64(a)
		}
		if less == (t.Agg == "min") && a != b {
			hostOrder.PutUint64(dst[8:], b)
		}
	default:
		if hostOrder.Uint64(src[16:]) > hostOrder.Uint64(dst[16:]) {
			copy(dst, src)
		}
	}
}

// TseriesPoints decodes a (merged) tseries value: the intervals that
// hold a value, oldest first.
func TseriesPoints(t *types.Type, b []byte) []TseriesPoint {
	var pts []TseriesPoint
	for off := 0; off+TseriesSlot <= len(b); off += TseriesSlot {
		epoch := hostOrder.Uint64(b[off:])
		if epoch == 0 {
			continue
		}
		v := hostOrder.Uint64(b[off+8:])
		if n := hostOrder.Uint64(b[off+16:]); t.Agg == "avg" && n != 0 {
			if t.Signed {
				v = uint64(int64(v) / int64(n))
			} else {
				v /= n
			}
		}
		pts = append(pts, TseriesPoint{Epoch: epoch, Value: v})
	}
	slices.SortFunc(pts, func(a, b TseriesPoint) int { return cmp.Compare(a.Epoch, b.Epoch) })
	return pts
}
