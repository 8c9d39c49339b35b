package main

import (
	"bufio"
	"bytes"

	"friday/profile"
)

// peekProfile tells whether an input is a friday profile (.json), from
// its first bytes, without consuming them.
func peekProfile(r *bufio.Reader) bool {
	b, _ := r.Peek(512)
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && bytes.Contains(b, []byte(`"`+profile.Format+`"`))
}
