"""The five real Blitzen profiles through the whole CLI, against the real Blitzen source.

For each profile in `../shared/fixtures/blitzen/profiles/<name>/`, `perf-identify
examples/<name>.santa --skip-make --profile <fixture> --offline --json` runs in-process on a
writable copy of the Blitzen checkout (made once a session). The run must exit 0 with no
traceback, and every issue file it writes must:

- follow the template (`tests.issue_checks`, which shares no code with the renderer);
- cite a Line inside the Function it names, by an independent reading of the real Rust file
  (`tests.blitzen`, which shares no code with `perf_identify.source`);
- agree with the `--json` report: rank, file, line, function, benchmark, date, runtime, and a
  Time Contribution equal to the reported share rounded to 0.1.

The flat and cum the `--json` report gives for each hotspot must equal the `go tool pprof -top`
rows recorded next to the profile (`pprof-top.txt`, `pprof-top-cum.txt`). The five runs take a
few seconds in all.
"""

from __future__ import annotations

import io
import json
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from perf_identify.cli import main
from tests.blitzen import check_blitzen_issue_file, dropped_cum_ns, function_extent, rust_functions
from tests.pprof_top import parse_top
from tests.test_pprof import FIXTURE_NAMES

DATE = "2026-12-01"


@dataclass(frozen=True)
class Run:
    """One in-process CLI run. `code` is None when `main` raised; `err` then ends with the trace."""

    name: str
    code: int | None
    out: str
    err: str
    issues_dir: Path

    @property
    def thin(self) -> bool:
        """Too few samples for any issue file (exit 4, said on stderr): aoc2022_day12's 67."""
        return self.code == 4 and "error: profile too thin" in self.err

    def summary(self) -> dict[str, Any]:
        """The `--json` report; fails the test (with stderr) unless the run exited 0, or 4 for
        a profile too thin to write an issue from."""
        assert self.code == 0 or self.thin, f"{self.name}: exit {self.code}\n{self.err}"
        summary: dict[str, Any] = json.loads(self.out)
        return summary


@pytest.fixture(scope="module", params=FIXTURE_NAMES)
def run(
    request: pytest.FixtureRequest,
    shared_fixtures: Path,
    blitzen_source_copy: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    """`perf-identify` on one real profile, run once per profile for all the tests below."""
    name: str = request.param
    issues_dir = tmp_path_factory.mktemp(name) / "perf-issues"
    argv = [
        f"examples/{name}.santa",
        "--skip-make",
        "--profile",
        str(shared_fixtures / "profiles" / name / "profile.pb"),
        "--offline",
        "--repo",
        str(blitzen_source_copy),
        "--out",
        str(issues_dir),
        "--json",
        "--date",
        DATE,
    ]
    out, err = io.StringIO(), io.StringIO()
    code: int | None
    try:
        code = main(argv, out, err)
    except Exception:  # a crash is a finding: keep its traceback for the assertion message
        code = None
        err.write(traceback.format_exc())
    return Run(name, code, out.getvalue(), err.getvalue(), issues_dir)


def test_cli_exits_0_without_a_traceback(run: Run) -> None:
    assert "Traceback" not in run.err, f"{run.name} crashed:\n{run.err}"
    summary = run.summary()
    assert summary["benchmark_file"] == f"examples/{run.name}.santa"
    assert summary["profile_kind"] == "per-function"
    if run.thin:
        assert not summary["issues"]
        floor = summary["min_issue_samples"]
        assert all(hotspot["samples"] < floor for hotspot in summary["hotspots"])
        assert not list(run.issues_dir.glob("*.txt"))
        return
    assert summary["issues"], f"{run.name}: no issue written\n{run.err}"


def test_every_issue_file_passes_the_format_and_fact_checks(
    run: Run, blitzen_source_copy: Path
) -> None:
    summary = run.summary()
    issues = summary["issues"]
    assert issues or run.thin
    written = sorted(p.name for p in run.issues_dir.glob("*.txt"))
    assert written == sorted(Path(issue["path"]).name for issue in issues)
    for issue in issues:
        path = Path(issue["path"])
        assert path.parent == run.issues_dir
        assert issue["outcome"] == "CREATED"
        checked = check_blitzen_issue_file(path, blitzen_source_copy)
        assert checked.benchmark == f"examples/{run.name}.santa"
        assert checked.date == DATE
        assert checked.runtime_ms == summary["runtime_ms"]
        assert (checked.rank, checked.file, checked.line, checked.function) == (
            issue["rank"],
            issue["file"],
            issue["line"],
            issue["function"],
        ), path.name


def test_time_contribution_is_the_reported_share(run: Run) -> None:
    summary = run.summary()
    hotspots = {hotspot["rank"]: hotspot for hotspot in summary["hotspots"]}
    assert summary["issues"] or run.thin
    for issue in summary["issues"]:
        text = Path(issue["path"]).read_text(encoding="utf-8")
        contribution = f"Time Contribution: {issue['share_percent']:.1f}% of total execution"
        assert contribution in text, f"{issue['name']}: want {contribution!r}"
        # The hotspot's share carries 3 decimals; its 0.1 rounding may differ by that rounding.
        hotspot = hotspots[issue["rank"]]
        assert hotspot["file"] == issue["file"]
        assert abs(issue["share_percent"] - hotspot["share_percent"]) <= 0.05 + 0.0005, (
            issue["name"],
            hotspot["share_percent"],
        )


@pytest.mark.parametrize("listing", ["pprof-top.txt", "pprof-top-cum.txt"])
def test_hotspot_flat_and_cum_equal_go_pprof_top(
    run: Run, shared_fixtures: Path, listing: str
) -> None:
    summary = run.summary()
    text = (shared_fixtures / "profiles" / run.name / listing).read_text()
    rows = {row.name: row for row in parse_top(text)}
    cut_off = dropped_cum_ns(text)
    compared = 0
    for hotspot in summary["hotspots"]:
        row = rows.get(hotspot["symbol"])
        # pprof drops nodes with cum at or below the cut-off; every other node is listed.
        if hotspot["cum_ms"] * 1_000_000 <= cut_off:
            continue
        assert row is not None, f"{hotspot['symbol']} is not in {listing}"
        assert (hotspot["flat_ms"], hotspot["cum_ms"]) == (
            row.flat_ns / 1_000_000,
            row.cum_ns / 1_000_000,
        ), hotspot["symbol"]
        compared += 1
    assert compared, f"no hotspot of {run.name} to compare with {listing}"


def test_independent_scanner_reads_the_blitzen_vm(blitzen_source: Path) -> None:
    """The checker above is only as good as its reading of Blitzen's Rust; check that reading."""
    vm = blitzen_source / "src" / "lang" / "src" / "vm"
    runtime = (vm / "runtime.rs").read_text(encoding="utf-8")
    value = (vm / "value.rs").read_text(encoding="utf-8")
    lines = runtime.splitlines()
    for path in sorted(vm.glob("*.rs")):
        assert rust_functions(path.read_text(encoding="utf-8")) or path.name == "mod.rs"
    # runtime.rs has two `fn read_byte`, told apart by their impl.
    frame = function_extent(runtime, "CallFrame::read_byte")
    method = function_extent(runtime, "VM::read_byte")
    assert frame != method
    for first, last in (frame, method):
        assert "fn read_byte" in lines[first - 1]
        assert lines[last - 1].strip() == "}"
    first, last = function_extent(runtime, "VM::index_op")
    assert "fn index_op" in lines[first - 1]
    assert last - first > 50
    assert lines[last - 1] == "    }"
    # A nested helper fn is its own function, inside its outer one.
    outer = function_extent(runtime, "VM::builtin_sum")
    inner = function_extent(runtime, "VM::builtin_sum::sum_values")
    assert outer[0] < inner[0] <= inner[1] < outer[1]
    # `write!(f, "{{")` must not count as a brace; Display and PartialEq each have one `fmt`/`eq`.
    value_lines = value.splitlines()
    first, last = function_extent(value, "<Value as Display>::fmt")
    assert "fn fmt" in value_lines[first - 1]
    assert any('"{{"' in line for line in value_lines[first - 1 : last])
    derive, _ = function_extent(value, "<Value as Clone>::clone (derived)")
    assert "derive(" in value_lines[derive - 1]
    assert "Clone" in value_lines[derive - 1]
