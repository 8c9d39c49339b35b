package profiler

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"friday/profile"
	"friday/stackprof"
)

// Layout is how one of bcc's tools lays out its output.
type Layout int

const (
	// StackLayout is profile's and offcputime's: a stack, then its task.
	StackLayout Layout = iota
	// WakeupLayout is wakeuptime's: the woken task, the waker's kernel
	// stack, the waker.
	WakeupLayout
	// OffWakeLayout is offwaketime's: the waker and its stacks, then the
	// stacks the woken task blocked in, then that task.
	OffWakeLayout
)

// TextOptions say how Text and Folded print records.
type TextOptions struct {
	Layout Layout
	// Annotate marks kernel frames _[k] (and inlined ones _[i], JIT
	// ones _[j]), as bcc's -a does.
	Annotate bool
	// Delimit separates kernel from user frames, as bcc's -d does: "--"
	// in text ("-" in offwaketime's), "-" in folded lines.
	Delimit bool
	// ByThread names a stack's thread id, as offcputime does, instead of
	// its process id, as profile does.
	ByThread bool
}

// Text writes records as bcc's tools print them by default: a block per
// stack and task, values summed, the largest last.
func Text(w io.Writer, recs []Record, o TextOptions) error {
	return writeSorted(w, recs, func(b *strings.Builder, r *Record) {
		switch o.Layout {
		case WakeupLayout:
			o.wakeupText(b, r)
		case OffWakeLayout:
			o.offWakeText(b, r)
		default:
			o.stacksText(b, r)
		}
	}, func(b *strings.Builder, v int64) { fmt.Fprintf(b, "        %d\n\n", v) })
}

// Folded writes records as folded lines, as bcc's -f prints them: the
// command, then the frames root first, then the value; the largest last.
func Folded(w io.Writer, recs []Record, o TextOptions) error {
	return writeSorted(w, recs, func(b *strings.Builder, r *Record) {
		var frames []string
		switch o.Layout {
		case WakeupLayout:
			frames = o.wakeupFolded(r)
		case OffWakeLayout:
			frames = o.offWakeFolded(r)
		default:
			frames = o.stacksFolded(r)
		}
		b.WriteString(strings.Join(frames, ";"))
	}, func(b *strings.Builder, v int64) { fmt.Fprintf(b, " %d\n", v) })
}

// writeSorted writes the text each record makes, followed by value's,
// summing the values of records that make the same text, in order of
// value, then text.
func writeSorted(w io.Writer, recs []Record, text func(*strings.Builder, *Record), value func(*strings.Builder, int64)) error {
	sums := map[string]int64{}
	var b strings.Builder
	for i := range recs {
		b.Reset()
		text(&b, &recs[i])
		sums[b.String()] += recs[i].Value
	}
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(sums[a], sums[b]), cmp.Compare(a, b))
	})
	bw := bufio.NewWriter(w)
	for _, k := range keys {
		b.Reset()
		b.WriteString(k)
		value(&b, sums[k])
		bw.WriteString(b.String())
	}
	return bw.Flush()
}

// name is a frame as a line of text or a folded frame shows it.
func (o TextOptions) name(f profile.Frame, text bool) string {
	if strings.HasPrefix(f.Name, "[Missed ") {
		return f.Name
	}
	if o.Annotate {
		return f.FoldedName()
	}
	if text && f.Kind == profile.Inlined {
		return f.Name + " (inlined)"
	}
	return f.Name
}

// lines writes frames (root first) a line each, innermost first, or root
// first with rootFirst.
func (o TextOptions) lines(b *strings.Builder, frames []profile.Frame, rootFirst bool) {
	for i := range frames {
		f := frames[len(frames)-1-i]
		if rootFirst {
			f = frames[i]
		}
		fmt.Fprintf(b, "    %s\n", o.name(f, true))
	}
}

// delimited says whether a delimiter goes between a kernel and a user
// stack: both were recorded.
func (o TextOptions) delimited(kernel, user []profile.Frame) bool {
	return o.Delimit && recorded(kernel) && recorded(user)
}

func recorded(frames []profile.Frame) bool {
	return len(frames) > 0 && frames[0].Name != stackprof.MissedKernel && frames[0].Name != stackprof.MissedUser
}

func (o TextOptions) stacksText(b *strings.Builder, r *Record) {
	o.lines(b, r.Kernel, false)
	if o.delimited(r.Kernel, r.User) {
		b.WriteString("    --\n")
	}
	o.lines(b, r.User, false)
	id := r.Task.Pid
	if o.ByThread {
		id = r.Task.Tid
	}
	fmt.Fprintf(b, "    %-16s %s (%d)\n", "-", r.Task.Comm, id)
}

func (o TextOptions) stacksFolded(r *Record) []string {
	frames := []string{r.Task.Comm}
	frames = o.appendFolded(frames, r.User, false)
	if o.delimited(r.Kernel, r.User) {
		frames = append(frames, "-")
	}
	return o.appendFolded(frames, r.Kernel, false)
}

// appendFolded appends frames (root first) as folded frames, root first
// or, with leafFirst, innermost first.
func (o TextOptions) appendFolded(dst []string, frames []profile.Frame, leafFirst bool) []string {
	for i := range frames {
		f := frames[i]
		if leafFirst {
			f = frames[len(frames)-1-i]
		}
		dst = append(dst, o.name(f, false))
	}
	return dst
}

func wakerOf(r *Record) Waker {
	if r.Waker != nil {
		return *r.Waker
	}
	return Waker{}
}

func (o TextOptions) wakeupText(b *strings.Builder, r *Record) {
	w := wakerOf(r)
	fmt.Fprintf(b, "    %-16s %s\n", "target:", r.Task.Comm)
	for _, f := range w.Kernel {
		fmt.Fprintf(b, "    %-16x %s\n", f.Address, o.name(f, true))
	}
	fmt.Fprintf(b, "    %-16s %s\n", "waker:", w.Task.Comm)
}

func (o TextOptions) wakeupFolded(r *Record) []string {
	w := wakerOf(r)
	frames := o.appendFolded([]string{w.Task.Comm}, w.Kernel, true)
	return append(frames, r.Task.Comm)
}

func (o TextOptions) offWakeText(b *strings.Builder, r *Record) {
	w := wakerOf(r)
	fmt.Fprintf(b, "    %-16s %s %d\n", "waker:", w.Task.Comm, w.Task.Tid)
	o.lines(b, w.User, true)
	if o.delimited(w.Kernel, w.User) {
		b.WriteString("    -\n")
	}
	o.lines(b, w.Kernel, true)
	fmt.Fprintf(b, "    %-16s %s\n", "--", "--")
	o.lines(b, r.Kernel, false)
	if o.delimited(r.Kernel, r.User) {
		b.WriteString("    -\n")
	}
	o.lines(b, r.User, false)
	fmt.Fprintf(b, "    %-16s %s %d\n", "target:", r.Task.Comm, r.Task.Tid)
}

func (o TextOptions) offWakeFolded(r *Record) []string {
	w := wakerOf(r)
	frames := o.appendFolded([]string{r.Task.Comm}, r.User, false)
	if o.delimited(r.Kernel, r.User) {
		frames = append(frames, "-")
	}
	frames = o.appendFolded(frames, r.Kernel, false)
	frames = append(frames, "--")
	frames = o.appendFolded(frames, w.Kernel, true)
	if o.delimited(w.Kernel, w.User) {
		frames = append(frames, "-")
	}
	frames = o.appendFolded(frames, w.User, true)
	return append(frames, w.Task.Comm)
}
