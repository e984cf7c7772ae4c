"""Condensing speed: perf-identify's decode + rank + attribute against `go tool pprof -top`.

Usage: .venv/bin/python bench/condense.py [--runs N] [--big-runs N] [--no-big]

For every real Blitzen profile in ../shared/fixtures (and, unless --no-big, a generated profile
of 1,000,000 samples over 50,000 functions with stacks 40-120 deep, made by the test builder and
cached in bench/.cache/), runs both tools N times in alternation and prints the median wall time
and peak memory (RSS, from /usr/bin/time) of each, and ours / pprof's. Ours is the whole CLI up
to, not including, drafting: `perf-identify FILE --profile P --json` in a repo without the VM's
source, so it ranks and stops. Installs Debian's golang-go when `go` is missing (or says why not).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "blitzen" / "profiles"
BIG = ROOT / "bench" / ".cache" / "big-1m.pb.gz"
PERF_IDENTIFY = Path(sys.executable).parent / "perf-identify"


@dataclass
class Measure:
    seconds: list[float]
    peak_kb: list[int]

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        return max(self.peak_kb) / 1024


def timed(argv: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of one run, measured by GNU time."""
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run(
            ["/usr/bin/time", "-o", report.name, "-f", "%e %M", *argv],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        seconds, kilobytes = report.read().split()[-2:]
    return float(seconds), int(kilobytes)


def ensure_go() -> bool:
    if shutil.which("go"):
        return True
    print("go is missing: installing Debian's golang-go ...", file=sys.stderr)
    result = subprocess.run(
        ["bash", "-c", "apt-get update -qq && apt-get install -y -qq golang-go"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not shutil.which("go"):
        print(f"cannot install golang-go: {result.stderr.strip()[-300:]}", file=sys.stderr)
        return False
    return True


def compare(profile: Path, runs: int, workdir: Path) -> tuple[Measure, Measure]:
    ours = Measure([], [])
    theirs = Measure([], [])
    ours_argv = [str(PERF_IDENTIFY), "x.santa", "--repo", str(workdir), "--profile", str(profile)]
    ours_argv += ["--json", "--min-percent", "0"]
    for _ in range(runs):
        for measure, argv in (
            (ours, ours_argv),
            (theirs, ["go", "tool", "pprof", "-top", str(profile)]),
        ):
            seconds, peak = timed(argv, workdir)
            measure.seconds.append(seconds)
            measure.peak_kb.append(peak)
    return ours, theirs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per tool per real profile")
    parser.add_argument("--big-runs", type=int, default=3, help="runs per tool on the big one")
    parser.add_argument("--no-big", action="store_true", help="skip the generated profile")
    args = parser.parse_args()
    if not ensure_go():
        print("no reference: go tool pprof is unavailable", file=sys.stderr)
        return 1
    profiles = [(p.parent.name, p, args.runs) for p in sorted(FIXTURES.glob("*/profile.pb"))]
    if not profiles:
        print(f"note: no real profiles at {FIXTURES}", file=sys.stderr)
    if not args.no_big:
        if not BIG.exists():
            BIG.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "make_big_profile.py"), str(BIG)], check=True
            )
        profiles.append(("generated 1M samples", BIG, args.big_runs))
    print(f"machine: {os.cpu_count()} cores; medians of N runs, tools alternating")
    columns = ("N", "ours s", "pprof s", "ratio", "ours MB", "pprof MB")
    widths = (2, 8, 8, 6, 8, 9)
    header = f"{'profile':<22} " + " ".join(
        f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        (workdir / "x.santa").write_text("")
        for label, path, runs in profiles:
            ours, theirs = compare(path, runs, workdir)
            ratio = ours.median_s / theirs.median_s if theirs.median_s else float("inf")
            print(
                f"{label:<22} {runs:>2} {ours.median_s:>8.2f} {theirs.median_s:>8.2f} "
                f"{ratio:>6.2f} {ours.peak_mb:>8.0f} {theirs.peak_mb:>9.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
