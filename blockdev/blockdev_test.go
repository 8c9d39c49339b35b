package blockdev

import (
	"os"
	"testing"
)

func TestDev(t *testing.T) {
	d := Make(259, 1<<20+5) // a minor number wider than 20 bits is cut
	if d.Major() != 259 || d.Minor() != 5 || uint32(d) != 259<<20|5 {
		t.Errorf("Make(259, ...) = %#x: major %d, minor %d", uint32(d), d.Major(), d.Minor())
	}
}

// Every block device the system has is named back from its number.
func TestNames(t *testing.T) {
	var names Names
	if got := names.Name(Make(4095, 1048575)); got != "4095:1048575" {
		t.Errorf("an unknown device is named %q", got)
	}
	if _, err := Lookup("no-such-disk"); err == nil || err.Error() != `no such disk "no-such-disk"` {
		t.Errorf("Lookup of a missing disk: %v", err)
	}
	ents, err := os.ReadDir("/sys/class/block")
	if err != nil || len(ents) == 0 {
		t.Skipf("no block devices to name: %v", err)
	}
	for _, e := range ents {
		d, err := Lookup("/dev/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if got := names.Name(d); got != e.Name() {
			t.Errorf("%s is %d:%d, named back %q", e.Name(), d.Major(), d.Minor(), got)
		}
	}
}
