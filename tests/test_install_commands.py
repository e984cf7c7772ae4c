"""`perf-identify install-commands`: the slash commands into a repo, never over a user's edits.

The texts come from the package (`perf_identify/slash_commands`, a symlink to `commands/` in the
source tree); the last test builds a wheel and installs the commands from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from perf_identify.commands.install_commands import (
    COMMAND_FILES,
    RECORD_NAME,
    shipped_commands,
)
from tests.cli_runs import assert_one_error, run_cli
from tests.conftest import REPO_ROOT

SOURCE = REPO_ROOT / "commands"


def _installed(repo: Path) -> Path:
    return repo / ".claude" / "commands"


def _install(repo: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli("install-commands", "--repo", str(repo), *extra)


def test_the_shipped_texts_are_the_plugin_commands() -> None:
    shipped = shipped_commands()
    assert sorted(shipped) == sorted(p.name for p in SOURCE.glob("*.md"))
    for name, text in shipped.items():
        assert text == (SOURCE / name).read_bytes(), name


def test_installs_the_three_commands_and_records_what_it_wrote(tmp_path: Path) -> None:
    code, out, err = _install(tmp_path)
    assert code == 0, err
    target = _installed(tmp_path)
    for name in COMMAND_FILES:
        assert (target / name).read_bytes() == (SOURCE / name).read_bytes()
        assert f"created   {target / name}" in out
    record = json.loads((target / RECORD_NAME).read_text())
    assert set(record["files"]) == set(COMMAND_FILES)
    assert "/perf-identify FILE" in out


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    assert _install(tmp_path)[0] == 0
    before = {p.name: p.stat().st_mtime_ns for p in _installed(tmp_path).glob("*.md")}
    code, out, _ = _install(tmp_path)
    assert code == 0
    assert out.count("unchanged ") == 3
    after = {p.name: p.stat().st_mtime_ns for p in _installed(tmp_path).glob("*.md")}
    assert after == before


def test_an_edited_command_is_not_overwritten_and_nothing_is_written(tmp_path: Path) -> None:
    assert _install(tmp_path)[0] == 0
    target = _installed(tmp_path)
    edited = target / "perf-verify.md"
    edited.write_text(edited.read_text() + "\nAlso post the verdict to our chat.\n")
    (target / "perf-identify.md").unlink()
    code, out, err = _install(tmp_path)
    assert code == 7
    assert_one_error(err, "perf-verify.md")
    assert "--force" in err
    assert out == ""
    assert "post the verdict" in edited.read_text()
    assert not (target / "perf-identify.md").exists()  # all or nothing


def test_a_hand_written_command_file_counts_as_an_edit(tmp_path: Path) -> None:
    target = _installed(tmp_path)
    target.mkdir(parents=True)
    (target / "perf-identify.md").write_text("Run perf-identify $ARGUMENTS my way.\n")
    code, _, err = _install(tmp_path)
    assert code == 7, err
    assert (target / "perf-identify.md").read_text() == "Run perf-identify $ARGUMENTS my way.\n"


def test_force_replaces_an_edit_and_keeps_it_as_bak(tmp_path: Path) -> None:
    assert _install(tmp_path)[0] == 0
    edited = _installed(tmp_path) / "perf-verify.md"
    mine = edited.read_text() + "\nmine\n"
    edited.write_text(mine)
    code, out, err = _install(tmp_path, "--force")
    assert code == 0, err
    assert edited.read_bytes() == (SOURCE / "perf-verify.md").read_bytes()
    assert edited.with_name("perf-verify.md.bak").read_text() == mine
    assert "replaced" in out
    assert "perf-verify.md.bak" in out


def test_an_unedited_older_version_is_updated_without_force(tmp_path: Path) -> None:
    """A file still equal to what an older release wrote is ours to update."""
    target = _installed(tmp_path)
    target.mkdir(parents=True)
    old = b"---\ndescription: an older /perf-identify\n---\n\nperf-identify $ARGUMENTS\n"
    (target / "perf-identify.md").write_bytes(old)
    assert _install(tmp_path)[0] != 0  # not recorded yet: could be the user's
    record = {"files": {"perf-identify.md": hashlib.sha256(old).hexdigest()}}
    (target / RECORD_NAME).write_text(json.dumps(record))
    code, out, err = _install(tmp_path)
    assert code == 0, err
    assert f"updated   {target / 'perf-identify.md'}" in out
    assert (target / "perf-identify.md").read_bytes() == (SOURCE / "perf-identify.md").read_bytes()


def test_repo_must_be_a_directory(tmp_path: Path) -> None:
    code, _, err = _install(tmp_path / "missing")
    assert code == 2
    assert_one_error(err, "is not a directory")


def _package_source(destination: Path) -> Path:
    """What a wheel is built from (as bin/perf-identify copies it), symlinks kept."""
    destination.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO_ROOT / name, destination / name)
    for name in ("perf_identify", "prompts", "commands"):
        shutil.copytree(
            REPO_ROOT / name,
            destination / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    return destination


@pytest.mark.e2e
def test_a_built_wheel_ships_the_commands_and_installs_them(tmp_path: Path) -> None:
    source = _package_source(tmp_path / "src")
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("perf_identify-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in COMMAND_FILES:
            member = f"perf_identify/slash_commands/{name}"
            assert member in names, sorted(names)
            assert archive.read(member) == (SOURCE / name).read_bytes()
        assert any(n.startswith("perf_identify/prompts/") for n in names)
    # install-commands needs no third-party package: the wheel alone, without its dependencies.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
         "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    repo = tmp_path / "repo"
    repo.mkdir()
    done = subprocess.run(
        [str(venv / "bin" / "perf-identify"), "install-commands", "--repo", str(repo)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # perf-identify is on PATH: no warning
    for name in COMMAND_FILES:
        assert (_installed(repo) / name).read_bytes() == (SOURCE / name).read_bytes()
