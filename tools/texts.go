package tools

import (
	"strconv"

	"friday/script"
	"friday/tool"
)

// texts holds the text of a row's values that are not in the event as
// they print (addresses, "address:port", names made of parts) until the
// row is printed. Reset at each event, its buffer soon has the room a
// line needs: a line allocates nothing. A value keeps the bytes it was
// given when the buffer grows for a later one.
type texts struct{ b []byte }

func (t *texts) reset() { t.b = t.b[:0] }

// from is the text appended since length n as a row's value.
func (t *texts) from(n int) tool.Value { return tool.Bytes(t.b[n:len(t.b):len(t.b)]) }

// arg is the text of argument i of e.
func (t *texts) arg(e *script.Event, i int) tool.Value {
	n := len(t.b)
	t.b = e.AppendText(t.b, i)
	return t.from(n)
}

// endpoint is "address:port" of the arguments addr and port of e.
func (t *texts) endpoint(e *script.Event, addr, port int) tool.Value {
	n := len(t.b)
	t.b = append(e.AppendText(t.b, addr), ':')
	t.b = strconv.AppendUint(t.b, e.Uint(port), 10)
	return t.from(n)
}

// hex is n in hexadecimal, as text.
func (t *texts) hex(n uint64) tool.Value {
	k := len(t.b)
	t.b = strconv.AppendUint(t.b, n, 16)
	return t.from(k)
}
