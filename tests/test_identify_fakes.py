"""`identify` with its file ports faked: the profile, the source and the issue folder live in
memory (`tests.fake_ports`), make and the sidecar's git facts are stand-ins.

On disk there is only the benchmark program (FILE is checked where make would run it); each test
ends by checking that nothing else was written there, so every read and write the run made went
through `Shell.files` and `Shell.store`.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from perf_identify.drafting import OfflineDrafter
from perf_identify.issue_update import update_issue
from perf_identify.issues_dir import StateLayout, WriteOutcome
from perf_identify.lifecycle import set_status
from perf_identify.make_targets import MakeOutcome, ProfileArtifacts, TargetRun
from perf_identify.pipeline import IdentifyReport, IdentifyRequest, Shell, identify
from perf_identify.render import Status, parse_issue
from perf_identify.repo_files import Refused
from perf_identify.runtime_figure import RuntimeFigure
from perf_identify.sidecar import IdentificationFacts, Recorder, sidecar_path
from tests.fake_ports import MemoryIssueStore, MemoryRepoFiles, RecordingProgress
from tests.fake_vm import BENCHMARK, FAKE_VM, recorded_profile

DAY = date(2026, 12, 1)
ISSUE = "STRING_GRAPHEME_COLLECT_IN_INDEX_OP"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout that holds only the benchmark program."""
    repo = tmp_path / "vm"
    (repo / "examples").mkdir(parents=True)
    (repo / BENCHMARK).write_bytes((FAKE_VM / BENCHMARK).read_bytes())
    return repo


@pytest.fixture
def files(repo: Path) -> MemoryRepoFiles:
    memory = MemoryRepoFiles()
    memory.files[repo / "profile.pb"] = recorded_profile()
    for source in sorted((FAKE_VM / "lang" / "src" / "vm").glob("*.rs")):
        memory.files[repo / source.relative_to(FAKE_VM)] = source.read_bytes()
    return memory


def _make(repo: Path, file_arg: str, log_dir: Path, **_: Any) -> MakeOutcome:
    """make analyze and make profile as they end on the real VM: a timed run and a profile."""
    run = TargetRun("analyze", ("make", "analyze"), 0, "", log_dir / "analyze.log", 0.0, 1.0, ())
    return MakeOutcome(
        analyze=run,
        profile=None,
        artifacts=ProfileArtifacts(repo / "profile.pb", repo / "flamegraph.svg"),
        profile_skipped=True,
        runtime=RuntimeFigure(12_000, "parts", (7000, 5000)),
    )


def _recorder(store: MemoryIssueStore) -> Any:
    def start(**facts: Any) -> Recorder:
        return Recorder(
            out_dir=facts["out_dir"],
            benchmark_file=facts["benchmark_file"],
            today=facts["today"],
            git_commit="c0ffee" * 6 + "beef",
            git_dirty=False,
            dirty_paths=(),
            profile_path="profile.pb",
            profile_sha256=hashlib.sha256(facts["profile_data"]).hexdigest(),
            benchmark_command=("santa-cli", facts["benchmark_file"]),
            drafted_by=facts["drafted_by"],
            store=facts["store"],
        )

    return start


def _run(
    repo: Path, files: MemoryRepoFiles, store: MemoryIssueStore
) -> tuple[IdentifyReport, RecordingProgress]:
    progress = RecordingProgress()
    shell = Shell(
        drafter=OfflineDrafter(),
        progress=progress,
        run_make=_make,
        files=files,
        store=store,
        record_facts=_recorder(store),
    )
    request = IdentifyRequest(repo, BENCHMARK, repo / "perf-issues", DAY, runtime_runs=1)
    return identify(request, shell), progress


def _on_disk(repo: Path) -> list[str]:
    return sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file())


def test_identify_reads_and_writes_only_through_its_ports(
    repo: Path, files: MemoryRepoFiles
) -> None:
    store = MemoryIssueStore()
    report, _ = _run(repo, files, store)

    out = repo / "perf-issues"
    written = {row.path.name: row.outcome for row in report.rows}
    assert written[f"{ISSUE}.txt"] is WriteOutcome.CREATED
    assert set(written.values()) == {WriteOutcome.CREATED}
    for row in report.rows:
        document = parse_issue(store.text(row.path))
        assert document.status is Status.IDENTIFIED
        assert document.runtime_ms == 12_000
        facts = IdentificationFacts.from_json(store.files[sidecar_path(out, row.path.stem)])
        assert facts.profile_sha256 == hashlib.sha256(recorded_profile()).hexdigest()
    # The profile and the sources were read through the port, nothing else was written to disk.
    assert repo / "profile.pb" in files.reads
    assert repo / "lang/src/vm/runtime.rs" in files.reads
    assert _on_disk(repo) == [BENCHMARK]
    assert not store.held, "every lock was released"


def test_a_rerun_keeps_a_file_past_identified_byte_for_byte(
    repo: Path, files: MemoryRepoFiles
) -> None:
    store = MemoryIssueStore()
    first, _ = _run(repo, files, store)
    issue = repo / "perf-issues" / f"{ISSUE}.txt"
    update_issue(issue, lambda doc: set_status(doc, Status.IN_PROGRESS, DAY, "on it"), store)
    moved = store.files[issue]

    again, _ = _run(repo, files, store)
    outcomes = {row.path.name: row.outcome for row in again.rows}
    assert outcomes[f"{ISSUE}.txt"] is WriteOutcome.KEPT
    assert store.files[issue] == moved
    others = {name for name in outcomes if name != f"{ISSUE}.txt"}
    assert others
    assert all(outcomes[name] is WriteOutcome.UNCHANGED for name in others)
    assert len(first.rows) == len(again.rows)
    assert _on_disk(repo) == [BENCHMARK]


def test_a_refused_source_is_a_source_problem_and_nothing_of_it_is_quoted(
    repo: Path, files: MemoryRepoFiles
) -> None:
    files.files[repo / "lang/src/vm/runtime.rs"] = Refused(
        "resolves to /etc/passwd, outside the repo"
    )
    store = MemoryIssueStore()
    report, progress = _run(repo, files, store)

    reasons = [problem.reason for problem in report.unresolved]
    assert any("lang/src/vm/runtime.rs refused: resolves to /etc/passwd" in r for r in reasons)
    assert all(row.facts.file != "lang/src/vm/runtime.rs" for row in report.rows)
    assert any("refused" in notice for notice in progress.notices)
    assert _on_disk(repo) == [BENCHMARK]


def test_a_held_folder_lock_stops_the_write_phase_and_writes_nothing(
    repo: Path, files: MemoryRepoFiles
) -> None:
    from perf_identify.errors import WriteError

    store = MemoryIssueStore()
    store.held.add(StateLayout(repo / "perf-issues").lock)
    with pytest.raises(WriteError, match="locked"):
        _run(repo, files, store)
    assert not [path for path in store.files if path.suffix == ".txt"]
