"""One issue per fix site: fold a helper into the hotspot that calls it in its loop.

Contract: `merge_fix_sites(hotspots, min_percent)` is pure. A tiny VM helper (a comparison,
clone, hash or small accessor: `symbols.is_tiny_helper`) whose attributed time is reached almost
entirely (`ALMOST_ENTIRELY`) through one VM caller is reported inside that caller's issue when
the caller is itself a hotspot (at least `min_percent` of the total on its own, as is the
helper) and is not the
interpreter loop: an engineer fixes the caller's loop, not `Value::clone`. The caller's value and
share grow by the helper's time through it, the helper is listed in its `merged`, and the helper
leaves the list. Helpers reached from many places, or from the dispatch loop (`VM::pop`,
`VM::push`), keep their own hotspots. The result is sorted by value (then name) and ranked anew.

Flat and cum stay the caller's own pprof figures; only the attributed value (the issue's Time
Contribution) includes the helper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from perf_identify.classify import is_dispatch_function
from perf_identify.hotspots import Hotspot, MergedHelper

ALMOST_ENTIRELY = 0.9
"""Share of a helper's time that must come through one caller for the two to be one fix."""


def merge_fix_sites(hotspots: Sequence[Hotspot], min_percent: float) -> tuple[Hotspot, ...]:
    by_symbol = {hotspot.symbol: hotspot for hotspot in hotspots}
    owner_of: dict[str, str] = {}
    for hotspot in hotspots:
        site = _fix_site(hotspot, by_symbol, min_percent)
        if site is not None:
            owner_of[hotspot.symbol] = site
    # A helper that is itself folded into another caller cannot take helpers of its own.
    owner_of = {helper: owner for helper, owner in owner_of.items() if owner not in owner_of}
    if not owner_of:
        return tuple(hotspots)
    merged: list[Hotspot] = []
    for hotspot in hotspots:
        if hotspot.symbol in owner_of:
            continue
        helpers = [by_symbol[h] for h, owner in owner_of.items() if owner == hotspot.symbol]
        merged.append(_absorb(hotspot, helpers) if helpers else hotspot)
    merged.sort(key=lambda h: (-h.value, h.symbol))
    return tuple(replace(hotspot, rank=rank) for rank, hotspot in enumerate(merged, start=1))


def _fix_site(hotspot: Hotspot, by_symbol: dict[str, Hotspot], min_percent: float) -> str | None:
    # A helper too small for an issue of its own changes nothing by being folded in.
    if not hotspot.tiny_helper or not hotspot.call_sites or hotspot.value <= 0:
        return None
    if round(hotspot.share_percent, 1) < min_percent:
        return None
    site = hotspot.call_sites[0]
    caller = by_symbol.get(site.name)
    if (
        caller is None
        or caller.symbol == hotspot.symbol
        or site.value < ALMOST_ENTIRELY * hotspot.value
        or round(caller.share_percent, 1) < min_percent
        or is_dispatch_function(caller.symbol)
    ):
        return None
    return caller.symbol


def _absorb(owner: Hotspot, helpers: Sequence[Hotspot]) -> Hotspot:
    parts: list[MergedHelper] = []
    for helper in sorted(helpers, key=lambda h: (-h.value, h.symbol)):
        through = next(s for s in helper.call_sites if s.name == owner.symbol)
        parts.append(MergedHelper(helper, through.value, through.percent))
    value = owner.value + sum(part.value for part in parts)
    share = owner.share_percent + sum(part.percent for part in parts)
    return replace(owner, value=value, share_percent=share, merged=tuple(parts))
