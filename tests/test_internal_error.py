"""A bug still ends in two lines: `error: internal error: …`, a hint naming the log, exit 70.

The log (traceback, argv, version, time) goes to the XDG state folder, a temporary file when
that cannot be written, and the hint says so when nothing can. Issue files written before the
bug stay whole, and the output lock is released.
"""

from __future__ import annotations

import importlib
import re
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perf_identify import __version__, cli, offline_drafter, sidecar
from perf_identify.cli import COMMANDS
from perf_identify.drafts import CheckedDraft, checked_draft
from perf_identify.errors import (
    MAX_INTERNAL_MESSAGE,
    InternalError,
    PerfIdentifyError,
    describe_exception,
    one_line,
)
from perf_identify.facts import HotspotFacts
from perf_identify.issues_dir import OutputLock, WriteOutcome
from tests.cli_runs import run_cli
from tests.fake_vm import BENCHMARK, make_fake_vm

EXIT_INTERNAL = 70
DATE = "2026-11-26"
HINT = re.compile(r"hint: the traceback is in (?P<path>.+); please report it with that file")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_fake_vm(tmp_path)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG state folder, so no test writes into the real ~/.local/state."""
    folder = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(folder))
    return folder


def _two_lines(err: str) -> tuple[str, str]:
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: internal error: "), err
    assert lines[1].startswith("hint: "), err
    assert "Traceback" not in err
    return lines[0], lines[1]


def _log_from_hint(hint: str) -> Path:
    match = HINT.fullmatch(hint)
    assert match is not None, hint
    return Path(match.group("path"))


def test_exit_code_is_distinct() -> None:
    codes = [cls.exit_code for cls in PerfIdentifyError.__subclasses__()]
    assert InternalError.exit_code == EXIT_INTERNAL
    assert codes.count(EXIT_INTERNAL) == 1
    assert "70 internal error" in " ".join(cli.EXIT_CODES.split())


def test_a_bug_after_the_first_issue_file_keeps_that_file(
    repo: Path, tmp_path: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = make_fake_vm(tmp_path / "baseline")
    assert run_cli(BENCHMARK, "--repo", str(baseline), "-q", "--date", DATE)[0] == 0

    real_start = sidecar.start_identification_record
    recorded: list[str] = []

    def start(**kwargs: Any) -> Callable[[HotspotFacts, WriteOutcome], None]:
        record = real_start(**kwargs)

        def record_once(facts: HotspotFacts, outcome: WriteOutcome) -> None:
            if recorded:
                raise RuntimeError("sidecar went wrong\nsecond line of the message")
            record(facts, outcome)
            recorded.append(facts.name)

        return record_once

    monkeypatch.setattr(sidecar, "start_identification_record", start)
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo), "-q", "--date", DATE)

    assert code == EXIT_INTERNAL
    error, hint = _two_lines(err)
    assert error == "error: internal error: RuntimeError: sidecar went wrong"
    log = _log_from_hint(hint)
    assert log.parent == state / "perf-identify" / "logs"
    assert re.fullmatch(r"internal-error-\d{8}-\d{6}-\d+\.log", log.name), log.name
    text = log.read_text()
    assert "Traceback (most recent call last)" in text
    assert "in record_once" in text
    assert "RuntimeError: sidecar went wrong\nsecond line of the message" in text
    assert f"perf-identify {__version__}" in text
    assert repr(["perf-identify", BENCHMARK, "--repo", str(repo), "-q", "--date", DATE]) in text
    assert re.search(r"^time: \d{4}-\d\d-\d\dT", text, re.MULTILINE)

    first = recorded[0]
    written = repo / "perf-issues" / f"{first}.txt"
    assert written.read_bytes() == (baseline / "perf-issues" / f"{first}.txt").read_bytes()
    assert not list((repo / "perf-issues").glob(".*.tmp-*"))
    with OutputLock(repo / "perf-issues"):
        pass


def test_a_draft_rule_broken_inside_the_pipeline_is_an_internal_error(
    repo: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The original bug: the offline drafter built a draft that the schema's rules refused.
    def refused_draft(facts: HotspotFacts) -> CheckedDraft:
        honest = offline_drafter_draft(facts)
        return checked_draft(
            description=honest.description,
            root_cause=honest.root_cause,
            approach="[Specific change to make] and nothing else at all.",
            expected_impact=honest.expected_impact,
            risk=honest.risk,
            evidence=[(cited.line, cited.quote) for cited in honest.evidence],
        )

    offline_drafter_draft = offline_drafter.offline_draft
    monkeypatch.setattr(offline_drafter, "offline_draft", refused_draft)
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo), "-q")
    assert code == EXIT_INTERNAL
    error, hint = _two_lines(err)
    assert error.startswith("error: internal error: DraftRuleError: approach: contains placeholder")
    assert "placeholder text '[Specific change to make]'" in _log_from_hint(hint).read_text()
    assert not list((repo / "perf-issues").glob("*.txt"))


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_every_command_reports_a_bug_the_same_way(
    name: str | None, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(
        COMMANDS[name][0] if name else "perf_identify.commands.identify"
    )

    def broken(*_args: object) -> object:
        raise KeyError("oops")

    monkeypatch.setattr(module, "build_parser", broken)
    code, _, err = run_cli(*([name] if name else []), "x")
    assert code == EXIT_INTERNAL
    error, hint = _two_lines(err)
    assert error == "error: internal error: KeyError: 'oops'"
    assert _log_from_hint(hint).is_file()


def _raise_from_list(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    module = importlib.import_module(COMMANDS["list"][0])

    def run(*_args: object) -> int:
        raise exc

    monkeypatch.setattr(module, "run", run)


def test_an_odd_message_and_an_odd_log_path_still_print_as_two_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = tmp_path / "new\nline \x1b[2J\u202e" / ("long-" * 40) / ("deeper-" * 30)
    monkeypatch.setenv("XDG_STATE_HOME", str(odd))
    _raise_from_list(monkeypatch, ValueError("\x1b]0;owned\x07\u202ex" + "y" * 1000 + "\nz"))
    code, _, err = run_cli("list")
    assert code == EXIT_INTERNAL
    error, hint = _two_lines(err)
    assert error.startswith("error: internal error: ValueError: \\x1b]0;owned\\x07\\u202exyy")
    assert error.endswith("\u2026")
    assert len(error) <= len("error: internal error: ") + MAX_INTERNAL_MESSAGE
    assert "\\x0aline \\x1b[2J\\u202e" in hint
    logs = list((odd / "perf-identify" / "logs").glob("internal-error-*.log"))
    assert len(logs) == 1
    # The log escapes what a terminal would obey, so `cat` on it is safe too.
    text = logs[0].read_text()
    assert "ValueError: \\x1b]0;owned\\x07" in text
    assert "\x1b" not in text


def test_an_unwritable_state_folder_falls_back_to_a_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores permission bits, so the state folder's parent is a regular file instead.
    (tmp_path / "blocker").write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "blocker" / "state"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    _raise_from_list(monkeypatch, RuntimeError("boom"))
    code, _, err = run_cli("list")
    assert code == EXIT_INTERNAL
    _, hint = _two_lines(err)
    log = _log_from_hint(hint)
    assert log.parent == tmp_path / "tmp"
    assert "RuntimeError: boom" in log.read_text()


def test_when_no_log_can_be_written_the_hint_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "blocker").write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "blocker" / "state"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "blocker" / "tmp"))
    _raise_from_list(monkeypatch, RuntimeError("boom"))
    code, _, err = run_cli("list")
    assert code == EXIT_INTERNAL
    error, hint = _two_lines(err)
    assert error == "error: internal error: RuntimeError: boom"
    assert hint.startswith("hint: the traceback could not be written to a log file (")
    assert "NotADirectoryError" in hint


def test_a_relative_xdg_state_home_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    _raise_from_list(monkeypatch, RuntimeError("boom"))
    _, hint = _two_lines(run_cli("list")[2])
    assert (
        _log_from_hint(hint).parent
        == tmp_path / "home" / ".local" / "state" / "perf-identify" / "logs"
    )
    assert not (tmp_path / "relative").exists()


def test_expected_errors_are_escaped_too(monkeypatch: pytest.MonkeyPatch) -> None:
    _raise_from_list(monkeypatch, PerfIdentifyError("bad\nname\x1b[31m", hint="try\rthis"))
    code, _, err = run_cli("list")
    assert code == 1
    assert err.splitlines() == ["error: bad\\x0aname\\x1b[31m", "hint: try\\x0dthis"]


def test_ctrl_c_is_still_an_interruption_not_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    _raise_from_list(monkeypatch, KeyboardInterrupt())
    assert run_cli("list") == (130, "", "error: interrupted\n")


# -- pure pieces -------------------------------------------------------------------------------

UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


@given(st.text(alphabet=st.characters(exclude_categories=())), st.integers(1, 300))
def test_one_line_is_one_safe_line_within_its_limit(text: str, limit: int) -> None:
    shown = one_line(text, limit)
    assert len(shown) <= limit
    assert len(shown.splitlines()) <= 1
    assert not any(unicodedata.category(char) in UNSAFE for char in shown)
    shown.encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate
    if len(one_line(text)) <= limit:
        assert shown == one_line(text)


def test_one_line_never_splits_an_escape() -> None:
    assert one_line("ab\x1b", 5) == "ab\u2026"
    assert one_line("ab\x1b", 6) == "ab\\x1b"


def test_describe_exception_survives_a_broken_str() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert describe_exception(Broken()) == "Broken: (the exception's message could not be read)"
    assert describe_exception(RuntimeError()) == "RuntimeError"
    assert describe_exception(RuntimeError("\n\n  second\nthird")) == "RuntimeError: second"
