"""The sampling note: sampled time against the profile's duration and the Runtime, on built
profiles and on the five real ones (checked against `go tool pprof -top`'s header)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from perf_identify.hotspots import PathMapper, rank_profile
from perf_identify.pprof import decode_profile
from perf_identify.report import sampling_lines
from perf_identify.sampling import SHORTFALL_BELOW, SamplingNote, assess_sampling, sampling_note
from tests.builders import ProfileBuilder
from tests.cli_runs import run_cli
from tests.fake_vm import recorded_profile
from tests.golden_files import assert_matches_golden
from tests.test_pprof import FIXTURE_NAMES

MS = 1_000_000


def _note(
    *, total: int, duration_ms: int, runtime_ms: int | None = None, period: int = MS
) -> SamplingNote | None:
    return assess_sampling(
        value_type="cpu",
        unit="nanoseconds",
        total=total,
        duration_nanos=duration_ms * MS,
        period=period,
        runtime_ms=duration_ms if runtime_ms is None else runtime_ms,
    )


def test_a_quarter_of_the_samples_is_a_shortfall() -> None:
    note = _note(total=8913 * MS, duration_ms=37419)
    assert note is not None
    assert (note.sampled_ms, note.duration_ms, note.runtime_ms) == (8913, 37419, 37419)
    assert note.of_duration == pytest.approx(0.2382, abs=1e-4)
    assert note.of_runtime == pytest.approx(note.of_duration)
    assert (note.expected_samples, note.samples_taken) == (37419, 8913)
    assert note.shortfall is True
    assert note.measure == "CPU"


def test_a_complete_profile_is_no_shortfall() -> None:
    note = _note(total=980 * MS, duration_ms=1000)
    assert note is not None
    assert note.shortfall is False
    assert sampling_lines(note) == (
        "Sampled: 980ms of CPU time in 1000ms of profile duration (98%); "
        "flat and cum are sampled CPU time, not wall time.",
    )


def test_the_threshold_is_sixty_percent_of_the_duration() -> None:
    at = _note(total=600 * MS, duration_ms=1000)
    below = _note(total=599 * MS, duration_ms=1000)
    assert SHORTFALL_BELOW == 0.60
    assert at is not None
    assert below is not None
    assert (at.shortfall, below.shortfall) == (False, True)


def test_a_busy_multi_threaded_profile_above_its_duration_is_no_shortfall() -> None:
    note = _note(total=1900 * MS, duration_ms=1000)
    assert note is not None
    assert note.of_duration == pytest.approx(1.9)
    assert note.shortfall is False


def test_no_duration_says_nothing_rather_than_guess() -> None:
    # Our own recorder may write duration 0; the Runtime is from another run, so no comparison.
    assert _note(total=1000 * MS, duration_ms=0, runtime_ms=5000) is None


def test_values_that_are_not_time_say_nothing() -> None:
    note = assess_sampling(
        value_type="samples", unit="count", total=1000, duration_nanos=10**9, period=1,
        runtime_ms=1000,
    )  # fmt: skip
    assert note is None


def test_an_empty_total_says_nothing() -> None:
    assert _note(total=0, duration_ms=1000) is None


def test_without_a_period_no_sample_counts_are_claimed() -> None:
    note = _note(total=100 * MS, duration_ms=1000, period=0)
    assert note is not None
    assert (note.expected_samples, note.samples_taken) == (None, None)
    assert sampling_lines(note)[0].endswith(": the profiler recorded only part of the run.")


def test_a_runtime_other_than_the_duration_is_named() -> None:
    note = _note(total=1000 * MS, duration_ms=4200, runtime_ms=340804)
    assert note is not None
    assert note.of_runtime == pytest.approx(1000 / 340804)
    assert sampling_lines(note) == (
        "Sampled: 1000ms of CPU time in 4200ms of profile duration (24%): "
        "the profiler took 1000 of 4200 samples (about 1 in 4).",
        "Shares are sound; flat and cum are sampled CPU time, not wall time "
        "(Runtime: 340804ms, 0.3% of it sampled).",
    )


def test_a_ranking_carries_what_the_note_needs() -> None:
    ranking = rank_profile(
        decode_profile(recorded_profile(), "fake.pb"), PathMapper("lang/src/vm", lambda _: False)
    )
    note = sampling_note(ranking, 42000)
    assert note is not None
    # The fake VM's profile: 10,000 samples of 1 ms in 42 s, the real profiles' shortfall.
    assert (note.sampled_ms, note.duration_ms, note.samples_taken) == (10000, 42000, 10000)
    assert note.shortfall is True


def test_a_per_address_profile_without_duration_gets_no_note() -> None:
    builder = ProfileBuilder(per_function=False, duration_nanos=0)
    builder.sample(["lang::vm::runtime::VM::run"], 10)
    ranking = rank_profile(
        decode_profile(builder.build(), "rec.pb"), PathMapper("lang/src/vm", lambda _: False)
    )
    assert sampling_note(ranking, 1234) is None


# -- the five real profiles ----------------------------------------------------------------------

_TOP_HEADER = re.compile(
    r"Duration: (?P<duration>[\d.]+m?s), Total samples = (?P<total>\d+)ms \((?P<percent>[\d.]+)%\)"
)


def _run_real(shared_fixtures: Path, tmp_path: Path, name: str, *extra: str) -> tuple[int, str]:
    (tmp_path / "x.santa").write_text("")
    profile = shared_fixtures / "profiles" / name / "profile.pb"
    code, out, _ = run_cli("x.santa", "--repo", str(tmp_path), "--profile", str(profile), *extra)
    return code, out


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_real_profiles_get_the_figures_pprof_reports(
    shared_fixtures: Path, tmp_path: Path, name: str
) -> None:
    header = _TOP_HEADER.search((shared_fixtures / "profiles" / name / "pprof-top.txt").read_text())
    assert header is not None
    code, out = _run_real(shared_fixtures, tmp_path, name, "--json")
    assert code == 5  # no VM source here: the ranking prints, no file is written
    sampling = json.loads(out)["sampling"]
    assert sampling["sampled_ms"] == int(header["total"])
    assert sampling["sampled_of_duration_percent"] == pytest.approx(
        float(header["percent"]), abs=0.006
    )
    assert sampling["samples_taken"] == int(header["total"])  # pprof-rs: 1 ms per sample
    assert sampling["expected_samples"] == round(sampling["profile_duration_ms"])
    assert sampling["shortfall"] is True  # every real profile kept 17-24 % of its samples
    assert sampling["runtime_ms"] == round(sampling["profile_duration_ms"])


def test_real_profile_table_says_once_that_figures_are_sampled(
    shared_fixtures: Path, tmp_path: Path, update_golden: bool
) -> None:
    code, out = _run_real(shared_fixtures, tmp_path, "aoc2018_day05", "-q")
    assert code == 5
    lines = out.splitlines()
    assert lines[0].startswith("Hotspots in x.santa (flat, cum: sampled CPU time)")
    note = [line for line in lines if line.startswith(("Sampled: ", "Shares are sound"))]
    assert out.count("Sampled: ") == 1
    assert_matches_golden(
        "\n".join(note) + "\n", "report/sampling_aoc2018_day05.txt", update=update_golden
    )
    # The note sits right under the table, before anything else is said.
    table_end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    assert lines[table_end + 1 : table_end + 3] == note
