"""Start-up: `perf-identify --help` against the bare interpreter, measured in the same run.

Usage: .venv/bin/python bench/startup.py [--runs N]
Prints the median wall time of each over N alternating runs and their difference (what our
imports cost). Goal: `perf-identify --help` under 150 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

PERF_IDENTIFY = Path(sys.executable).parent / "perf-identify"


def wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(args.runs):
        ours.append(wall([str(PERF_IDENTIFY), "--help"]))
        bare.append(wall([sys.executable, "-c", "pass"]))
    ours_ms = statistics.median(ours) * 1000
    bare_ms = statistics.median(bare) * 1000
    print(f"startup, median of {args.runs} alternating runs")
    print(f"  perf-identify --help   {ours_ms:7.1f} ms   (goal < 150 ms)")
    print(f"  python -c pass         {bare_ms:7.1f} ms")
    ratio = ours_ms / bare_ms
    print(f"  ratio                  {ratio:7.2f}   our imports: {ours_ms - bare_ms:.1f} ms")
    return 0 if ours_ms < 150 else 1


if __name__ == "__main__":
    sys.exit(main())
