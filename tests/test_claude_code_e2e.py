"""The slash commands in the real client: headless Claude Code, a scripted model, the real CLI.

Users never call the CLI: they type a slash command in Claude Code. These tests run the pinned
Claude Code (`tests.claude_code`) on a private copy of the example VM, with a scripted model
on 127.0.0.1 that issues the tool calls the expanded command text asks for. Claude Code loads
the command, substitutes `$ARGUMENTS`, and really runs each call under the command's
`allowed-tools`; the tests check the files the CLI wrote and that no call was refused.

In order, on one committed copy of the VM and one Claude Code HOME (so the plugin's
virtual environment is built once, by `bin/perf-identify`, on the first run):

1. `/perf-identify:perf-identify examples/string_index.tinsel` with `--plugin-dir` (the repo):
   make analyze, perf, ranking, issue files.
2. The bare `/perf-identify examples/string_index.tinsel` in the same VM after
   `perf-identify install-commands` (no plugin), with the CLI of this checkout on PATH.
3. `/perf-identify:perf-implement ISSUE`: the status step, the fix (Read + Edit), `implemented`.
4. `/perf-identify:perf-verify ISSUE`: tests, before/after builds and timings, VERIFIED.
5. The repo as a marketplace (a local path, offline): `claude plugin marketplace add`,
   `claude plugin install perf-identify@perf-identify`, and a command of the installed plugin.

They do not skip under CI: without Claude Code, cargo or perf they fail and say why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perf_identify.render import Status, parse_issue
from tests.claude_code import (
    ClaudeRun,
    ModelRequest,
    Reply,
    Script,
    ScriptedModel,
    Step,
    Text,
    ToolUse,
    bash,
    claude_cli,
    command_line,
    find_claude,
    path_without,
    run_claude,
)
from tests.conftest import REPO_ROOT
from tests.issue_checks import check_issue_file
from tests.lifecycle_repos import init_and_commit, run_cli

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / "examples" / "tinsel"
PROGRAM = "examples/string_index.tinsel"
EXPECTED = next(
    e
    for e in json.loads((EXAMPLE / "EXPECTED_HOTSPOTS.json").read_text())
    if e["program"] == PROGRAM
)
PLUGIN_VERSION = json.loads((REPO_ROOT / ".claude-plugin" / "plugin.json").read_text())["version"]
RUNTIME = "lang/src/vm/runtime.rs"
SLOW = (
    "                let chars: Vec<char> = s.chars().collect();\n"
    "                match position(i).and_then(|i| chars.get(i)) {\n"
)
FIXED = "                match position(i).and_then(|i| s.chars().nth(i)) {\n"
NOTE = "walk to the i-th char with nth instead of collecting every char"
INSTALLING = "perf-identify: installing version"


def _required(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def claude() -> Path:
    found, why = find_claude()
    if found is None:
        _required(why)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as server:
        yield server


@pytest.fixture(scope="module")
def agent_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Claude Code's HOME for the runs with --plugin-dir: the plugin's data folder is here."""
    return tmp_path_factory.mktemp("claude-home")


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of the example VM (verify builds the identified commit)."""
    for tool in ("cargo", "make", "perf", "addr2line", "git"):
        if shutil.which(tool) is None:
            _required(f"{tool} is not installed; the example VM cannot be built and profiled")
    repo = tmp_path_factory.mktemp("claude-vm") / "tinsel"
    shutil.copytree(
        EXAMPLE,
        repo,
        ignore=shutil.ignore_patterns("target", "perf-issues", "*.pb", "*.svg", "perf.data*"),
    )
    # Fewer timed runs than the example's 5 (+1 warm-up): the fix is far outside the noise.
    config = repo / ".perf-identify.toml"
    text = re.sub(r"(?m)^runs = \d+$", "runs = 3", config.read_text())
    config.write_text(re.sub(r"(?m)^warmup = \d+$", "warmup = 0", text))
    init_and_commit(repo)
    return repo


def _plugin_path() -> str:
    """PATH without any installed perf-identify, so the plugin's bin/ launcher is the one."""
    return path_without("perf-identify")


def _assert_clean(run: ClaudeRun) -> None:
    """The run succeeded, no tool call was refused and no tool failed."""
    assert run.returncode == 0, run.describe()
    assert run.result.get("is_error") is False, run.describe()
    assert run.result.get("subtype") == "success", run.describe()
    assert run.denials == [], run.describe()
    assert run.tool_results, run.describe()
    assert not [b for b in run.tool_results if b.get("is_error")], run.describe()


def _issue_files(repo: Path) -> list[Path]:
    return sorted((repo / "perf-issues").glob("*.txt"))


def _read_first_listed_issue(repo: Path) -> Step:
    """After the CLI ran: Read the first issue file its table names, as the command asks."""

    def step(request: ModelRequest) -> Reply:
        # The `ls -la` of perf-issues/ that ends the CLI's output (table cells may wrap).
        names = re.findall(r"(?m)^-\S+ .* ([A-Z][A-Z0-9_]*)\.txt$", request.last_tool_output)
        if not names:
            return Text("The table lists no issue file.")
        return ToolUse("Read", {"file_path": str(repo / "perf-issues" / f"{names[0]}.txt")})

    return step


def _identify_script(repo: Path) -> Script:
    return Script(
        [
            lambda r: bash(command_line(r.command_text, "perf-identify "), "profile and rank"),
            _read_first_listed_issue(repo),
            lambda r: Text("Summary: VM::index_op is the top hotspot. Next: /perf-implement."),
        ]
    )


def _data_venvs(home: Path) -> list[Path]:
    return sorted((home / ".claude" / "plugins" / "data").glob("*/venv"))


@pytest.fixture(scope="module")
def identified(claude: Path, model: ScriptedModel, agent_home: Path, vm: Path) -> ClaudeRun:
    return run_claude(
        claude,
        f"/perf-identify:perf-identify {PROGRAM}",
        cwd=vm,
        home=agent_home,
        model=model,
        script=_identify_script(vm),
        plugin_dirs=[REPO_ROOT],
        path=_plugin_path(),
    )


def test_plugin_command_identifies_with_no_permission_prompt(
    identified: ClaudeRun, vm: Path, agent_home: Path
) -> None:
    run = identified
    _assert_clean(run)
    first = run.requests[0]
    # Claude Code loaded the plugin's command and substituted $ARGUMENTS.
    assert "<command-name>/perf-identify:perf-identify</command-name>" in first.command_text
    assert f"perf-identify {PROGRAM}\n" in first.command_text
    assert len(run.tool_results) == 2, run.describe()
    bash_output, read_output = run.tool_results
    text = json.dumps(bash_output)
    # The first run of the plugin built its virtual environment, in the plugin's data folder.
    assert INSTALLING in text, text
    venvs = _data_venvs(agent_home)
    assert len(venvs) == 1, venvs
    assert (venvs[0] / ".perf-identify-plugin-version").read_text().strip() == PLUGIN_VERSION
    assert EXPECTED["function"] in text
    files = _issue_files(vm)
    assert files, run.describe()
    checked = {path.name: check_issue_file(path, vm) for path in files}
    top = next(issue for issue in checked.values() if issue.rank == 1)
    assert (top.function, top.file) == (EXPECTED["function"], EXPECTED["file"])
    assert all(issue.benchmark == PROGRAM for issue in checked.values())
    assert "PERFORMANCE ISSUE:" in json.dumps(read_output)
    assert run.result["result"].startswith("Summary:")


def _top_issue(vm: Path) -> Path:
    for path in _issue_files(vm):
        doc = parse_issue(path.read_text(encoding="utf-8"))
        if doc.function == EXPECTED["function"]:
            return path
    raise AssertionError(f"no issue file for {EXPECTED['function']} in {vm / 'perf-issues'}")


@pytest.fixture(scope="module")
def bare_identified(
    identified: ClaudeRun, claude: Path, model: ScriptedModel, agent_home: Path, vm: Path
) -> ClaudeRun:
    """After the plugin run: the Python-tool install path, in the same VM."""
    code, _out, err = run_cli("install-commands", "--repo", str(vm))
    assert code == 0, err
    this_checkout = str(Path(sys.executable).parent)
    return run_claude(
        claude,
        f"/perf-identify {PROGRAM}",
        cwd=vm,
        home=agent_home,
        model=model,
        script=_identify_script(vm),
        path=os.pathsep.join([this_checkout, _plugin_path()]),
    )


def test_installed_commands_run_as_bare_slash_commands(
    bare_identified: ClaudeRun, vm: Path
) -> None:
    run = bare_identified
    _assert_clean(run)
    first = run.requests[0]
    assert "<command-name>/perf-identify</command-name>" in first.command_text
    assert f"perf-identify {PROGRAM}\n" in first.command_text
    output = json.dumps(run.tool_results[0])
    assert INSTALLING not in output  # no plugin: the CLI on PATH ran
    assert EXPECTED["function"] in output
    for path in _issue_files(vm):
        check_issue_file(path, vm)


@pytest.fixture(scope="module")
def implemented(
    bare_identified: ClaudeRun, claude: Path, model: ScriptedModel, agent_home: Path, vm: Path
) -> tuple[ClaudeRun, Path]:
    issue = _top_issue(vm).relative_to(vm)
    runtime = str(vm / RUNTIME)
    script = Script(
        [
            lambda r: bash(command_line(r.command_text, "perf-identify status", fill=NOTE)),
            lambda r: ToolUse("Read", {"file_path": runtime}),
            lambda r: ToolUse(
                "Edit", {"file_path": runtime, "old_string": SLOW, "new_string": FIXED}
            ),
            lambda r: bash(command_line(r.command_text, "perf-identify implemented", fill=NOTE)),
            lambda r: Text(f"Implemented. Next: /perf-verify {issue}"),
        ]
    )
    run = run_claude(
        claude,
        f"/perf-identify:perf-implement {issue}",
        cwd=vm,
        home=agent_home,
        model=model,
        script=script,
        plugin_dirs=[REPO_ROOT],
        path=_plugin_path(),
    )
    return run, vm / issue


def test_implement_records_each_step_through_the_cli(implemented: tuple[ClaudeRun, Path]) -> None:
    run, issue = implemented
    _assert_clean(run)
    assert len(run.tool_results) == 4, run.describe()
    assert f"{issue.relative_to(issue.parents[1])}: IDENTIFIED -> IN_PROGRESS" in json.dumps(
        run.tool_results[0]
    )
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.status is Status.IMPLEMENTED, issue.read_text(encoding="utf-8")
    assert [entry.status for entry in doc.log] == [
        Status.IDENTIFIED,
        Status.IN_PROGRESS,
        Status.IMPLEMENTED,
    ]
    assert NOTE in issue.read_text(encoding="utf-8")
    assert FIXED in (issue.parents[1] / RUNTIME).read_text()


@pytest.fixture(scope="module")
def verified(
    implemented: tuple[ClaudeRun, Path], claude: Path, model: ScriptedModel, agent_home: Path
) -> tuple[ClaudeRun, Path]:
    _, issue = implemented
    vm = issue.parents[1]
    relative = issue.relative_to(vm)
    script = Script(
        [
            lambda r: bash(command_line(r.command_text, "perf-identify verify"), "verify"),
            lambda r: ToolUse("Read", {"file_path": str(issue)}),
            lambda r: Text("Verdict: VERIFIED."),
        ]
    )
    run = run_claude(
        claude,
        f"/perf-identify:perf-verify {relative}",
        cwd=vm,
        home=agent_home,
        model=model,
        script=script,
        plugin_dirs=[REPO_ROOT],
        path=_plugin_path(),
    )
    return run, issue


def test_verify_measures_and_records_the_verdict(verified: tuple[ClaudeRun, Path]) -> None:
    run, issue = verified
    _assert_clean(run)
    output = json.dumps(run.tool_results[0])
    assert INSTALLING not in output  # the plugin's environment was reused
    assert ": VERIFIED (Verdict:" in output, run.describe()
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.status is Status.VERIFIED, issue.read_text(encoding="utf-8")
    assert doc.verification is not None
    assert doc.verification.tests_passed
    assert doc.verification.change_percent < -50


def _clean_copy(destination: Path) -> Path:
    """The repo's files as a fresh clone has them (tracked and not ignored), no build output."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return destination


def test_plugin_passes_the_plugin_directory_validator(claude: Path, tmp_path: Path) -> None:
    done = claude_cli(
        claude, "plugin", "validate", str(REPO_ROOT), "--strict", "--profile", "directory",
        home=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation passed" in done.stdout, done.stdout
    for name in ("perf-identify:perf-identify", "perf-identify:perf-implement", "bin: perf-"):
        assert name in done.stdout, done.stdout


def test_marketplace_install_from_a_local_clone_runs_the_installed_plugin(
    *,
    claude: Path,
    model: ScriptedModel,
    identified: ClaudeRun,
    agent_home: Path,
    vm: Path,
    tmp_path: Path,
) -> None:
    clone = _clean_copy(tmp_path / "perf-identify")
    home = tmp_path / "home"
    home.mkdir()
    added = claude_cli(claude, "plugin", "marketplace", "add", str(clone), "--json", home=home)
    assert added.returncode == 0, added.stdout + added.stderr
    assert json.loads(added.stdout.strip().splitlines()[-1])["marketplace"] == "perf-identify"
    installed = claude_cli(
        claude, "plugin", "install", "perf-identify@perf-identify", "--json", home=home
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listed = claude_cli(claude, "plugin", "list", "--json", home=home)
    plugins = {p["id"]: p for p in json.loads(listed.stdout)}
    plugin = plugins["perf-identify@perf-identify"]
    assert plugin["enabled"] is True
    assert plugin["version"] == PLUGIN_VERSION
    launcher = Path(plugin["installPath"]) / "bin" / "perf-identify"
    assert os.access(launcher, os.X_OK), launcher
    # The installed plugin's command, its bin/ on PATH, no --plugin-dir. The environment the
    # first test built is reused (a user may point PERF_IDENTIFY_PLUGIN_DATA anywhere).
    data = _data_venvs(agent_home)[0].parent
    run = run_claude(
        claude,
        f"/perf-identify:perf-identify {PROGRAM}",
        cwd=vm,
        home=home,
        model=model,
        script=Script(
            [lambda r: bash("perf-identify list", "list the issues"), lambda r: Text("Listed.")]
        ),
        path=_plugin_path(),
        extra_env={"PERF_IDENTIFY_PLUGIN_DATA": str(data)},
    )
    _assert_clean(run)
    output = json.dumps(run.tool_results[0])
    assert INSTALLING not in output
    assert _top_issue(vm).stem in output, run.describe()
