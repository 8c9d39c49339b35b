package run

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	for _, c := range []struct {
		line string
		want []string
		err  string
	}{
		{"/bin/ls -l  /tmp", []string{"/bin/ls", "-l", "/tmp"}, ""},
		{"  \t", nil, ""},
		{`sh -c 'ulimit -n 64; exec cat "$0"' x`, []string{"sh", "-c", `ulimit -n 64; exec cat "$0"`, "x"}, ""},
		{`echo "a b" "q\"uote" "back\\slash" "\n stays"`, []string{"echo", "a b", `q"uote`, `back\slash`, `\n stays`}, ""},
		{`echo a\ b \'x\' ''`, []string{"echo", "a b", "'x'", ""}, ""},
		{`echo pre'mid dle'post`, []string{"echo", "premid dlepost"}, ""},
		{`echo $HOME *`, []string{"echo", "$HOME", "*"}, ""},
		{`sh -c 'unterminated`, nil, "unterminated ' quote"},
		{`echo "unterminated`, nil, `unterminated " quote`},
	} {
		got, err := splitCommand(c.line)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want one with %q", c.line, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %q (%v), want %q", c.line, got, err, c.want)
		}
	}
}
