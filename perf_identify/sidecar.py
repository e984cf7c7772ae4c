"""Machine facts about an issue that its text has no field for, in a JSON file beside it.

Contract: identification writes `<issue folder>/.perf-identify/issues/NAME.json` for every issue
file it CREATED or UPDATED (and for an UNCHANGED one that has none yet; never for a KEPT one),
in the same locked write loop as the issue files. `verify` reads it back. The issue text never
carries these facts, so the text stays exactly the spec's template.

The facts (`IdentificationFacts`, format 1): the issue's name, benchmark file and date; the git
commit of HEAD and whether tracked files differed from it when the profile was analysed (None
outside git); the profile's path and sha256; the hotspot's symbol, share, file and line; and
the benchmark command of the repo's config with `{file}` filled in: the command `make analyze`
times (by default `./target/release/santa-cli FILE`; sidecars written before that default lost
santa-cli's profiling flag `-p` still carry it, and `verify`, which times the config's current
command, says so in a notice).

`start_identification_record(...)` gathers the run-wide facts (git state, profile digest, the
repo's config) before anything is written, so a broken `.perf-identify.toml` stops the run
before any issue file changes, and returns the per-issue recorder the pipeline calls after each
write. Git state is read before the issue files are written and ignores the issue folder, so
writing them never makes the tree look dirty.

`read_sidecar` validates every field's type and refuses unknown keys (`IdentificationFacts.
from_json`, by hand rather than with pydantic: `list` and `brief` read sidecars, and an agent calls
them again and again, so they must not pay pydantic's import): a file that is not what we wrote
is a `VerifyError` naming it and the field, never a guess.

Staleness (see `staleness.py`) is recorded here too, in the same locked write phase:
`Recorder.mark_stale` adds `stale_since` (the run's date) and `superseded_by_profile_sha256` (that
run's profile) to the sidecar of each IDENTIFIED issue file the run no longer found hot; a file
already marked keeps its first date; one without a readable sidecar is reported but not marked.
A later run that writes the issue again (created, updated, or unchanged) clears the mark. The two
fields are left out of the JSON while unset, so the sidecar of a current issue is byte for byte
what this format wrote before they existed, and files written before them read as current.
`stale_since(issue_path)` is the mark for `perf-identify list`.

Who drafted the prose, and what a later command needs to rebuild the facts, are recorded too,
each left out of the JSON while unset (so sidecars written before these fields existed read as
they are, and a rewrite of one keeps its shape):

* `drafted_by`: `offline`, `model:<model name>` (the API drafter) or `agent` (a draft an agent
  submitted with `perf-identify draft`). Identification records its drafter for each file it
  writes (`drafted_by`, a name -> label map given to `start_identification_record`); an
  UNCHANGED file keeps its earlier mark, since its prose is the one that mark describes (a
  sidecar with none yet gets this run's, with the run's `source_root` and `min_percent`).
  `record_drafter(issue_path, label)` is `perf-identify draft`'s write. `drafted_by_of(issue_path)`
  reads it back for `list` (None: unknown).
* `source_root` and `min_percent`: the run's `--source-root` and `--min-percent`, which decide
  which frames are the VM's own and which helpers fold into their caller (`fix_sites.py`), so
  `perf-identify brief` rebuilds the same hotspot from the same profile.

`rename_sidecar(out_dir, old, new)` moves a sidecar with its issue file (a suggested name
adopted by `perf-identify draft`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from perf_identify import __version__
from perf_identify.errors import VerifyError
from perf_identify.issues_dir import STATE_DIR as _STATE_DIR
from perf_identify.issues_dir import StateLayout, WriteOutcome
from perf_identify.ports import FILE_ISSUE_STORE, IssueStore
from perf_identify.repo_files import ISSUE_CAP
from perf_identify.staleness import StaleIssue

if TYPE_CHECKING:
    from perf_identify.facts import HotspotFacts

STATE_DIR = _STATE_DIR  # verification still imports it from here; the layout is StateLayout's
SIDECAR_DIR = "issues"


@dataclass(frozen=True, slots=True)
class IdentificationFacts:
    """What identification knew that the issue text does not say."""

    issue: str
    benchmark_file: str
    identified: date
    git_commit: str | None
    git_dirty: bool | None
    profile_path: str
    profile_sha256: str
    symbol: str
    share_percent: float
    file: str
    line: int
    benchmark_command: tuple[str, ...]
    dirty_paths: tuple[str, ...] = ()
    format: int = 1
    tool_version: str = __version__
    stale_since: date | None = None
    """The date of the first run that no longer found this issue hot; None while it is current."""
    superseded_by_profile_sha256: str | None = None
    """The profile of that run."""
    drafted_by: str | None = None
    """`offline`, `model:<name>` or `agent`; None in sidecars written before it was recorded."""
    source_root: str | None = None
    """The run's `--source-root`; None in older sidecars (the default, `lang/src/vm`)."""
    min_percent: float | None = None
    """The run's `--min-percent`; None in older sidecars (the default, 1.0)."""

    def to_json(self) -> dict[str, object]:
        """The JSON object written to the file (dates as ISO strings; see `_OMITTED_WHEN_UNSET`)."""
        data: dict[str, object] = {}
        for name in _FIELD_KINDS:
            value = getattr(self, name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            if value is None and name in _OMITTED_WHEN_UNSET:
                continue
            data[name] = value
        return data

    @classmethod
    def from_json(cls, raw: bytes) -> IdentificationFacts:
        """Parse and check a sidecar; `SidecarProblem` names the first field that is wrong."""
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SidecarProblem("(file)", f"not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise SidecarProblem("(file)", "not a JSON object")
        unknown = sorted(set(data) - set(_FIELD_KINDS))
        if unknown:
            raise SidecarProblem(unknown[0], "extra inputs are not permitted")
        values: dict[str, object] = {}
        for name, kind in _FIELD_KINDS.items():
            if name not in data:
                if name in _REQUIRED:
                    raise SidecarProblem(name, "field required")
                continue
            values[name] = _checked(name, kind, data[name])
        if values.get("format", 1) != 1:
            raise SidecarProblem("format", "input should be 1")
        return cls(**values)  # type: ignore[arg-type]


class SidecarProblem(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


# Each field's JSON kind: what `_checked` accepts for it ("?" suffix: null allowed too).
_FIELD_KINDS = {
    "format": "int",
    "issue": "str",
    "benchmark_file": "str",
    "identified": "date",
    "git_commit": "str?",
    "git_dirty": "bool?",
    "dirty_paths": "strs",
    "profile_path": "str",
    "profile_sha256": "str",
    "symbol": "str",
    "share_percent": "float",
    "file": "str",
    "line": "int",
    "benchmark_command": "strs",
    "tool_version": "str",
    "stale_since": "date?",
    "superseded_by_profile_sha256": "str?",
    "drafted_by": "str?",
    "source_root": "str?",
    "min_percent": "float?",
}
_REQUIRED = frozenset(
    {
        "issue",
        "benchmark_file",
        "identified",
        "git_commit",
        "git_dirty",
        "profile_path",
        "profile_sha256",
        "symbol",
        "share_percent",
        "file",
        "line",
        "benchmark_command",
    }
)


def _checked(name: str, kind: str, value: object) -> object:
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "strs" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise SidecarProblem(name, f"input should be a valid date, not {value!r}") from None
    shown = {"strs": "a list of strings", "date": "a date (YYYY-MM-DD)"}.get(kind, f"a {kind}")
    raise SidecarProblem(name, f"input should be {shown}")


# Left out of the JSON while None: see the module docstring.
_OMITTED_WHEN_UNSET = (
    "stale_since",
    "superseded_by_profile_sha256",
    "drafted_by",
    "source_root",
    "min_percent",
)


def sidecar_path(out_dir: Path, name: str) -> Path:
    return StateLayout(out_dir).sidecar(name)


def issue_sidecar_path(issue_path: Path) -> Path:
    """The sidecar of the issue file at `issue_path` (`perf-issues/NAME.txt`)."""
    return sidecar_path(issue_path.parent, issue_path.stem)


def write_sidecar(
    out_dir: Path, facts: IdentificationFacts, store: IssueStore = FILE_ISSUE_STORE
) -> Path:
    path = sidecar_path(out_dir, facts.issue)
    text = json.dumps(facts.to_json(), indent=2, sort_keys=True) + "\n"
    store.write_atomically(path, text.encode("utf-8"))
    return path


def read_sidecar(path: Path, store: IssueStore = FILE_ISSUE_STORE) -> IdentificationFacts | None:
    """The facts at `path`, None when there is no such file; `VerifyError` when it is broken."""
    try:
        raw = store.read(path, ISSUE_CAP)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VerifyError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return IdentificationFacts.from_json(raw)
    except SidecarProblem as exc:
        raise VerifyError(
            f"{path} is not a perf-identify sidecar: {exc.where}: {exc.message}",
            hint="delete it and rerun perf-identify on the benchmark, or pass --before REF",
        ) from None


def stale_since(issue_path: Path) -> date | None:
    """The stale mark of the issue file at `issue_path`; None when current, without a sidecar, or
    when the sidecar is broken (a view such as `list` shows the file rather than fail on it)."""
    try:
        facts = read_sidecar(issue_sidecar_path(issue_path))
    except VerifyError:
        return None
    return None if facts is None else facts.stale_since


def drafted_by_of(issue_path: Path) -> str | None:
    """Who drafted the prose of the issue file at `issue_path`; None when no sidecar says (none,
    broken, or written before it was recorded)."""
    try:
        facts = read_sidecar(issue_sidecar_path(issue_path))
    except VerifyError:
        return None
    return None if facts is None else facts.drafted_by


def record_drafter(issue_path: Path, label: str) -> bool:
    """Set `drafted_by` in the sidecar of `issue_path`; False when it has none to update."""
    path = issue_sidecar_path(issue_path)
    facts = read_sidecar(path)
    if facts is None:
        return False
    write_sidecar(issue_path.parent, replace(facts, drafted_by=label))
    return True


def rename_sidecar(out_dir: Path, old: str, new: str) -> bool:
    """Move the sidecar of issue `old` to `new` (its `issue` field too); False when it has none.

    The new sidecar is written before the old one is removed, so a crash leaves one of them.
    """
    facts = read_sidecar(sidecar_path(out_dir, old))
    if facts is None:
        return False
    write_sidecar(out_dir, replace(facts, issue=new))
    sidecar_path(out_dir, old).unlink(missing_ok=True)
    return True


def start_identification_record(
    *,
    repo: Path,
    out_dir: Path,
    benchmark_file: str,
    profile_path: Path,
    today: date,
    profile_data: bytes,
    store: IssueStore = FILE_ISSUE_STORE,
    drafted_by: Mapping[str, str] | None = None,
    source_root: str | None = None,
    min_percent: float | None = None,
) -> Recorder:
    """Gather the run's facts now; return the recorder to call after each issue file write.

    `profile_data` is the profile's bytes as decoded (their digest is recorded); the sidecars
    are written through `store`. `drafted_by` maps each issue name this run writes to who
    drafted its prose (see the module docstring); `source_root` and `min_percent` are the run's
    options.
    """
    from perf_identify.benchmark_command import benchmark_argv
    from perf_identify.gitrepo import head_state

    command = benchmark_argv(repo, benchmark_file)
    state = head_state(repo, exclude=out_dir)
    import hashlib

    digest = hashlib.sha256(profile_data).hexdigest()
    try:
        shown_profile = profile_path.relative_to(repo).as_posix()
    except ValueError:
        shown_profile = str(profile_path)
    return Recorder(
        out_dir=out_dir,
        benchmark_file=benchmark_file,
        today=today,
        git_commit=state.commit if state else None,
        git_dirty=state.dirty if state else None,
        dirty_paths=state.dirty_paths if state else (),
        profile_path=shown_profile,
        profile_sha256=digest,
        benchmark_command=tuple(command),
        drafted_by=dict(drafted_by or {}),
        source_root=source_root,
        min_percent=min_percent,
        store=store,
    )


@dataclass(frozen=True, slots=True)
class Recorder:
    """The run-wide facts, and the sidecar writes of the locked write phase that use them."""

    out_dir: Path
    benchmark_file: str
    today: date
    git_commit: str | None
    git_dirty: bool | None
    dirty_paths: tuple[str, ...]
    profile_path: str
    profile_sha256: str
    benchmark_command: tuple[str, ...]
    drafted_by: Mapping[str, str] = field(default_factory=dict)
    source_root: str | None = None
    min_percent: float | None = None
    store: IssueStore = FILE_ISSUE_STORE
    """Where the sidecars are read and written (the issue folder's store)."""

    def __call__(self, facts: HotspotFacts, outcome: WriteOutcome) -> None:
        """Record the facts of one issue file just written (see the module docstring)."""
        path = sidecar_path(self.out_dir, facts.name)
        if outcome is WriteOutcome.KEPT:
            return
        if outcome is WriteOutcome.UNCHANGED and self.store.exists(path):
            # The text and its facts stand; only a stale mark of an earlier run goes, and what
            # a sidecar from before `drafted_by` lacks is filled in (this run's drafter wrote
            # exactly this text).
            self._refresh(path, self.drafted_by.get(facts.name))
            return
        write_sidecar(
            self.out_dir,
            store=self.store,
            facts=IdentificationFacts(
                issue=facts.name,
                benchmark_file=self.benchmark_file,
                identified=self.today,
                git_commit=self.git_commit,
                git_dirty=self.git_dirty,
                dirty_paths=self.dirty_paths,
                profile_path=self.profile_path,
                profile_sha256=self.profile_sha256,
                symbol=facts.hotspot.symbol,
                share_percent=facts.share_percent,
                file=facts.file,
                line=facts.line.line,
                benchmark_command=self.benchmark_command,
                drafted_by=self.drafted_by.get(facts.name),
                source_root=self.source_root,
                min_percent=self.min_percent,
            ),
        )

    def mark_stale(self, stale: Sequence[StaleIssue]) -> tuple[StaleIssue, ...]:
        """Mark each stale issue's sidecar (once); return them with the date of their mark.

        A sidecar that is missing or broken is left as it is (never overwrite what we cannot
        read); its issue comes back with `stale_since=None`.
        """
        marked: list[StaleIssue] = []
        for issue in stale:
            path = sidecar_path(self.out_dir, issue.name)
            try:
                facts = read_sidecar(path, self.store)
            except VerifyError:
                facts = None
            if facts is None:
                marked.append(issue)
                continue
            if facts.stale_since is None:
                facts = replace(
                    facts,
                    stale_since=self.today,
                    superseded_by_profile_sha256=self.profile_sha256,
                )
                write_sidecar(self.out_dir, facts, self.store)
            marked.append(replace(issue, stale_since=facts.stale_since))
        return tuple(marked)

    def _refresh(self, path: Path, drafted_by: str | None) -> None:
        try:
            facts = read_sidecar(path, self.store)
        except VerifyError:
            return
        if facts is None:
            return
        update: dict[str, object] = {}
        if facts.stale_since is not None:
            update.update(stale_since=None, superseded_by_profile_sha256=None)
        if facts.drafted_by is None and drafted_by is not None:
            update["drafted_by"] = drafted_by
        if facts.source_root is None and self.source_root is not None:
            update["source_root"] = self.source_root
        if facts.min_percent is None and self.min_percent is not None:
            update["min_percent"] = self.min_percent
        if update:
            write_sidecar(self.out_dir, replace(facts, **update), self.store)  # type: ignore[arg-type]
