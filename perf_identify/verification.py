"""`perf-identify verify FILE`: measure an implemented fix against the code it was found in.

Contract: `verify(request, shell)` holds the issue folder's `OutputLock` for the whole run and:

1. **Preconditions** (nothing is written when one fails). The file parses, is in shape and is
   IMPLEMENTED (or VERIFYING, left behind by a run that was killed); the repo is a git work
   tree; a baseline commit is known: `--before REF`, else the commit the sidecar recorded at
   identification, which must exist in this repo; the issue's BENCHMARK FILE exists; an existing
   baseline JSON is hyperfine-shaped; the timer is available.

   *Dirty where it matters.* The BEFORE build always comes from the baseline commit, checked out
   clean in a temporary `git worktree`, and the AFTER build is the working tree as it is:
   uncommitted changes there are the change under test, so a dirty tree now is fine. What
   matters is the identification: when the sidecar says tracked files differed from HEAD then,
   the profile and the Runtime described code that is no commit, so no clean baseline exists and
   verify refuses (`VerifyError`), unless `--before REF` names the baseline explicitly.

2. **VERIFYING** is written (log entry appended), then: the repo's tests run in the working tree
   (exit 0 = PASS; the log is kept in `.perf-identify/logs/`); the `build` command runs in the
   worktree of the baseline commit, with `CARGO_TARGET_DIR` set to the issue folder's
   `.perf-identify/baseline-target/` (never the working tree's target: see `BASELINE_TARGET`),
   and then in the working tree; after each build the benchmark's program is copied aside, so
   both copies are timed with the same arguments, input (the working tree's BENCHMARK FILE) and
   working directory (the repo), alternating runs (`timing.measure_pair`).

3. **Verdict** (`lifecycle.judge` on the medians, Change = after/before - 1) and the
   VERIFICATION section are written with the verdict's status and log entry. Failing tests give
   REGRESSION with `Tests: FAIL` whatever the timing. On VERIFIED, the after-timing replaces this
   benchmark's entry in the repo's baseline JSON (hyperfine's `--export-json` shape), written
   only where the repo keeps one: the file or its folder exists. Every run also leaves its raw
   times in `.perf-identify/verify/NAME.json`.

Any failure after step 1 (a build that fails, a benchmark that crashes, Ctrl-C) restores the
issue file's original bytes atomically before the error propagates, and the worktree is always
removed: the file is either as it was or fully verified, never VERIFYING with nothing after it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from perf_identify.errors import IssueFileError, VerifyError, WriteError
from perf_identify.gitrepo import is_work_tree, repo_prefix, resolve_commit, temporary_worktree
from perf_identify.issue_update import checked_text, read_document
from perf_identify.issues_dir import OutputLock, replace_issue, write_file_atomically
from perf_identify.lifecycle import (
    Judgement,
    begin_verification,
    check_move,
    expected_estimate,
    expected_summary,
    judge,
    meets_expected,
    record_verification,
)
from perf_identify.render import IssueDocument, Status, Verdict, Verification
from perf_identify.repo_config import RepoConfig
from perf_identify.runner import CommandRun, run_logged
from perf_identify.sidecar import STATE_DIR, issue_sidecar_path, read_sidecar
from perf_identify.timing import Timer, Timings, choose_timer, measure_pair

# The baseline's own cargo target folder, kept between runs (dependencies build once). Never
# the working tree's: cargo finds a unit by the package, not the path, and takes a second
# checkout of the same workspace built into the same folder to be fresh when its files are
# older than the last build, so a shared folder can silently time one build twice. A new
# worktree's files are always newer than anything built before, so this folder cannot go stale.
BASELINE_TARGET = "baseline-target"


class VerifyProgress(Protocol):
    def step(self, text: str) -> None: ...

    def status(self, text: str, elapsed_s: float) -> None: ...

    def notice(self, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    repo: Path
    issue_path: Path
    today: date
    config: RepoConfig = field(default_factory=RepoConfig)
    before_ref: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyShell:
    """The collaborators; tests pass a fake runner or timer."""

    progress: VerifyProgress
    timer: Timer | None = None
    """None: `choose_timer(config.timer)`."""
    run: Callable[..., CommandRun] = run_logged
    env: Mapping[str, str] | None = None
    """The environment of the commands (None: ours); also where `CARGO_TARGET_DIR` is read."""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    issue_path: Path
    before_commit: str
    tests: CommandRun
    before: Timings
    after: Timings
    judgement: Judgement
    document: IssueDocument
    timer: str
    record_path: Path
    baseline_path: Path | None


@dataclass(frozen=True, slots=True)
class _Plan:
    name: str
    doc: IssueDocument
    original: bytes
    commit: str
    prefix: str
    benchmark: Path
    timer: Timer
    baseline: Path | None


# ----------------------------------------------------------------------------------------------
# Pure helpers: the text that goes into the file


def actual_text(
    *,
    tests: CommandRun,
    before: Timings,
    after: Timings,
    change: float,
    warmup: int,
    timer: str,
) -> str:
    """The one-line `Actual:` of the VERIFICATION section."""
    if change < 0:
        headline = f"{-change:.1f}% faster"
    elif change > 0:
        headline = f"{change:.1f}% slower"
    else:
        headline = "no change"
    ms = 1000.0
    figures = (
        f"{headline}: median {before.median_s * ms:.1f}ms -> {after.median_s * ms:.1f}ms "
        f"(ranges {before.min_s * ms:.1f}-{before.max_s * ms:.1f}ms and "
        f"{after.min_s * ms:.1f}-{after.max_s * ms:.1f}ms; {len(after.times_s)} alternating "
        f"runs each after {warmup} warm-up(s), {timer}, {after.measure} time)"
    )
    if tests.ok:
        return figures
    return f"tests FAIL (`{shlex.join(tests.argv)}` exited {tests.exit_code}); {figures}"


def verdict_note(judgement: Judgement, tests: CommandRun, threshold: float) -> str:
    """The progress-log note of the verdict's entry."""
    change = judgement.change_percent
    if not tests.ok:
        return f"Tests fail: `{shlex.join(tests.argv)}` exited {tests.exit_code}"
    if judgement.verdict is Verdict.CONFIRMED:
        return f"Performance improvement confirmed ({-change:.1f}% faster)"
    if judgement.verdict is Verdict.REGRESSION:
        return f"Performance regression ({change:.1f}% slower)"
    return f"Change of {change:+.1f}% is within ±{threshold:g}%: no measurable improvement"


def build_verification(
    doc: IssueDocument,
    *,
    day: date,
    tests: CommandRun,
    before: Timings,
    after: Timings,
    config: RepoConfig,
    timer: str,
) -> tuple[Verification, Judgement]:
    """The VERIFICATION section for these measurements, and the judgement behind it."""
    before_ms = round(before.median_s * 1000.0, 1)
    after_ms = round(after.median_s * 1000.0, 1)
    change = round((after.median_s / before.median_s - 1.0) * 100.0, 1) + 0.0
    judgement = judge(
        tests_passed=tests.ok, change=change, threshold_percent=config.threshold_percent
    )
    verification = Verification(
        day=day,
        tests_passed=tests.ok,
        before_ms=before_ms,
        after_ms=after_ms,
        change_percent=change,
        meets_expected=meets_expected(
            tests_passed=tests.ok,
            change=change,
            verdict=judgement.verdict,
            estimate=expected_estimate(doc.expected_impact),
        ),
        expected=expected_summary(doc.expected_impact),
        actual=actual_text(
            tests=tests,
            before=before,
            after=after,
            change=change,
            warmup=config.warmup,
            timer=timer,
        ),
        verdict=judgement.verdict,
    )
    return verification, judgement


def merged_baseline(existing: Mapping[str, Any] | None, result: Mapping[str, Any]) -> str:
    """The baseline JSON with `result` replacing the entry for the same command (others kept)."""
    data: dict[str, Any] = dict(existing) if existing is not None else {}
    results = [
        entry
        for entry in data.get("results", [])
        if not (isinstance(entry, dict) and entry.get("command") == result["command"])
    ]
    results.append(dict(result))
    data["results"] = results
    return json.dumps(data, indent=2) + "\n"


# ----------------------------------------------------------------------------------------------
# The shell


def _baseline_commit(request: VerifyRequest, name: str) -> str:
    repo = request.repo
    if request.before_ref is not None:
        commit = resolve_commit(repo, request.before_ref)
        if commit is None:
            raise VerifyError(
                f"--before {request.before_ref!r} is not a commit in {repo}",
                hint="give a branch, tag or commit id that `git rev-parse` knows",
            )
        return commit
    sidecar = issue_sidecar_path(request.issue_path)
    facts = read_sidecar(sidecar)
    use_before = "or pass --before REF to name the baseline commit yourself"
    if facts is None:
        raise VerifyError(
            f"no identification facts for {name}: {sidecar} does not exist",
            hint=f"rerun perf-identify on the benchmark from the baseline commit, {use_before}",
        )
    if facts.git_commit is None:
        raise VerifyError(
            f"{name} was identified outside a git repository: no baseline commit was recorded",
            hint=f"commit the VM, rerun perf-identify, {use_before}",
        )
    if facts.git_dirty:
        shown = ", ".join(facts.dirty_paths[:3]) or "tracked files"
        raise VerifyError(
            f"{name} was identified on a dirty tree ({shown} differed from "
            f"{facts.git_commit[:12]}): no clean baseline exists",
            hint=f"commit the code that was profiled and rerun perf-identify, {use_before}",
        )
    commit = resolve_commit(repo, facts.git_commit)
    if commit is None:
        raise VerifyError(
            f"the commit recorded at identification, {facts.git_commit}, is not in {repo}",
            hint=f"fetch it (or undo the history rewrite), {use_before}",
        )
    return commit


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VerifyError(
            f"baseline {path} is not readable JSON: {exc}",
            hint='fix or delete it, or set baseline = "" in .perf-identify.toml',
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("results", []), list):
        raise VerifyError(
            f"baseline {path} is not hyperfine JSON (an object with a `results` list)",
            hint='fix or delete it, or set baseline = "" in .perf-identify.toml',
        )
    return data


def _baseline_path(request: VerifyRequest) -> Path | None:
    """Where to write a new baseline: only where the repo keeps one (file or folder exists)."""
    if not request.config.baseline:
        return None
    path = request.repo / request.config.baseline
    if path.is_file():
        _read_json(path)
        return path
    return path if path.parent.is_dir() else None


def _plan(request: VerifyRequest, shell: VerifyShell) -> _Plan:
    path = request.issue_path
    name = path.stem
    doc, original = read_document(path)
    if doc.status is not Status.VERIFYING:
        try:
            check_move(doc.status, Status.VERIFYING)
        except IssueFileError as exc:
            raise IssueFileError(
                f"{path}: cannot verify: {exc.message}",
                hint="record the fix first with `perf-identify implemented FILE ...`"
                if doc.status is Status.IN_PROGRESS
                else exc.hint,
            ) from None
    if not is_work_tree(request.repo):
        raise VerifyError(
            f"{request.repo} is not a git work tree: verify builds the baseline commit in a "
            "git worktree",
            hint="run verify in the VM's git checkout, or pass --repo",
        )
    commit = _baseline_commit(request, name)
    benchmark = request.repo / doc.benchmark_file
    if not benchmark.is_file():
        raise VerifyError(
            f"the issue's BENCHMARK FILE {doc.benchmark_file} does not exist in {request.repo}",
            hint="run verify from the repo the issue was identified in, or pass --repo",
        )
    timer = shell.timer or choose_timer(request.config.timer)
    return _Plan(
        name=name,
        doc=doc,
        original=original,
        commit=commit,
        prefix=repo_prefix(request.repo),
        benchmark=benchmark.resolve(),
        timer=timer,
        baseline=_baseline_path(request),
    )


def verify(request: VerifyRequest, shell: VerifyShell) -> VerifyReport:
    """Run the whole verification; see the module docstring."""
    out_dir = request.issue_path.parent
    with OutputLock(out_dir):
        plan = _plan(request, shell)
        config = request.config
        note = (
            f"Verifying against {plan.commit[:12]}: `{config.test}`, release builds of both "
            f"trees, {config.runs} alternating runs each"
        )
        verifying = begin_verification(plan.doc, request.today, note)
        current = plan.original
        if verifying != plan.doc:
            text = checked_text(verifying)
            replace_issue(request.issue_path, plan.original, text)
            current = text.encode("utf-8")
        try:
            return _measure_and_record(request, shell, plan, verifying, current)
        except BaseException:
            _restore(request.issue_path, current, plan.original)
            raise


def _restore(path: Path, ours: bytes, original: bytes) -> None:
    """Put the original bytes back, unless the file no longer holds what we wrote (a hand edit
    made while verify ran is not ours to overwrite)."""
    try:
        if path.read_bytes() != ours:
            return
        write_file_atomically(path, original)
    except FileNotFoundError:
        return
    except (OSError, WriteError) as exc:
        raise WriteError(
            f"{exc}; the issue file could not be restored and may say VERIFYING",
            hint="restore it from version control, or rerun verify (it resumes from VERIFYING)",
        ) from exc


def _build(
    request: VerifyRequest,
    shell: VerifyShell,
    *,
    tree: Path,
    label: str,
    log: Path,
    copy_to: Path,
    env: dict[str, str],
) -> Path:
    config = request.config
    shell.progress.step(f"building {label}: {config.build}")
    run = shell.run(
        config.build_argv(),
        cwd=tree,
        log_path=log,
        timeout_s=config.timeout,
        env=env,
        on_status=lambda s: shell.progress.status(f"building {label}", s),
    )
    if not run.ok:
        raise VerifyError(
            f"the release build of {label} failed (exit {run.exit_code}): {run.tail(3)}",
            hint=f"see {log}; the baseline and the working tree must both build",
        )
    program = config.program_in(tree, env)
    if not program.is_file():
        raise VerifyError(
            f"`{config.build}` in {label} left no program at {program}",
            hint="benchmark's first word in .perf-identify.toml must be the path of the program "
            "that `build` produces (with $CARGO_TARGET_DIR set, it is looked up there)",
        )
    copy_to.mkdir(parents=True, exist_ok=True)
    # A copy, because the next build may overwrite the original.
    return Path(shutil.copy2(program, copy_to / program.name))


def _measure_and_record(
    request: VerifyRequest,
    shell: VerifyShell,
    plan: _Plan,
    verifying: IssueDocument,
    current: bytes,
) -> VerifyReport:
    config = request.config
    repo = request.repo
    state = request.issue_path.parent / STATE_DIR
    logs = state / "logs"
    shell.progress.step(f"running the tests: {config.test}")
    tests = shell.run(
        config.test_argv(),
        cwd=repo,
        log_path=logs / f"verify-{plan.name}-tests.log",
        timeout_s=config.timeout,
        env=shell.env,
        on_status=lambda s: shell.progress.status("tests", s),
    )
    if not tests.ok:
        shell.progress.notice(f"tests FAIL (exit {tests.exit_code}): see {tests.log_path}")

    env = dict(os.environ if shell.env is None else shell.env)
    with tempfile.TemporaryDirectory(prefix="perf-identify-verify-") as scratch_name:
        scratch = Path(scratch_name)
        worktree = scratch / "before-tree"
        label_before = f"the baseline {plan.commit[:12]}"
        shell.progress.step(f"checking out {label_before} in a temporary git worktree")
        with temporary_worktree(repo, plan.commit, worktree):
            before_tree = worktree / plan.prefix if plan.prefix else worktree
            if not before_tree.is_dir():
                raise VerifyError(f"commit {plan.commit[:12]} has no folder {plan.prefix}")
            before_bin = _build(
                request,
                shell,
                tree=before_tree,
                label=label_before,
                log=logs / f"verify-{plan.name}-build-before.log",
                copy_to=scratch / "before-bin",
                env={**env, "CARGO_TARGET_DIR": str(state / BASELINE_TARGET)},
            )
        after_bin = _build(
            request,
            shell,
            tree=repo,
            label="the working tree",
            log=logs / f"verify-{plan.name}-build-after.log",
            copy_to=scratch / "after-bin",
            env=env,
        )
        argv = config.benchmark_argv(str(plan.benchmark))
        command = shlex.join(config.benchmark_argv(verifying.benchmark_file))
        shell.progress.step(
            f"timing {config.runs} alternating runs of each after {config.warmup} warm-up(s) "
            f"with {plan.timer.name}: {command}"
        )
        started = time.monotonic()
        before, after = measure_pair(
            plan.timer,
            [str(before_bin), *argv[1:]],
            [str(after_bin), *argv[1:]],
            runs=config.runs,
            warmup=config.warmup,
            cwd=repo,
            timeout_s=config.timeout,
            measure=config.measure,
            labels=(command, command),
            on_round=lambda i, n: shell.progress.status(
                f"timing run {i + 1}/{n}", time.monotonic() - started
            ),
        )

    verification, judgement = build_verification(
        verifying,
        day=request.today,
        tests=tests,
        before=before,
        after=after,
        config=config,
        timer=plan.timer.name,
    )
    final = record_verification(
        verifying,
        verification,
        request.today,
        verdict_note(judgement, tests, config.threshold_percent),
    )
    record_path = state / "verify" / f"{plan.name}.json"
    write_file_atomically(
        record_path,
        _run_record(
            plan,
            request=request,
            tests=tests,
            before=before,
            after=after,
            judgement=judgement,
            timer=plan.timer.name,
        ).encode(),
    )
    baseline_path: Path | None = None
    if judgement.verdict is Verdict.CONFIRMED and plan.baseline is not None:
        existing = _read_json(plan.baseline) if plan.baseline.is_file() else None
        write_file_atomically(
            plan.baseline, merged_baseline(existing, after.hyperfine_result()).encode()
        )
        baseline_path = plan.baseline
    replace_issue(request.issue_path, current, checked_text(final))
    return VerifyReport(
        issue_path=request.issue_path,
        before_commit=plan.commit,
        tests=tests,
        before=before,
        after=after,
        judgement=judgement,
        document=final,
        timer=plan.timer.name,
        record_path=record_path,
        baseline_path=baseline_path,
    )


def _run_record(
    plan: _Plan,
    *,
    request: VerifyRequest,
    tests: CommandRun,
    before: Timings,
    after: Timings,
    judgement: Judgement,
    timer: str,
) -> str:
    record = {
        "issue": plan.name,
        "date": request.today.isoformat(),
        "before_commit": plan.commit,
        "timer": timer,
        "measure": request.config.measure,
        "runs": request.config.runs,
        "warmup": request.config.warmup,
        "tests": {
            "command": shlex.join(tests.argv),
            "exit_code": tests.exit_code,
            "log": str(tests.log_path),
        },
        "change_percent": judgement.change_percent,
        "verdict": judgement.verdict.value,
        # hyperfine's shape, with the tree in the command name so the two are told apart.
        "results": [
            {**before.hyperfine_result(), "command": f"{before.command} (baseline)"},
            {**after.hyperfine_result(), "command": f"{after.command} (working tree)"},
        ],
    }
    return json.dumps(record, indent=2) + "\n"
