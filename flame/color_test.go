package flame

import "testing"

// The lang palette tells each kind of code apart: the hues of two kinds
// never meet, whatever the name.
func TestLangPaletteKinds(t *testing.T) {
	frames := map[Kind][]string{
		User:      {"main", "std::sort<int*>", "parse_request", "net/http.(*conn).serve"},
		Kernel:    {"vfs_read_[k]", "do_syscall_64_[k]", "schedule_[k]"},
		GoRuntime: {"runtime.mallocgc", "runtime.gcBgMarkWorker", "internal/runtime/maps.(*Map).Get"},
		Java:      {"java/util/HashMap.get", "Ljava/lang/Thread;::run", "com/acme/Orders.total_[j]"},
		Inlined:   {"hash_[i]", "memcpy_[i]"},
	}
	type box struct{ lo, hi rgb }
	boxes := map[Kind]box{}
	for k, names := range frames {
		b := box{rgb{255, 255, 255}, rgb{0, 0, 0}}
		for _, n := range names {
			if got := FrameKind(n, 3); got != k {
				t.Errorf("%s is %v, want %v", n, got, k)
			}
			for i := range 64 { // shades vary with the name
				base := displayName(n)
				v := base + string(rune('a'+i%26)) + string(rune('a'+i/26)) + n[len(base):]
				c := frameColor("lang", v, 3)
				b.lo = rgb{min(b.lo.r, c.r), min(b.lo.g, c.g), min(b.lo.b, c.b)}
				b.hi = rgb{max(b.hi.r, c.r), max(b.hi.g, c.g), max(b.hi.b, c.b)}
			}
		}
		boxes[k] = b
	}
	for k1, b1 := range boxes {
		for k2, b2 := range boxes {
			if k1 >= k2 {
				continue
			}
			overlap := b1.lo.r <= b2.hi.r && b2.lo.r <= b1.hi.r && b1.lo.g <= b2.hi.g && b2.lo.g <= b1.hi.g && b1.lo.b <= b2.hi.b && b2.lo.b <= b1.hi.b
			if overlap {
				t.Errorf("%v %v and %v %v colors overlap", k1, b1, k2, b2)
			}
		}
	}
	if FrameKind("bash-12/13", 1) != Task || FrameKind("bash-12/13", 2) != User {
		t.Error("task frames are the root's children")
	}
}
