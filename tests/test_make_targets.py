"""Tests for perf_identify.make_targets with real `make` and real subprocesses in fake repos."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from perf_identify import make_targets
from perf_identify.errors import Interrupted, MakeError, UsageError
from perf_identify.make_targets import (
    SKIP_PROFILE_NOTICE,
    MakeOutcome,
    fresh_artifacts,
    require_fresh_artifacts,
    run_make_stage,
    run_target,
    validate_file_argument,
)
from perf_identify.runtime_figure import RuntimeFigure, parse_runtime, strip_ansi

FILE = "examples/x.santa"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

# --------------------------------------------------------------------------------------------
# Fake repos. Recipes are lists of shell lines; `$` must be written `$$` as in any Makefile.
# --------------------------------------------------------------------------------------------

ANALYZE_HEAD = [
    "@echo '=========================================='",
    "@echo 'ANALYSIS: $(FILE)'",
    "@echo '=========================================='",
    "@echo",
    "@echo '--- CORRECTNESS (tests) ---'",
    "@echo 'test result: ok. 0 passed; 0 failed'",
    "@echo",
    "@echo '--- TIMING (single run) ---'",
    r"@printf 'Part 1: \033[32m484\033[0m \033[90m254ms\033[0m\n'",
    r"@printf 'Part 2: \033[32m478\033[0m \033[90m186ms\033[0m\n'",
    "@echo",
    "@echo '--- PROFILE (generating flamegraph.svg) ---'",
]
WRITE_ARTIFACTS = [
    "@printf x > profile.pb",
    "@printf '<svg/>' > flamegraph.svg",
    "@echo 'Wrote flamegraph.svg'",
    "@echo 'Wrote profile.pb'",
]
ANALYZE_TAIL = ["@echo", "@echo '=========================================='"]
PROFILE_WRITES = [
    "@echo 'cargo build --profile profiling --features profile -p santa-cli'",
    "@echo 'Compiling santa-cli' >&2",
    "@touch profile-ran",
    *WRITE_ARTIFACTS,
]


def makefile(**targets: list[str]) -> str:
    text = ".PHONY: " + " ".join(targets) + "\n"
    for name, recipe in targets.items():
        text += f"{name}:\n" + "".join(f"\t{line}\n" for line in recipe)
    return text


def make_repo(tmp_path: Path, makefile_text: str | None, name: str = "repo") -> Path:
    repo = tmp_path / name
    (repo / "examples").mkdir(parents=True)
    (repo / FILE).write_text("puts(1)\n")
    if makefile_text is not None:
        (repo / "Makefile").write_text(makefile_text)
    return repo


def is_running(pid: int) -> bool:
    """Whether `pid` is a live process; a zombie waiting for its new parent to reap it is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def read_pids(repo: Path, *names: str) -> list[int]:
    return [int((repo / name).read_text().strip()) for name in names]


class Recorder:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.statuses: list[tuple[str, float]] = []
        self.notices: list[str] = []

    def on_line(self, line: str) -> None:
        self.lines.append(line)

    def status(self, step: str, elapsed: float) -> None:
        self.statuses.append((step, elapsed))

    def notice(self, text: str) -> None:
        self.notices.append(text)


def stage(
    repo: Path, tmp_path: Path, rec: Recorder, *, always_profile: bool = False
) -> MakeOutcome:
    return run_make_stage(
        repo,
        FILE,
        tmp_path / "logs",
        always_profile=always_profile,
        timeout_s=10,
        on_line=rec.on_line,
        status=rec.status,
        notice=rec.notice,
    )


# --------------------------------------------------------------------------------------------
# run_make_stage
# --------------------------------------------------------------------------------------------


def test_fresh_artifacts_from_analyze_skip_profile(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        makefile(analyze=ANALYZE_HEAD + WRITE_ARTIFACTS + ANALYZE_TAIL, profile=PROFILE_WRITES),
    )
    rec = Recorder()
    outcome = run_make_stage(
        repo,
        FILE,
        tmp_path / "logs",
        always_profile=False,
        timeout_s=10,
        on_line=rec.on_line,
        status=rec.status,
        notice=rec.notice,
    )
    assert outcome.profile_skipped
    assert outcome.profile is None
    assert not (repo / "profile-ran").exists()
    assert rec.notices == [SKIP_PROFILE_NOTICE]
    assert outcome.artifacts.profile_pb == repo / "profile.pb"
    assert outcome.artifacts.flamegraph_svg == repo / "flamegraph.svg"
    assert outcome.runtime == RuntimeFigure(440, "parts", (254, 186))
    assert outcome.analyze.argv == ("make", "analyze", f"FILE={FILE}")
    assert outcome.analyze.exit_code == 0
    assert "\x1b[32m484\x1b[0m" in outcome.analyze.stdout


def test_profile_runs_when_analyze_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path, makefile(analyze=ANALYZE_HEAD + ANALYZE_TAIL, profile=PROFILE_WRITES)
    )
    rec = Recorder()
    outcome = run_make_stage(
        repo,
        FILE,
        tmp_path / "logs",
        always_profile=False,
        timeout_s=10,
        on_line=rec.on_line,
        status=None,
        notice=rec.notice,
    )
    assert not outcome.profile_skipped
    assert outcome.profile is not None
    assert outcome.profile.target == "profile"
    assert outcome.profile.log_path == tmp_path / "logs" / "make-profile.log"
    assert (repo / "profile-ran").exists()
    assert rec.notices == []
    assert outcome.runtime is not None
    assert outcome.runtime.milliseconds == 440
    # --verbose streams both targets' lines, stderr included.
    assert "Compiling santa-cli" in rec.lines
    assert "--- TIMING (single run) ---" in rec.lines


def test_always_profile_runs_profile_even_when_analyze_wrote_files(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        makefile(analyze=ANALYZE_HEAD + WRITE_ARTIFACTS + ANALYZE_TAIL, profile=PROFILE_WRITES),
    )
    rec = Recorder()
    outcome = run_make_stage(
        repo,
        FILE,
        tmp_path / "logs",
        always_profile=True,
        timeout_s=10,
        on_line=None,
        status=None,
        notice=rec.notice,
    )
    assert not outcome.profile_skipped
    assert outcome.profile is not None
    assert (repo / "profile-ran").exists()
    assert rec.notices == []


def test_empty_profile_from_analyze_falls_back_to_make_profile(tmp_path: Path) -> None:
    analyze = [*ANALYZE_HEAD, "@: > profile.pb", "@printf '<svg/>' > flamegraph.svg"]
    repo = make_repo(tmp_path, makefile(analyze=analyze, profile=PROFILE_WRITES))
    rec = Recorder()
    outcome = stage(repo, tmp_path, rec)
    assert (repo / "profile-ran").exists()
    assert rec.notices == []
    assert outcome is not None


def test_stale_artifacts_are_rejected(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=ANALYZE_HEAD, profile=["@echo profiling"]))
    an_hour_ago = time.time() - 3600
    for name in ("profile.pb", "flamegraph.svg"):
        (repo / name).write_text("old")
        os.utime(repo / name, (an_hour_ago, an_hour_ago))
    with pytest.raises(MakeError) as info:
        stage(repo, tmp_path, Recorder())
    assert re.match(
        r"profile\.pb is stale: written \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, "
        r"before make profile started at \d{4}-",
        info.value.message,
    )
    assert str(tmp_path / "logs" / "make-profile.log") in info.value.hint


def test_missing_profile_is_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=ANALYZE_HEAD, profile=["@echo profiling"]))
    with pytest.raises(MakeError, match=r"^make profile did not write profile\.pb$"):
        stage(repo, tmp_path, Recorder())


def test_missing_flamegraph_is_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=ANALYZE_HEAD, profile=["@printf x > profile.pb"]))
    with pytest.raises(MakeError, match=r"^make profile did not write flamegraph\.svg$"):
        stage(repo, tmp_path, Recorder())


def test_empty_profile_is_reported(tmp_path: Path) -> None:
    profile = ["@: > profile.pb", "@printf '<svg/>' > flamegraph.svg"]
    repo = make_repo(tmp_path, makefile(analyze=ANALYZE_HEAD, profile=profile))
    with pytest.raises(MakeError, match=r"^profile\.pb is empty$"):
        stage(repo, tmp_path, Recorder())


def test_stage_validates_file_before_running_make(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=["@touch analyze-ran"]))
    with pytest.raises(UsageError):
        run_make_stage(
            repo,
            "examples/x.santa; touch pwned",
            tmp_path / "logs",
            always_profile=False,
            timeout_s=None,
            on_line=None,
            status=None,
            notice=lambda _: None,
        )
    assert not (repo / "analyze-ran").exists()


# --------------------------------------------------------------------------------------------
# run_target: failures
# --------------------------------------------------------------------------------------------


def test_failing_target_names_exit_code_log_and_last_line(tmp_path: Path) -> None:
    recipe = ["@echo 'building'", "@echo 'error: boom in lang/src/vm/runtime.rs' >&2", "@exit 3"]
    repo = make_repo(tmp_path, makefile(analyze=recipe))
    with pytest.raises(MakeError) as info:
        run_target(repo, "analyze", FILE, tmp_path / "logs")
    error = info.value
    # make's own "*** [Makefile:…] Error 3" restates the exit code; the recipe's line is kept.
    assert error.message == (
        f"make analyze FILE={FILE} failed with exit code 2: error: boom in lang/src/vm/runtime.rs"
    )
    log_path = tmp_path / "logs" / "make-analyze.log"
    assert error.hint == f"full log: {log_path}"
    log = log_path.read_text()
    assert "building" in log
    assert "error: boom" in log
    assert "Error 3" in log


def test_failure_names_the_explaining_line_not_the_last_one(tmp_path: Path) -> None:
    # The not-on-PATH case: the recipe's `perf-identify record` is not found, a later step
    # still prints, and the last line says nothing about why.
    recipe = [
        "@echo 'Compiling blitzen v0.1.0'",
        "@perf-identify-not-installed record -- true; "
        "echo 'Finished profiling profile in 0.01s'; exit 127",
    ]
    repo = make_repo(tmp_path, makefile(profile=recipe))
    with pytest.raises(MakeError) as info:
        run_target(repo, "profile", FILE, tmp_path / "logs")
    error = info.value
    assert error.message.startswith(f"make profile FILE={FILE} failed with exit code 2: ")
    assert "perf-identify-not-installed: not found" in error.message
    assert "Finished profiling" not in error.message + error.hint
    assert error.hint.startswith("a command the Makefile runs is not on PATH;")
    assert error.hint.endswith(f"full log: {tmp_path / 'logs' / 'make-profile.log'}")


def test_failure_without_an_explaining_line_quotes_the_last_line(tmp_path: Path) -> None:
    recipe = ["@echo 'step one'", "@echo 'step two' >&2", "@exit 1"]
    repo = make_repo(tmp_path, makefile(analyze=recipe))
    with pytest.raises(MakeError) as info:
        run_target(repo, "analyze", FILE, tmp_path / "logs")
    assert info.value.message == f"make analyze FILE={FILE} failed with exit code 2"
    assert info.value.hint.endswith("; last line: step two")


def test_explaining_lines_picks_the_first_causes() -> None:
    lines = [
        "   Compiling vm v0.1.0",
        "\x1b[31merror[E0308]\x1b[0m: mismatched types",
        "thread 'main' panicked at src/main.rs:3:5:",
        "/bin/sh: 1: x: not found",
        "Finished in 0.01s",
    ]
    assert make_targets.explaining_lines(lines) == [
        "error[E0308]: mismatched types",
        "thread 'main' panicked at src/main.rs:3:5:",
    ]
    assert make_targets.explaining_lines(["all good", "done"]) == []
    assert make_targets._NOT_ON_PATH_RE.search("make: cargo: No such file or directory")
    assert not make_targets._NOT_ON_PATH_RE.search("cat: in.txt: No such file or directory")


def test_missing_target(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(profile=PROFILE_WRITES))
    with pytest.raises(MakeError, match=r"has no `analyze` target"):
        run_target(repo, "analyze", FILE, tmp_path / "logs")


def test_missing_prerequisite_is_not_a_missing_target(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "analyze: nowhere.txt\n\t@echo hi\n")
    with pytest.raises(MakeError, match=r"failed with exit code 2") as info:
        run_target(repo, "analyze", FILE, tmp_path / "logs")
    assert "nowhere.txt" in info.value.hint


def test_no_makefile(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, None)
    with pytest.raises(MakeError, match=r"^no Makefile in "):
        run_target(repo, "analyze", FILE, tmp_path / "logs")
    assert not (tmp_path / "logs" / "make-analyze.log").exists()


@pytest.mark.parametrize("name", ["GNUmakefile", "makefile"])
def test_other_makefile_names_are_found(tmp_path: Path, name: str) -> None:
    repo = make_repo(tmp_path, None)
    (repo / name).write_text(makefile(analyze=["@echo ok"]))
    run = run_target(repo, "analyze", FILE, tmp_path / "logs")
    assert run.stdout == "ok\n"


def test_make_binary_not_found(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=["@echo ok"]))
    with pytest.raises(MakeError, match=r"was not found") as info:
        run_target(repo, "analyze", FILE, tmp_path / "logs", make="no-such-make-binary")
    assert "install GNU make" in info.value.hint


def test_unsafe_file_is_refused_by_run_target_too(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=["@echo ok"]))
    with pytest.raises(UsageError):
        run_target(repo, "analyze", "$(shell touch pwned)", tmp_path / "logs")
    assert not (repo / "pwned").exists()


def test_bad_timeout_and_target_name(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=["@echo ok"]))
    with pytest.raises(UsageError):
        run_target(repo, "analyze", FILE, tmp_path / "logs", timeout_s=0)
    with pytest.raises(ValueError, match="not a make target"):
        run_target(repo, "-f/etc/passwd", FILE, tmp_path / "logs")


# --------------------------------------------------------------------------------------------
# run_target: process group handling
# --------------------------------------------------------------------------------------------

# Records make's pid, the recipe shell's pid and two sleeps' pids, then waits on them forever.
HANGING = [
    "@echo $$PPID > make.pid; echo $$$$ > shell.pid; "
    "sleep 1000 & echo $$! > bg.pid; sleep 1000 & echo $$! > fg.pid; echo started; wait"
]
PIDS = ("make.pid", "shell.pid", "bg.pid", "fg.pid")


def wait_for_files(repo: Path, names: tuple[str, ...], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not all((repo / n).exists() and (repo / n).read_text().strip() for n in names):
        assert time.monotonic() < deadline, "the target never wrote its pid files"
        time.sleep(0.02)


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=HANGING))
    began = time.monotonic()
    with pytest.raises(MakeError) as info:
        run_target(repo, "analyze", FILE, tmp_path / "logs", timeout_s=1)
    assert time.monotonic() - began < 5
    assert info.value.message == "make analyze timed out after 1 s"
    log_path = tmp_path / "logs" / "make-analyze.log"
    assert str(log_path) in info.value.hint
    pids = read_pids(repo, *PIDS)
    assert len(set(pids)) == 4
    assert [pid for pid in pids if is_running(pid)] == []
    log = log_path.read_text()
    assert log.startswith(f"$ make analyze FILE={FILE}\n# cwd: {repo}\n")
    assert "started" in log
    assert "timed out" in log


def test_ctrl_c_kills_the_group_and_raises_interrupted(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=HANGING))

    def status(step: str, elapsed: float) -> None:
        if all((repo / n).exists() and (repo / n).read_text().strip() for n in PIDS):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        run_target(repo, "analyze", FILE, tmp_path / "logs", timeout_s=10, status=status)
    assert str(tmp_path / "logs" / "make-analyze.log") in info.value.hint
    assert [pid for pid in read_pids(repo, *PIDS) if is_running(pid)] == []


def test_callback_error_still_kills_the_group(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=HANGING))

    def on_line(line: str) -> None:
        if line == "started":
            wait_for_files(repo, PIDS)
            raise RuntimeError("display broke")

    with pytest.raises(RuntimeError, match="display broke"):
        run_target(repo, "analyze", FILE, tmp_path / "logs", timeout_s=10, on_line=on_line)
    assert [pid for pid in read_pids(repo, *PIDS) if is_running(pid)] == []


def test_background_child_holding_the_pipes_does_not_hang_the_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, makefile(analyze=["@sleep 1000 & echo $$! > bg.pid; echo done"]))
    began = time.monotonic()
    run = run_target(repo, "analyze", FILE, tmp_path / "logs", timeout_s=10)
    assert time.monotonic() - began < 5
    assert run.stdout == "done\n"
    assert not is_running(read_pids(repo, "bg.pid")[0])


# --------------------------------------------------------------------------------------------
# run_target: output
# --------------------------------------------------------------------------------------------


def test_lines_log_and_timestamps(tmp_path: Path) -> None:
    recipe = [
        "@echo 'to stdout 1'",
        "@echo 'to stderr' >&2",
        "@sleep 0.3",
        r"@printf 'to stdout \033[32m2\033[0m\n'",
        "@printf 'no newline at end'",
    ]
    repo = make_repo(tmp_path, makefile(analyze=recipe))
    rec = Recorder()
    before = time.time()
    run = run_target(
        repo, "analyze", FILE, tmp_path / "logs", on_line=rec.on_line, status=rec.status
    )
    assert before <= run.started_at <= time.time()
    assert rec.lines == [
        "to stdout 1",
        "to stderr",
        "to stdout \x1b[32m2\x1b[0m",
        "no newline at end",
    ]
    assert run.stdout == "to stdout 1\nto stdout \x1b[32m2\x1b[0m\nno newline at end"
    assert [line for _, line in run.line_times] == [
        "to stdout 1",
        "to stdout \x1b[32m2\x1b[0m",
        "no newline at end",
    ]
    times = [t for t, _ in run.line_times]
    assert times == sorted(times)
    assert times[1] - times[0] >= 0.25
    assert run.elapsed_s >= times[-1]

    log = run.log_path.read_text()
    assert run.log_path == tmp_path / "logs" / "make-analyze.log"
    assert log.startswith(f"$ make analyze FILE={FILE}\n# cwd: {repo}\n")
    # Interleaved in arrival order, raw.
    assert log.index("to stdout 1") < log.index("to stderr") < log.index("to stdout \x1b[32m2")
    assert "no newline at end" in log
    assert "# exit code 0" in log


def test_status_is_called_periodically_with_the_current_section(tmp_path: Path) -> None:
    recipe = ["@echo '--- TIMING (single run) ---'", "@sleep 1.2", "@echo 'Part 1: 1 5ms'"]
    repo = make_repo(tmp_path, makefile(analyze=recipe))
    rec = Recorder()
    run_target(repo, "analyze", FILE, tmp_path / "logs", status=rec.status)
    assert len(rec.statuses) >= 2
    elapsed = [e for _, e in rec.statuses]
    assert elapsed == sorted(elapsed)
    assert rec.statuses[0][0] == "make analyze"
    assert rec.statuses[-1][0] == "make analyze: TIMING (single run)"


# --------------------------------------------------------------------------------------------
# parse_runtime
# --------------------------------------------------------------------------------------------


def test_parse_runtime_full_fixture(shared_fixtures: Path) -> None:
    figure = parse_runtime((shared_fixtures / "make" / "analyze.stdout").read_text())
    assert figure == RuntimeFigure(milliseconds=340804, source="parts", parts=(14117, 326687))


def test_parse_runtime_short_fixture(shared_fixtures: Path) -> None:
    figure = parse_runtime((shared_fixtures / "make" / "analyze-aoc2022_day12.stdout").read_text())
    assert figure == RuntimeFigure(milliseconds=440, source="parts", parts=(254, 186))


def test_parse_runtime_profile_fixture_has_no_timing_section(shared_fixtures: Path) -> None:
    assert parse_runtime((shared_fixtures / "make" / "profile.stdout").read_text()) is None


def test_parse_runtime_without_timing_section() -> None:
    assert parse_runtime("--- PROFILE ---\nPart 1: 3 100ms\n") is None
    assert parse_runtime("") is None


def test_parse_runtime_units_and_values_with_spaces() -> None:
    text = (
        "--- TIMING (single run) ---\n"
        "Part 1: \x1b[1;32mthree words here\x1b[0m \x1b[90m1.5s\x1b[0m\n"
        "Part 2: [1, 2] 250 ms\n"
        "Part 3: 7 1500µs\n"
        "Part 4: 7 2500us\n"
        "--- PROFILE (generating flamegraph.svg) ---\n"
        "Part 1: 9 99999ms\n"
    )
    figure = parse_runtime(text)
    assert figure == RuntimeFigure(
        milliseconds=1500 + 250 + 2 + 2, source="parts", parts=(1500, 250, 2, 2)
    )


def test_parse_runtime_section_ends_at_ruler() -> None:
    text = "--- TIMING (single run) ---\nPart 1: 1 10ms\n==========\nPart 2: 1 99ms\n"
    assert parse_runtime(text) == RuntimeFigure(10, "parts", (10,))


def test_parse_runtime_strips_non_colour_escapes() -> None:
    text = (
        "\x1b[2K\x1b[1G--- TIMING (single run) ---\n\x1b[2KPart 1: \x1b]0;title\x07x 12ms\x1b[K\n"
    )
    assert parse_runtime(text) == RuntimeFigure(12, "parts", (12,))


def test_parse_runtime_wall_fallback() -> None:
    lines = [
        (0.0, "=========="),
        (0.5, "--- TIMING (single run) ---"),
        (1.0, "\x1b[32mwarming up\x1b[0m"),
        (3.25, "done"),
        (3.75, "--- PROFILE (generating flamegraph.svg) ---"),
        (9.0, "Wrote profile.pb"),
    ]
    text = "".join(line + "\n" for _, line in lines)
    assert parse_runtime(text, lines) == RuntimeFigure(3250, "wall")
    # Without timestamps the figure is unknown.
    assert parse_runtime(text) is None


def test_parse_runtime_wall_fallback_to_end_of_output() -> None:
    lines = [(1.0, "--- TIMING (single run) ---"), (1.5, "running"), (2.0, "finished")]
    text = "".join(line + "\n" for _, line in lines)
    assert parse_runtime(text, lines) == RuntimeFigure(1000, "wall")
    only_header = [(1.0, "--- TIMING (single run) ---")]
    assert parse_runtime("--- TIMING (single run) ---\n", only_header) is None


def test_parse_runtime_part_without_duration_uses_wall_time() -> None:
    lines = [
        (0.0, "--- TIMING (single run) ---"),
        (0.1, "Part 1: 5 10ms"),
        (0.2, "Part 2: 7"),
        (0.4, "=========="),
    ]
    text = "".join(line + "\n" for _, line in lines)
    assert parse_runtime(text, lines) == RuntimeFigure(400, "wall")


def test_runtime_figure_validates() -> None:
    with pytest.raises(ValueError, match="source"):
        RuntimeFigure(1, "guess")
    with pytest.raises(ValueError, match="negative"):
        RuntimeFigure(-1, "option")


def test_strip_ansi() -> None:
    assert strip_ansi("\x1b[32m484\x1b[0m \x1b[90m254ms\x1b[0m") == "484 254ms"


# --------------------------------------------------------------------------------------------
# fresh_artifacts / require_fresh_artifacts
# --------------------------------------------------------------------------------------------


def write_artifacts(repo: Path, mtime: float, profile: bytes = b"x") -> None:
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "profile.pb").write_bytes(profile)
    (repo / "flamegraph.svg").write_bytes(b"<svg/>")
    for name in ("profile.pb", "flamegraph.svg"):
        os.utime(repo / name, (mtime, mtime))


def test_fresh_artifacts_allows_one_second_of_slack(tmp_path: Path) -> None:
    since = time.time()
    write_artifacts(tmp_path, since - 0.5)
    found = fresh_artifacts(tmp_path, since)
    assert found is not None
    assert found.profile_pb == tmp_path / "profile.pb"
    write_artifacts(tmp_path, since - 5)
    assert fresh_artifacts(tmp_path, since) is None


def test_fresh_artifacts_needs_both_files(tmp_path: Path) -> None:
    since = time.time()
    write_artifacts(tmp_path, since)
    (tmp_path / "flamegraph.svg").unlink()
    assert fresh_artifacts(tmp_path, since) is None
    with pytest.raises(MakeError, match=r"^make analyze did not write flamegraph\.svg$") as info:
        require_fresh_artifacts(tmp_path, since, "analyze", None)
    assert "full log" not in info.value.hint


def test_require_fresh_artifacts_reports_empty_and_directory(tmp_path: Path) -> None:
    since = time.time()
    write_artifacts(tmp_path, since, profile=b"")
    assert fresh_artifacts(tmp_path, since) is None
    with pytest.raises(MakeError, match=r"^profile\.pb is empty$"):
        require_fresh_artifacts(tmp_path, since, "profile", tmp_path / "make-profile.log")
    (tmp_path / "profile.pb").unlink()
    (tmp_path / "profile.pb").mkdir()
    with pytest.raises(MakeError, match=r"^profile\.pb is not a regular file$"):
        require_fresh_artifacts(tmp_path, since, "profile", None)


def test_require_fresh_artifacts_ok(tmp_path: Path) -> None:
    since = time.time()
    write_artifacts(tmp_path, since + 1)
    found = require_fresh_artifacts(tmp_path, since, "profile", None)
    assert found.flamegraph_svg == tmp_path / "flamegraph.svg"


# --------------------------------------------------------------------------------------------
# validate_file_argument
# --------------------------------------------------------------------------------------------


@pytest.fixture
def file_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "examples" / "sub").mkdir(parents=True)
    (repo / "examples" / "x.santa").write_text("")
    (repo / "examples" / "sub" / "a-b_c+1.santa").write_text("")
    (tmp_path / "outside.santa").write_text("")
    (repo / "escape.santa").symlink_to(tmp_path / "outside.santa")
    (repo / "inside-link.santa").symlink_to(repo / "examples" / "x.santa")
    (repo / "outdir").symlink_to(tmp_path)
    (repo / "broken.santa").symlink_to(tmp_path / "nowhere")
    return repo


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("examples/x.santa", "examples/x.santa"),
        ("examples/sub/a-b_c+1.santa", "examples/sub/a-b_c+1.santa"),
        ("./examples/x.santa", "examples/x.santa"),
        ("examples/./x.santa", "examples/x.santa"),
        ("inside-link.santa", "inside-link.santa"),
    ],
)
def test_validate_accepts(file_repo: Path, arg: str, expected: str) -> None:
    assert validate_file_argument(file_repo, arg) == expected


def test_validate_accepts_absolute_path_inside_repo(file_repo: Path) -> None:
    absolute = str(file_repo / "examples" / "x.santa")
    assert validate_file_argument(file_repo, absolute) == "examples/x.santa"
    resolved = str(file_repo.resolve() / "examples" / "x.santa")
    assert validate_file_argument(file_repo, resolved) == "examples/x.santa"


def test_validate_accepts_absolute_path_when_repo_path_has_odd_characters(tmp_path: Path) -> None:
    repo = tmp_path / "my repo (copy)"
    (repo / "examples").mkdir(parents=True)
    (repo / "examples" / "x.santa").write_text("")
    assert validate_file_argument(repo, str(repo / "examples/x.santa")) == "examples/x.santa"


@pytest.mark.parametrize(
    "arg",
    [
        "",
        "examples/my file.santa",
        "examples/x.santa;rm -rf ~",
        "$(shell id)",
        "examples/$x.santa",
        "`id`",
        "examples/x.santa\n",
        "examples/x\nevil",
        "examples/*.santa",
        "examples/x.santa#",
        "A=B",
        "examples/x%.santa",
        "c:x.santa",
        "examples\\x.santa",
        "'examples/x.santa'",
        '"examples/x.santa"',
        "examples/(x).santa",
        "examples/x.santa|cat",
        "examples/x.santa&",
        "examples/x.santa>out",
        "~/x.santa",
        "examples/\tx.santa",
        "examples/é.santa",
        "-x.santa",
        "examples/-x.santa",
        "../outside.santa",
        "examples/../../outside.santa",
        "examples//x.santa",
        "examples/x.santa/",
    ],
)
def test_validate_rejects_unsafe_characters_before_touching_disk(file_repo: Path, arg: str) -> None:
    # A repo that does not exist proves the check is done before any disk access on FILE.
    with pytest.raises(UsageError) as info:
        validate_file_argument(file_repo / "does-not-exist", arg)
    assert repr(arg) in info.value.message
    assert info.value.hint


@pytest.mark.parametrize(
    ("arg", "problem"),
    [
        ("examples/missing.santa", "does not exist"),
        ("examples", "is a directory"),
        ("examples/sub", "is a directory"),
        ("escape.santa", "outside the repo"),
        ("outdir/outside.santa", "outside the repo"),
        ("broken.santa", "broken symlink"),
    ],
)
def test_validate_rejects_on_disk_problems(file_repo: Path, arg: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as info:
        validate_file_argument(file_repo, arg)
    assert repr(arg) in info.value.message


def test_validate_rejects_absolute_paths_outside_repo(file_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="outside the repo"):
        validate_file_argument(file_repo, str(tmp_path / "outside.santa"))
    with pytest.raises(UsageError, match=r"'\.\.'"):
        validate_file_argument(file_repo, f"{file_repo}/../outside.santa")
    with pytest.raises(UsageError, match="does not exist"):
        validate_file_argument(file_repo, "/nonexistent/x.santa")


def test_validate_rejects_non_regular_files(file_repo: Path) -> None:
    os.mkfifo(file_repo / "examples" / "pipe")
    with pytest.raises(UsageError, match="not a regular file"):
        validate_file_argument(file_repo, "examples/pipe")
