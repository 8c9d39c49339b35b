package flame

import (
	"bufio"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"friday/folded"
)

//go:embed viewer.js
var viewerScript string

//go:embed viewer.css
var viewerStyle string

// pageMeta is what the viewer is told besides the nodes.
type pageMeta struct {
	Title     string   `json:"title"`
	Subtitle  string   `json:"subtitle,omitempty"`
	CountName string   `json:"countName"`
	NameType  string   `json:"nameType"`
	Inverted  bool     `json:"inverted"`
	FontSize  float64  `json:"fontSize"`
	FontType  string   `json:"fontType"`
	Height    int      `json:"frameHeight"`
	Names     []string `json:"names"`
	// Colors holds six hex digits a name, in name order.
	Colors string `json:"colors"`
	// Tasks are the names that name a task: comm, pid, tid.
	Tasks map[int32]taskInfo `json:"tasks"`
	Nodes int                `json:"nodes"`
	// Timeline, when set, holds the time of each sample: the page then
	// shows a heat map of them to pick a time range from.
	Timeline json.RawMessage `json:"timeline,omitempty"`
}

type taskInfo struct {
	Comm string `json:"comm"`
	Pid  int    `json:"pid"`
	Tid  int    `json:"tid"`
}

// WriteHTML writes a self-contained page that draws the tree on a canvas,
// for profiles too large for an SVG: every frame is in it, frames under a
// pixel wide are drawn merged, and the page filters, hides and merges
// frames, and shows the callers and callees of a function.
//
// The nodes are in preorder, children by name, each three unsigned varints
// (base64 in the page): the index of its name, how many levels up from the
// node before it plus one it sits (0 for a child of that node), and its
// own value (that of the stacks ending at it).
func (t *Tree) WriteHTML(out io.Writer, o Options) error {
	return t.writeHTML(out, o, nil)
}

func (t *Tree) writeHTML(out io.Writer, o Options, timeline json.RawMessage) error {
	o = o.withDefaults()
	nodes, depth := t.preorder(1)
	self := selfValues(nodes, depth, t.value)
	meta := pageMeta{
		Title: o.Title, Subtitle: o.Subtitle, CountName: o.CountName, NameType: o.NameType,
		Inverted: o.Inverted, FontSize: o.FontSize, FontType: o.FontType, Height: o.Height,
		Names: make([]string, len(t.names)), Tasks: map[int32]taskInfo{}, Nodes: len(nodes) - 1,
		Timeline: timeline,
	}
	colors := make([]byte, 0, 6*len(t.names))
	for i, n := range t.names {
		meta.Names[i] = displayName(n)
		c := frameColor(o.Palette, n, 2)
		colors = fmt.Appendf(colors, "%02x%02x%02x", c.r, c.g, c.b)
		if comm, pid, tid, ok := folded.Task(n); ok {
			meta.Tasks[int32(i)] = taskInfo{comm, pid, tid}
		}
	}
	meta.Names[0] = "all"
	meta.Colors = string(colors)
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return err
	}

	w := bufio.NewWriterSize(out, 1<<16)
	fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title>
<style>
%s</style></head>
<body>
<script type="application/json" id="meta">%s</script>
<script type="application/octet-stream" id="nodes">`, text(o.Title), viewerStyle, metaJSON)
	enc := base64.NewEncoder(base64.StdEncoding, w)
	var buf []byte
	prev := int32(0)
	for i, n := range nodes {
		if i == 0 {
			continue
		}
		buf = buf[:0]
		buf = binary.AppendUvarint(buf, uint64(t.nameOf(n)))
		buf = binary.AppendUvarint(buf, uint64(prev+1-depth[i]))
		buf = binary.AppendUvarint(buf, uint64(self[i]))
		prev = depth[i]
		if _, err := enc.Write(buf); err != nil {
			return err
		}
	}
	if err := enc.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "</script>\n<script>\n%s</script>\n</body></html>\n", viewerScript)
	return w.Flush()
}

// selfValues is the own value of each node listed in preorder: its
// subtree's less its children's (value holds subtrees').
func selfValues(nodes, depth []int32, value []int64) []int64 {
	self := make([]int64, len(nodes))
	path := make([]int, 0, 64)
	for i, n := range nodes {
		d := int(depth[i])
		path = path[:d]
		self[i] = value[n]
		if d > 0 {
			self[path[d-1]] -= value[n]
		}
		path = append(path, i)
	}
	return self
}
