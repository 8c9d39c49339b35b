"use strict";
// friday's flame graph viewer for large profiles. The page holds every
// frame of the profile (see WriteHTML for the encoding); the viewer draws
// on canvases only the frames at least a pixel wide, merging runs of
// narrower ones, so that drawing costs what is visible, not what is there.

// flameFrames is the code for the frames of a profile that both the page
// and the worker that reads all its frames run: trees, and the readers of
// the page's encodings of them. meta is the page's; nameCount tells how
// many names there are.
function flameFrames(meta, nameCount) {
	// ---- trees ----------------------------------------------------------
	// A tree is nodes in preorder, children in name order, as typed
	// arrays: name, depth, value (of the node's subtree; its own until the
	// tree is finished), and end (the index after the node's subtree); in
	// a differential profile, the value before too. A node's parent and
	// own value are found from these: the arrays of a million stacks'
	// frames are a hundred megabytes, and the first writing of each page
	// of memory costs more than all the rest of reading them; so are the
	// arrays' types the smallest that hold the profile's numbers.
	var diff = meta.diff;
	function ints(max) { return max < 256 ? Uint8Array : max < 65536 ? Uint16Array : Int32Array; }
	function values(max) { return max < 4294967296 ? Uint32Array : Float64Array; }
	var Depths = ints(meta.maxDepth + 1), Values = values(meta.total), Befores = values(meta.totalBefore || 0);
	function Tree(n) {
		this.n = n;
		this.name = new (ints(nameCount()))(n);
		this.depth = new Depths(n);
		this.total = new Values(n);
		this.end = new Int32Array(n);
		if (diff) this.totalBefore = new Befores(n);
	}
	// finish turns own values into subtrees' and finds where each subtree
	// ends, in one pass with the stack of the nodes open: a node is closed
	// by the first node after it no deeper than it, and adds its value to
	// its parent's, the node open below it.
	Tree.prototype.finish = function () {
		var t = this, n = t.n, depth = t.depth, total = t.total, before = t.totalBefore, end = t.end;
		var open = new Int32Array(meta.maxDepth + 2), sp = 0, maxDepth = 0;
		for (var i = 0; i <= n; i++) {
			var d = i < n ? depth[i] : -1;
			while (sp > 0 && depth[open[sp - 1]] >= d) {
				var c = open[--sp];
				end[c] = i;
				if (sp > 0) {
					total[open[sp - 1]] += total[c];
					if (diff) before[open[sp - 1]] += before[c];
				}
			}
			if (i < n) {
				open[sp++] = i;
				if (d > maxDepth) maxDepth = d;
			}
		}
		t.maxDepth = maxDepth;
		if (diff) {
			// The largest change of any frame scales the colors.
			t.maxDelta = 0;
			for (i = 1; i < n; i++) t.maxDelta = Math.max(t.maxDelta, Math.abs(t.delta(i)));
		}
		return t;
	};
	// from makes a tree of the arrays of another's, made by a worker.
	Tree.from = function (arrays) {
		var t = Object.create(Tree.prototype);
		for (var k in arrays) t[k] = arrays[k];
		return t;
	};
	// arrays are a finished tree's, and their buffers, for a worker to
	// give them away.
	Tree.prototype.arrays = function () {
		var a = { n: this.n, name: this.name, depth: this.depth, total: this.total, end: this.end, maxDepth: this.maxDepth };
		if (diff) {
			a.totalBefore = this.totalBefore;
			a.maxDelta = this.maxDelta;
		}
		var buffers = [];
		for (var k in a) if (a[k].buffer) buffers.push(a[k].buffer);
		return { arrays: a, buffers: buffers };
	};
	// delta is a frame's change in a differential profile.
	Tree.prototype.delta = function (i) {
		return diff.sign * (this.total[i] - diff.scale * this.totalBefore[i]);
	};
	// self is node i's own value: its subtree's less its children's; and
	// selfBefore the same before.
	Tree.prototype.self = function (i) {
		var v = this.total[i];
		for (var c = i + 1, end = this.end[i]; c < end; c = this.end[c]) v -= this.total[c];
		return v;
	};
	Tree.prototype.selfBefore = function (i) {
		var v = this.totalBefore[i];
		for (var c = i + 1, end = this.end[i]; c < end; c = this.end[c]) v -= this.totalBefore[c];
		return v;
	};
	// ancestors lists node i's ancestors, nearest first: the nodes before
	// it each less deep than the last.
	Tree.prototype.ancestors = function (i) {
		var a = [];
		for (var j = i - 1, d = this.depth[i]; j >= 0 && d > 0; j--) {
			if (this.depth[j] < d) {
				a.push(j);
				d = this.depth[j];
			}
		}
		return a;
	};

	function decodeBase64(s) {
		if (Uint8Array.fromBase64) return Uint8Array.fromBase64(s);
		var bin = atob(s), b = new Uint8Array(bin.length);
		for (var i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
		return b;
	}

	// Varints is a reader of unsigned varints from bytes.
	function Varints(bytes, pos) {
		this.b = bytes;
		this.pos = pos || 0;
	}
	Varints.prototype.next = function () {
		var b = this.b, pos = this.pos, c = b[pos++], x = c & 127;
		for (var mul = 128; c & 128; mul *= 128) {
			c = b[pos++];
			x += (c & 127) * mul;
		}
		this.pos = pos;
		return x;
	};

	// decode reads the overview Go wrote: three varints a node, four in a
	// differential profile.
	function decode(bytes, count) {
		var t = new Tree(count + 1), v = new Varints(bytes), prev = 0;
		for (var i = 1; i <= count; i++) {
			t.name[i] = v.next();
			prev = t.depth[i] = prev + 1 - v.next();
			t.total[i] = v.next();
			if (diff) t.totalBefore[i] = v.next();
		}
		return t.finish();
	}

	// FrameReader reads all the frames as writeFrames wrote them, gzip
	// compressed, fed to it piece by piece: it decodes each chunk of
	// nodes into the tree as soon as it has all of it, and calls done
	// when it has them all.
	function FrameReader(t, done) {
		var stream = new DecompressionStream("gzip"), self = this;
		this.writer = stream.writable.getWriter();
		this.t = t;
		this.next = 1; // the node the next chunk starts at
		this.prev = 0;
		this.names = new Int32Array(meta.maxDepth + 2); // of the nodes open
		this.pieces = [];
		this.have = 0;
		this.need = -1;
		this.callees = null;
		this.onChunk = null;
		var reader = stream.readable.getReader();
		function pump() {
			reader.read().then(function (r) {
				if (r.done) {
					done();
					return;
				}
				self.push(r.value);
				pump();
			});
		}
		pump();
	}
	FrameReader.prototype.write = function (bytes) { this.writer.write(bytes); };
	FrameReader.prototype.close = function () { this.writer.close(); };
	// push takes decompressed bytes and decodes the sections they end.
	// Bytes wait in pieces until a section is whole, then are joined once.
	FrameReader.prototype.push = function (bytes) {
		this.pieces.push(bytes);
		this.have += bytes.length;
		var chunks = 0;
		for (;;) {
			if (this.need < 0) {
				// The section's length, a varint, is in its first bytes.
				if (this.have === 0) break;
				var head = this.join(Math.min(this.have, 10));
				var v = new Varints(head);
				if (!this.whole(head, 0)) break;
				var size = v.next();
				this.need = v.pos + size;
			}
			if (this.have < this.need) break;
			var b = this.join(this.need), r = new Varints(b);
			r.next();
			if (this.callees === null) this.readCallees(r);
			else {
				this.readChunk(r);
				chunks++;
			}
			this.take(this.need);
			this.need = -1;
		}
		if (chunks > 0 && this.onChunk) this.onChunk();
	};
	// join is the first n bytes waiting, in one array.
	FrameReader.prototype.join = function (n) {
		var first = this.pieces[0];
		if (first.length >= n) return first.subarray(0, n);
		var b = new Uint8Array(n), k = 0;
		for (var i = 0; k < n; i++) {
			var p = this.pieces[i].subarray(0, n - k);
			b.set(p, k);
			k += p.length;
		}
		return b;
	};
	// take drops the first n bytes waiting.
	FrameReader.prototype.take = function (n) {
		this.have -= n;
		while (n > 0) {
			var first = this.pieces[0];
			if (first.length > n) {
				this.pieces[0] = first.subarray(n);
				return;
			}
			n -= first.length;
			this.pieces.shift();
		}
	};
	// whole says whether a varint starts at bytes[i].
	FrameReader.prototype.whole = function (bytes, i) {
		for (; i < bytes.length; i++) if (!(bytes[i] & 128)) return true;
		return false;
	};
	FrameReader.prototype.readCallees = function (v) {
		var n = v.next(), offsets = new Int32Array(n + 1), list = [];
		for (var p = 0; p < n; p++) {
			offsets[p] = list.length;
			for (var k = v.next(); k > 0; k--) list.push(v.next());
		}
		offsets[n] = list.length;
		this.offsets = offsets;
		this.callees = Int32Array.from(list);
	};
	FrameReader.prototype.readChunk = function (v) {
		var t = this.t, n = v.next(), from = this.next, to = from + n, i;
		var depth = t.depth, name = t.name, prev = this.prev;
		for (i = from; i < to; i++) prev = depth[i] = prev + 1 - v.next();
		var offsets = this.offsets, callees = this.callees, open = this.names;
		for (i = from; i < to; i++) {
			var d = depth[i];
			open[d] = name[i] = callees[offsets[open[d - 1]] + v.next()];
		}
		for (i = from; i < to; i++) t.total[i] = v.next();
		if (diff) for (i = from; i < to; i++) t.totalBefore[i] = v.next();
		this.prev = prev;
		this.next = to;
	};

	return { Tree: Tree, decode: decode, decodeBase64: decodeBase64, FrameReader: FrameReader };
}

// flameFrameWorker reads all the frames of a page, beside the page, and
// tells it with post: first the page's meta, then the pieces of the
// base64 text of the frames, then a close. After each chunk of frames it
// posts how many it has read and, when a search was given, the value of
// those that match it; at the end the arrays of the finished tree.
//
// A node read counts for the search if it or a node above it matches,
// which the nodes in preorder tell by their depth; with its own value,
// the sum is what the whole can only exceed.
function flameFrameWorker(post) {
	var meta, frames, tree, reader, search = null;
	function report() {
		var m = { read: reader.next - 1 };
		if (search) {
			for (var i = search.upto; i < reader.next; i++) {
				var d = tree.depth[i], hit = search.above[d - 1] || search.mask[tree.name[i]];
				search.above[d] = hit;
				if (hit) search.value += tree.total[i];
			}
			search.upto = reader.next;
			m.search = search.id;
			m.matched = search.value;
		}
		post(m);
	}
	return function (m) {
		if (m.meta) {
			meta = m.meta;
			frames = flameFrames(meta, function () { return meta.names; });
			tree = new frames.Tree(meta.nodes + 1);
			reader = new frames.FrameReader(tree, function () {
				if (reader.next !== meta.nodes + 1) throw new Error("flame viewer: " + (reader.next - 1) + " frames of " + meta.nodes);
				var a = tree.finish().arrays();
				post({ done: a.arrays }, a.buffers);
			});
			reader.onChunk = report;
		} else if (m.text) {
			reader.write(frames.decodeBase64(m.text));
		} else if (m.close) {
			reader.close();
		} else if (m.search !== undefined) {
			search = m.mask ? { id: m.search, mask: m.mask, upto: 1, value: 0, above: new Uint8Array(meta.maxDepth + 2) } : null;
			if (reader.callees) report();
		}
	};
}

(function () {
	var marks = [["start", performance.now()]];
	var meta = JSON.parse(document.getElementById("meta").textContent);
	var names = meta.names.slice();
	var frames = flameFrames(meta, function () { return names.length; });
	var Tree = frames.Tree, diff = meta.diff;
	// A name's color, made when first drawn: most names never are.
	var colors = new Array(names.length);
	function colorOf(id) {
		var c = colors[id];
		if (c === undefined) c = colors[id] = "#" + meta.colors.substr(6 * id, 6);
		return c;
	}
	// diffColor colors a frame by its change, as the SVG does: red grew,
	// blue shrank, the deeper the more, relative to the largest change.
	function diffColor(delta, maxDelta) {
		if (maxDelta === 0 || delta === 0) return "rgb(250,250,250)";
		var v = Math.round(210 - 210 * Math.min(1, Math.abs(delta) / maxDelta));
		return delta > 0 ? "rgb(255," + v + "," + v + ")" : "rgb(" + v + "," + v + ",255)";
	}
	var fontSize = meta.fontSize, frameH = meta.frameHeight, pad = 10;
	var font = fontSize + "px " + JSON.stringify(meta.fontType) + ", \"DejaVu Sans\", sans-serif";
	var searchColor = "rgb(230,0,230)";

	var rank = null; // a name's place in sorted order
	function ranks() {
		if (rank === null || rank.length !== names.length) {
			var order = names.map(function (_, i) { return i; });
			order.sort(function (a, b) { return names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0; });
			rank = new Int32Array(names.length);
			order.forEach(function (id, r) { rank[id] = r; });
		}
		return rank;
	}

	// Builder merges stacks into a new tree: child() finds or makes the
	// child of a node by name, through an open-addressing table.
	function Builder() {
		this.cap = 1024;
		this.n = 1;
		this.parent = new Int32Array(this.cap);
		this.name = new Int32Array(this.cap);
		this.self = new Float64Array(this.cap);
		if (diff) this.before = new Float64Array(this.cap);
		this.table = new Int32Array(2 * this.cap).fill(-1);
	}
	// add adds node i of tree t's own values to node c.
	Builder.prototype.add = function (c, t, i) {
		this.self[c] += t.self(i);
		if (diff) this.before[c] += t.selfBefore(i);
	};
	Builder.prototype.hash = function (p, nm) {
		return (Math.imul(p, 0x9e3779b1) ^ Math.imul(nm + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
	};
	Builder.prototype.child = function (p, nm) {
		var mask = this.table.length - 1, i = this.hash(p, nm) & mask;
		for (;;) {
			var c = this.table[i];
			if (c < 0) break;
			if (this.parent[c] === p && this.name[c] === nm) return c;
			i = (i + 1) & mask;
		}
		if (this.n === this.cap) {
			this.grow();
			return this.child(p, nm);
		}
		c = this.n++;
		this.parent[c] = p;
		this.name[c] = nm;
		this.table[i] = c;
		return c;
	};
	Builder.prototype.grow = function () {
		this.cap *= 2;
		var p = new Int32Array(this.cap), nm = new Int32Array(this.cap), s = new Float64Array(this.cap);
		p.set(this.parent);
		nm.set(this.name);
		s.set(this.self);
		this.parent = p;
		this.name = nm;
		this.self = s;
		if (diff) {
			var b = new Float64Array(this.cap);
			b.set(this.before);
			this.before = b;
		}
		this.table = new Int32Array(2 * this.cap).fill(-1);
		var mask = this.table.length - 1;
		for (var c = 1; c < this.n; c++) {
			var i = this.hash(p[c], nm[c]) & mask;
			while (this.table[i] >= 0) i = (i + 1) & mask;
			this.table[i] = c;
		}
	};
	// tree lays the nodes out in preorder, children by name.
	Builder.prototype.tree = function () {
		var n = this.n, r = ranks(), nm = this.name, par = this.parent;
		var byName = countingSort(n, names.length, function (c) { return r[nm[c]]; }, null);
		var byParent = countingSort(n, n, function (c) { return par[c]; }, byName);
		var first = new Int32Array(n + 1);
		for (var k = 0; k < byParent.length; k++) first[par[byParent[k]] + 1]++;
		for (k = 1; k <= n; k++) first[k] += first[k - 1];
		var t = new Tree(n), stack = new Int32Array(n + 1), sp = 0;
		var next = new Int32Array(n), pos = 1;
		t.name[0] = nm[0];
		t.total[0] = this.self[0];
		if (diff) t.totalBefore[0] = this.before[0];
		stack[sp++] = 0;
		next[0] = first[0];
		while (sp > 0) {
			var top = stack[sp - 1];
			if (next[top] === first[top + 1]) {
				sp--;
				continue;
			}
			var c = byParent[next[top]++];
			t.name[pos] = nm[c];
			t.depth[pos] = sp;
			t.total[pos] = this.self[c];
			if (diff) t.totalBefore[pos] = this.before[c];
			pos++;
			stack[sp++] = c;
			next[c] = first[c];
		}
		return t.finish();
	};
	// countingSort orders the nodes 1..n-1 (or those of order) stably by key.
	function countingSort(n, keys, key, order) {
		var count = new Int32Array(keys + 1), out = new Int32Array(n - 1), m = n - 1, i, c;
		for (i = 0; i < m; i++) count[key(order ? order[i] : i + 1) + 1]++;
		for (i = 1; i <= keys; i++) count[i] += count[i - 1];
		for (i = 0; i < m; i++) {
			c = order ? order[i] : i + 1;
			out[count[key(c)]++] = c;
		}
		return out;
	}

	// ---- the data ----------------------------------------------------------
	// The page holds the frames twice: those wide enough to see before
	// zooming, first, so that the graph shows while the browser still
	// reads the rest, then all of them, compressed, which replace them.
	var base = frames.decode(frames.decodeBase64(document.getElementById("overview").textContent), meta.overview.nodes);
	var complete = false;
	marks.push(["overview", performance.now()]);
	// loading is what the worker that reads all the frames told last: how
	// many it has read, and for the search of the id it was last told, the
	// value of those that match.
	var loading = { read: 0, search: 0, matched: 0 };
	loading.progress = function () { return Math.floor(100 * this.read / Math.max(1, meta.nodes)) + "%"; };
	var toWorker = startWorker(function (m) {
		if (m.done) {
			marks.push(["decoded", performance.now()]);
			var zoomPath = pathOf(main.tree, main.zoom);
			base = Tree.from(m.done);
			complete = true;
			listTasks();
			current = derive();
			main.set(current, main.inverted);
			main.zoom = findNode(current, zoomPath);
			if (sandwichPanels) openSandwich(sandwichPanels.name);
			renderAll();
			updateResetButton();
			status.textContent = current.n.toLocaleString("en-US") + " frames";
			window.flameViewer.complete = performance.now();
			return;
		}
		loading.read = m.read;
		if (m.search) {
			loading.matched = m.matched;
			loading.search = m.search;
		}
		if (searchMask) updateMatched();
		status.textContent = "reading all frames: " + loading.progress();
	});
	toWorker({ meta: { nodes: meta.nodes, maxDepth: meta.maxDepth, total: meta.total, totalBefore: meta.totalBefore, diff: meta.diff, names: meta.names.length } });

	// startWorker starts the worker that reads all the frames, and returns
	// the function that sends it a message. Where a page opened from a file
	// may not start workers, the frames are read here instead.
	function startWorker(receive) {
		var code = "\"use strict\";\n" + flameFrames + "\nvar receive = (" + flameFrameWorker + ")(function (m, buffers) { postMessage(m, buffers || []); });\nonmessage = function (e) { receive(e.data); };\n";
		try {
			var w = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
			w.onmessage = function (e) { receive(e.data); };
			return function (m) { w.postMessage(m); };
		} catch (e) {
			return flameFrameWorker(receive);
		}
	}
	var nameIndex = null;
	function nameID(s, color) {
		if (nameIndex === null) {
			nameIndex = new Map();
			names.forEach(function (s, i) { nameIndex.set(s, i); });
		}
		var id = nameIndex.get(s);
		if (id === undefined) {
			id = names.length;
			names.push(s);
			colors.push(color);
			nameIndex.set(s, id);
		}
		return id;
	}
	var tasks = meta.tasks || {};
	function taskOf(nameId) { return tasks[nameId]; }

	// view holds what the user chose; derive() makes the tree to draw.
	var view = { task: "", group: "", hide: null, merge: null, range: null, sandwich: -1 };

	function derive() {
		var src = view.range ? rangeTree(view.range) : base;
		if (!view.task && !view.group && !view.hide && !view.merge) return src;
		// map and cut are, by depth, what the nodes open became: a node
		// of the new tree, and whether a merged frame took them in.
		var b = new Builder(), map = new Int32Array(src.maxDepth + 2), cut = new Uint8Array(src.maxDepth + 2);
		var hide = view.hide, merge = view.merge, hidden = null, merged = null;
		if (hide) hidden = names.map(function (s) { return hide.test(s); });
		if (merge) merged = names.map(function (s) { return merge.test(s); });
		b.add(0, src, 0);
		for (var i = 1; i < src.n; i++) {
			var d = src.depth[i], nm = src.name[i], p = d - 1;
			if (src.depth[i] === 1) {
				var task = taskOf(nm);
				if (view.task && !(task && taskMatches(task, view.task))) {
					i = src.end[i] - 1;
					continue;
				}
				if (task && view.group) {
					if (view.group === "none") {
						map[d] = 0;
						cut[d] = 0;
						b.add(0, src, i);
						continue;
					}
					var s = view.group === "process" ? task.comm + "-" + task.pid : task.comm;
					nm = nameID(s, colorOf(nm));
					if (!taskOf(nm)) tasks[nm] = { comm: task.comm, pid: view.group === "process" ? task.pid : -1, tid: -1 };
				}
			}
			cut[d] = cut[p];
			if (cut[p] || hidden && hidden[nm]) {
				map[d] = map[p];
			} else {
				map[d] = b.child(map[p], nm);
				if (merged && merged[nm]) cut[d] = 1;
			}
			b.add(map[d], src, i);
		}
		return b.tree();
	}

	function taskMatches(task, sel) {
		var kind = sel.charAt(0), v = sel.slice(2);
		if (kind === "c") return task.comm === v;
		if (kind === "p") return String(task.pid) === v;
		return String(task.tid) === v;
	}

	// sandwich makes the callers (root first: the function, then who
	// called it) and the callees of the function named nm, over its
	// outermost calls: a recursive call counts once.
	function sandwich(t, nm) {
		// path is the names of the nodes open, map what they became
		// among the callees: both by depth.
		var callers = new Builder(), callees = new Builder();
		var path = new Int32Array(t.maxDepth + 2), map = new Int32Array(t.maxDepth + 2), end = -1;
		callers.name[0] = callees.name[0] = nm;
		for (var i = 1; i < t.n; i++) {
			var d = t.depth[i];
			path[d] = t.name[i];
			if (i < end) {
				map[d] = callees.child(map[d - 1], t.name[i]);
				callees.add(map[d], t, i);
				continue;
			}
			if (t.name[i] !== nm) continue;
			end = t.end[i];
			map[d] = 0;
			callees.add(0, t, i);
			var c = 0;
			for (var a = d - 1; a > 0; a--) c = callers.child(c, path[a]);
			callers.self[c] += t.total[i];
			if (diff) callers.before[c] += t.totalBefore[i];
		}
		var up = callers.tree(), down = callees.tree();
		up.name[0] = down.name[0] = nm;
		return { callers: up, callees: down };
	}

	// ---- drawing -----------------------------------------------------------
	var measureCtx = document.createElement("canvas").getContext("2d");
	measureCtx.font = font;
	var avgChar = measureCtx.measureText("abcdefghijklmnopqrstuvwxyz_.ABCDEFGHIJ").width / 36;
	var widthCache = new Map();
	function textWidth(s) {
		var w = widthCache.get(s);
		if (w === undefined) {
			w = measureCtx.measureText(s).width;
			if (widthCache.size > 100000) widthCache.clear();
			widthCache.set(s, w);
		}
		return w;
	}
	// fit is as much of s as fits in room pixels, cut with "..".
	function fit(s, room) {
		if (room < 3 * avgChar) return "";
		if (textWidth(s) <= room) return s;
		var n = Math.min(s.length - 1, Math.floor(room / avgChar));
		while (n >= 3) {
			var t = s.slice(0, n - 2) + "..";
			if (measureCtx.measureText(t).width <= room) return t;
			n--;
		}
		return "";
	}

	// Panel draws one tree on a canvas, root at the bottom or (inverted)
	// at the top, zoomed on one node.
	function Panel(parent, heading) {
		this.el = document.createElement("div");
		this.el.className = "panel";
		if (heading) {
			this.h = document.createElement("h2");
			this.el.appendChild(this.h);
		}
		this.canvas = document.createElement("canvas");
		this.el.appendChild(this.canvas);
		parent.appendChild(this.el);
		this.ctx = this.canvas.getContext("2d");
		this.tree = null;
		this.zoom = 0;
		this.inverted = false;
		var self = this;
		this.canvas.addEventListener("mousemove", function (e) { self.hover(e); });
		this.canvas.addEventListener("mouseleave", function () { showDetails(null); });
		this.canvas.addEventListener("click", function (e) { self.click(e); });
	}
	Panel.prototype.set = function (tree, inverted) {
		this.tree = tree;
		this.zoom = 0;
		this.inverted = inverted;
	};
	// layout lists what to draw: frames at least a pixel wide, and runs
	// of narrower ones merged. node is -1 for a merged run.
	Panel.prototype.layout = function () {
		var t = this.tree, z = this.zoom, width = this.width, inner = width - 2 * pad;
		var rx = [], rw = [], rd = [], rn = [], rv = [], rc = [], rh = [];
		// A merged run that holds frames matching the search is drawn as
		// one, a pixel wide at least.
		var m = searchMask && fullMask();
		var scale = t.total[z] > 0 ? inner / t.total[z] : 0;
		var chain = t.ancestors(z);
		chain.forEach(function (a) {
			rx.push(pad); rw.push(inner); rd.push(t.depth[a]); rn.push(a); rv.push(t.total[a]); rc.push(1); rh.push(0);
		});
		var maxD = t.maxDepth + 2;
		var cursor = new Float64Array(maxD + 1);
		var pendX = new Float64Array(maxD + 1), pendV = new Float64Array(maxD + 1), pendN = new Int32Array(maxD + 1), pendH = new Float64Array(maxD + 1);
		var deepest = t.depth[z];
		function flush(d) {
			if (pendN[d] > 0 && (pendV[d] * scale >= 1 || pendH[d] > 0)) {
				rx.push(pad + pendX[d] * scale); rw.push(Math.max(1, pendV[d] * scale)); rd.push(d); rn.push(-1); rv.push(pendV[d]); rc.push(pendN[d]); rh.push(pendH[d]);
				if (d > deepest) deepest = d;
			}
			pendN[d] = 0;
		}
		cursor[t.depth[z]] = 0;
		var end = t.end[z];
		for (var i = z; i < end;) {
			var d = t.depth[i], x = cursor[d], v = t.total[i];
			cursor[d] = x + v;
			cursor[d + 1] = x;
			if (v * scale < 1) {
				if (pendN[d] > 0 && pendX[d] + pendV[d] === x) {
					pendV[d] += v;
					pendN[d]++;
				} else {
					flush(d);
					pendX[d] = x; pendV[d] = v; pendN[d] = 1; pendH[d] = 0;
				}
				if (m) pendH[d] += hitValue(t, i, m);
				i = t.end[i];
				continue;
			}
			if (pendN[d] > 0) flush(d);
			rx.push(pad + x * scale); rw.push(v * scale); rd.push(d); rn.push(i); rv.push(v); rc.push(1); rh.push(0);
			if (d > deepest) deepest = d;
			i++;
		}
		for (d = 0; d <= maxD; d++) if (pendN[d] > 0) flush(d);
		this.r = { x: rx, w: rw, d: rd, n: rn, v: rv, c: rc, h: rh, chain: chain.length };
		this.rows = deepest + 1;
		// Rows of rects in x order, to find the one under the mouse.
		var rows = [];
		for (var k = 0; k < rx.length; k++) (rows[rd[k]] || (rows[rd[k]] = [])).push(k);
		rows.forEach(function (row) { row.sort(function (p, q) { return rx[p] - rx[q]; }); });
		this.rowIndex = rows;
	};
	Panel.prototype.y = function (d) {
		return this.inverted ? d * frameH : (this.rows - 1 - d) * frameH;
	};
	Panel.prototype.render = function () {
		if (!this.tree) return;
		var dpr = window.devicePixelRatio || 1;
		this.width = Math.max(200, document.documentElement.clientWidth);
		this.layout();
		var c = this.canvas, ctx = this.ctx, h = this.rows * frameH + 2;
		c.width = Math.round(this.width * dpr);
		c.height = Math.round(h * dpr);
		c.style.width = this.width + "px";
		c.style.height = h + "px";
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.font = font;
		ctx.textBaseline = "middle";
		var r = this.r, t = this.tree, match = searchMask, hits = [];
		for (var k = 0; k < r.x.length; k++) {
			var n = r.n[k], x = r.x[k], w = r.w[k], y = this.y(r.d[k]);
			var nm = n >= 0 ? t.name[n] : -1;
			if (n < 0 && r.h[k] > 0) {
				hits.push(k);
				continue;
			}
			ctx.globalAlpha = k < r.chain ? 0.55 : 1;
			if (n < 0) ctx.fillStyle = "#cfcfc4";
			else if (match && n > 0 && match[nm]) ctx.fillStyle = searchColor;
			else if (n === 0) ctx.fillStyle = "#e0e0e0";
			else if (diff) ctx.fillStyle = diffColor(t.delta(n), t.maxDelta);
			else if (t.depth[n] === 1 && taskOf(nm)) ctx.fillStyle = "#b8b8d8";
			else ctx.fillStyle = colorOf(nm);
			ctx.fillRect(x, y, Math.max(w - 0.5, 0.5), frameH - 1);
			if (n >= 0 && w > 3 * avgChar + 6) {
				var s = fit(names[nm], w - 6);
				if (s) {
					ctx.fillStyle = "#000";
					ctx.fillText(s, x + 3, y + frameH / 2);
				}
			}
		}
		// Merged runs that hold a match, over their neighbours: a run of
		// a pixel may be wider than the frames it stands for.
		ctx.globalAlpha = 1;
		ctx.fillStyle = searchColor;
		hits.forEach(function (k) { ctx.fillRect(r.x[k], this.y(r.d[k]), r.w[k], frameH - 1); }, this);
		if (this.h) this.h.textContent = this.heading;
	};
	Panel.prototype.at = function (e) {
		var b = this.canvas.getBoundingClientRect(), x = e.clientX - b.left, y = e.clientY - b.top;
		var row = Math.floor(y / frameH), d = this.inverted ? row : this.rows - 1 - row;
		var list = this.rowIndex[d];
		if (!list) return -1;
		var lo = 0, hi = list.length - 1, r = this.r;
		while (lo <= hi) {
			var mid = (lo + hi) >> 1, k = list[mid];
			if (x < r.x[k]) hi = mid - 1;
			else if (x >= r.x[k] + r.w[k]) lo = mid + 1;
			else return k;
		}
		return -1;
	};
	Panel.prototype.hover = function (e) {
		var k = this.at(e);
		if (k < 0) {
			showDetails(null);
			return;
		}
		var r = this.r, t = this.tree, n = r.n[k], text;
		var total = t.total[0], zt = t.total[this.zoom];
		if (n < 0) {
			text = r.c[k] + " frames under a pixel wide (" + count(r.v[k]) + " " + meta.countName + ", " + pct(r.v[k], total) + ")";
			if (r.h[k] > 0) text += "; matching the search: " + count(r.h[k]) + " " + meta.countName + ", " + pct(r.h[k], total);
		} else {
			text = meta.nameType + " " + names[t.name[n]] + " (" + count(t.total[n]) + " " + meta.countName + ", " + pct(t.total[n], total);
			if (this.zoom > 0 && k >= r.chain) text += ", " + pct(t.total[n], zt) + " of the zoomed frame";
			text += "; self " + count(t.self(n));
			if (diff) text += "; " + (t.delta(n) >= 0 ? "+" : "") + pct(t.delta(n), total);
			text += ")";
		}
		showDetails(text, e);
		hovered = n >= 0 ? { panel: this, node: n } : null;
	};
	Panel.prototype.click = function (e) {
		var k = this.at(e);
		if (k < 0 || this.r.n[k] < 0) return;
		var n = this.r.n[k];
		if (e.shiftKey && n > 0) {
			openSandwich(this.tree.name[n]);
			return;
		}
		this.zoom = n;
		this.render();
		updateResetButton();
	};

	// pathOf is the names from the root to node n; findNode the node a
	// path leads to in another tree (as far as it goes).
	function pathOf(t, n) {
		var p = t.ancestors(n).map(function (a) { return t.name[a]; });
		p.pop();
		return p.reverse().concat(n > 0 ? [t.name[n]] : []);
	}
	function findNode(t, path) {
		var n = 0;
		for (var k = 0; k < path.length; k++) {
			var j = n + 1;
			while (j < t.end[n] && t.name[j] !== path[k]) j = t.end[j];
			if (j >= t.end[n]) break;
			n = j;
		}
		return n;
	}

	function count(v) { return Math.round(v).toLocaleString("en-US"); }
	function pct(v, total) { return (total > 0 ? 100 * v / total : 0).toFixed(2) + "%"; }

	// ---- the page -----------------------------------------------------------
	function el(tag, props, parent) {
		var e = document.createElement(tag);
		for (var k in props) {
			if (k === "text") e.textContent = props[k];
			else e.setAttribute(k, props[k]);
		}
		if (parent) parent.appendChild(e);
		return e;
	}
	var header = el("header", {}, document.body);
	el("h1", { id: "title", text: meta.title }, header);
	if (meta.subtitle) el("div", { id: "subtitle", text: meta.subtitle }, header);
	var bar = el("div", { id: "toolbar" }, header);
	var searchBox = el("input", { id: "search", type: "text", placeholder: "Search (regular expression)", title: "Frames whose names match are colored; Ctrl-F comes here" }, bar);
	var matchedText = el("span", { id: "matched" }, bar);
	var resetButton = el("button", { id: "reset", text: "Reset zoom" }, bar);
	var icicleBox = el("input", { id: "icicle", type: "checkbox" }, el("label", { text: " Icicle" }, bar));
	icicleBox.parentNode.insertBefore(icicleBox, icicleBox.parentNode.firstChild);
	var taskSelect = el("select", { id: "task", title: "Show the stacks of one command, process or thread" }, bar);
	var groupSelect = el("select", { id: "group", title: "What the task frames at the root stand for" }, bar);
	var hideBox = el("input", { id: "hide", type: "text", placeholder: "Hide frames (regex)", title: "Frames whose names match are left out: their callees take their place" }, bar);
	var mergeBox = el("input", { id: "merge", type: "text", placeholder: "Merge callees into (regex)", title: "Frames whose names match absorb their callees" }, bar);
	var sandwichButton = el("button", { id: "sandwich", text: "Callers/callees", title: "Of the frame last hovered over (or shift-click a frame)" }, bar);
	if (diff) el("span", { id: "legend", text: "Red grew, blue shrank" + (diff.sign < 0 ? " (negated)" : "") + (diff.scale !== 1 ? "; before scaled to the same total" : "") }, bar);
	var status = el("span", { id: "status" }, bar);
	var timelineBox = el("div", { id: "timeline" }, header);
	var panels = el("div", { id: "panels" }, document.body);
	var details = el("div", { id: "details", text: " " }, document.body);
	var tip = el("div", { id: "tip" }, document.body);
	var hovered = null;

	function showDetails(text, e) {
		details.textContent = text || " ";
		if (!text) {
			tip.style.display = "none";
			return;
		}
		tip.textContent = text;
		tip.style.display = "block";
		var x = e.clientX + 12, y = e.clientY + 14;
		if (x + tip.offsetWidth > window.innerWidth) x = Math.max(0, e.clientX - tip.offsetWidth - 8);
		if (y + tip.offsetHeight > window.innerHeight) y = e.clientY - tip.offsetHeight - 8;
		tip.style.left = x + "px";
		tip.style.top = y + "px";
	}

	// Task choices: every command, process and thread among the task
	// frames at the root, largest first.
	function listTasks() {
		taskSelect.textContent = "";
		groupSelect.textContent = "";
		var byComm = new Map(), byPid = new Map(), byTid = new Map();
		function add(m, k, label, v) {
			var e = m.get(k) || { label: label, v: 0 };
			e.v += v;
			m.set(k, e);
		}
		for (var i = 1; i < base.n; i = base.end[i]) {
			var task = taskOf(base.name[i]);
			if (!task) continue;
			var v = base.total[i];
			add(byComm, "c:" + task.comm, "command " + task.comm, v);
			add(byPid, "p:" + task.pid, "process " + task.comm + "-" + task.pid, v);
			if (task.tid > 0 || names[base.name[i]].indexOf("/") >= 0) add(byTid, "t:" + task.tid, "thread " + task.comm + "-" + task.pid + "/" + task.tid, v);
		}
		el("option", { value: "", text: byComm.size ? "All tasks" : "No task frames" }, taskSelect);
		[byComm, byPid, byTid].forEach(function (m) {
			Array.from(m.entries()).sort(function (a, b) { return b[1].v - a[1].v; }).forEach(function (e) {
				el("option", { value: e[0], text: e[1].label + " (" + pct(e[1].v, base.total[0]) + ")" }, taskSelect);
			});
		});
		[["", "Tasks as recorded"], ["process", "By process"], ["command", "By command"], ["none", "No task frames"]].forEach(function (o) {
			el("option", { value: o[0], text: o[1] }, groupSelect);
		});
		groupSelect.disabled = taskSelect.disabled = !byComm.size;
		taskSelect.value = view.task;
		groupSelect.value = view.group;
	}
	listTasks();

	var main = new Panel(panels, false);
	var sandwichPanels = null;
	var current = base;
	var searchMask = null, searchRe = null, searchID = 0;

	function renderAll() {
		if (sandwichPanels) {
			sandwichPanels.up.render();
			sandwichPanels.down.render();
		} else {
			main.render();
		}
		updateMatched();
	}

	function updateResetButton() {
		resetButton.disabled = !sandwichPanels && main.zoom === 0;
		resetButton.textContent = sandwichPanels ? "Back to the graph" : "Reset zoom";
	}

	function rebuild() {
		status.textContent = "working...";
		// Let the browser show the status before the work starts.
		setTimeout(function () {
			var t0 = performance.now();
			current = derive();
			main.set(current, icicleBox.checked);
			closeSandwich();
			renderAll();
			status.textContent = current.n.toLocaleString("en-US") + " frames" + (current === base ? "" : " (" + Math.round(performance.now() - t0) + " ms)");
		}, 0);
	}

	function setSearch(s) {
		searchRe = null;
		searchMask = null;
		searchBox.classList.remove("bad");
		if (s) {
			try {
				searchRe = new RegExp(s);
			} catch (e) {
				searchBox.classList.add("bad");
			}
		}
		if (searchRe) searchMask = new Uint8Array(names.map(function (n) { return searchRe.test(n) ? 1 : 0; }));
		searchID++;
		if (!complete) toWorker({ search: searchID, mask: searchMask });
		renderAll();
	}

	// fullMask is the search's mask of names, names added since included.
	function fullMask() {
		if (searchMask.length < names.length) searchMask = new Uint8Array(names.map(function (n) { return searchRe.test(n) ? 1 : 0; }));
		return searchMask;
	}

	// hitValue is the value of the frames that match m in node i's
	// subtree, i included, a match inside a match counted once.
	function hitValue(t, i, m) {
		var v = 0, end = t.end[i], name = t.name, total = t.total, ends = t.end;
		while (i < end) {
			if (m[name[i]]) {
				v += total[i];
				i = ends[i];
			} else i++;
		}
		return v;
	}

	// updateMatched shows the share of the value in stacks through a
	// matching frame. Until all the frames are read it is that of the
	// frames read, a share the whole can only exceed, said so.
	function updateMatched() {
		if (!searchMask) {
			matchedText.textContent = "";
			return;
		}
		var t = sandwichPanels ? sandwichPanels.down.tree : current, m = fullMask();
		// Not the root: the callees' root is the function itself.
		var v = t.n > 1 ? hitValue(t, 1, m) : 0;
		for (var i = t.n > 1 ? t.end[1] : 1; i < t.n; i = t.end[i]) v += hitValue(t, i, m);
		if (!complete) {
			// The overview's frames are whole: a match among them counts
			// all its value, one in narrower frames is missed.
			if (t === base && loading.search === searchID) v = Math.max(v, loading.matched);
			matchedText.textContent = "Matched: at least " + pct(v, t.total[0]) + " (" + loading.progress() + " of the frames read)";
			return;
		}
		var text = "Matched: " + pct(v, t.total[0]);
		if (!sandwichPanels && main.zoom > 0) text += ", " + pct(hitValue(t, main.zoom, m), t.total[main.zoom]) + " of the zoomed frame";
		matchedText.textContent = text;
	}

	function openSandwich(nm) {
		var s = sandwich(current, nm);
		panels.textContent = "";
		var up = new Panel(panels, true), down = new Panel(panels, true);
		up.set(s.callers, false);
		down.set(s.callees, true);
		up.heading = "Callers of " + names[nm] + " (" + count(s.callers.total[0]) + " " + meta.countName + ", " + pct(s.callers.total[0], current.total[0]) + ")";
		down.heading = "Callees of " + names[nm];
		sandwichPanels = { up: up, down: down, name: nm };
		renderAll();
		updateResetButton();
		window.scrollTo(0, 0);
	}

	function closeSandwich() {
		if (!sandwichPanels) return;
		sandwichPanels = null;
		panels.textContent = "";
		panels.appendChild(main.el);
		updateResetButton();
	}

	var searchTimer = 0;
	searchBox.addEventListener("input", function () {
		clearTimeout(searchTimer);
		searchTimer = setTimeout(function () { setSearch(searchBox.value); }, 120);
	});
	searchBox.addEventListener("keydown", function (e) {
		if (e.key === "Enter") {
			clearTimeout(searchTimer);
			setSearch(searchBox.value);
		}
	});
	resetButton.addEventListener("click", function () {
		if (sandwichPanels) {
			closeSandwich();
		} else {
			main.zoom = 0;
		}
		renderAll();
		updateResetButton();
	});
	icicleBox.addEventListener("change", function () {
		main.inverted = icicleBox.checked;
		renderAll();
	});
	taskSelect.addEventListener("change", function () {
		view.task = taskSelect.value;
		rebuild();
	});
	groupSelect.addEventListener("change", function () {
		view.group = groupSelect.value;
		rebuild();
	});
	function regexInput(box, key) {
		var timer = 0;
		function apply() {
			var re = null;
			box.classList.remove("bad");
			if (box.value) {
				try {
					re = new RegExp(box.value);
				} catch (e) {
					box.classList.add("bad");
					return;
				}
			}
			view[key] = re;
			rebuild();
		}
		box.addEventListener("keydown", function (e) {
			if (e.key === "Enter") {
				clearTimeout(timer);
				apply();
			}
		});
		box.addEventListener("change", apply);
	}
	regexInput(hideBox, "hide");
	regexInput(mergeBox, "merge");
	sandwichButton.addEventListener("click", function () {
		if (hovered && hovered.node > 0) openSandwich(hovered.panel.tree.name[hovered.node]);
	});
	window.addEventListener("keydown", function (e) {
		if ((e.ctrlKey || e.metaKey) && e.key === "f") {
			e.preventDefault();
			searchBox.focus();
			searchBox.select();
		} else if (e.key === "Escape") {
			searchBox.value = "";
			setSearch("");
		}
	});
	var resizeTimer = 0;
	window.addEventListener("resize", function () {
		clearTimeout(resizeTimer);
		resizeTimer = setTimeout(renderAll, 100);
	});

	// ---- time ranges (profiles with a time per sample) ----------------------
	// The heat map of the samples' times picks a range; rangeTree merges
	// the stacks of the samples in it.
	var rangeTree = null, heatmap = null;
	if (meta.timeline) {
		var tl = meta.timeline;
		timelineBox.classList.add("on");
		el("div", { class: "hint", text: "Drag across the heat map (or click a cell) to draw the flame graph of that time range; Escape shows all of it." }, timelineBox);
		heatmap = fridayHeatmap(timelineBox, tl.grid, {
			width: Math.max(400, document.documentElement.clientWidth - 20), height: 200,
			onSelect: function (from, to) {
				view.range = from === null ? null : [from, to];
				rebuild();
			},
		});
		rangeTree = function (range) {
			var sums = new Float64Array(tl.stacks.length), time = tl.time, stack = tl.stack, value = tl.value;
			for (var i = 0; i < time.length; i++) {
				if (time[i] >= range[0] && time[i] < range[1]) sums[stack[i]] += value ? value[i] : 1;
			}
			var b = new Builder();
			for (var k = 0; k < sums.length; k++) {
				if (sums[k] <= 0) continue;
				var n = 0, path = tl.stacks[k];
				for (var j = 0; j < path.length; j++) n = b.child(n, path[j]);
				b.self[n] += sums[k];
			}
			return b.tree();
		};
		window.addEventListener("keydown", function (e) {
			if (e.key === "Escape" && view.range) heatmap.clear();
		});
	}

	main.set(base, meta.inverted);
	icicleBox.checked = meta.inverted;
	var q = new URLSearchParams(location.search).get("s");
	if (q) {
		searchBox.value = q;
		setSearch(q);
	} else {
		renderAll();
	}
	updateResetButton();
	status.textContent = "reading all frames...";

	// The script after each piece of the frames calls flameViewerData,
	// the one after the last flameViewerComplete.
	var pieces = document.getElementsByClassName("frames");
	window.flameViewerData = function () {
		while (pieces.length > 0) {
			toWorker({ text: pieces[0].textContent });
			pieces[0].remove();
		}
	};
	window.flameViewerComplete = function () {
		window.flameViewerData();
		marks.push(["parsed", performance.now()]);
		toWorker({ close: true });
	};
	// For tests and for pages that embed the viewer. painted is when the
	// first drawing reached the screen, in ms from the start of the load.
	window.flameViewer = {
		ready: true,
		painted: 0,
		complete: 0,
		marks: marks,
		search: function (s) { searchBox.value = s; setSearch(s); return matchedText.textContent; },
		tree: function () { return sandwichPanels ? null : main.tree; },
		panel: function () { return main; },
		sandwich: function (s) { openSandwich(nameID(s, "#cccccc")); },
		sandwichPanels: function () { return sandwichPanels; },
		heatmap: function () { return heatmap; },
		range: function () { return view.range; },
		names: names,
	};
	requestAnimationFrame(function () {
		setTimeout(function () { window.flameViewer.painted = performance.now(); }, 0);
	});
})();
