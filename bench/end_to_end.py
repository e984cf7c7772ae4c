"""End to end on the bundled example VM: `perf-identify FILE` against the naive sequence.

Usage: .venv/bin/python bench/end_to_end.py [--runs N] [--program examples/x.tinsel]

The naive sequence is what the original slash command did: `make analyze FILE=…` then
`make profile FILE=…`. Ours is `perf-identify FILE --offline`: make analyze, reuse of the
profile it already wrote, ranking, source, offline drafting, issue files. Both run in a private
copy of examples/tinsel after one warm-up build, alternating, N times; prints medians and the
ratio ours / naive (goal <= 0.70).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def wall(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--program", default="examples/string_index.tinsel")
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("ANTHROPIC_API_KEY", None)
    with tempfile.TemporaryDirectory() as work:
        repo = Path(work) / "tinsel"
        shutil.copytree(
            ROOT / "examples" / "tinsel",
            repo,
            ignore=shutil.ignore_patterns("target", "perf-issues", "profile.pb", "flamegraph.svg"),
        )
        naive = [
            ["make", "analyze", f"FILE={args.program}"],
            ["make", "profile", f"FILE={args.program}"],
        ]
        ours = [str(BIN / "perf-identify"), args.program, "--offline", "--quiet"]
        for step in naive:  # warm-up: builds every profile once
            wall(step, repo, env)
        naive_times: list[float] = []
        ours_times: list[float] = []
        for _ in range(args.runs):
            naive_times.append(sum(wall(step, repo, env) for step in naive))
            ours_times.append(wall(ours, repo, env))
    naive_s = statistics.median(naive_times)
    ours_s = statistics.median(ours_times)
    print(f"end to end on {args.program}, median of {args.runs} alternating runs, warm build")
    print(f"  make analyze && make profile   {naive_s:6.2f} s")
    print(f"  perf-identify FILE --offline   {ours_s:6.2f} s")
    print(f"  ratio                          {ours_s / naive_s:6.2f}   (goal <= 0.70)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
