package codegen

import (
	"fmt"
	"io"
)

// Dump writes every program's instructions, with the script statements
// they come from, in the style of bpftool prog dump xlated.
func Dump(w io.Writer, obj *Object) error {
	for _, p := range obj.Programs {
		names := ""
		for i, pt := range p.Points {
			if i > 0 {
				names += ", "
			}
			names += pt.Name
		}
		if _, err := fmt.Fprintf(w, "%s (%s, %d instructions): %s\n", p.Name, p.Type, len(p.Insns), names); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%v\n", p.Insns); err != nil {
			return err
		}
	}
	return nil
}

// StatementAt returns the script position and text of the statement that
// instruction insnIndex (counted in 8-byte slots, as the verifier counts)
// of prog was generated from, or "".
func StatementAt(obj *Object, prog *Program, insnIndex int) string {
	last := ""
	iter := prog.Insns.Iterate()
	for iter.Next() {
		if int(iter.Offset) > insnIndex {
			break
		}
		if src := iter.Ins.Source(); src != nil {
			last = src.String()
		}
	}
	return last
}
