"""Machine facts about an issue that its text has no field for, in a JSON file beside it.

Contract: identification writes `<issue folder>/.perf-identify/issues/NAME.json` for every issue
file it CREATED or UPDATED (and for an UNCHANGED one that has none yet; never for a KEPT one),
in the same locked write loop as the issue files. `verify` reads it back. The issue text never
carries these facts, so the text stays exactly the spec's template.

The facts (`IdentificationFacts`, format 1): the issue's name, benchmark file and date; the git
commit of HEAD and whether tracked files differed from it when the profile was analysed (None
outside git); the profile's path and sha256; the hotspot's symbol, share, file and line; and
the benchmark command of the repo's config with `{file}` filled in.

`start_identification_record(...)` gathers the run-wide facts (git state, profile digest, the
repo's config) before anything is written, so a broken `.perf-identify.toml` stops the run
before any issue file changes, and returns the per-issue recorder the pipeline calls after each
write. Git state is read before the issue files are written and ignores the issue folder, so
writing them never makes the tree look dirty.

`read_sidecar` validates with pydantic (`extra="forbid"`): a file that is not what we wrote is a
`VerifyError` naming it, never a guess.

Staleness (see `staleness.py`) is recorded here too, in the same locked write phase:
`Recorder.mark_stale` adds `stale_since` (the run's date) and `superseded_by_profile_sha256` (that
run's profile) to the sidecar of each IDENTIFIED issue file the run no longer found hot; a file
already marked keeps its first date; one without a readable sidecar is reported but not marked.
A later run that writes the issue again (created, updated, or unchanged) clears the mark. The two
fields are left out of the JSON while unset, so the sidecar of a current issue is byte for byte
what this format wrote before they existed, and files written before them read as current.
`stale_since(issue_path)` is the mark for `perf-identify list`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from perf_identify import __version__
from perf_identify.errors import VerifyError
from perf_identify.facts import HotspotFacts
from perf_identify.gitrepo import head_state
from perf_identify.issues_dir import WriteOutcome, write_file_atomically
from perf_identify.repo_config import load_config
from perf_identify.staleness import StaleIssue

STATE_DIR = ".perf-identify"
SIDECAR_DIR = "issues"


class IdentificationFacts(BaseModel):
    """What identification knew that the issue text does not say."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = 1
    issue: str
    benchmark_file: str
    identified: date
    git_commit: str | None
    git_dirty: bool | None
    dirty_paths: tuple[str, ...] = ()
    profile_path: str
    profile_sha256: str
    symbol: str
    share_percent: float
    file: str
    line: int
    benchmark_command: tuple[str, ...]
    tool_version: str = __version__
    stale_since: date | None = None
    """The date of the first run that no longer found this issue hot; None while it is current."""
    superseded_by_profile_sha256: str | None = None
    """The profile of that run."""


# Left out of the JSON while None: see the module docstring.
_OMITTED_WHEN_UNSET = ("stale_since", "superseded_by_profile_sha256")


def sidecar_path(out_dir: Path, name: str) -> Path:
    return out_dir / STATE_DIR / SIDECAR_DIR / f"{name}.json"


def issue_sidecar_path(issue_path: Path) -> Path:
    """The sidecar of the issue file at `issue_path` (`perf-issues/NAME.txt`)."""
    return sidecar_path(issue_path.parent, issue_path.stem)


def write_sidecar(out_dir: Path, facts: IdentificationFacts) -> Path:
    path = sidecar_path(out_dir, facts.issue)
    data = facts.model_dump(mode="json")
    for key in _OMITTED_WHEN_UNSET:
        if data[key] is None:
            del data[key]
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    write_file_atomically(path, text.encode("utf-8"))
    return path


def read_sidecar(path: Path) -> IdentificationFacts | None:
    """The facts at `path`, None when there is no such file; `VerifyError` when it is broken."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VerifyError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return IdentificationFacts.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise VerifyError(
            f"{path} is not a perf-identify sidecar: {where}: {first['msg']}",
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


def start_identification_record(
    *,
    repo: Path,
    out_dir: Path,
    benchmark_file: str,
    profile_path: Path,
    today: date,
    read_bytes: Callable[[Path], bytes] = Path.read_bytes,
) -> Recorder:
    """Gather the run's facts now; return the recorder to call after each issue file write."""
    config = load_config(repo)
    state = head_state(repo, exclude=out_dir)
    digest = hashlib.sha256(read_bytes(profile_path)).hexdigest()
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
        benchmark_command=tuple(config.benchmark_argv(benchmark_file)),
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

    def __call__(self, facts: HotspotFacts, outcome: WriteOutcome) -> None:
        """Record the facts of one issue file just written (see the module docstring)."""
        path = sidecar_path(self.out_dir, facts.name)
        if outcome is WriteOutcome.KEPT:
            return
        if outcome is WriteOutcome.UNCHANGED and path.exists():
            # The text and its facts stand; only a stale mark of an earlier run goes.
            self._clear_stale_mark(path)
            return
        write_sidecar(
            self.out_dir,
            IdentificationFacts(
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
                facts = read_sidecar(path)
            except VerifyError:
                facts = None
            if facts is None:
                marked.append(issue)
                continue
            if facts.stale_since is None:
                facts = facts.model_copy(
                    update={
                        "stale_since": self.today,
                        "superseded_by_profile_sha256": self.profile_sha256,
                    }
                )
                write_sidecar(self.out_dir, facts)
            marked.append(replace(issue, stale_since=facts.stale_since))
        return tuple(marked)

    def _clear_stale_mark(self, path: Path) -> None:
        try:
            facts = read_sidecar(path)
        except VerifyError:
            return
        if facts is not None and facts.stale_since is not None:
            write_sidecar(
                self.out_dir,
                facts.model_copy(
                    update={"stale_since": None, "superseded_by_profile_sha256": None}
                ),
            )
