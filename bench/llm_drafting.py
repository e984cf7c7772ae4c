#!/usr/bin/env python3
"""Benchmark the model drafter against the fake Messages API (a measurement, not a test).

    .venv/bin/python bench/llm_drafting.py [--latency 1.0] [--no-record]

It runs the real CLI (`perf-identify FILE --profile ...`, the real SDK) on a copy of the
bundled example VM (`examples/tinsel`, else the tests' fake VM) against
`tests.fake_messages_server` with an injected latency per call, and prints two tables:

1. Concurrency: the wall time of a run drafting 5 hotspots divided by a run drafting one.
   Goal: at most 1.3 with enough concurrency for every hotspot to be in flight at once.
2. Size: the bytes of every request of a 5-hotspot run, next to what an agent following the
   original manual prompt would read (the VM's source files and `flamegraph.svg`). Goal: at
   most 1/5. With prompt caching the shared prefix is billed once at full price and then at a
   tenth, so the "model reads fresh" row counts it once.

The flame graph for the manual baseline is recorded with `perf-identify record` when perf and
the example's profiling build are available (`--no-record` skips that); otherwise one is
rendered from the profile's stacks.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from perf_identify.cli import main as cli_main  # noqa: E402
from perf_identify.flamegraph import render_flamegraph  # noqa: E402
from perf_identify.pprof import decode_profile  # noqa: E402
from tests import example_vm  # noqa: E402
from tests.fake_messages_server import FakeMessagesServer, RecordedRequest  # noqa: E402
from tests.fake_vm import BENCHMARK as FAKE_BENCHMARK  # noqa: E402
from tests.fake_vm import make_fake_vm  # noqa: E402

KEY = "sk-ant-bench-not-a-real-key"


def run_cli(repo: Path, benchmark: str, profile: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = [benchmark, "--repo", str(repo), "--profile", str(profile), "--no-cache", "-q"]
    code = cli_main([*argv, *extra], out, err)
    return code, out.getvalue(), err.getvalue()


def timed_run(
    repo: Path, benchmark: str, profile: Path, latency: float, *extra: str
) -> tuple[float, list[RecordedRequest]]:
    with FakeMessagesServer(latency_s=latency) as server:
        os.environ["ANTHROPIC_BASE_URL"] = server.url
        started = time.perf_counter()
        code, _out, err = run_cli(repo, benchmark, profile, *extra)
        elapsed = time.perf_counter() - started
        if code != 0:
            raise SystemExit(f"perf-identify failed ({code}):\n{err}")
        return elapsed, list(server.requests)


def record_flamegraph(workdir: Path, benchmark: str) -> Path | None:
    """A real flame graph of the example, if perf and its profiling build are there."""
    binary = example_vm.TINSEL / "target" / "profiling" / "tinsel-cli"
    recorder = Path(sys.executable).parent / "perf-identify"
    if not (shutil.which("perf") and binary.is_file() and recorder.is_file()):
        return None
    out = workdir / "recorded"
    out.mkdir()
    result = subprocess.run(
        [str(recorder), "record", "--out-dir", str(out), "--", str(binary), "-p", benchmark],
        cwd=example_vm.TINSEL,
        capture_output=True,
        check=False,
    )
    svg = out / "flamegraph.svg"
    return svg if result.returncode == 0 and svg.is_file() else None


def rendered_flamegraph(workdir: Path, profile: Path) -> Path:
    decoded = decode_profile(profile.read_bytes(), str(profile))
    stacks = []
    for sample in decoded.samples:
        locations = [decoded.locations[i] for i in sample.location_ids]
        frames = [line.function.name for loc in locations for line in loc.lines]
        stacks.append((list(reversed(frames)), sample.value))
    svg = workdir / "rendered-flamegraph.svg"
    svg.write_text(render_flamegraph(stacks))
    return svg


def _program_block(request: RecordedRequest) -> dict[str, Any]:
    """The user turn's first block, the fenced benchmark program shared by every hotspot."""
    content = request.body["messages"][0]["content"]
    return content[0] if isinstance(content, list) and len(content) > 1 else {}


def _hotspot_part(request: RecordedRequest) -> str:
    """The per-hotspot text alone: the user turn's last block (facts and function)."""
    content = request.body["messages"][0]["content"]
    return str(content[-1].get("text", "")) if isinstance(content, list) else str(content)


def prefix_once_bytes(requests: Sequence[RecordedRequest]) -> int:
    """Request bytes with the cached prefix (the system blocks and the program block, both
    marked for caching) counted once per run."""
    seen: set[str] = set()
    total = 0
    for request in requests:
        prefix = json.dumps([request.body.get("system"), _program_block(request)], sort_keys=True)
        total += len(request.raw) - (len(prefix) if prefix in seen else 0)
        seen.add(prefix)
    return total


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join(
            [str(first).ljust(widths[0])]
            + [str(c).rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        )

    rule = "-" * len(line(header))
    return "\n".join([title, rule, line(header), rule, *(line(r) for r in rows), rule])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per model call")
    parser.add_argument("--no-record", action="store_true", help="do not run perf")
    args = parser.parse_args(argv)
    os.environ["ANTHROPIC_API_KEY"] = KEY

    with tempfile.TemporaryDirectory(prefix="bench-llm-") as scratch:
        workdir = Path(scratch)
        if example_vm.EXPECTED.is_file():
            repo = example_vm.copy_example(workdir)
            benchmark, profile = example_vm.BENCHMARK, repo / "synthetic-profile.pb"
            vm_name = "examples/tinsel"
        else:
            repo = make_fake_vm(workdir)
            benchmark, profile = FAKE_BENCHMARK, repo / "recorded-profile.pb"
            vm_name = "the tests' fake VM"
        print(f"VM: {vm_name}; benchmark {benchmark}; {args.latency:g} s per model call\n")

        # Warm up first: the first run pays for importing the SDK (about 2 s), not for calls.
        timed_run(repo, benchmark, profile, 0.0, "--top", "1")
        one, _ = timed_run(repo, benchmark, profile, args.latency, "--top", "1")
        rows = []
        runs: dict[int, list[RecordedRequest]] = {}
        for concurrency in (1, 4, 5):
            wall, requests = timed_run(
                repo, benchmark, profile, args.latency, "--top", "5", "--min-percent", "0",
                "--concurrency", str(concurrency),
            )  # fmt: skip
            runs[concurrency] = requests
            default = " (default)" if concurrency == 4 else ""
            rows.append(
                (f"--concurrency {concurrency}{default}", str(len(requests)), f"{wall:.2f} s",
                 f"{wall / one:.2f}")
            )  # fmt: skip
        print(
            table(
                f"1. Wall time, 5 hotspots / 1 hotspot ({one:.2f} s)  [goal <= 1.3]",
                ("run", "calls", "wall", "ratio"),
                [("--top 1 (one call)", "1", f"{one:.2f} s", "1.00"), *rows],
            )
        )

        requests = runs[5]
        sources = sorted((repo / "lang" / "src" / "vm").glob("*.rs"))
        hot_files = sorted({repo / r.function_file for r in map(_Hot, requests) if r.function_file})
        svg = None if args.no_record else record_flamegraph(workdir, benchmark)
        svg_note = "recorded with perf-identify record"
        if svg is None:
            svg, svg_note = rendered_flamegraph(workdir, profile), "rendered from the profile"
        svg_bytes = svg.stat().st_size
        hot_bytes = sum(path.stat().st_size for path in hot_files)
        all_bytes = sum(path.stat().st_size for path in sources)
        wire = sum(len(r.raw) for r in requests)
        fresh = prefix_once_bytes(requests)
        manual_hot = hot_bytes + svg_bytes
        manual_all = all_bytes + svg_bytes
        hotspot_parts = sum(len(_hotspot_part(r).encode()) for r in requests)
        sizes = [
            ("manual: hot functions' files + flamegraph.svg", manual_hot),
            ("manual: every VM source file + flamegraph.svg", manual_all),
            ("ours: request bodies on the wire", wire),
            ("ours: what the model reads fresh (cached prefix once)", fresh),
            ("ours: the per-hotspot parts alone (facts + function)", hotspot_parts),
        ]
        print()
        print(
            table(
                "2. Bytes per run, 5 hotspots, next to the manual prompt  [goal <= 1/5 = 0.20]",
                ("what", "bytes", "/ hot files+svg", "/ all VM+svg"),
                [
                    (what, str(n), f"{n / manual_hot:.2f}", f"{n / manual_all:.2f}")
                    for what, n in sizes
                ],
            )
        )
        print(
            f"\nflamegraph.svg: {svg_bytes} bytes ({svg_note}); hot files: "
            + ", ".join(str(p.relative_to(repo)) for p in hot_files)
            + f"; all VM files: {len(sources)} ({all_bytes} bytes)"
        )
        for request in sorted(requests, key=lambda r: r.hotspot_text):
            print(_breakdown(request))
    return 0


class _Hot:
    """The file a request's hotspot lives in, read back from its prompt."""

    def __init__(self, request: RecordedRequest) -> None:
        marker = f"Function: {request.function} in "
        text = request.hotspot_text
        start = text.find(marker)
        self.function_file = text[start + len(marker) :].split(",")[0] if start >= 0 else ""


def _breakdown(request: RecordedRequest) -> str:
    body = request.body
    system = body.get("system") or []
    schema = json.dumps(body.get("output_config", {}))
    instructions = len(system[0]["text"]) if system else 0
    context = len(system[1]["text"]) if len(system) > 1 else 0
    program = len(str(_program_block(request).get("text", "")))
    hotspot = len(_hotspot_part(request))
    rest = len(request.raw) - instructions - context - program - hotspot - len(schema)
    return (
        f"one request ({request.function}): {len(request.raw)} bytes = instructions "
        f"{instructions} + run context {context} + program {program} + hotspot facts and "
        f"source {hotspot} + output schema {len(schema)} + JSON framing {rest}"
    )


if __name__ == "__main__":
    sys.exit(main())
