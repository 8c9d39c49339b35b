"use strict";
// fridayHeatmap draws a heat map grid (see heatmap.Grid) on a canvas in
// box. Hovering over a cell shows its time, value range and count. With
// options.onSelect, dragging from a cell to another (or clicking one)
// selects the samples between them in time order, as FlameScope does for
// offset heat maps: onSelect(from, to) gets nanoseconds from the grid's
// start, and null when the selection is cleared (a click outside).
window.fridayHeatmap = function (box, grid, options) {
	options = options || {};
	var left = 70, right = 20, top = 8, bottom = 30;
	var width = options.width || box.clientWidth || 1200;
	var pw = Math.max(width - left - right, grid.cols);
	var ph = Math.min(600, Math.max(200, grid.rows * 8));
	if (options.height) ph = options.height;
	var cw = pw / grid.cols, ch = ph / grid.rows;
	var canvas = document.createElement("canvas");
	var details = document.createElement("div");
	var tip = document.createElement("div");
	details.className = "heatmap-details";
	details.style.cssText = "min-height:1.3em;padding:2px 0 0 " + left + "px;color:#333";
	tip.style.cssText = "position:fixed;pointer-events:none;display:none;background:#ffffe8;border:1px solid #999;padding:3px 6px;font-size:12px;z-index:5";
	box.appendChild(canvas);
	box.appendChild(details);
	document.body.appendChild(tip);
	var dpr = window.devicePixelRatio || 1;
	var W = left + pw + right, H = top + ph + bottom;
	canvas.width = Math.round(W * dpr);
	canvas.height = Math.round(H * dpr);
	canvas.style.width = W + "px";
	canvas.style.height = H + "px";
	canvas.style.cursor = options.onSelect ? "crosshair" : "default";
	var ctx = canvas.getContext("2d");
	var max = 0, total = 0;
	grid.counts.forEach(function (n) { if (n > max) max = n; total += n; });
	var rowNs = grid.step / grid.rows;
	var selection = null; // [from, to) in ns from the start

	function color(n) {
		if (n <= 0) return "#ffffff";
		var v = max > 1 ? Math.log(n) / Math.log(max) : 1;
		function lerp(a, b) { return Math.round(a + (b - a) * v); }
		return "rgb(" + lerp(253, 150) + "," + lerp(190, 0) + "," + lerp(110, 20) + ")";
	}
	function rowY(r) { return grid.offsets ? top + r * ch : top + ph - (r + 1) * ch; }
	function fmtValue(v) { return v >= 100 ? v.toFixed(0) : String(+v.toPrecision(3)); }
	function fmtTime(ns) {
		var decimals = 0;
		for (var s = grid.step; s < 1e9 && decimals < 9; s *= 10) decimals++;
		if (grid.startTime) {
			var d = new Date(Date.parse(grid.startTime) + (ns - grid.start) / 1e6);
			return d.toTimeString().slice(0, 8);
		}
		return ((ns - grid.start) / 1e9).toFixed(decimals) + "s";
	}
	// cellTime is when a cell starts, in ns from the start, in the time
	// order of an offset map (column, then row).
	function cellTime(c, r) { return c * grid.step + (grid.offsets ? r * rowNs : 0); }
	function inSelection(c, r) {
		if (!selection) return false;
		var t = cellTime(c, r), span = grid.offsets ? rowNs : grid.step;
		return t >= selection[0] && t + span <= selection[1];
	}

	function draw() {
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.fillStyle = "#f8f8f8";
		ctx.fillRect(0, 0, W, H);
		ctx.fillStyle = "#fff";
		ctx.fillRect(left, top, pw, ph);
		for (var c = 0; c < grid.cols; c++) {
			for (var r = 0; r < grid.rows; r++) {
				var n = grid.counts[c * grid.rows + r];
				var sel = inSelection(c, r);
				if (n === 0 && !sel) continue;
				ctx.fillStyle = n ? color(n) : "#ffffff";
				ctx.fillRect(left + c * cw, rowY(r), Math.max(cw, 1), Math.max(ch, 1));
				if (sel) {
					ctx.fillStyle = "rgba(40,90,220,0.35)";
					ctx.fillRect(left + c * cw, rowY(r), Math.max(cw, 1), Math.max(ch, 1));
				}
			}
		}
		ctx.strokeStyle = "#bbb";
		ctx.strokeRect(left + 0.5, top + 0.5, pw, ph);
		ctx.fillStyle = "#222";
		ctx.font = "12px Verdana, \"DejaVu Sans\", sans-serif";
		ctx.textAlign = "right";
		ctx.textBaseline = "middle";
		for (r = 0; r <= grid.rows; r++) {
			var e = grid.edges[r], label = false;
			if (grid.log) label = Math.abs(Math.log10(e) - Math.round(Math.log10(e))) < 1e-6;
			else label = r % Math.max(1, Math.floor(grid.rows / (grid.offsets ? 10 : 8))) === 0;
			if (!label) continue;
			var y = grid.offsets ? top + r * ch : top + ph - r * ch;
			ctx.fillText(fmtValue(e) + " " + grid.yUnit, left - 6, y);
		}
		ctx.textAlign = "center";
		ctx.textBaseline = "top";
		var every = Math.max(1, Math.ceil(90 / cw));
		for (c = 0; c <= grid.cols; c += every) ctx.fillText(fmtTime(grid.start + c * grid.step), left + c * cw, top + ph + 6);
	}

	function cellAt(e) {
		var b = canvas.getBoundingClientRect();
		var x = e.clientX - b.left - left, y = e.clientY - b.top - top;
		if (x < 0 || y < 0 || x >= pw || y >= ph) return null;
		var c = Math.floor(x / cw), r = Math.floor(y / ch);
		if (!grid.offsets) r = grid.rows - 1 - r;
		return { c: Math.min(c, grid.cols - 1), r: Math.min(r, grid.rows - 1) };
	}
	function describe(cell) {
		var t0 = grid.start + cell.c * grid.step;
		var when = fmtTime(t0) + " to " + fmtTime(t0 + grid.step);
		if (grid.offsets) when = "second " + fmtTime(t0);
		return when + ", " + grid.yName + " " + fmtValue(grid.edges[cell.r]) + "-" + fmtValue(grid.edges[cell.r + 1]) + " " + grid.yUnit + ": " + grid.counts[cell.c * grid.rows + cell.r];
	}
	var summary = total + " samples, " + max + " per cell at most" + (grid.below || grid.above ? "; " + (grid.below || 0) + " below and " + (grid.above || 0) + " above the range drawn" : "");
	details.textContent = summary;

	var dragFrom = null;
	canvas.addEventListener("mousemove", function (e) {
		var cell = cellAt(e);
		if (!cell) {
			tip.style.display = "none";
			details.textContent = summary;
			return;
		}
		var text = describe(cell);
		details.textContent = text;
		tip.textContent = text;
		tip.style.display = "block";
		tip.style.left = (e.clientX + 12) + "px";
		tip.style.top = (e.clientY + 14) + "px";
		if (dragFrom) select(dragFrom, cell, false);
	});
	canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
	if (options.onSelect) {
		canvas.addEventListener("mousedown", function (e) {
			dragFrom = cellAt(e);
			e.preventDefault();
		});
		window.addEventListener("mouseup", function (e) {
			if (!dragFrom) return;
			var to = cellAt(e) || dragFrom;
			select(dragFrom, to, true);
			dragFrom = null;
		});
	}
	// select marks the cells from a to b in time order, and reports the
	// range when final.
	function select(a, b, final) {
		var ta = cellTime(a.c, a.r), tb = cellTime(b.c, b.r), span = grid.offsets ? rowNs : grid.step;
		selection = [Math.min(ta, tb), Math.max(ta, tb) + span];
		draw();
		if (final) options.onSelect(selection[0], selection[1]);
	}
	draw();
	return {
		canvas: canvas,
		// cellCenter is where a cell is on the page, for tests.
		cellCenter: function (c, r) {
			var b = canvas.getBoundingClientRect();
			return [b.left + left + (c + 0.5) * cw, b.top + rowY(r) + ch / 2];
		},
		clear: function () {
			selection = null;
			draw();
			options.onSelect(null, null);
		},
	};
};
