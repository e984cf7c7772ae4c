"""The commands an agent calls again and again import only what they use.

Each command runs in a fresh interpreter (`python -c`), as the agent runs it, and reports the
modules it imported. numpy only ranks a large profile; pydantic only checks a draft from outside
(a model's or the agent's); rich only prints a table; tree-sitter only parses source; the SDK only
calls a model; protobuf only decodes a profile. Speed itself is measured by `bench/speed.py`,
never here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_vm import BENCHMARK, make_fake_vm
from tests.lifecycle_repos import ISSUE_FILE, identify

HEAVY = ("numpy", "pydantic", "rich", "tree_sitter", "anthropic", "google.protobuf")

_REPORT = """
import io, json, sys
from perf_identify.cli import main
try:
    code = main(sys.argv[1:], io.StringIO(), io.StringIO())
except SystemExit as stop:  # --help ends the way argparse ends it
    code = stop.code
heavy = sorted({name.split(".")[0] if name.split(".")[0] != "google" else "google.protobuf"
                for name in sys.modules
                if name.split(".")[0] in ("numpy", "pydantic", "rich", "tree_sitter", "anthropic")
                or name.startswith("google.protobuf")})
print(json.dumps({"code": code, "heavy": heavy}))
"""


def _imports(repo: Path, *argv: str) -> tuple[int, set[str]]:
    run = subprocess.run(
        [sys.executable, "-c", _REPORT, *argv],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    return report["code"], set(report["heavy"])


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = make_fake_vm(tmp_path_factory.mktemp("light"))
    identify(repo)
    return repo


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["--help"], set()),
        (["list"], set()),
        (["list", "--json"], set()),
        (["status", ISSUE_FILE, "IN_PROGRESS", "--note", "working on it"], set()),
        (["brief", ISSUE_FILE], {"tree_sitter", "google.protobuf"}),
        (["brief", ISSUE_FILE, "--json"], {"tree_sitter", "google.protobuf"}),
    ],
    ids=["help", "list", "list-json", "status", "brief", "brief-json"],
)
def test_a_light_command_imports_only_what_it_uses(
    repo: Path, argv: list[str], allowed: set[str]
) -> None:
    code, heavy = _imports(repo, *argv)
    assert code == 0
    assert heavy <= allowed, f"{' '.join(argv)} imported {sorted(heavy - allowed)}"


def test_ranking_a_small_profile_imports_no_numpy_and_a_table_imports_rich(repo: Path) -> None:
    """`--json` on a real-sized profile needs neither numpy nor rich; the table needs rich."""
    argv = [BENCHMARK, "--profile", "recorded-profile.pb", "--offline", "--out", "scratch"]
    code, heavy = _imports(repo, *argv, "--json")
    assert code == 0
    assert "numpy" not in heavy
    assert "rich" not in heavy
    code, heavy = _imports(repo, *argv)
    assert code == 0
    assert "rich" in heavy
    assert "numpy" not in heavy


def test_a_brief_given_again_from_its_cache_imports_nothing_heavy(repo: Path) -> None:
    argv = ["brief", ISSUE_FILE, "--json"]
    _imports(repo, *argv)
    code, heavy = _imports(repo, *argv)
    assert code == 0
    assert heavy == set()
