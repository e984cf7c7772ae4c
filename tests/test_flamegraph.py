"""flamegraph: folded stacks -> SVG text; parsed back with xml.etree and measured."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from perf_identify.flamegraph import (
    FONT_SIZE,
    FONT_WIDTH,
    X_PAD,
    fit_label,
    frame_colour,
    render_flamegraph,
)

SVG = "{http://www.w3.org/2000/svg}"
STACKS: list[tuple[tuple[str, ...], int]] = [
    (("_start", "main", "vm::run", "vm::hot_fn"), 60),
    (("_start", "main", "vm::run", "alloc::vec::Vec<T,A>::push"), 20),
    (("_start", "main", "vm::parse"), 15),
    (("_start", "main"), 5),
]


def frames(svg: str) -> dict[str, tuple[float, float, float, str, str]]:
    """name -> (x, width, y, title, label) of every drawn frame."""
    root = ET.fromstring(svg)
    group = root.find(f"{SVG}g[@id='frames']")
    assert group is not None
    found: dict[str, tuple[float, float, float, str, str]] = {}
    for frame in group.findall(f"{SVG}g"):
        rect = frame.find(f"{SVG}rect")
        title = frame.find(f"{SVG}title")
        text = frame.find(f"{SVG}text")
        assert rect is not None
        assert title is not None
        assert text is not None
        name = text.get("data-name")
        assert name is not None
        assert title.text is not None
        found[name] = (
            float(rect.get("x", "0")),
            float(rect.get("width", "0")),
            float(rect.get("y", "0")),
            title.text,
            text.text or "",
        )
    return found


def test_well_formed_svg_with_title_and_total() -> None:
    svg = render_flamegraph(STACKS, title="Flame Graph: vm")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = {t.get("id"): t.text for t in root.iter(f"{SVG}text") if t.get("id")}
    assert texts["title"] == "Flame Graph: vm"
    assert texts["subtitle"] == "100 samples"
    # Self-contained: nothing is fetched from elsewhere.
    assert "href" not in svg
    assert "@import" not in svg
    assert "url(#background)" in svg


def test_widths_are_proportional_to_samples() -> None:
    drawn = frames(render_flamegraph(STACKS, width=1200))
    full = 1200 - 2 * X_PAD
    assert drawn["all"][1] == full
    assert drawn["_start"][1] == full
    assert abs(drawn["vm::run"][1] - full * 0.80) < 0.01
    assert abs(drawn["vm::hot_fn"][1] - 3 * drawn["alloc::vec::Vec<T,A>::push"][1]) < 0.02
    assert abs(drawn["vm::parse"][1] - full * 0.15) < 0.01


def test_children_sit_on_their_parent_sorted_by_name() -> None:
    drawn = frames(render_flamegraph(STACKS))
    run_x, run_w, run_y = drawn["vm::run"][:3]
    push_x, push_w, push_y = drawn["alloc::vec::Vec<T,A>::push"][:3]
    hot_x, _, hot_y = drawn["vm::hot_fn"][:3]
    assert push_y == hot_y == run_y - 16, "one frame height above the parent"
    assert push_x == run_x, "'alloc…' sorts before 'vm::hot_fn'"
    assert abs(hot_x - (push_x + push_w)) < 0.02
    parse_x, parse_w = drawn["vm::parse"][:2]
    assert abs(run_x - (parse_x + parse_w)) < 0.02, "'vm::parse' sorts before 'vm::run'"
    assert run_x + run_w <= 1200 - X_PAD + 0.02
    assert drawn["all"][2] > drawn["_start"][2], "the root is at the bottom"


def test_hover_titles_give_samples_and_percent() -> None:
    drawn = frames(render_flamegraph(STACKS))
    assert drawn["vm::hot_fn"][3] == "vm::hot_fn (60 samples, 60.00%)"
    assert drawn["all"][3] == "all (100 samples, 100.00%)"


def test_labels_are_cut_to_fit() -> None:
    drawn = frames(render_flamegraph(STACKS, width=300))
    for _, width, _, _, label in drawn.values():
        assert len(label) * FONT_SIZE * FONT_WIDTH <= width
    assert fit_label("vm::hot_fn", 1000) == "vm::hot_fn"
    assert fit_label("vm::hot_fn", 3.01 + 6 * FONT_SIZE * FONT_WIDTH) == "vm::.."
    assert fit_label("vm::hot_fn", 10) == ""


def test_frames_under_a_thousandth_are_left_out() -> None:
    stacks = [(("main", "big"), 4000), (("main", "tiny"), 3), (("main", "tiny", "deeper"), 1)]
    drawn = frames(render_flamegraph(stacks))
    assert "tiny" not in drawn
    assert "deeper" not in drawn
    assert drawn["main"][3] == "main (4,004 samples, 100.00%)", "but they count in the parent"


def test_deterministic_and_independent_of_input_order() -> None:
    first = render_flamegraph(STACKS)
    assert render_flamegraph(STACKS) == first
    assert render_flamegraph(list(reversed(STACKS))) == first
    split = [*STACKS, (("_start", "main", "vm::parse"), 0)]
    assert render_flamegraph(split) == first


def test_warm_colours_from_the_name_alone() -> None:
    colours = {name: frame_colour(name) for name in ("a", "vm::hot_fn", "<T as Clone>::clone")}
    for colour in colours.values():
        match = re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", colour)
        assert match is not None
        red, green, blue = (int(part) for part in match.groups())
        assert 205 <= red <= 255
        assert 0 <= green <= 230
        assert 0 <= blue <= 55
    assert frame_colour("vm::hot_fn") == colours["vm::hot_fn"]


def test_names_are_escaped() -> None:
    stacks = [(("main", '<Vec<T> as Drop>::drop & "friends"'), 1)]
    drawn = frames(render_flamegraph(stacks))
    assert '<Vec<T> as Drop>::drop & "friends"' in drawn


def test_no_samples_still_renders() -> None:
    root = ET.fromstring(render_flamegraph([]))
    texts = {t.get("id"): t.text for t in root.iter(f"{SVG}text") if t.get("id")}
    assert texts["subtitle"] == "no samples"
