"""The bundled example VM (`examples/tinsel`) with a synthetic per-address profile of its hotspots.

Running the example for real needs cargo and perf and takes seconds per program; the drafting
tests only need a profile whose frames point at the example's real source lines. This one puts
one sample weight on each function of `EXPECTED_HOTSPOTS.json`, at the line that record names,
under a caller chain and with library leaves typical of the record's class.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.builders import STD_ROOT, ProfileBuilder
from tests.conftest import REPO_ROOT

TINSEL = REPO_ROOT / "examples" / "tinsel"
EXPECTED = TINSEL / "EXPECTED_HOTSPOTS.json"
BENCHMARK = "examples/string_index.tinsel"
RECORDED_ROOT = "/build/tinsel"

# Library frames below each class's hot line, leaf first.
_LEAVES: dict[str, list[tuple[str, str, int]]] = {
    "string": [
        ("core::str::validations::next_code_point", f"{STD_ROOT}/core/src/str/validations.rs", 40),
        ("<core::str::iter::Chars as core::iter::traits::iterator::Iterator>::next",
         f"{STD_ROOT}/core/src/str/iter.rs", 44),
    ],
    "clone_drop": [
        ("alloc::raw_vec::RawVec<T,A>::allocate_in", f"{STD_ROOT}/alloc/src/raw_vec.rs", 180),
        ("<alloc::vec::Vec<T,A> as core::clone::Clone>::clone",
         f"{STD_ROOT}/alloc/src/vec/mod.rs", 2900),
    ],
    "hashing": [
        ("core::hash::sip::Hasher<S>::write", f"{STD_ROOT}/core/src/hash/sip.rs", 250),
        ("std::collections::hash::map::HashMap<K,V,S>::entry",
         f"{STD_ROOT}/std/src/collections/hash/map.rs", 900),
    ],
    "allocation": [
        ("alloc::alloc::alloc", f"{STD_ROOT}/alloc/src/alloc.rs", 90),
        ("alloc::slice::<impl [T]>::concat", f"{STD_ROOT}/alloc/src/slice.rs", 500),
    ],
    "dispatch": [],
}  # fmt: skip
_WEIGHTS = [500, 200, 120, 80, 50]


def expected_hotspots() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(EXPECTED.read_text())
    return records


def _line_of(file: str, needle: str) -> int:
    lines = (TINSEL / file).read_text().splitlines()
    return next(number for number, text in enumerate(lines, 1) if needle in text)


def synthetic_profile() -> bytes:
    """A per-address profile: each expected hotspot at its line, heaviest first."""
    builder = ProfileBuilder(per_function=False, duration_nanos=1_500_000_000)
    main = ("tinsel_cli::main", f"{RECORDED_ROOT}/runtime/cli/src/main.rs", 20)
    run_main = ("lang::vm::runtime::VM::run_main", f"{RECORDED_ROOT}/lang/src/vm/runtime.rs", 35)
    for record, weight in zip(expected_hotspots(), _WEIGHTS, strict=False):
        file = record["file"]
        module = Path(file).stem
        owner = "VM::" if record["function"].startswith("VM::") else ""
        symbol = f"lang::vm::{module}::{owner}{record['function'].removeprefix('VM::')}"
        frame = (symbol, f"{RECORDED_ROOT}/{file}", _line_of(file, record["line_contains"]))
        builder.sample([*_LEAVES.get(record["class"], []), frame, run_main, main], weight)
    return builder.build()


def copy_example(root: Path) -> Path:
    """The example's sources (no build output) and the synthetic profile under `root/tinsel`."""
    repo = root / "tinsel"
    shutil.copytree(
        TINSEL, repo, ignore=shutil.ignore_patterns("target", "perf-issues", "*.pb", "*.svg")
    )
    (repo / "synthetic-profile.pb").write_bytes(synthetic_profile())
    return repo
