"""Render folded stacks as a flame graph SVG: stage 5 of `perf-identify record`.

Contract: `render_flamegraph(stacks)` takes (root-first frame names, sample count) pairs and
returns the text of a self-contained SVG flame graph in the style of Brendan Gregg's
flamegraph.pl and inferno (which pprof-rs uses): one rect per merged frame, width proportional to
its samples, the root at the bottom, siblings sorted by name, a warm colour derived from the
frame's name alone, a label cut to fit (`..` marks a cut), a `<title>` hover text
`name (N samples, P%)`, a title and the total. Frames under `min_fraction` of all samples (0.1 %
by default) are left out with everything above them: they are thinner than a pixel and would
triple the file. A little inline script adds click-to-zoom and a detail line; without script the
picture and the hover titles still work. No external scripts, styles or fonts.
Pure and deterministic: the same stacks give the same text byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

FRAME_HEIGHT = 16
FONT_SIZE = 12
FONT_WIDTH = 0.59  # average advance of a monospace glyph, in em; as flamegraph.pl
X_PAD = 10
TOP_PAD = FONT_SIZE * 3
BOTTOM_PAD = FONT_SIZE * 2 + 10
ROOT_NAME = "all"


@dataclass(slots=True)
class _Node:
    name: str
    count: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Frame:
    name: str
    depth: int
    start: int  # samples to the left of this frame
    count: int


def frame_colour(name: str) -> str:
    """flamegraph.pl's "hot" palette, with the randomness taken from a hash of `name`."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=3).digest()
    v1, v2, v3 = (byte / 255 for byte in digest)
    return f"rgb({205 + int(50 * v3)},{int(230 * v1)},{int(55 * v2)})"


def fit_label(name: str, width_px: float) -> str:
    """`name` cut to what fits in `width_px` (flamegraph.pl's rule), "" when not 3 characters."""
    room = int((width_px - 3) / (FONT_SIZE * FONT_WIDTH))
    if room < 3:
        return ""
    if len(name) <= room:
        return name
    return name[: room - 2] + ".."


def _tree(stacks: Iterable[tuple[Sequence[str], int]]) -> _Node:
    root = _Node(ROOT_NAME)
    for frames, count in stacks:
        if count <= 0:
            continue
        root.count += count
        node = root
        for name in frames:
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = _Node(name)
            child.count += count
            node = child
    return root


def _layout(root: _Node, min_count: float) -> list[_Frame]:
    frames: list[_Frame] = []
    pending: list[tuple[_Node, int, int]] = [(root, 0, 0)]
    while pending:
        node, depth, start = pending.pop()
        frames.append(_Frame(node.name, depth, start, node.count))
        offset = start
        placed: list[tuple[_Node, int, int]] = []
        for name in sorted(node.children):
            child = node.children[name]
            if child.count >= min_count:
                placed.append((child, depth + 1, offset))
            offset += child.count
        pending.extend(reversed(placed))
    return frames


def _percent(count: int, total: int) -> str:
    return f"{100 * count / total:.2f}%"


def render_flamegraph(
    stacks: Iterable[tuple[Sequence[str], int]],
    *,
    title: str = "Flame Graph",
    width: int = 1200,
    min_fraction: float = 0.001,
) -> str:
    """The SVG text of the flame graph of `stacks` (see the module docstring)."""
    root = _tree(stacks)
    total = root.count
    frames = _layout(root, min_count=max(total * min_fraction, 1)) if total else []
    depth = max((frame.depth for frame in frames), default=0)
    height = TOP_PAD + (depth + 1) * FRAME_HEIGHT + BOTTOM_PAD
    scale = (width - 2 * X_PAD) / total if total else 0.0
    subtitle = f"{total:,} samples" if total else "no samples"

    out: list[str] = [
        '<?xml version="1.0" standalone="no"?>\n',
        f'<svg version="1.1" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg" onload="init(evt)">\n',
        _STYLE,
        _SCRIPT,
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="url(#background)"/>\n',
        f'<text id="title" x="{width / 2:.1f}" y="{FONT_SIZE * 2}">{escape(title)}</text>\n',
        f'<text id="subtitle" x="{width / 2:.1f}" y="{FONT_SIZE * 2 + 14}">'
        f"{escape(subtitle)}</text>\n",
        f'<text id="unzoom" class="hide" x="{X_PAD}" y="{FONT_SIZE * 2}">Reset Zoom</text>\n',
        f'<text id="details" x="{X_PAD}" y="{height - BOTTOM_PAD / 2 + 4:.1f}"> </text>\n',
        f'<g id="frames" data-total="{total}" data-width="{width - 2 * X_PAD}" '
        f'data-xpad="{X_PAD}">\n',
    ]
    for frame in frames:
        x = X_PAD + frame.start * scale
        w = frame.count * scale
        y = height - BOTTOM_PAD - (frame.depth + 1) * FRAME_HEIGHT
        hover = f"{frame.name} ({frame.count:,} samples, {_percent(frame.count, total)})"
        out.append(
            f'<g data-x="{frame.start}" data-w="{frame.count}" data-d="{frame.depth}">'
            f"<title>{escape(hover)}</title>"
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{FRAME_HEIGHT - 1}" '
            f'fill="{frame_colour(frame.name)}" rx="2" ry="2"/>'
            f'<text x="{x + 3:.2f}" y="{y + 10.5:.1f}" data-name={quoteattr(frame.name)}>'
            f"{escape(fit_label(frame.name, w))}</text></g>\n"
        )
    out.append("</g>\n</svg>\n")
    return "".join(out)


_STYLE = f"""<defs><linearGradient id="background" y1="0" y2="1" x1="0" x2="0">\
<stop stop-color="#eeeeee" offset="5%"/><stop stop-color="#eeeeb0" offset="95%"/>\
</linearGradient></defs>
<style type="text/css">
text {{ font-family: monospace; font-size: {FONT_SIZE}px; fill: rgb(0,0,0); }}
#title {{ text-anchor: middle; font-size: 17px; }}
#subtitle {{ text-anchor: middle; fill: rgb(110,110,110); }}
#unzoom {{ cursor: pointer; }}
#frames > g:hover > rect {{ stroke: black; stroke-width: 0.5; cursor: pointer; }}
.hide {{ display: none; }}
.parent {{ opacity: 0.5; }}
</style>
"""

# Click a frame to zoom into it, click "Reset Zoom" to go back; hovering shows the frame in the
# details line. Geometry comes from the data-x/-w/-d attributes in samples, so zooming is a
# rescale, and labels are re-cut with the same rule as fit_label.
_SCRIPT = f"""<script type="text/ecmascript"><![CDATA[
"use strict";
var frames, details, unzoom, total, span, xpad;
var FW = {FONT_SIZE * FONT_WIDTH};
function init(evt) {{
  frames = document.getElementById("frames");
  details = document.getElementById("details").firstChild;
  unzoom = document.getElementById("unzoom");
  total = +frames.getAttribute("data-total");
  span = +frames.getAttribute("data-width");
  xpad = +frames.getAttribute("data-xpad");
  unzoom.addEventListener("click", function () {{ zoom(0, total, -1); }});
  for (var g of frames.children) {{
    g.addEventListener("click", function () {{
      zoom(+this.getAttribute("data-x"), +this.getAttribute("data-w"),
           +this.getAttribute("data-d"));
    }});
    g.addEventListener("mouseover", function () {{
      details.nodeValue = "Function: " + this.querySelector("title").textContent;
    }});
    g.addEventListener("mouseout", function () {{ details.nodeValue = " "; }});
  }}
}}
function label(name, w) {{
  var room = Math.floor((w - 3) / FW);
  if (room < 3) return "";
  return name.length <= room ? name : name.substring(0, room - 2) + "..";
}}
function zoom(x0, w0, d0) {{
  var scale = span / w0;
  for (var g of frames.children) {{
    var x = +g.getAttribute("data-x"), w = +g.getAttribute("data-w");
    var d = +g.getAttribute("data-d");
    var rect = g.querySelector("rect"), text = g.querySelector("text");
    g.classList.remove("hide", "parent");
    if (x + w <= x0 || x >= x0 + w0) {{ g.classList.add("hide"); continue; }}
    var left = Math.max(x, x0), right = Math.min(x + w, x0 + w0);
    if (d < d0) g.classList.add("parent");
    var px = xpad + (left - x0) * scale, pw = (right - left) * scale;
    rect.setAttribute("x", px.toFixed(2));
    rect.setAttribute("width", pw.toFixed(2));
    text.setAttribute("x", (px + 3).toFixed(2));
    text.textContent = label(text.getAttribute("data-name"), pw);
  }}
  unzoom.classList.toggle("hide", d0 < 0);
}}
]]></script>
"""
