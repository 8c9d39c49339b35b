package probe

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"friday/internal/testenv"
	"friday/syntax"
)

// buildUserProg compiles testdata/user/prog.c into a temporary directory
// and returns the directory. Without gcc the test is skipped, unless
// CI=true says it must run.
func buildUserProg(t *testing.T) string {
	t.Helper()
	testenv.Tool(t, "gcc")
	dir := t.TempDir()
	src, err := filepath.Abs("testdata/user/prog.c")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("gcc", "-O0", "-o", filepath.Join(dir, "prog"), src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return dir
}

// startUserProg runs the program built in dir until the test ends and
// returns its pid.
func startUserProg(t *testing.T, dir string) int {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "prog"), "wait")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

func describeUser(p *Point) string {
	s := fmt.Sprintf("%s provider=%s func=%s", p.Name, p.Provider, p.Func)
	if p.Pid != 0 {
		s += " pid"
	}
	if n := len(p.Locations); n > 0 {
		s += fmt.Sprintf(" locations=%d", n)
		if p.Locations[0].Return {
			s += " return"
		}
	}
	if p.USDT != nil {
		var args []string
		for _, a := range p.USDT.Args {
			args = append(args, a.Kind.String())
		}
		s += fmt.Sprintf(" usdt=%s:%s args=(%s)", p.USDT.Provider, p.USDT.Name, strings.Join(args, ","))
	}
	return s + " prog=" + p.ProgramType().String()
}

// TestUserProbes expands and lists the cases of testdata/user.txt against
// a program built from testdata/user/prog.c. Flags: p runs with -p of a
// running copy of the program, l lists instead of expanding.
func TestUserProbes(t *testing.T) {
	dir := buildUserProg(t)
	r := testResolver()
	pid := 0
	for _, c := range readCases(t, "testdata/user.txt") {
		opts := UserOptions{}
		if strings.Contains(c.flag, "p") {
			if pid == 0 {
				pid = startUserProg(t, dir)
			}
			opts.Pid = pid
		}
		r.user = opts
		input := strings.ReplaceAll(c.input, "{dir}", dir)
		var got []string
		var err error
		if strings.Contains(c.flag, "l") {
			got, err = r.listLines(input, strings.Contains(c.flag, "v"))
		} else {
			var pts []*Point
			pts, err = r.expand(&syntax.AttachPoint{Raw: input, Parts: splitParts(input)})
			for _, p := range pts {
				got = append(got, describeUser(p))
			}
		}
		if err != nil {
			got = append(got, "error: "+err.Error())
		}
		for i := range got {
			got[i] = strings.ReplaceAll(got[i], dir, "{dir}")
		}
		checkLines(t, fmt.Sprintf("user.txt:%d: %s", c.line, c.input), got, c.want)
	}
}

// splitParts splits an attach point the way the parser does for the
// unquoted ones these cases use.
func splitParts(raw string) []string { return strings.Split(raw, ":") }
