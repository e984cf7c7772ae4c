"""A fake checkout of the VM: Blitzen's layout, a Makefile with analyze/profile targets shaped
like the real transcripts, and a recorded profile built by `tests.builders`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from perf_identify.facts import HotspotFacts, RunContext, hotspot_facts
from perf_identify.hotspots import PathMapper, rank_profile
from perf_identify.pprof import decode_profile
from tests.builders import ProfileBuilder

FAKE_VM = Path(__file__).resolve().parent / "data" / "fake_vm"
BENCHMARK = "examples/aoc2018_day05.santa"
VM = "lang::vm::runtime::VM"
CALLERS = [
    f"{VM}::execute_until",
    f"{VM}::call_closure_sync",
    f"{VM}::builtin_fold",
    f"{VM}::execute_until",
    "santa_cli::main",
    "main",
]
GRAPHEMES = [
    "core::hint::select_unpredictable",
    "unicode_segmentation::grapheme::GraphemeCursor::next_boundary",
    "<unicode_segmentation::grapheme::Graphemes as core::iter::traits::iterator::Iterator>::next",
    "alloc::vec::Vec<T,A>::extend_desugared",
    "<alloc::vec::Vec<T> as core::iter::traits::collect::FromIterator<T>>::from_iter",
    "core::iter::traits::iterator::Iterator::collect",
    f"{VM}::index_op",
]
# (stack leaf first, samples): 91% index_op, 4% Value::clone, 3% execute_until, 2% VM::push.
# Ten thousand samples, so that even the 2% hotspot has enough for an issue file (200; the
# floor is `sample_counts.MIN_ISSUE_SAMPLES`), as a real profile of a long benchmark does.
STACKS: list[tuple[list[str], int]] = [
    ([*GRAPHEMES, *CALLERS], 8500),
    (["core::str::validations::next_code_point", *GRAPHEMES[1:], *CALLERS], 600),
    (["<lang::vm::value::Value as core::clone::Clone>::clone", *CALLERS[2:]], 400),
    (CALLERS, 300),
    (["core::ptr::write", "alloc::vec::Vec<T,A>::push", f"{VM}::push", *CALLERS], 200),
]


def recorded_profile(*, compress: bool = False) -> bytes:
    builder = ProfileBuilder(duration_nanos=42_000_000_000)
    for stack, count in STACKS:
        builder.sample(stack, count)
    return builder.build(compress=compress)


def make_fake_vm(root: Path, *, profile: bytes | None = None) -> Path:
    """Copy the fake VM to `root/vm` with a recorded profile; return the repo path."""
    repo = root / "vm"
    shutil.copytree(FAKE_VM, repo)
    (repo / "recorded-profile.pb").write_bytes(recorded_profile() if profile is None else profile)
    return repo


def fake_vm_facts(profile: bytes | None = None) -> list[tuple[HotspotFacts, list[str]]]:
    """Facts for every hotspot of the fake VM's recorded profile, with their files' lines."""
    decoded = decode_profile(profile or recorded_profile(), "fake.pb")
    ranking = rank_profile(
        decoded, PathMapper("lang/src/vm", lambda rel: (FAKE_VM / rel).is_file())
    )
    context = RunContext(BENCHMARK, 340804, ranking.total, "nanoseconds", decoded.kind)
    pairs = []
    for hotspot in ranking.hotspots:
        text = (FAKE_VM / hotspot.file).read_text()
        facts = hotspot_facts(hotspot, text, context)
        assert isinstance(facts, HotspotFacts), facts
        pairs.append((facts, text.splitlines()))
    return pairs
