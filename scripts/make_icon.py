"""Draw the plugin's icon, `.claude-plugin/icon.png`: a 512 px square PNG, no dependencies.

A flame graph on a dark rounded square: stacked bars, widest at the bottom, and one hot bar
picked out with a magnifier ring, which is what perf-identify does to a profile. Drawn with
4x4 supersampling per pixel for smooth edges, then written with zlib and struct.

Usage: python3 scripts/make_icon.py [OUT]   (default: .claude-plugin/icon.png)
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

SIZE = 512
SUPERSAMPLE = 4
RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]

BACKGROUND: RGB = (24, 28, 40)
RADIUS = 96  # of the rounded square's corners
# (left, top, right, bottom, colour), bottom bar first, in 512 px units.
BARS: list[tuple[float, float, float, float, RGB]] = [
    (72, 372, 440, 420, (200, 66, 46)),
    (72, 316, 300, 364, (222, 98, 52)),
    (308, 316, 440, 364, (210, 82, 48)),
    (72, 260, 196, 308, (236, 138, 60)),
    (204, 260, 300, 308, (255, 196, 70)),  # the hot bar, under the magnifier
    (316, 260, 404, 308, (228, 120, 56)),
    (96, 204, 180, 252, (244, 170, 72)),
    (332, 204, 388, 252, (240, 156, 66)),
    (112, 148, 164, 196, (250, 204, 96)),
]
RING_CENTRE = (252.0, 284.0)
RING_RADII = (78.0, 96.0)  # inner, outer
RING: RGB = (236, 240, 248)
HANDLE = ((320.0, 352.0), (404.0, 436.0), 14.0)  # from, to, half width
GAP = 3.0  # bars are drawn inset by this much so neighbours read as separate frames


def _in_rounded_square(x: float, y: float) -> bool:
    cx = min(max(x, RADIUS), SIZE - RADIUS)
    cy = min(max(y, RADIUS), SIZE - RADIUS)
    return (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS**2


def _distance_to_segment(x: float, y: float) -> float:
    (ax, ay), (bx, by), _ = HANDLE
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - (ax + t * dx), y - (ay + t * dy))


def _colour_at(x: float, y: float) -> RGBA | None:
    """The colour of the point (x, y) in 512 px units, or None outside the icon."""
    if not _in_rounded_square(x, y):
        return None
    ring = math.hypot(x - RING_CENTRE[0], y - RING_CENTRE[1])
    if RING_RADII[0] <= ring <= RING_RADII[1] or _distance_to_segment(x, y) <= HANDLE[2]:
        return (*RING, 255)
    for left, top, right, bottom, colour in BARS:
        if left + GAP <= x <= right - GAP and top + GAP <= y <= bottom - GAP:
            if ring < RING_RADII[0]:
                return (*colour, 255)
            # Outside the lens the bars are dimmed, so the hot frame stands out.
            red, green, blue = (
                int(c * 0.62 + b * 0.38) for c, b in zip(colour, BACKGROUND, strict=True)
            )
            return (red, green, blue, 255)
    return (*BACKGROUND, 255)


def render(colour_at: Callable[[float, float], RGBA | None] = _colour_at) -> bytes:
    """Raw RGBA scanlines, each prefixed with PNG filter byte 0."""
    rows = bytearray()
    step = 1.0 / SUPERSAMPLE
    offsets = [(i + 0.5) * step for i in range(SUPERSAMPLE)]
    for py in range(SIZE):
        rows.append(0)
        for px in range(SIZE):
            red = green = blue = alpha = 0
            for oy in offsets:
                for ox in offsets:
                    sample = colour_at(px + ox, py + oy)
                    if sample is not None:
                        red += sample[0] * sample[3]
                        green += sample[1] * sample[3]
                        blue += sample[2] * sample[3]
                        alpha += sample[3]
            if alpha:
                rows += bytes(
                    (red // alpha, green // alpha, blue // alpha, alpha // SUPERSAMPLE**2)
                )
            else:
                rows += b"\0\0\0\0"
    return bytes(rows)


def png(width: int, height: int, scanlines: bytes) -> bytes:
    """An 8-bit RGBA PNG from filtered scanlines."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(scanlines, 9))
        + chunk(b"IEND", b"")
    )


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    out = Path(argv[0]) if argv else root / ".claude-plugin" / "icon.png"
    out.write_bytes(png(SIZE, SIZE, render()))
    print(f"wrote {out} ({SIZE}x{SIZE})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
