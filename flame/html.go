package flame

import (
	"bufio"
	"cmp"
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
	// The values of all the stacks, after and before.
	Total       int64 `json:"total"`
	TotalBefore int64 `json:"totalBefore,omitempty"`
	// Overview is the part of the tree wide enough to see unzoomed.
	Overview struct {
		Nodes    int `json:"nodes"`
		MaxDepth int `json:"maxDepth"`
	} `json:"overview"`
	// Timeline, when set, holds the time of each sample: the page then
	// shows a heat map of them to pick a time range from.
	Timeline json.RawMessage `json:"timeline,omitempty"`
	// Diff is set for a differential tree.
	Diff *diffInfo `json:"diff,omitempty"`
}

// diffInfo tells how a frame's change is found: its value less its value
// before times Scale, times Sign.
type diffInfo struct {
	Scale float64 `json:"scale"`
	Sign  float64 `json:"sign"`
}

type taskInfo struct {
	Comm string `json:"comm"`
	Pid  int    `json:"pid"`
	Tid  int    `json:"tid"`
}

// WriteHTML writes a self-contained page that draws the tree on a canvas,
// for profiles too large for an SVG: every frame is in it, frames under a
// pixel wide are drawn merged, and the page filters, hides and merges
// frames, and shows the callers and callees of a function. A differential
// tree's frames are colored by their change, as in the SVG.
//
// The page holds the frames twice, as nodes in preorder, children by
// name. First the overview: the nodes wide enough to be seen on a screen
// before zooming (one ten-thousandth of the total), so that the browser
// draws the graph before it has read the rest; each node is unsigned
// varints, base64: the index of its name, how many levels up from the node
// before it plus one it sits (0 for a child of that node), its own value
// (that of the stacks ending at it), and in a differential tree its own
// value before. Then all the nodes, as writeFrames encodes them, gzip
// compressed, base64, in script elements a megabyte each, each followed by
// a call that hands it to the page: the page reads them while the browser
// still reads the file.
func (t *Tree) WriteHTML(out io.Writer, o Options) error {
	return t.writeHTML(out, o, nil)
}

// overviewShare is the smallest share of the total that the overview
// holds: a pixel on a screen ten thousand pixels wide.
const overviewShare = 10000

// dataChunk is the length of the base64 text of a script element of the
// frames: a multiple of 4, so that each decodes alone.
const dataChunk = 1 << 20

func (t *Tree) writeHTML(out io.Writer, o Options, timeline json.RawMessage) error {
	o = o.withDefaults()
	nodes, depth := t.preorder(1)
	small, smallDepth := t.preorder(max(1, (t.Total()+overviewShare-1)/overviewShare))
	meta := pageMeta{
		Title: o.Title, Subtitle: o.Subtitle, CountName: o.CountName, NameType: o.NameType,
		Inverted: o.Inverted, FontSize: o.FontSize, FontType: o.FontType, Height: o.Height,
		Names: make([]string, len(t.names)), Tasks: map[int32]taskInfo{},
		Nodes: len(nodes) - 1, MaxDepth: int(slices.Max(depth)),
		Total: t.Total(), TotalBefore: t.TotalBefore(),
		Timeline: timeline,
	}
	if t.Diff() {
		meta.Diff = &diffInfo{Scale: 1, Sign: 1}
		if o.Normalize && t.TotalBefore() > 0 {
			meta.Diff.Scale = float64(t.Total()) / float64(t.TotalBefore())
		}
		if o.Negate {
			meta.Diff.Sign = -1
		}
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
	fmt.Fprintf(w, "</script>\n<script>\n%s</script>\n", viewerScript)
	chunks := &scriptChunks{w: w}
	b64 = base64.NewEncoder(base64.StdEncoding, chunks)
	gz, err := gzip.NewWriterLevel(b64, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if err := t.writeFrames(gz, nodes, depth); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := b64.Close(); err != nil {
		return err
	}
	chunks.end()
	w.WriteString("<script>flameViewerComplete();</script>\n</body></html>\n")
	return w.Flush()
}

// scriptChunks writes text in script elements of dataChunk bytes, each
// followed by a call of the page's flameViewerData.
type scriptChunks struct {
	w    *bufio.Writer
	n    int
	open bool
}

func (c *scriptChunks) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		if !c.open {
			c.w.WriteString(`<script type="application/octet-stream" class="frames">`)
			c.open, c.n = true, 0
		}
		k := min(len(p), dataChunk-c.n)
		c.w.Write(p[:k])
		c.n += k
		p = p[k:]
		if c.n == dataChunk {
			c.end()
		}
	}
	return written, nil
}

func (c *scriptChunks) end() {
	if c.open {
		c.w.WriteString("</script>\n<script>flameViewerData()</script>\n")
		c.open = false
	}
}

// writeNodes writes the nodes of the overview, as WriteHTML describes.
func (t *Tree) writeNodes(w io.Writer, nodes, depth []int32) error {
	self := selfValues(nodes, depth, t.value)
	var selfBefore []int64
	if t.before != nil {
		selfBefore = selfValues(nodes, depth, t.before)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	prev := int32(0)
	var buf [4 * binary.MaxVarintLen64]byte
	for i, n := range nodes {
		if i == 0 {
			continue
		}
		b := binary.AppendUvarint(buf[:0], uint64(t.nameOf(n)))
		b = binary.AppendUvarint(b, uint64(prev+1-depth[i]))
		b = binary.AppendUvarint(b, uint64(self[i]))
		if selfBefore != nil {
			b = binary.AppendUvarint(b, uint64(selfBefore[i]))
		}
		prev = depth[i]
		bw.Write(b)
	}
	return bw.Flush()
}

// frameChunk is how many nodes a chunk of writeFrames holds.
const frameChunk = 1 << 18

// writeFrames writes all the nodes for the page: in columns, each a
// kind of number, which compress far better than nodes one after the
// other, and a node's name as its place among the callees of its parent's
// name, most called first: a function calls few others, and its callees'
// places are numbers of a few bits, where names are of fifteen or more.
// All numbers are unsigned varints:
//
//   - the callees: their length in bytes, then for each name, in order,
//     the number of its callees, then their names;
//   - chunks of up to frameChunk nodes, each its length in bytes, then
//     its number of nodes, then for each node how many levels up from the
//     node before it plus one it sits, then for each its name's place
//     among the callees of its parent's name, then each one's own value,
//     and in a differential tree each one's own value before.
//
// The page reads each chunk as soon as it has all of it. nodes is
// overwritten.
func (t *Tree) writeFrames(w io.Writer, nodes, depth []int32) error {
	self := selfValues(nodes, depth, t.value)
	var selfBefore []int64
	if t.before != nil {
		selfBefore = selfValues(nodes, depth, t.before)
	}
	// Each node's call, a pair of its parent's name and its own, is
	// numbered as first seen: the one lookup a node needs, as the nodes
	// are millions and the calls a call graph's. The calls take the place
	// of the nodes, which are not needed after.
	call := nodes
	ids := map[uint64]int32{}
	var pairs []uint64 // parent's name (high half) and name, by call
	var count []int32  // nodes of each call
	path := []int32{0}
	for i, n := range nodes {
		if i == 0 {
			continue
		}
		path = append(path[:depth[i]], t.nameOf(n))
		k := uint64(path[depth[i]-1])<<32 | uint64(t.nameOf(n))
		id, ok := ids[k]
		if !ok {
			id = int32(len(pairs))
			ids[k] = id
			pairs, count = append(pairs, k), append(count, 0)
		}
		call[i] = id
		count[id]++
	}
	ids = nil
	callees := make([][]int32, len(t.names)) // calls, by parent's name
	for id, k := range pairs {
		callees[k>>32] = append(callees[k>>32], int32(id))
	}
	// place is each call's place among its parent's callees.
	place := make([]int32, len(pairs))
	var buf []byte
	buf = binary.AppendUvarint(buf, uint64(len(callees)))
	for _, cs := range callees {
		slices.SortFunc(cs, func(a, b int32) int {
			return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(uint32(pairs[a]), uint32(pairs[b])))
		})
		buf = binary.AppendUvarint(buf, uint64(len(cs)))
		for i, c := range cs {
			buf = binary.AppendUvarint(buf, uint64(uint32(pairs[c])))
			place[c] = int32(i)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(binary.AppendUvarint(nil, uint64(len(buf))))
	bw.Write(buf)
	var levels, names, values, befores, head []byte
	for from := 1; from < len(nodes); from += frameChunk {
		to := min(from+frameChunk, len(nodes))
		levels, names, values, befores = levels[:0], names[:0], values[:0], befores[:0]
		for i := from; i < to; i++ {
			levels = binary.AppendUvarint(levels, uint64(depth[i-1]+1-depth[i]))
			names = binary.AppendUvarint(names, uint64(place[call[i]]))
			values = binary.AppendUvarint(values, uint64(self[i]))
			if selfBefore != nil {
				befores = binary.AppendUvarint(befores, uint64(selfBefore[i]))
			}
		}
		n := binary.AppendUvarint(nil, uint64(to-from))
		head = binary.AppendUvarint(head[:0], uint64(len(n)+len(levels)+len(names)+len(values)+len(befores)))
		for _, b := range [][]byte{head, n, levels, names, values, befores} {
			bw.Write(b)
		}
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
