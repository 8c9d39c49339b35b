"use strict";
// Interaction for friday's SVG flame graphs: details on hover, zoom on
// click, search by regular expression. The frames are <g> elements holding
// a title ("name (N samples, P%)"), a rect, and a text when the name fits.
(function () {
	var svg = document.documentElement;
	var ns = "http://www.w3.org/2000/svg";
	var total = +svg.getAttribute("data-total");
	var nameType = svg.getAttribute("data-nametype");
	var fontSize = +svg.getAttribute("data-fontsize");
	var fontWidth = +svg.getAttribute("data-fontwidth");
	var inverted = svg.getAttribute("data-inverted") === "true";
	var width = +svg.getAttribute("width");
	var pad = 10;
	var details = document.getElementById("details");
	var matchedText = document.getElementById("matched");
	var unzoomButton = document.getElementById("unzoom");
	var searchButton = document.getElementById("search");
	var frames = [];
	var byElement = new Map();
	var zoomed = null;
	var searchRe = null;

	// Each frame keeps where it was drawn: x and w in pixels, its level
	// (0 is the root), its name and value.
	Array.prototype.forEach.call(document.querySelectorAll("#frames > g"), function (g) {
		var rect = g.querySelector("rect");
		var title = g.querySelector("title").textContent;
		var open = title.lastIndexOf(" (");
		var f = {
			g: g, rect: rect, text: g.querySelector("text"),
			x: +rect.getAttribute("x"), w: +rect.getAttribute("width"),
			y: +rect.getAttribute("y"), fill: rect.getAttribute("fill"),
			name: title.slice(0, open), title: title,
			value: parseCount(title.slice(open + 2)),
		};
		frames.push(f);
		byElement.set(g, f);
	});
	var height = +(frames.length ? frames[0].rect.getAttribute("height") : 15) + 1;
	var rootY = frames.length ? frames[0].y : 0;
	frames.forEach(function (f) {
		f.level = Math.round(Math.abs(f.y - rootY) / height);
	});

	function parseCount(s) {
		return +s.slice(0, s.indexOf(" ")).replace(/,/g, "");
	}

	// label shows as much of a frame's name as fits its width, measured
	// by the browser: the generator only estimated it.
	function label(f, x, w) {
		var room = w - 6;
		var chars = Math.floor(room / (fontSize * fontWidth));
		if (chars < 3) {
			if (f.text) f.text.textContent = "";
			return;
		}
		if (!f.text) {
			f.text = document.createElementNS(ns, "text");
			f.g.appendChild(f.text);
			f.text.setAttribute("y", (f.y + height / 2 + fontSize / 2 - 1.5).toFixed(1));
		}
		var t = f.text;
		t.setAttribute("x", (x + 3).toFixed(1));
		var s = f.name.length <= chars ? f.name : f.name.slice(0, chars - 2) + "..";
		t.textContent = s;
		while (s.length > 0 && t.getComputedTextLength() > room) {
			chars--;
			s = chars < 3 ? "" : f.name.slice(0, chars - 2) + "..";
			t.textContent = s;
		}
	}

	function draw(f, x, w) {
		f.rect.setAttribute("x", x.toFixed(1));
		f.rect.setAttribute("width", w.toFixed(1));
		label(f, x, w);
	}

	frames.forEach(function (f) {
		if (f.text) label(f, f.x, f.w);
	});

	var eps = 0.01;
	function contains(outer, inner) {
		return outer.x <= inner.x + eps && inner.x + inner.w <= outer.x + outer.w + eps;
	}

	function zoom(target) {
		zoomed = target;
		unzoomButton.classList.remove("hide");
		var scale = (width - 2 * pad) / target.w;
		frames.forEach(function (f) {
			f.g.classList.remove("parent", "hide");
			if (f.level < target.level && contains(f, target)) {
				f.g.classList.add("parent");
				draw(f, pad, width - 2 * pad);
			} else if (f.level >= target.level && f.w > 0 && contains(target, f)) {
				draw(f, pad + (f.x - target.x) * scale, f.w * scale);
			} else {
				f.g.classList.add("hide");
			}
		});
		search(searchRe);
	}

	function unzoom() {
		zoomed = null;
		unzoomButton.classList.add("hide");
		frames.forEach(function (f) {
			f.g.classList.remove("parent", "hide");
			draw(f, f.x, f.w);
		});
		search(searchRe);
	}

	// search colors the frames whose names match re and shows the share
	// of the total in stacks that hold a match: matches nested in a match
	// count once.
	function search(re) {
		searchRe = re;
		var hits = [];
		frames.forEach(function (f) {
			var hit = re !== null && f.level > 0 && re.test(f.name);
			f.rect.setAttribute("fill", hit ? "rgb(230,0,230)" : f.fill);
			if (hit) hits.push(f);
		});
		if (re === null) {
			searchButton.textContent = "Search";
			matchedText.textContent = " ";
			return;
		}
		searchButton.textContent = "Reset Search";
		hits.sort(function (a, b) { return a.x - b.x || a.level - b.level; });
		var end = -Infinity, value = 0;
		hits.forEach(function (f) {
			if (f.x >= end - eps) {
				value += f.value;
				end = f.x + f.w;
			}
		});
		var pct = total > 0 ? 100 * value / total : 0;
		matchedText.textContent = "Matched: " + pct.toFixed(2) + "%";
	}

	function askSearch() {
		if (searchRe !== null) {
			search(null);
			return;
		}
		var s = prompt("Search for (regular expression):", "");
		if (s === null || s === "") return;
		try {
			search(new RegExp(s));
		} catch (e) {
			alert("Bad regular expression: " + e.message);
		}
	}

	svg.addEventListener("mouseover", function (e) {
		var g = e.target.closest && e.target.closest("#frames > g");
		if (g) details.textContent = nameType + " " + byElement.get(g).title;
	});
	svg.addEventListener("mouseout", function (e) {
		if (e.target.closest && e.target.closest("#frames > g")) details.textContent = " ";
	});
	svg.addEventListener("click", function (e) {
		var g = e.target.closest && e.target.closest("#frames > g");
		if (g) {
			var f = byElement.get(g);
			if (f.level === 0) unzoom();
			else zoom(f);
		} else if (e.target === unzoomButton) {
			unzoom();
		} else if (e.target === searchButton) {
			askSearch();
		}
	});
	window.addEventListener("keydown", function (e) {
		if ((e.ctrlKey || e.metaKey) && e.key === "f") {
			e.preventDefault();
			askSearch();
		} else if (e.key === "Escape") {
			search(null);
			unzoom();
		}
	});

	// ?s=REGEX searches on load, so that a link can share a search.
	var q = new URLSearchParams(location.search).get("s");
	if (q) {
		try { search(new RegExp(q)); } catch (e) { /* a bad link searches nothing */ }
	}
	// For tests and for other pages that embed the graph.
	window.flamegraph = { search: function (s) { search(s === null ? null : new RegExp(s)); }, zoom: function (i) { zoom(frames[i]); }, unzoom: unzoom, frames: frames, zoomed: function () { return zoomed; } };
})();
