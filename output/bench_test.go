package output

import (
	"io"
	"testing"

	"friday/codegen"
	"friday/types"
)

// BenchmarkPrintf measures the cost per printf event of a typical tracing
// line: a few integers and strings.
func BenchmarkPrintf(b *testing.B) {
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			p, err := New(io.Discard, format, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			layout := types.TupleOf(types.I64, types.StringOf(16), types.U64, types.I64)
			ev := &codegen.Event{ID: 1, Kind: codegen.Printf, Format: "%-6d %-16s %8x %5ld\n", Layout: layout}
			rec := make([]byte, layout.Size)
			ne.PutUint64(rec, 4242)
			copy(rec[8:], "systemd-journal")
			ne.PutUint64(rec[24:], 0xdeadbeef)
			ne.PutUint64(rec[32:], ^uint64(2))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Event(ev, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
