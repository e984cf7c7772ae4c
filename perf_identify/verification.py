"""`perf-identify verify FILE`: measure an implemented fix against the code it was found in.

Contract: `verify(request, shell)` holds the issue's `IssueLock` (never the folder's: a verify
takes minutes, and `status` or `verify` of another issue must not wait for it) and:

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
   worktree of the baseline commit, with `CARGO_TARGET_DIR` set to this repo's baseline build
   folder in the user's cache (`baseline_target_dir`: never inside `perf-issues/`, whose
   builds ran to 181 MB on Blitzen, and never the working tree's target: see there), and then in
   the working tree; after each build the benchmark's program is copied aside, so both copies
   are timed with the same arguments, input (the working tree's BENCHMARK FILE) and working
   directory (the repo). The timed command is the config's `benchmark`; a notice says when it
   (or the command recorded at identification) passes santa-cli's profiling flag `-p`.

3. **Timing** in alternating pairs (`timing.measure_rounds`, ABBA order): `runs` pairs first,
   then, while the verdict is undecided and more pairs could decide it, batches of more, up to
   `max_runs` pairs or the `time_budget` of timing (`timing_plan.next_batch`). After each batch
   the measure is chosen (`timing_plan.choose_measure`: CPU time for a single-threaded,
   CPU-bound benchmark, else wall time, unless the config sets it) and the change and its 95 %
   interval are computed over every pair so far (`change_interval`).

4. **Verdict** (`lifecycle.judge` on the interval against ±`threshold_percent`) and the
   VERIFICATION section (the Change line carries the interval, the pairs and the measure; Actual
   says why the interval does or does not decide, and why the timing stopped) are written with
   the verdict's status and log entry. Failing tests give REGRESSION with `Tests: FAIL` whatever
   the timing (and stop the timing after the first pairs).

5. **Baseline.** Only on VERIFIED (a decided speed-up; never on MARGINAL, whose figure is noise,
   nor on REGRESSION, whose code should not become the reference), the after-timing replaces
   this benchmark's entry in the repo's baseline JSON (hyperfine's `--export-json` shape),
   written only where the repo keeps one (the file or its folder exists), under a lock shared by
   verifies of other issues. The entry carries a `perf_identify` object saying which run set it
   (issue, date, baseline commit, HEAD and whether the tree was dirty, verdict, change and
   interval, pairs, measure); hyperfine's readers ignore keys they do not know. Every run also
   leaves its raw times and its decisions in `.perf-identify/verify/NAME.json`.

Any failure after step 1 (a build that fails, a benchmark that crashes, Ctrl-C) restores the
issue file's original bytes atomically before the error propagates, and the worktree is always
removed: the file is either as it was or fully verified, never VERIFYING with nothing after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from perf_identify.change_interval import (
    ChangeInterval,
    Outcome,
    band_outcome,
    change_interval,
    explain,
)
from perf_identify.errors import IssueFileError, VerifyError, WriteError
from perf_identify.issue_update import checked_text, read_document
from perf_identify.issues_dir import WaitLock
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
from perf_identify.ports import (
    FILE_ISSUE_STORE,
    SYSTEM_CLOCK,
    SYSTEM_GIT,
    Clock,
    Git,
    IssueStore,
)
from perf_identify.render import ChangeRange, IssueDocument, Status, Verdict, Verification
from perf_identify.repo_config import CONFIG_NAME, RepoConfig, profiling_flag_notice
from perf_identify.runner import CommandRun, run_logged
from perf_identify.sidecar import issue_sidecar_path, read_sidecar
from perf_identify.timing import RunTime, Timer, Timings, choose_timer, measure_rounds, timings_of
from perf_identify.timing_plan import (
    MeasureChoice,
    MeasureSetting,
    SamplingPolicy,
    StopReason,
    choose_measure,
    next_batch,
    stop_text,
)

# Where earlier versions kept the baseline build, inside the issue folder's state folder.
OLD_BASELINE_TARGET = "baseline-target"


def baseline_target_dir(repo: Path, env: Mapping[str, str]) -> Path:
    """The baseline build's cargo target folder for `repo`, kept between runs so dependencies
    build once: `${XDG_CACHE_HOME:-~/.cache}/perf-identify/baseline-target/NAME-HASH`, NAME the
    repo folder's name (for a person looking at the cache) and HASH 12 hex digits of the sha256
    of its absolute path (so two checkouts never share a folder).

    Why its own folder and not the working tree's target: cargo finds a unit by the package, not
    the path, and takes a second checkout of the same workspace built into the same folder to be
    fresh when its files are older than the last build, so a shared folder can silently time one
    build twice. A new worktree's files are always newer than anything built before, so this
    folder cannot go stale. Why not in `perf-issues/`: it is a build (181 MB on Blitzen), not a
    record, and the issue folder is what people commit and share. A relative `XDG_CACHE_HOME`
    is ignored, as the XDG base directory specification says.
    """
    cache = env.get("XDG_CACHE_HOME", "")
    if cache and Path(cache).is_absolute():
        base = Path(cache)
    else:
        home = env.get("HOME", "")
        base = (Path(home) if home else Path.home()) / ".cache"
    absolute = str(repo.resolve())
    digest = hashlib.sha256(absolute.encode("utf-8")).hexdigest()[:12]
    return base / "perf-identify" / "baseline-target" / f"{repo.resolve().name}-{digest}"


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
    """The collaborators; tests pass fakes for any of them (tests/test_verification.py runs
    verify with no git, no build and no timed program at all)."""

    progress: VerifyProgress
    timer: Timer | None = None
    """None: `choose_timer(config.timer)`."""
    run: Callable[..., CommandRun] = run_logged
    env: Mapping[str, str] | None = None
    """The environment of the commands (None: ours); also where `CARGO_TARGET_DIR`,
    `XDG_CACHE_HOME` and `HOME` are read."""
    clock: Clock = SYSTEM_CLOCK
    """`monotonic()` seconds, for the time budget of the timing."""
    git: Git = SYSTEM_GIT
    """The baseline commit, HEAD and the temporary worktree of the baseline."""
    store: IssueStore = FILE_ISSUE_STORE
    """The issue's lock, the `.perf-identify` layout and every write to the issue folder."""


@dataclass(frozen=True, slots=True)
class Sampling:
    """The timed pairs and what was decided from them."""

    pairs: tuple[tuple[RunTime, RunTime], ...]
    choice: MeasureChoice
    interval: ChangeInterval
    outcome: Outcome
    """Where the interval lies against the band (the timing's own verdict, tests aside)."""
    stop: StopReason
    batches: tuple[int, ...]
    """The pairs of each batch: the configured runs first, then each batch of more."""
    elapsed_s: float
    policy: SamplingPolicy


@dataclass(frozen=True, slots=True)
class VerifyReport:
    issue_path: Path
    before_commit: str
    tests: CommandRun
    before: Timings
    after: Timings
    sampling: Sampling
    judgement: Judgement
    document: IssueDocument
    timer: str
    record_path: Path
    baseline_path: Path | None
    baseline_target: Path
    notices: tuple[str, ...] = ()


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
    notices: tuple[str, ...]


# ----------------------------------------------------------------------------------------------
# Pure helpers: the decisions and the text that goes into the file


def assess(
    pairs: Sequence[tuple[RunTime, RunTime]], setting: MeasureSetting, threshold_percent: float
) -> tuple[MeasureChoice, ChangeInterval, Outcome]:
    """The measure, the change's interval and its place against the band, for these pairs."""
    choice = choose_measure(
        setting,
        [(before.wall_s, before.cpu_s) for before, _ in pairs],
        [(after.wall_s, after.cpu_s) for _, after in pairs],
    )
    cpu = choice.measure == "cpu"
    before_s = [before.cpu_s if cpu else before.wall_s for before, _ in pairs]
    after_s = [after.cpu_s if cpu else after.wall_s for _, after in pairs]
    try:
        interval = change_interval(before_s, after_s)
    except ValueError as exc:
        raise VerifyError(
            f"cannot compare the runs in {choice.measure} time: {exc}",
            hint="a run took no measurable time: use a larger benchmark input, or set "
            f'measure = "wall" in {CONFIG_NAME}',
        ) from None
    return choice, interval, band_outcome(interval, threshold_percent)


def _batches_text(batches: Sequence[int]) -> str:
    total = sum(batches)
    if len(batches) == 1:
        return f"{total} alternating pairs"
    more = [str(size) for size in batches[1:]]
    shown = more[0] if len(more) == 1 else ", ".join(more[:-1]) + f" and {more[-1]}"
    return f"{total} alternating pairs ({batches[0]}, then {shown} more)"


def _measure_text(choice: MeasureChoice) -> str:
    if choice.measure == "cpu":
        return f"CPU time (user + system of the benchmark process; {choice.reason})"
    return f"wall time ({choice.reason})"


def actual_text(
    *,
    tests: CommandRun,
    before: Timings,
    after: Timings,
    sampling: Sampling,
    threshold_percent: float,
    warmup: int,
    timer: str,
) -> str:
    """The `Actual:` of the VERIFICATION section (one line; the file wraps it)."""
    change = sampling.interval.change_percent
    if change < 0:
        headline = f"{-change:.1f}% faster"
    elif change > 0:
        headline = f"{change:.1f}% slower"
    else:
        headline = "no change"
    ms = 1000.0
    stopped = stop_text(
        sampling.stop,
        sampling.policy,
        pairs=len(sampling.pairs),
        elapsed_s=sampling.elapsed_s,
    )
    if sampling.stop is StopReason.TIME_BUDGET:
        stopped += f" (raise it with --time-budget or time_budget in {CONFIG_NAME})"
    figures = (
        f"{headline} (median of the pairs' changes); "
        f"{explain(sampling.interval, sampling.outcome, threshold_percent)}. "
        f"Medians {before.median_s * ms:.1f}ms -> {after.median_s * ms:.1f}ms (ranges "
        f"{before.min_s * ms:.1f}-{before.max_s * ms:.1f}ms and "
        f"{after.min_s * ms:.1f}-{after.max_s * ms:.1f}ms) in {_measure_text(sampling.choice)}. "
        f"{_batches_text(sampling.batches)} after {warmup} warm-up(s) of each, {timer}; "
        f"{stopped}."
    )
    if tests.ok:
        return figures
    return f"tests FAIL (`{shlex.join(tests.argv)}` exited {tests.exit_code}); {figures}"


def verdict_note(judgement: Judgement, tests: CommandRun, threshold: float) -> str:
    """The progress-log note of the verdict's entry."""
    interval = judgement.interval
    change = judgement.change_percent
    shown = f"{interval.confidence_percent}% interval {interval.range_text()}"
    if not tests.ok:
        return f"Tests fail: `{shlex.join(tests.argv)}` exited {tests.exit_code}"
    if judgement.verdict is Verdict.CONFIRMED:
        return f"Performance improvement confirmed ({-change:.1f}% faster, {shown})"
    if judgement.verdict is Verdict.REGRESSION:
        return f"Performance regression ({change:.1f}% slower, {shown})"
    if judgement.outcome is Outcome.INSIDE:
        return (
            f"Change of {change:+.1f}% ({shown}) lies inside ±{threshold:g}%: no measurable "
            "improvement, and more runs would not make it one"
        )
    return (
        f"Change of {change:+.1f}% not decided ({shown}, {interval.pairs} pairs): more runs "
        "could decide"
    )


def build_verification(
    doc: IssueDocument,
    *,
    day: date,
    tests: CommandRun,
    before: Timings,
    after: Timings,
    sampling: Sampling,
    config: RepoConfig,
    timer: str,
) -> tuple[Verification, Judgement]:
    """The VERIFICATION section for these measurements, and the judgement behind it."""
    interval = sampling.interval
    judgement = judge(
        tests_passed=tests.ok, interval=interval, threshold_percent=config.threshold_percent
    )
    verification = Verification(
        day=day,
        tests_passed=tests.ok,
        before_ms=round(before.median_s * 1000.0, 1),
        after_ms=round(after.median_s * 1000.0, 1),
        change_percent=interval.change_percent,
        meets_expected=meets_expected(
            tests_passed=tests.ok,
            interval=interval,
            verdict=judgement.verdict,
            estimate=expected_estimate(doc.expected_impact),
        ),
        expected=expected_summary(doc.expected_impact),
        actual=actual_text(
            tests=tests,
            before=before,
            after=after,
            sampling=sampling,
            threshold_percent=config.threshold_percent,
            warmup=config.warmup,
            timer=timer,
        ),
        verdict=judgement.verdict,
        interval=ChangeRange(
            confidence_percent=interval.confidence_percent,
            low_percent=interval.low_percent,
            high_percent=interval.high_percent,
            pairs=interval.pairs,
            measure=sampling.choice.label,
        ),
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


def baseline_entry(
    after: Timings,
    *,
    issue: str,
    day: date,
    before_commit: str,
    head: str | None,
    dirty: bool | None,
    judgement: Judgement,
    choice: MeasureChoice,
) -> dict[str, Any]:
    """The after-timing as a hyperfine `results` entry, with `perf_identify` saying which run
    set it (a key hyperfine's readers ignore)."""
    interval = judgement.interval
    return {
        **after.hyperfine_result(),
        "perf_identify": {
            "issue": issue,
            "date": day.isoformat(),
            "verdict": judgement.verdict.value,
            "before_commit": before_commit,
            "after_commit": head,
            "after_tree_dirty": dirty,
            "change_percent": interval.change_percent,
            "interval_percent": [interval.low_percent, interval.high_percent],
            "confidence_percent": interval.confidence_percent,
            "pairs": interval.pairs,
            "measure": choice.measure,
        },
    }


# ----------------------------------------------------------------------------------------------
# The shell


def _baseline_commit(request: VerifyRequest, name: str, git: Git, store: IssueStore) -> str:
    repo = request.repo
    if request.before_ref is not None:
        commit = git.resolve_commit(repo, request.before_ref)
        if commit is None:
            raise VerifyError(
                f"--before {request.before_ref!r} is not a commit in {repo}",
                hint="give a branch, tag or commit id that `git rev-parse` knows",
            )
        return commit
    sidecar = issue_sidecar_path(request.issue_path)
    facts = read_sidecar(sidecar, store)
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
    commit = git.resolve_commit(repo, facts.git_commit)
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


def _command_notices(request: VerifyRequest, benchmark_file: str, store: IssueStore) -> list[str]:
    """What to say about the timed command: santa-cli's profiling flag, in the config or in the
    command identification recorded (the config is never rewritten)."""
    timed = request.config.benchmark_argv(benchmark_file)
    notices: list[str] = []
    notice = profiling_flag_notice(timed, f"`benchmark` ({CONFIG_NAME} or its default)")
    if notice is not None:
        notices.append(notice + "; timing it as configured")
    try:
        facts = read_sidecar(issue_sidecar_path(request.issue_path), store)
    except VerifyError:
        facts = None  # the baseline commit's check reports a broken sidecar when it matters
    recorded = list(facts.benchmark_command) if facts is not None else []
    if recorded and recorded != timed:
        flag = profiling_flag_notice(recorded, "the command recorded at identification")
        notices.append(
            (flag + "; " if flag else "")
            + f"identification recorded the benchmark as `{shlex.join(recorded)}`; verify times "
            f"`{shlex.join(timed)}`, the `benchmark` of {CONFIG_NAME} (or its default)"
        )
    return notices


def _plan(request: VerifyRequest, shell: VerifyShell) -> _Plan:
    path = request.issue_path
    name = path.stem
    doc, original = read_document(path, shell.store)
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
    if not shell.git.is_work_tree(request.repo):
        raise VerifyError(
            f"{request.repo} is not a git work tree: verify builds the baseline commit in a "
            "git worktree",
            hint="run verify in the VM's git checkout, or pass --repo",
        )
    commit = _baseline_commit(request, name, shell.git, shell.store)
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
        prefix=shell.git.repo_prefix(request.repo),
        benchmark=benchmark.resolve(),
        timer=timer,
        baseline=_baseline_path(request),
        notices=tuple(_command_notices(request, doc.benchmark_file, shell.store)),
    )


def verify(request: VerifyRequest, shell: VerifyShell) -> VerifyReport:
    """Run the whole verification; see the module docstring."""
    if not shell.store.exists(request.issue_path):
        read_document(
            request.issue_path, shell.store
        )  # the error for a missing file, before any lock file
    with shell.store.lock_issue(request.issue_path):
        plan = _plan(request, shell)
        for notice in plan.notices:
            shell.progress.notice(notice)
        config = request.config
        note = (
            f"Verifying against {plan.commit[:12]}: `{config.test}`, release builds of both "
            f"trees, {config.runs} alternating pairs first (up to {config.max_runs} in "
            f"{config.time_budget:g} s while undecided)"
        )
        verifying = begin_verification(plan.doc, request.today, note)
        current = plan.original
        if verifying != plan.doc:
            text = checked_text(verifying)
            shell.store.replace_issue(request.issue_path, plan.original, text)
            current = text.encode("utf-8")
        try:
            return _measure_and_record(request, shell, plan, verifying, current)
        except BaseException:
            _restore(shell.store, request.issue_path, current, plan.original)
            raise


def _restore(store: IssueStore, path: Path, ours: bytes, original: bytes) -> None:
    """Put the original bytes back, unless the file no longer holds what we wrote (a hand edit
    made while verify ran is not ours to overwrite)."""
    try:
        if store.read(path) != ours:
            return
        store.write_atomically(path, original)
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


def _time_pairs(
    request: VerifyRequest,
    shell: VerifyShell,
    plan: _Plan,
    argv: tuple[Sequence[str], Sequence[str]],
    *,
    command: str,
    tests_passed: bool,
) -> Sampling:
    """Alternating pairs, batch after batch, until `next_batch` says stop (module docstring)."""
    config = request.config
    policy = SamplingPolicy(config.runs, config.max_runs, config.time_budget)
    pairs: list[tuple[RunTime, RunTime]] = []
    batches: list[int] = []
    batch = config.runs
    shell.progress.step(
        f"timing {batch} alternating pairs after {config.warmup} warm-up(s) of each with "
        f"{plan.timer.name}: {command}"
    )
    started = shell.clock.monotonic()
    while True:
        pairs += measure_rounds(
            plan.timer,
            argv[0],
            argv[1],
            start=len(pairs),
            count=batch,
            warmup=0 if pairs else config.warmup,
            cwd=request.repo,
            timeout_s=config.timeout,
            on_round=lambda i: shell.progress.status(
                f"timing pair {i + 1}", shell.clock.monotonic() - started
            ),
        )
        batches.append(batch)
        elapsed = shell.clock.monotonic() - started
        choice, interval, outcome = assess(pairs, config.measure, config.threshold_percent)
        step = next_batch(
            policy, pairs=len(pairs), outcome=outcome, elapsed_s=elapsed, tests_passed=tests_passed
        )
        if step.stop is not None:
            return Sampling(
                pairs=tuple(pairs),
                choice=choice,
                interval=interval,
                outcome=outcome,
                stop=step.stop,
                batches=tuple(batches),
                elapsed_s=elapsed,
                policy=policy,
            )
        batch = step.pairs
        shell.progress.step(
            f"{explain(interval, outcome, config.threshold_percent)} ({choice.label}): timing "
            f"{batch} more pairs"
        )


def _measure_and_record(
    request: VerifyRequest,
    shell: VerifyShell,
    plan: _Plan,
    verifying: IssueDocument,
    current: bytes,
) -> VerifyReport:
    config = request.config
    repo = request.repo
    layout = shell.store.layout(request.issue_path)
    logs = layout.logs
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
    target = baseline_target_dir(repo, env)
    notices = list(plan.notices)
    old_target = layout.state_dir / OLD_BASELINE_TARGET
    if old_target.is_dir():
        notices.append(
            f"{old_target} is no longer used (the baseline build is now kept in {target}): "
            "delete it to free its space"
        )
        shell.progress.notice(notices[-1])
    with tempfile.TemporaryDirectory(prefix="perf-identify-verify-") as scratch_name:
        scratch = Path(scratch_name)
        worktree = scratch / "before-tree"
        label_before = f"the baseline {plan.commit[:12]}"
        shell.progress.step(f"checking out {label_before} in a temporary git worktree")
        with shell.git.worktree(repo, plan.commit, worktree):
            before_tree = worktree / plan.prefix if plan.prefix else worktree
            if not before_tree.is_dir():
                raise VerifyError(f"commit {plan.commit[:12]} has no folder {plan.prefix}")
            # Two verifies in one repo share the baseline's build folder: one builds and copies
            # its program out at a time, so neither times the other's baseline.
            with WaitLock(
                target.with_name(target.name + ".lock"),
                on_wait=lambda holder: shell.progress.notice(
                    f"waiting for another verify's baseline build in {target}{holder}"
                ),
            ):
                before_bin = _build(
                    request,
                    shell,
                    tree=before_tree,
                    label=label_before,
                    log=logs / f"verify-{plan.name}-build-before.log",
                    copy_to=scratch / "before-bin",
                    env={**env, "CARGO_TARGET_DIR": str(target)},
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
        sampling = _time_pairs(
            request,
            shell,
            plan,
            ([str(before_bin), *argv[1:]], [str(after_bin), *argv[1:]]),
            command=command,
            tests_passed=tests.ok,
        )

    before, after = timings_of(sampling.pairs, (command, command), sampling.choice.measure)
    verification, judgement = build_verification(
        verifying,
        day=request.today,
        tests=tests,
        before=before,
        after=after,
        sampling=sampling,
        config=config,
        timer=plan.timer.name,
    )
    note = verdict_note(judgement, tests, config.threshold_percent)
    baseline_path: Path | None = None
    if judgement.verdict is Verdict.CONFIRMED and plan.baseline is not None:
        head = shell.git.head_state(repo, exclude=request.issue_path.parent)
        entry = baseline_entry(
            after,
            issue=plan.name,
            day=request.today,
            before_commit=plan.commit,
            head=head.commit if head else None,
            dirty=head.dirty if head else None,
            judgement=judgement,
            choice=sampling.choice,
        )
        with WaitLock(layout.baseline_lock):
            existing = _read_json(plan.baseline) if plan.baseline.is_file() else None
            shell.store.write_atomically(plan.baseline, merged_baseline(existing, entry).encode())
        baseline_path = plan.baseline
        shown = (
            plan.baseline.relative_to(repo) if plan.baseline.is_relative_to(repo) else plan.baseline
        )
        note += f"; new baseline in {shown}"
    final = record_verification(verifying, verification, request.today, note)
    record_path = layout.verify_record(plan.name)
    shell.store.write_atomically(
        record_path,
        _run_record(
            plan,
            request=request,
            tests=tests,
            before=before,
            after=after,
            sampling=sampling,
            judgement=judgement,
            baseline_path=baseline_path,
        ).encode(),
    )
    shell.store.replace_issue(request.issue_path, current, checked_text(final))
    return VerifyReport(
        issue_path=request.issue_path,
        before_commit=plan.commit,
        tests=tests,
        before=before,
        after=after,
        sampling=sampling,
        judgement=judgement,
        document=final,
        timer=plan.timer.name,
        record_path=record_path,
        baseline_path=baseline_path,
        baseline_target=target,
        notices=tuple(notices),
    )


def _run_record(
    plan: _Plan,
    *,
    request: VerifyRequest,
    tests: CommandRun,
    before: Timings,
    after: Timings,
    sampling: Sampling,
    judgement: Judgement,
    baseline_path: Path | None,
) -> str:
    interval = sampling.interval
    record = {
        "issue": plan.name,
        "date": request.today.isoformat(),
        "before_commit": plan.commit,
        "timer": plan.timer.name,
        "measure": sampling.choice.measure,
        "measure_reason": sampling.choice.reason,
        "measure_setting": request.config.measure,
        "pairs": len(sampling.pairs),
        "batches": list(sampling.batches),
        "stop": sampling.stop.value,
        "timing_s": round(sampling.elapsed_s, 3),
        "time_budget_s": sampling.policy.time_budget_s,
        "max_pairs": sampling.policy.max_pairs,
        "warmup": request.config.warmup,
        "tests": {
            "command": shlex.join(tests.argv),
            "exit_code": tests.exit_code,
            "log": str(tests.log_path),
        },
        "change_percent": interval.change_percent,
        "interval_percent": [interval.low_percent, interval.high_percent],
        "confidence": interval.confidence,
        "outcome": sampling.outcome.value,
        "threshold_percent": request.config.threshold_percent,
        "verdict": judgement.verdict.value,
        "baseline_written": None if baseline_path is None else str(baseline_path),
        # Every run, in the order taken: the pair's round index decides which ran first.
        "pairs_s": [
            {
                "before": {"wall": b.wall_s, "user": b.user_s, "system": b.system_s},
                "after": {"wall": a.wall_s, "user": a.user_s, "system": a.system_s},
            }
            for b, a in sampling.pairs
        ],
        # hyperfine's shape, with the tree in the command name so the two are told apart.
        "results": [
            {**before.hyperfine_result(), "command": f"{before.command} (baseline)"},
            {**after.hyperfine_result(), "command": f"{after.command} (working tree)"},
        ],
    }
    return json.dumps(record, indent=2) + "\n"
