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

And, on a copy of the real Blitzen source with one of its real profiles, the agent drafting
the prose: `/perf-identify:perf-identify examples/aoc2018_day05.santa --skip-make --profile …`,
then, as the command asks, `perf-identify brief`, a draft written with the Write tool whose
evidence cites a line outside the function (`perf-identify draft` refuses it, exit 11, the
file unchanged), then a grounded draft built from what the brief showed (accepted: its prose in
the file, which still passes the independent format and facts checks of `tests/blitzen.py`).

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
from typing import Any

import pytest

from perf_identify.render import Status, parse_issue
from tests.blitzen import check_blitzen_issue_file
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
    tool_result_text,
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


# --- the agent drafts the prose: a real Blitzen profile --------------------------------------

BLITZEN_PROGRAM = "examples/aoc2018_day05.santa"
BLITZEN_FUNCTION = "VM::index_op"
OUTSIDE_LINE = 12
AGENT_ROOT_CAUSE = (
    "Line {line} segments the whole string into grapheme clusters and collects them into a "
    "Vec on every index, so one index costs O(n) in the string's length and a loop over a "
    "string's positions costs O(n^2)."
)


def _listed_line(brief: str, line: int) -> str:
    """The code of `line` in the brief's numbered listing of the function."""
    match = re.search(rf"^\s*{line}(?: +\S*)? \| (.*)$", brief, re.MULTILINE)
    assert match is not None, f"line {line} is not in the brief:\n{brief}"
    return match.group(1).strip()


def _agent_draft(brief: str, *, outside: bool) -> dict[str, Any]:
    """The draft the scripted agent writes, from the brief's own facts and listing."""
    function = re.search(r"^Function: (\S+) in (\S+), lines (\d+)-(\d+)", brief, re.MULTILINE)
    line = re.search(r"^Line: (\d+) ", brief, re.MULTILINE)
    share = re.search(r"^Time Contribution: ([\d.]+)% of runtime", brief, re.MULTILINE)
    assert function is not None, brief
    assert line is not None, brief
    assert share is not None, brief
    cited = int(line.group(1))
    evidence = [{"line": cited, "quote": _listed_line(brief, cited)}]
    if outside:
        evidence.insert(0, {"line": OUTSIDE_LINE, "quote": "use std::collections::HashMap;"})
    return {
        "description": (
            f"`{function.group(1)}` answers every string index of the benchmark; the profile "
            f"puts {share.group(1)}% of runtime in it, almost all below line {cited}."
        ),
        "root_cause": AGENT_ROOT_CAUSE.format(line=cited),
        "approach": (
            "Take the wanted cluster lazily with `.nth(i)` on the grapheme iterator instead of "
            "collecting, and index the bytes directly when `s.is_ascii()`."
        ),
        "expected_impact": (
            f"At most {share.group(1)}% of runtime, the function's measured share; a lazy "
            "lookup removes most of it. An estimate: /perf-verify measures it."
        ),
        "risk": (
            "Grapheme semantics must not change: combining marks, ZWJ emoji, CRLF, negative "
            "and out-of-range indexes; test each on both the ASCII and the Unicode path."
        ),
        "evidence": evidence,
        "name": None,
    }


@pytest.fixture(scope="module")
def blitzen_repo(blitzen_source_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the Blitzen checkout: this run writes perf-issues/ into it."""
    repo = tmp_path_factory.mktemp("agent-blitzen") / "santa-lang-blitzen"
    shutil.copytree(blitzen_source_copy, repo, symlinks=True)
    return repo


@pytest.fixture(scope="module")
def agent_drafted(
    claude: Path,
    model: ScriptedModel,
    shared_fixtures: Path,
    blitzen_repo: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[ClaudeRun, dict[str, Any]]:
    """The slash command on a real profile, the scripted agent following it through two drafts.

    The steps run in this process while Claude Code waits for the model, so they see the files
    as each tool left them: `seen` keeps the issue's bytes before and after the refused draft.
    """
    repo = blitzen_repo
    profile = shared_fixtures / "profiles" / "aoc2018_day05" / "profile.pb"
    seen: dict[str, Any] = {}

    def issue_path() -> Path:
        return repo / "perf-issues" / f"{seen['name']}.txt"

    def draft_file() -> Path:
        return repo / "perf-issues" / ".drafts" / f"{seen['name']}.json"

    def brief(request: ModelRequest) -> Reply:
        seen["identify"] = request.last_tool_output
        top = next(
            path
            for path in _issue_files(repo)
            if parse_issue(path.read_text(encoding="utf-8")).function == BLITZEN_FUNCTION
        )
        seen["name"] = top.stem
        seen["before"] = top.read_bytes()
        return bash(command_line(request.command_text, "perf-identify brief", fill=top.stem))

    def write_bad_draft(request: ModelRequest) -> Reply:
        seen["brief"] = request.last_tool_output
        content = json.dumps(_agent_draft(seen["brief"], outside=True), indent=2)
        return ToolUse("Write", {"file_path": str(draft_file()), "content": content})

    def submit(request: ModelRequest) -> Reply:
        return bash(command_line(request.command_text, "perf-identify draft", fill=seen["name"]))

    def write_good_draft(request: ModelRequest) -> Reply:
        seen["refusal"] = request.tool_results[-1]
        seen["after_refusal"] = issue_path().read_bytes()
        content = json.dumps(_agent_draft(seen["brief"], outside=False), indent=2)
        return ToolUse("Write", {"file_path": str(draft_file()), "content": content})

    def read_issue(request: ModelRequest) -> Reply:
        seen["accepted"] = request.last_tool_output
        return ToolUse("Read", {"file_path": str(issue_path())})

    script = Script(
        [
            lambda r: bash(command_line(r.command_text, "perf-identify "), "profile and rank"),
            brief,
            write_bad_draft,
            submit,
            write_good_draft,
            submit,
            read_issue,
            lambda r: Text(f"Summary: {BLITZEN_FUNCTION} now has the agent's prose."),
        ]
    )
    this_checkout = str(Path(sys.executable).parent)
    run = run_claude(
        claude,
        f"/perf-identify:perf-identify {BLITZEN_PROGRAM} --skip-make --profile {profile}",
        cwd=repo,
        home=tmp_path_factory.mktemp("agent-home"),
        model=model,
        script=script,
        plugin_dirs=[REPO_ROOT],
        # This checkout's CLI first: the plugin's launcher and its venv are the tests above's.
        path=os.pathsep.join([this_checkout, _plugin_path()]),
    )
    assert not model.errors, model.errors
    return run, seen


def test_the_agent_drafts_through_the_gate_on_a_real_profile(
    agent_drafted: tuple[ClaudeRun, dict[str, Any]], blitzen_repo: Path
) -> None:
    run, seen = agent_drafted
    print(f"claude run: {run.seconds:.1f}s; JSON result:\n{json.dumps(run.result, indent=2)}")
    print(f"brief:\n{seen.get('brief', '')}")
    assert run.returncode == 0, run.describe()
    assert run.result.get("subtype") == "success", run.describe()
    assert run.denials == [], run.describe()
    results = run.tool_results
    assert len(results) == 7, run.describe()
    # Every tool call succeeded but the refused draft (index 3), which fails as it must.
    assert [bool(b.get("is_error")) for b in results] == [False] * 3 + [True] + [False] * 3, (
        run.describe()
    )
    issue = blitzen_repo / "perf-issues" / f"{seen['name']}.txt"

    # The brief: our facts, the fenced numbered source, the rules, the way to submit.
    brief = seen["brief"]
    assert "Function: VM::index_op in lang/src/vm/runtime.rs, lines 1357-1525" in brief
    assert "<<<DATA " in brief
    assert ">>>END DATA " in brief
    assert "perf-identify show VM::index_op --profile" in brief
    assert f"perf-identify draft perf-issues/{seen['name']}.txt --from" in brief

    # Refused: exit 11, one line per problem naming the field, the issue file untouched.
    refusal = tool_result_text(seen["refusal"])
    print(f"refusal:\n{refusal}")
    assert "11" in refusal, refusal
    assert "error: draft perf-issues/.drafts/" in refusal
    assert f"evidence[0]: line {OUTSIDE_LINE} is outside VM::index_op (lines 1357-1525)" in refusal
    assert "hint: fix exactly these in" in refusal
    assert seen["after_refusal"] == seen["before"]

    # Accepted: the agent's prose in the file, which still passes the independent checks.
    assert "agent draft accepted" in seen["accepted"], seen["accepted"]
    checked = check_blitzen_issue_file(issue, blitzen_repo)
    before = parse_issue(seen["before"].decode("utf-8"))
    after = parse_issue(issue.read_text(encoding="utf-8"))
    assert (checked.function, checked.file) == (BLITZEN_FUNCTION, "lang/src/vm/runtime.rs")
    cited = after.line
    assert " ".join(after.root_cause.split()) == AGENT_ROOT_CAUSE.format(line=cited)
    # Only the prose changed: the figures, dates and log are identification's.
    assert (after.share_percent, after.line, after.rank, after.runtime_ms, after.log) == (
        before.share_percent,
        before.line,
        before.rank,
        before.runtime_ms,
        before.log,
    )
    assert "PERFORMANCE ISSUE:" in tool_result_text(results[-1])
    code, out, err = run_cli("list", "--repo", str(blitzen_repo), "--json")
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert (rows[seen["name"]]["prose"], rows[seen["name"]]["drafted_by"]) == ("agent", "agent")
    assert {row["prose"] for name, row in rows.items() if name != seen["name"]} == {"offline"}


def test_the_command_lets_the_agent_write_drafts_and_nothing_else(
    *,
    agent_drafted: tuple[ClaudeRun, dict[str, Any]],
    claude: Path,
    model: ScriptedModel,
    shared_fixtures: Path,
    blitzen_repo: Path,
    tmp_path: Path,
) -> None:
    """`Edit(perf-issues/.drafts/**)` is the only write the command allows: prose reaches an
    issue file through `perf-identify draft` alone."""
    _, seen = agent_drafted
    issues = blitzen_repo / "perf-issues"
    before = {path.name: path.read_bytes() for path in issues.glob("*.txt")}
    forged = issues / "FORGED_ISSUE.txt"
    source = blitzen_repo / "lang" / "src" / "vm" / "runtime.rs"
    profile = shared_fixtures / "profiles" / "aoc2018_day05" / "profile.pb"
    run = run_claude(
        claude,
        f"/perf-identify:perf-identify {BLITZEN_PROGRAM} --skip-make --profile {profile}",
        cwd=blitzen_repo,
        home=tmp_path / "home",
        model=model,
        script=Script(
            [
                lambda r: ToolUse("Write", {"file_path": str(forged), "content": "prose\n"}),
                lambda r: ToolUse("Write", {"file_path": str(source), "content": "// gone\n"}),
                lambda r: Text("Both writes were refused."),
            ]
        ),
        plugin_dirs=[REPO_ROOT],
        path=os.pathsep.join([str(Path(sys.executable).parent), _plugin_path()]),
    )
    assert run.returncode == 0, run.describe()
    assert [d["tool_name"] for d in run.denials] == ["Write", "Write"], run.describe()
    assert not forged.exists()
    assert source.read_text() != "// gone\n"
    assert {path.name: path.read_bytes() for path in issues.glob("*.txt")} == before
    assert seen["name"] in {Path(name).stem for name in before}
