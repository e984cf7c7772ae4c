"""Every help page: a golden file each, at most 100 columns, with examples and exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from perf_identify.arguments import MAX_HELP_WIDTH
from perf_identify.cli import COMMANDS
from tests.cli_runs import assert_one_error, run_cli
from tests.golden_files import assert_matches_golden

PAGES = ["", *COMMANDS]


def _help(page: str, columns: int) -> str:
    argv = [sys.executable, "-m", "perf_identify", *([page] if page else []), "--help"]
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "40"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


@pytest.mark.parametrize("page", PAGES, ids=[page or "top" for page in PAGES])
def test_help_page_matches_golden(page: str, update_golden: bool) -> None:
    text = _help(page, 200)
    assert_matches_golden(text, f"help/{page or 'perf-identify'}.txt", update=update_golden)


@pytest.mark.parametrize("page", PAGES, ids=[page or "top" for page in PAGES])
def test_help_page_shape(page: str) -> None:
    text = _help(page, 300)
    assert max(len(line) for line in text.splitlines()) <= MAX_HELP_WIDTH
    assert "\nexamples:\n  perf-identify " in text
    assert "\nexit codes:\n  0 " in text
    # argparse's default metavars (`--top TOP`) say nothing; every option names its value.
    for option, metavar in re.findall(r"--([a-z-]+) ([A-Z_]+)\b", text):
        assert metavar != option.replace("-", "_").upper(), f"--{option} {metavar}"


def test_top_page_usage_lists_the_commands() -> None:
    usage = _help("", 100).split("\n\n")[0]
    for name in COMMANDS:
        assert name in usage


def test_narrow_terminal_wraps_without_splitting_words() -> None:
    text = _help("", 60)
    assert "--date YYYY-MM-DD" in text
    assert "YYYY-\n" not in text
    assert max(len(line) for line in text.splitlines() if "--date" in line) <= 60


@pytest.mark.parametrize(("word", "command"), [("lst", "list"), ("verfy", "verify")])
def test_unknown_command_close_to_a_name(word: str, command: str) -> None:
    code, out, err = run_cli(word)
    assert code == 2
    assert out == ""
    assert err == (
        f"error: unknown command {word!r}\nhint: did you mean `perf-identify {command}`?\n"
    )


def test_existing_file_named_like_a_command_is_a_benchmark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lst").write_text("")
    code, _, err = run_cli("lst", "--repo", str(tmp_path))
    assert "unknown command" not in err
    assert code != 0  # no Makefile here: the make stage's error, not a typo
    assert_one_error(err, "Makefile")
