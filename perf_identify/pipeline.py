"""The one place that runs the identify stages in order; every side effect is a collaborator.

Contract: `identify(request, shell)` validates FILE, runs (or skips) the make targets, decodes and
ranks the profile, resolves each selected hotspot against its source, drafts prose, renders and
writes the issue files under a lock, and returns an `IdentifyReport` for the reporter. It
raises a `PerfIdentifyError` subclass for every expected failure. It prints nothing: progress
goes through `shell.progress`, results through the returned report. Each issue file written
gets a sidecar of machine facts (git commit, profile digest; see `sidecar.py`).

Every file it reads goes through `shell.files` (`ports.RepoFiles`: the profile and source are
regular files, the source confined to the repo, both capped) and every read or write of the
issue folder through `shell.store` (`ports.IssueStore`); tests pass in-memory fakes of both.

Hotspots whose source cannot back a line (file absent, function not found, profile past the
end of the file) are reported in `IdentifyReport.unresolved` and get no issue file.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from perf_identify.benchmark_file import validate_file_argument
from perf_identify.classify import DETAILS
from perf_identify.drafting import Drafter, DraftingSummary, drafted_by_label
from perf_identify.errors import MakeError, PerfIdentifyError, ProfileError
from perf_identify.facts import (
    HotspotFacts,
    RunContext,
    SourceProblem,
    hotspot_facts,
    issue_document,
)
from perf_identify.fix_sites import merge_fix_sites
from perf_identify.hotspots import Hotspot, PathMapper, Ranking, rank_profile
from perf_identify.issues_dir import StateLayout, WriteOutcome
from perf_identify.naming import (
    UNREADABLE,
    FolderEntry,
    FolderNames,
    adopt_suggested_names,
    assign_names,
)
from perf_identify.ports import FILE_ISSUE_STORE, LOCAL_REPO_FILES, IssueStore, RepoFiles
from perf_identify.pprof import Profile, decode_profile, runtime_ms_from_duration
from perf_identify.render import Status, render_issue
from perf_identify.repo_files import PROFILE_CAP, SOURCE_CAP, Refused
from perf_identify.runtime_figure import RuntimeFigure, parse_part_lines, repeated_runtime
from perf_identify.sample_counts import (
    MIN_ISSUE_SAMPLES,
    MORE_SAMPLES_HINT,
    ThinHotspot,
    samples_in,
    thin_hotspots,
)
from perf_identify.sampling import SamplingNote, sampling_note
from perf_identify.staleness import StaleIssue, stale_issues

if TYPE_CHECKING:
    from perf_identify.make_targets import MakeOutcome
    from perf_identify.sidecar import Recorder


class Progress(Protocol):
    def step(self, text: str) -> None:
        """A stage starts (one line, for a status display)."""

    def status(self, text: str, elapsed_s: float) -> None:
        """A long stage is still running."""

    def output(self, line: str) -> None:
        """One line of a child process's output (shown with --verbose)."""

    def notice(self, text: str) -> None:
        """Something the user should know that is not an error."""


@dataclass(frozen=True, slots=True)
class IdentifyRequest:
    repo: Path
    file_arg: str
    out_dir: Path
    today: date
    source_root: str = "lang/src/vm"
    top: int = 5
    min_percent: float = 1.0
    profile: Path | None = None
    skip_make: bool = False
    always_profile: bool = False
    runtime_ms: int | None = None
    timeout_s: float | None = None
    runtime_runs: int = 3
    """Timed runs behind the Runtime: make analyze's one, plus this many minus one more."""

    @property
    def log_dir(self) -> Path:
        return StateLayout(self.out_dir).logs


REPEAT_LIMIT_MS = 10_000
"""Make analyze's timed run is repeated only when it took at most this long: a benchmark of
minutes is timed once (and says so) rather than making the user wait for more runs."""


def _run_benchmark(repo: Path, file_arg: str, log_path: Path, timeout_s: float) -> str:
    """One run of the repo's benchmark command (`.perf-identify.toml`), its output as text."""
    from perf_identify.benchmark_command import benchmark_argv
    from perf_identify.runner import run_logged

    argv = benchmark_argv(repo, str(repo / file_arg))
    run = run_logged(argv, cwd=repo, log_path=log_path, timeout_s=timeout_s)
    if not run.ok:
        raise MakeError(f"the benchmark command exited with {run.exit_code}: {shlex.join(argv)}")
    return log_path.read_text(encoding="utf-8", errors="replace")


def _run_make_stage(*args: Any, **kwargs: Any) -> MakeOutcome:
    # Imported when make runs: --skip-make never loads the process layer.
    from perf_identify.make_targets import run_make_stage

    return run_make_stage(*args, **kwargs)


def _start_identification_record(**kwargs: Any) -> Recorder:
    # Imported when a file is about to be written: the sidecar's schema loads pydantic, which a
    # run that only ranks (no source, --json triage) should not pay for.
    from perf_identify.sidecar import start_identification_record

    return start_identification_record(**kwargs)


@dataclass(frozen=True, slots=True)
class Shell:
    """Everything `identify` may touch, passed in so tests can substitute any of it."""

    drafter: Drafter
    progress: Progress
    run_make: Callable[..., MakeOutcome] = _run_make_stage
    files: RepoFiles = LOCAL_REPO_FILES
    """The profile and the source: regular files only, capped; source confined to the repo."""
    store: IssueStore = FILE_ISSUE_STORE
    """The issue folder: its scan, its lock, the issue files and their sidecars."""
    # Gathers git state, profile digest and config before writing; records one sidecar per file.
    record_facts: Callable[..., Recorder] = _start_identification_record
    # Runs the repo's benchmark command once more; returns what it printed.
    run_benchmark: Callable[[Path, str, Path, float], str] = _run_benchmark


@dataclass(frozen=True, slots=True)
class IssueRow:
    facts: HotspotFacts
    outcome: WriteOutcome
    path: Path
    drafter: str
    fallback_reason: str = ""


@dataclass(frozen=True, slots=True)
class IdentifyReport:
    request: IdentifyRequest
    file_arg: str
    runtime: RuntimeFigure
    profile_path: Path
    make: MakeOutcome | None
    ranking: Ranking
    selected: tuple[Hotspot, ...]
    rows: tuple[IssueRow, ...]
    unresolved: tuple[SourceProblem, ...]
    drafting: DraftingSummary
    sampling: SamplingNote | None = None
    """Sampled time against the profile's duration and the Runtime (see `sampling.py`)."""
    stale: tuple[StaleIssue, ...] = ()
    """IDENTIFIED files of this benchmark that this run did not find hot (`staleness.py`)."""
    thin: tuple[ThinHotspot, ...] = ()
    """Selected hotspots with too few samples for an issue file (`sample_counts.py`)."""


def identify(request: IdentifyRequest, shell: Shell) -> IdentifyReport:
    """Run the whole `/perf-identify FILE` job; see the module docstring."""
    repo = request.repo
    file_arg = validate_file_argument(repo, request.file_arg)
    make_outcome: MakeOutcome | None = None
    if request.skip_make:
        profile_path = request.profile or repo / "profile.pb"
    else:
        shell.progress.step(f"make analyze FILE={file_arg}")
        make_outcome = shell.run_make(
            repo,
            file_arg,
            request.log_dir,
            always_profile=request.always_profile,
            timeout_s=request.timeout_s,
            on_line=shell.progress.output,
            status=shell.progress.status,
            notice=shell.progress.notice,
        )
        profile_path = make_outcome.artifacts.profile_pb

    shell.progress.step(f"decoding {profile_path.name}")
    profile_data = _read_profile(profile_path, repo, shell.files, given=request.profile is not None)
    profile = _decode(profile_data, profile_path, given=request.profile is not None)
    runtime = _runtime(request, make_outcome, profile, shell)

    mapper = PathMapper(request.source_root, lambda rel: shell.files.is_file(repo / rel))
    ranking = rank_profile(profile, mapper)
    _require_hotspots(ranking, request, profile_path)
    # One issue per fix site: helpers folded into the hotspot whose loop calls them.
    ranking = replace(ranking, hotspots=merge_fix_sites(ranking.hotspots, request.min_percent))
    shell.progress.notice(
        f"profile kind: {ranking.kind.value} "
        + (
            "(one location per address: true line numbers)"
            if ranking.kind.value == "per-address"
            else "(pprof-rs, one location per function: line numbers are not trusted)"
        )
    )
    selected = tuple(
        h for h in ranking.hotspots if round(h.share_percent, 1) >= request.min_percent
    )[: request.top]

    context = RunContext(
        benchmark_file=file_arg,
        runtime_ms=runtime.milliseconds,
        total=ranking.total,
        unit=ranking.value_type.unit,
        kind=ranking.kind,
    )
    # The issue folder is scanned once; naming, and keeping an earlier run's choices, read it.
    folder = _folder_names(shell.store, request.out_dir)
    resolved, unresolved, thin = _resolve(selected, ranking, context, folder, shell, repo)

    if not resolved:
        # The caller shows the ranking and says which source is missing; nothing is invented.
        return IdentifyReport(
            request, file_arg, runtime, profile_path, make_outcome, ranking, selected, (),
            tuple(unresolved), DraftingSummary(drafter=shell.drafter.name, results=()),
            sampling=sampling_note(ranking, runtime.milliseconds), thin=thin,
        )  # fmt: skip

    keys = [(file_arg, facts.file, facts.function) for facts, _ in resolved]
    names = assign_names(
        keys,
        [facts.name for facts, _ in resolved],
        folder,
        [facts.classification.detail for facts, _ in resolved],
        DETAILS,
    )
    resolved = [(_renamed(f, n), lines) for (f, lines), n in zip(resolved, names, strict=True)]
    shell.progress.step(f"drafting {len(resolved)} issue(s) with the {shell.drafter.name} drafter")
    drafting = shell.drafter.draft_all([f for f, _ in resolved], [lines for _, lines in resolved])
    suggested = [r.draft.name if not r.fallback_reason else None for r in drafting.results]
    names = adopt_suggested_names(keys, names, suggested, folder)
    resolved = [(_renamed(f, n), lines) for (f, lines), n in zip(resolved, names, strict=True)]

    record = shell.record_facts(
        repo=repo,
        out_dir=request.out_dir,
        benchmark_file=file_arg,
        profile_path=profile_path,
        today=request.today,
        profile_data=profile_data,
        store=shell.store,
        # Who drafted each file's prose, and what `perf-identify brief` needs to rebuild its facts.
        drafted_by={
            facts.name: drafted_by_label(result.drafter)
            for (facts, _), result in zip(resolved, drafting.results, strict=True)
        },
        source_root=request.source_root,
        min_percent=request.min_percent,
    )
    shell.progress.step(f"writing {request.out_dir}")
    rows: list[IssueRow] = []
    with shell.store.lock_folder(request.out_dir):
        for (facts, _lines), drafted in zip(resolved, drafting.results, strict=True):
            text = render_issue(issue_document(facts, drafted.draft, request.today))
            outcome = shell.store.write_issue(request.out_dir, facts.name, text)
            record(facts, outcome)
            rows.append(
                IssueRow(
                    facts,
                    outcome,
                    request.out_dir / f"{facts.name}.txt",
                    drafted.drafter,
                    drafted.fallback_reason,
                )
            )
        # Earlier files of this benchmark that this run did not write: marked in the same locked
        # phase as the writes, so no other run sees the folder half rerun.
        written = [row.facts.name for row in rows]
        unjudged = [problem.hotspot.file for problem in unresolved]
        thin_symbols = [item.hotspot.symbol for item in thin]
        stale = record.mark_stale(
            stale_issues(
                shell.store.scan(request.out_dir), file_arg, written, unjudged, thin_symbols
            )
        )
    return IdentifyReport(
        request,
        file_arg,
        runtime,
        profile_path,
        make_outcome,
        ranking,
        selected,
        tuple(rows),
        tuple(unresolved),
        drafting,
        sampling=sampling_note(ranking, runtime.milliseconds),
        stale=stale,
        thin=thin,
    )


def _resolve(  # noqa: PLR0917 - the stage's inputs, each from an earlier step of identify
    selected: Sequence[Hotspot],
    ranking: Ranking,
    context: RunContext,
    folder: FolderNames,
    shell: Shell,
    repo: Path,
) -> tuple[list[tuple[HotspotFacts, list[str]]], list[SourceProblem], tuple[ThinHotspot, ...]]:
    """Facts for every selected hotspot the profile and the source can back."""
    resolved: list[tuple[HotspotFacts, list[str]]] = []
    unresolved: list[SourceProblem] = []
    # Too few samples make a share noise: such hotspots stay in the table, with no issue file.
    # A hotspot whose source is not here is a source problem first (run in the VM checkout).
    _, thin = thin_hotspots([h for h in selected if h.source_exists and h.file], ranking)
    too_thin = {item.hotspot.symbol for item in thin}
    enough = [h for h in selected if h.symbol not in too_thin]
    for item in thin:
        shell.progress.notice(
            f"no issue file for #{item.hotspot.rank}: {item.samples} samples "
            f"(fewer than {MIN_ISSUE_SAMPLES})"
        )
    for hotspot in enough:
        read = _read_source(repo, hotspot, shell)
        text = None if isinstance(read, SourceProblem) else read
        result = (
            read
            if isinstance(read, SourceProblem)
            else hotspot_facts(hotspot, text, context, folder=folder)
        )
        if isinstance(result, SourceProblem):
            unresolved.append(result)
            shell.progress.notice(f"no issue file for #{hotspot.rank}: {result.reason}")
        else:
            resolved.append((result, (text or "").splitlines()))
    return resolved, unresolved, thin


def _read_profile(path: Path, repo: Path, files: RepoFiles, *, given: bool) -> bytes:
    """The profile's bytes. One named with --profile is the user's own file, read wherever it
    is (links followed); the default `profile.pb` is the repo's and read confined to it."""
    try:
        if given or not path.is_relative_to(repo):
            return files.read_regular(path.resolve(), PROFILE_CAP)
        return files.read_in_repo(repo, path.relative_to(repo), PROFILE_CAP)
    except Refused as exc:
        raise ProfileError(
            f"profile {path} refused: {exc.reason}",
            hint="pass the profile.pb file that make profile wrote (a regular file)",
        ) from None
    except FileNotFoundError as exc:
        raise ProfileError(
            f"profile {path} not found",
            hint="run make profile first, or pass --profile PATH",
        ) from exc
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from exc


def _decode(data: bytes, path: Path, *, given: bool = False) -> Profile:
    """Decode the profile read from `path`; `given` when the user named it with --profile, so a
    broken one is their file to fix, not a make target to re-run."""
    try:
        return decode_profile(data, str(path))
    except ProfileError as exc:
        if not given:
            raise
        raise ProfileError(
            exc.message,
            hint="--profile names a file that is not a usable pprof CPU profile: pass the "
            "profile.pb that make profile (pprof-rs) or perf-identify record wrote",
        ) from exc


def _runtime(
    request: IdentifyRequest,
    make_outcome: MakeOutcome | None,
    profile: Profile,
    shell: Shell,
) -> RuntimeFigure:
    progress = shell.progress
    if request.runtime_ms is not None:
        return RuntimeFigure(request.runtime_ms, "option")
    if make_outcome is not None and make_outcome.runtime is not None:
        return _repeat(request, make_outcome.runtime, shell)
    if make_outcome is not None:
        progress.notice("make analyze printed no TIMING section; Runtime is the profile's duration")
    return RuntimeFigure(runtime_ms_from_duration(profile), "profile")


def _repeat(request: IdentifyRequest, first: RuntimeFigure, shell: Shell) -> RuntimeFigure:
    """make analyze times one run; one run on a busy machine is noise, not a runtime. Short
    benchmarks are run `runtime_runs - 1` more times and the median is reported."""
    extra = request.runtime_runs - 1
    if extra <= 0 or first.source != "parts" or first.milliseconds > REPEAT_LIMIT_MS:
        return first
    more: list[tuple[int, ...]] = []
    for index in range(extra):
        shell.progress.step(f"timing run {index + 2} of {request.runtime_runs}")
        log = request.log_dir / f"runtime-{index + 2}.log"
        timeout = request.timeout_s or max(60.0, 10 * first.milliseconds / 1000)
        try:
            text = shell.run_benchmark(request.repo, request.file_arg, log, timeout)
        except PerfIdentifyError as exc:
            shell.progress.notice(f"Runtime from {len(more) + 1} run(s): {exc.message}")
            break
        parts = parse_part_lines(text)
        if parts is None:
            shell.progress.notice(
                f"Runtime from {len(more) + 1} run(s): the benchmark printed no Part timings"
            )
            break
        more.append(parts)
    return repeated_runtime(first, more)


def _require_hotspots(ranking: Ranking, request: IdentifyRequest, path: Path) -> None:
    total = samples_in(ranking.total, ranking)
    if total is not None and total < MIN_ISSUE_SAMPLES:
        # A handful of samples (a benchmark over in milliseconds) says nothing, not even
        # whether the build has debug info.
        raise ProfileError(
            f"profile too thin: {path} holds {total} sample(s) in all, fewer than "
            f"{MIN_ISSUE_SAMPLES}; no issue file written",
            hint=MORE_SAMPLES_HINT,
        )
    if ranking.hotspots:
        return
    if ranking.unknown_fraction > 0.5:
        raise ProfileError(
            f"{path} has no debug info: {ranking.unknown_fraction:.0%} of samples end in "
            "frames named Unknown",
            hint="profile a build with debug info (the `profiling` cargo profile: debug = true)",
        )
    raise ProfileError(
        f"no sample in {path} has a frame under {request.source_root}/",
        hint="check --source-root; the profile's files are listed by `go tool pprof -top`",
    )


def _read_source(repo: Path, hotspot: Hotspot, shell: Shell) -> str | SourceProblem | None:
    """The hotspot's source text; None when it is absent, a `SourceProblem` naming the reason
    when `repo_files` refuses it (a link out of the repo, a FIFO, a file over the cap)."""
    if not hotspot.source_exists or not hotspot.file:
        return None
    try:
        data = shell.files.read_in_repo(repo, hotspot.file, SOURCE_CAP)
    except Refused as exc:
        return SourceProblem(hotspot, f"source file {hotspot.file} refused: {exc.reason}")
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


def _folder_names(store: IssueStore, out_dir: Path) -> FolderNames:
    entries: list[FolderEntry] = []
    for existing in store.scan(out_dir):
        doc = existing.document
        if doc is None:
            entries.append(FolderEntry(existing.name, UNREADABLE))
            continue
        key = (doc.benchmark_file, doc.file, doc.function)
        identified = doc.status is Status.IDENTIFIED
        entries.append(FolderEntry(existing.name, key, doc.line, identified))
    return FolderNames.of(entries)


def _renamed(facts: HotspotFacts, name: str) -> HotspotFacts:
    return facts if facts.name == name else replace(facts, name=name)
