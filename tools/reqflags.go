package tools

import (
	"bytes"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"

	"friday/lazybtf"
	"friday/script"
	"friday/types"
)

// requestFlags names the operation and flags of a block request as bcc
// does ("Sync-Write", "ReadAhead-Read"): from the tracepoints' rwbs text,
// or from the request's cmd_flags, decoded with the kernel's own numbers
// of its operations and flag bits.
func requestFlags(v any) string {
	op, has := requestOpFlags(v)
	for i, f := range flagNames {
		if has(i) {
			op = f.name + "-" + op
		}
	}
	return op
}

// requestOp is bcc's name of the operation ("Write") of a request whose
// rwbs or cmd_flags are argument i of the event.
func requestOp(e *script.Event, i int) string {
	if e.Type(i).Kind == types.String {
		op, _ := rwbsOp(e.Bytes(i))
		return op
	}
	return opfOp(e.Uint(i), reqBits())
}

// requestOpFlags decodes rwbs or cmd_flags into the operation's name and
// whether the request has each of flagNames.
func requestOpFlags(v any) (string, func(i int) bool) {
	if rwbs, ok := v.(string); ok {
		return rwbsFlags(rwbs)
	}
	return opfFlags(unsigned(v))
}

// flagNames are the request flags bcc names, in the order it puts their
// names before the operation's: the first named is the nearest to it.
var flagNames = []struct {
	bit  string // the kernel's enum req_flag_bits
	rwbs byte   // its letter in rwbs, 0 for none
	name string
}{
	{"__REQ_SYNC", 'S', "Sync"},
	{"__REQ_META", 'M', "Metadata"},
	{"__REQ_FUA", 'F', "ForcedUnitAccess"},
	{"__REQ_PRIO", 0, "Priority"},
	{"__REQ_NOMERGE", 0, "NoMerge"},
	{"__REQ_IDLE", 0, "Idle"},
	{"__REQ_RAHEAD", 'A', "ReadAhead"},
	{"__REQ_BACKGROUND", 0, "Background"},
	{"__REQ_NOWAIT", 0, "NoWait"},
}

// opNames are bcc's names of the operations, by the kernel's enum req_op
// names and by their letters in rwbs.
var opNames = []struct{ op, rwbs, name string }{
	{"REQ_OP_READ", "R", "Read"},
	{"REQ_OP_WRITE", "W", "Write"},
	{"REQ_OP_FLUSH", "F", "Flush"},
	{"REQ_OP_DISCARD", "D", "Discard"},
	{"REQ_OP_SECURE_ERASE", "DE", "SecureErase"},
	{"REQ_OP_WRITE_ZEROES", "", "WriteZeros"},
}

// rwbsFlags decodes the tracepoints' text: an optional F (a preflush,
// which bcc does not name), the operation, then F (FUA), A (readahead),
// S (sync) and M (metadata).
func rwbsFlags(rwbs string) (string, func(i int) bool) {
	op, rest := rwbsOp([]byte(rwbs))
	flags := string(rest)
	return op, func(i int) bool {
		return flagNames[i].rwbs != 0 && strings.IndexByte(flags, flagNames[i].rwbs) >= 0
	}
}

// rwbsOp splits rwbs (see rwbsFlags) into the operation's name and the
// flags after it.
func rwbsOp(rwbs []byte) (string, []byte) {
	rest := rwbs
	if len(rest) > 1 && rest[0] == 'F' && strings.IndexByte("RWDFN", rest[1]) >= 0 {
		rest = rest[1:]
	}
	op, n := "Unknown", 1
	for _, o := range opNames {
		if o.rwbs != "" && bytes.HasPrefix(rest, []byte(o.rwbs)) && len(o.rwbs) >= n {
			op, n = o.name, len(o.rwbs)
		}
	}
	if len(rest) == 0 {
		n = 0
	}
	return op, rest[n:]
}

// reqBits are the kernel's numbers for the operations and flags, read
// from its BTF once.
var reqBits = sync.OnceValue(func() map[string]uint64 {
	m := map[string]uint64{}
	spec, err := lazybtf.LoadKernel()
	if err != nil {
		return m
	}
	for _, name := range []string{"req_op", "req_flag_bits"} {
		e, err := lazybtf.TypeByName[*btf.Enum](spec, name)
		if err != nil {
			continue
		}
		for _, v := range e.Values {
			m[v.Name] = v.Value
		}
	}
	return m
})

// opfFlags decodes a request's cmd_flags: the operation in the low bits
// (below the first flag bit), flags above.
func opfFlags(opf uint64) (string, func(i int) bool) {
	bits := reqBits()
	return opfOp(opf, bits), func(i int) bool {
		b, ok := bits[flagNames[i].bit]
		return ok && opf&(1<<b) != 0
	}
}

// opfOp is the name of the operation of cmd_flags opf, in the bits below
// the first flag's.
func opfOp(opf uint64, bits map[string]uint64) string {
	opBits, ok := bits["__REQ_FAILFAST_DEV"]
	if !ok {
		opBits = 8
	}
	op := "Unknown"
	for _, o := range opNames {
		if v, ok := bits[o.op]; ok && opf&(1<<opBits-1) == v {
			op = o.name
		}
	}
	return op
}
