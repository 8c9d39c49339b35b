package uprobe

import (
	"os"
	"testing"
)

// A damaged loader cache must give an error, never a crash.
func FuzzParseLDCache(f *testing.F) {
	if data, err := os.ReadFile(ldCachePath); err == nil && len(data) < 1<<20 {
		f.Add(data)
	}
	f.Add([]byte(ldCacheNewMagic + "\x01\x00\x00\x00\x10\x00\x00\x00"))
	f.Add([]byte(ldCacheOldMagic + "\x00\x00\x00\x00\x00" + ldCacheNewMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseLDCache(data)
		if err == nil && len(entries) > len(data) {
			t.Fatalf("%d entries from %d bytes", len(entries), len(data))
		}
	})
}
