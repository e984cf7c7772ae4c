"""Fuzz the profile decoder: 100,000 mutated profiles, each must decode or raise ProfileError.

Usage: .venv/bin/python bench/fuzz.py [--cases N] [--seed S]
Seeds are the real Blitzen fixtures (when ../shared is present) and the builder's profiles.
Prints how many cases decoded, how many were rejected with our error, and any other exception
(there must be none).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perf_identify.errors import ProfileError  # noqa: E402
from perf_identify.hotspots import PathMapper, rank_profile  # noqa: E402
from perf_identify.pprof import decode_profile  # noqa: E402
from tests.fake_vm import recorded_profile  # noqa: E402
from tests.mutations import mutate, mutate_structure  # noqa: E402


def seeds() -> list[bytes]:
    found = [recorded_profile(), recorded_profile(compress=True)]
    fixtures = ROOT.parent / "shared" / "fixtures" / "blitzen" / "profiles"
    found += [path.read_bytes() for path in sorted(fixtures.glob("*/profile.pb"))]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    inputs = seeds()
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for case in range(args.cases):
        seed = inputs[case % len(inputs)]
        data = mutate(seed, rng) if case % 2 else mutate_structure(seed, rng)
        try:
            profile = decode_profile(data, "fuzzed.pb", max_inflated_bytes=1 << 24)
            rank_profile(profile, PathMapper("lang/src/vm", lambda _: False))
            outcomes["decoded and ranked"] += 1
        except ProfileError:
            outcomes["rejected with ProfileError"] += 1
        except Exception:
            outcomes["OTHER EXCEPTION"] += 1
            traceback.print_exc()
    elapsed = time.perf_counter() - started
    print(f"fuzz: {args.cases} cases from {len(inputs)} seed profiles in {elapsed:.0f}s")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome:<28} {count:>7}")
    return 1 if outcomes["OTHER EXCEPTION"] else 0


if __name__ == "__main__":
    sys.exit(main())
