package flame

import (
	"bufio"
	"compress/gzip"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"friday/folded"
	"friday/heatmap"
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
	Tasks    map[int32]taskInfo `json:"tasks"`
	Nodes    int                `json:"nodes"`
	MaxDepth int                `json:"maxDepth"`
	// Overview is the part of the tree wide enough to see unzoomed.
	Overview struct {
		Nodes    int `json:"nodes"`
		MaxDepth int `json:"maxDepth"`
	} `json:"overview"`
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
// The nodes are in preorder, children by name, each three unsigned varints:
// the index of its name, how many levels up from the node before it plus
// one it sits (0 for a child of that node), and its own value (that of the
// stacks ending at it). The page holds them twice: first the nodes wide
// enough to be seen on a screen before zooming (one ten-thousandth of the
// total), so that the browser draws the graph before it has read the
// rest, then all of them, gzip-compressed. Both are base64.
func (t *Tree) WriteHTML(out io.Writer, o Options) error {
	return t.writeHTML(out, o, nil)
}

// overviewShare is the smallest share of the total that the overview
// holds: a pixel on a screen ten thousand pixels wide.
const overviewShare = 10000

func (t *Tree) writeHTML(out io.Writer, o Options, timeline json.RawMessage) error {
	o = o.withDefaults()
	nodes, depth := t.preorder(1)
	small, smallDepth := t.preorder(max(1, (t.Total()+overviewShare-1)/overviewShare))
	meta := pageMeta{
		Title: o.Title, Subtitle: o.Subtitle, CountName: o.CountName, NameType: o.NameType,
		Inverted: o.Inverted, FontSize: o.FontSize, FontType: o.FontType, Height: o.Height,
		Names: make([]string, len(t.names)), Tasks: map[int32]taskInfo{},
		Nodes: len(nodes) - 1, MaxDepth: int(slices.Max(depth)),
		Timeline: timeline,
	}
	meta.Overview.Nodes = len(small) - 1
	meta.Overview.MaxDepth = int(slices.Max(smallDepth))
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
<script type="application/octet-stream" id="overview">`, text(o.Title), viewerStyle, metaJSON)
	b64 := base64.NewEncoder(base64.StdEncoding, w)
	if err := t.writeNodes(b64, small, smallDepth); err != nil {
		return err
	}
	if err := b64.Close(); err != nil {
		return err
	}
	if timeline != nil {
		fmt.Fprintf(w, "</script>\n<script>\n%s", heatmap.Script)
	}
	fmt.Fprintf(w, "</script>\n<script>\n%s</script>\n<script type=\"application/octet-stream\" id=\"nodes\">", viewerScript)
	b64 = base64.NewEncoder(base64.StdEncoding, w)
	gz, err := gzip.NewWriterLevel(b64, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if err := t.writeNodes(gz, nodes, depth); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := b64.Close(); err != nil {
		return err
	}
	w.WriteString("</script>\n<script>flameViewerComplete();</script>\n</body></html>\n")
	return w.Flush()
}

// writeNodes writes nodes listed in preorder as WriteHTML describes.
func (t *Tree) writeNodes(w io.Writer, nodes, depth []int32) error {
	self := selfValues(nodes, depth, t.value)
	bw := bufio.NewWriterSize(w, 1<<16)
	prev := int32(0)
	var buf [3 * binary.MaxVarintLen64]byte
	for i, n := range nodes {
		if i == 0 {
			continue
		}
		b := binary.AppendUvarint(buf[:0], uint64(t.nameOf(n)))
		b = binary.AppendUvarint(b, uint64(prev+1-depth[i]))
		b = binary.AppendUvarint(b, uint64(self[i]))
		prev = depth[i]
		bw.Write(b)
	}
	return bw.Flush()
}

// selfValues is the own value of each node listed in preorder: its
// subtree's less its children's (value holds subtrees').
func selfValues(nodes, depth []int32, value *column[int64]) []int64 {
	self := make([]int64, len(nodes))
	path := make([]int, 0, 64)
	for i, n := range nodes {
		d := int(depth[i])
		path = path[:d]
		self[i] = value.get(n)
		if d > 0 {
			self[path[d-1]] -= value.get(n)
		}
		path = append(path, i)
	}
	return self
}
