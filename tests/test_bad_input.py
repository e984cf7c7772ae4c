"""The bad-input matrix of docs/bad-input.md: one test per row.

Each test checks what the user sees (one `error:` line and a `hint:`, no traceback), the exit
code of the stage that failed, and what is left on disk (nothing half-written, nothing the user
had lost). The model-facing rows (401, 429, 529, timeout, a schema-breaking reply, a hostile
name) are exercised against the fake Messages server in tests/test_llm_drafter.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from perf_identify.issues_dir import OutputLock
from tests.builders import VM_ROOT, ProfileBuilder
from tests.cli_runs import assert_one_error, run_cli
from tests.conftest import REPO_ROOT
from tests.fake_vm import BENCHMARK, STACKS, make_fake_vm, recorded_profile

EXIT_USAGE, EXIT_MAKE, EXIT_PROFILE, EXIT_SOURCE, EXIT_WRITE, EXIT_INTERRUPTED = 2, 3, 4, 5, 7, 130


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_fake_vm(tmp_path)


def _issues(repo: Path) -> dict[str, bytes]:
    folder = repo / "perf-issues"
    return {p.name: p.read_bytes() for p in folder.glob("*.txt")} if folder.is_dir() else {}


def _leftover_temp_files(repo: Path) -> list[Path]:
    return list((repo / "perf-issues").glob(".*.tmp-*"))


def _with_profile(repo: Path, data: bytes) -> tuple[int, str, str]:
    (repo / "given.pb").write_bytes(data)
    return run_cli(BENCHMARK, "--repo", str(repo), "--profile", str(repo / "given.pb"))


# -- FILE --------------------------------------------------------------------------------------


def test_file_missing(repo: Path) -> None:
    code, _, err = run_cli("examples/nope.santa", "--repo", str(repo))
    assert code == EXIT_USAGE
    assert_one_error(err, "nope.santa")
    assert _issues(repo) == {}


def test_file_is_a_directory(repo: Path) -> None:
    code, _, err = run_cli("examples", "--repo", str(repo))
    assert code == EXIT_USAGE
    assert_one_error(err, "examples")


@pytest.mark.parametrize("outside", ["../elsewhere.santa", "/etc/hostname"])
def test_file_outside_the_repo(repo: Path, outside: str) -> None:
    code, _, err = run_cli(outside, "--repo", str(repo))
    assert code == EXIT_USAGE
    assert_one_error(err, "")


@pytest.mark.parametrize(
    "name",
    ["with space.santa", "x;touch pwned", "$(touch pwned)", "`touch pwned`", "x\ntouch pwned"],
    ids=["spaces", "semicolon", "dollar-paren", "backticks", "newline"],
)
def test_file_with_shell_or_make_metacharacters(repo: Path, name: str) -> None:
    code, _, err = run_cli(name, "--repo", str(repo))
    assert code == EXIT_USAGE
    assert_one_error(err, "")
    assert not (repo / "pwned").exists()
    assert _issues(repo) == {}


# -- make --------------------------------------------------------------------------------------


def test_no_makefile(repo: Path) -> None:
    (repo / "Makefile").unlink()
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo))
    assert code == EXIT_MAKE
    assert_one_error(err, "no Makefile")


def test_target_missing(repo: Path) -> None:
    (repo / "Makefile").write_text("build:\n\t@true\n")
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo))
    assert code == EXIT_MAKE
    assert_one_error(err, "analyze")


def test_target_fails_with_its_exit_code_and_log(repo: Path) -> None:
    (repo / "Makefile").write_text("analyze:\n\t@echo compiling\n\t@echo 'boom' >&2; exit 7\n")
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo))
    assert code == EXIT_MAKE
    assert_one_error(err, "failed with exit code")
    log = repo / "perf-issues" / ".perf-identify" / "logs" / "make-analyze.log"
    assert str(log) in err
    assert "boom" in log.read_text()


def test_target_hangs_and_is_killed_with_its_children(repo: Path) -> None:
    (repo / "Makefile").write_text("analyze:\n\t@sleep 1000 & echo $$! > sleeper.pid; wait\n")
    started = time.monotonic()
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo), "--timeout", "1")
    assert code == EXIT_MAKE
    assert_one_error(err, "timed out")
    assert time.monotonic() - started < 30
    pid = int((repo / "sleeper.pid").read_text())
    assert not _running(pid)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_profile_missing_after_make(repo: Path) -> None:
    (repo / "recorded-profile.pb").unlink()
    (repo / "Makefile").write_text("analyze:\n\t@echo ok\nprofile:\n\t@echo no profile\n")
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo))
    assert code == EXIT_MAKE
    assert_one_error(err, "profile.pb")


def test_profile_stale_older_than_the_run(repo: Path) -> None:
    (repo / "profile.pb").write_bytes(recorded_profile())
    (repo / "flamegraph.svg").write_text("<svg/>")
    old = time.time() - 3600
    for name in ("profile.pb", "flamegraph.svg"):
        os.utime(repo / name, (old, old))
    (repo / "Makefile").write_text("analyze:\n\t@echo ok\nprofile:\n\t@echo did nothing\n")
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo))
    assert code == EXIT_MAKE
    assert_one_error(err, "stale")
    assert _issues(repo) == {}


# -- profile -----------------------------------------------------------------------------------


def test_profile_missing_with_skip_make(repo: Path) -> None:
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo), "--skip-make")
    assert code == EXIT_PROFILE
    assert_one_error(err, "profile.pb not found")


@pytest.mark.parametrize(
    ("label", "data", "fragment"),
    [
        ("empty", b"", "is empty"),
        ("truncated", recorded_profile()[:-9], "given.pb"),
        ("truncated-gzip", recorded_profile(compress=True)[:200], "gzip"),
        ("random", bytes(range(7, 251)) * 3, "given.pb"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_profile_unreadable(repo: Path, label: str, data: bytes, fragment: str) -> None:
    code, _, err = _with_profile(repo, data)
    assert code == EXIT_PROFILE, label
    assert_one_error(err, fragment)
    assert _issues(repo) == {}


def test_profile_with_dangling_ids(repo: Path) -> None:
    builder = ProfileBuilder()
    builder.sample(["lang::vm::runtime::VM::index_op"], 3)
    message = builder.message()
    message.sample[0].location_id.append(4242)
    code, _, err = _with_profile(repo, message.SerializeToString())
    assert code == EXIT_PROFILE
    assert_one_error(err, "location 4242")


def _gzip_bomb(inflated: int) -> bytes:
    """A small gzip file that inflates to `inflated` zero bytes (about 1000:1)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = bytes(16 << 20)
    parts = [packer.compress(chunk) for _ in range(inflated // len(chunk))]
    return b"".join([*parts, packer.flush()])


def test_profile_gzip_bomb_is_capped(repo: Path) -> None:
    code, _, err = _with_profile(repo, _gzip_bomb((1 << 30) + (16 << 20)))
    assert code == EXIT_PROFILE
    assert_one_error(err, "inflates to more than")


def test_profile_with_zero_samples(repo: Path) -> None:
    builder = ProfileBuilder()
    builder.sample(["lang::vm::runtime::VM::index_op"], 1)
    message = builder.message()
    message.ClearField("sample")
    code, _, err = _with_profile(repo, message.SerializeToString())
    assert code == EXIT_PROFILE
    assert_one_error(err, "no samples")


def test_profile_without_debug_info(repo: Path) -> None:
    builder = ProfileBuilder()
    builder.sample([("Unknown", "Unknown", 0), ("Unknown", "Unknown", 0)], 50)
    code, _, err = _with_profile(repo, builder.build())
    assert code == EXIT_PROFILE
    assert_one_error(err, "no debug info")


def _stacks_profile(**options: object) -> ProfileBuilder:
    builder = ProfileBuilder(**options)  # type: ignore[arg-type]
    for stack, count in STACKS:
        builder.sample(stack, count)
    return builder


def test_a_heap_profile_is_not_ranked_as_cpu_time(repo: Path) -> None:
    heap = _stacks_profile(sample_types=(("alloc_objects", "count"), ("alloc_space", "bytes")))
    code, out, err = _with_profile(repo, heap.build())
    assert code == EXIT_PROFILE
    assert_one_error(err, "measures alloc_space/bytes")
    assert "% of total" not in out
    assert _issues(repo) == {}


def test_a_negative_sample_value_is_refused(repo: Path) -> None:
    builder = _stacks_profile()
    builder.sample(["lang::vm::runtime::VM::index_op"], -3)
    code, _, err = _with_profile(repo, builder.build())
    assert code == EXIT_PROFILE
    assert_one_error(err, "a CPU profile's values are never negative")
    assert _issues(repo) == {}


def test_a_negative_duration_is_refused(repo: Path) -> None:
    code, _, err = _with_profile(repo, _stacks_profile(duration_nanos=-1).build())
    assert code == EXIT_PROFILE
    assert_one_error(err, "duration_nanos is -1, a negative duration")
    assert _issues(repo) == {}


def test_a_zero_duration_is_no_runtime(repo: Path) -> None:
    (repo / "given.pb").write_bytes(_stacks_profile(duration_nanos=0).build())
    given = ("--repo", str(repo), "--skip-make", "--profile", str(repo / "given.pb"))
    code, out, err = run_cli(BENCHMARK, *given)
    assert code == EXIT_PROFILE
    assert_one_error(err, "states no duration (duration_nanos is 0), so the Runtime is unknown")
    assert "--runtime-ms" in err
    assert "Runtime: 0ms" not in out
    assert _issues(repo) == {}
    code, out, _ = run_cli(BENCHMARK, *given, "--runtime-ms", "42000")
    assert code == 0
    assert "Runtime: 42000ms" in out


# -- source ------------------------------------------------------------------------------------


def test_source_file_missing(repo: Path) -> None:
    (repo / "lang" / "src" / "vm" / "runtime.rs").unlink()
    (repo / "lang" / "src" / "vm" / "value.rs").unlink()
    code, out, err = run_cli(BENCHMARK, "--repo", str(repo))
    assert code == EXIT_SOURCE
    assert_one_error(err, "lang/src/vm/runtime.rs not found")
    assert "VM::index_op" in out
    assert not list((repo / "perf-issues").glob("*.txt"))


def test_source_changed_since_the_profile(repo: Path) -> None:
    builder = ProfileBuilder(per_function=False)
    runtime = f"{VM_ROOT}/runtime.rs"
    builder.sample(
        [("core::hint::select_unpredictable", "/rustc/x/library/core/src/hint.rs", 1),
         ("lang::vm::runtime::VM::index_op", runtime, 9000)],
        100,
    )  # fmt: skip
    code, _, err = _with_profile(repo, builder.build())
    assert code == EXIT_SOURCE
    assert_one_error(err, "source changed since the profile was recorded")
    assert not list((repo / "perf-issues").glob("*.txt"))


@pytest.mark.parametrize(
    "comment",
    ["// TODO [idx] [date] #[cold] <insert here>", "// " + "long comment " * 40],
    ids=["todo-and-brackets", "longer-than-300"],
)
def test_cited_line_with_brackets_todo_or_length_is_quoted_not_refused(
    repo: Path, comment: str
) -> None:
    runtime = repo / "lang" / "src" / "vm" / "runtime.rs"
    cited = "let graphemes: Vec<&str> = s.graphemes(true).collect();"
    source = runtime.read_text()
    assert source.count(cited) == 1
    runtime.write_text(source.replace(cited, f"{cited} {comment}"))
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo), "-q")
    assert code == 0, err
    issue = (repo / "perf-issues" / "STRING_GRAPHEME_COLLECT_IN_INDEX_OP.txt").read_text()
    assert f"{cited} {comment}"[:60] in " ".join(issue.split())


# -- output ------------------------------------------------------------------------------------


def test_output_folder_not_writable(repo: Path) -> None:
    # Root ignores permission bits, so make the folder's parent a regular file instead.
    (repo / "blocker").write_text("")
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo), "--out", str(repo / "blocker" / "x"))
    assert code == EXIT_WRITE
    assert_one_error(err, "blocker")


def test_issue_file_already_in_progress_is_kept(repo: Path) -> None:
    assert run_cli(BENCHMARK, "--repo", str(repo))[0] == 0
    target = repo / "perf-issues" / "STRING_GRAPHEME_COLLECT_IN_INDEX_OP.txt"
    edited = target.read_text().replace("STATUS: IDENTIFIED", "STATUS: IN_PROGRESS")
    target.write_text(edited)
    code, out, _ = run_cli(BENCHMARK, "--repo", str(repo))
    assert code == 0
    assert target.read_text() == edited
    assert "(kept" in out


def test_two_runs_at_once_on_one_folder(repo: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from perf_identify.issues_dir import OutputLock\n"
            "with OutputLock(Path(sys.argv[1])):\n"
            "    print('locked', flush=True); time.sleep(60)",
            str(repo / "perf-issues"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = run_cli(BENCHMARK, "--repo", str(repo))
        assert code == EXIT_WRITE
        assert_one_error(err, "another perf-identify run")
        assert not list((repo / "perf-issues").glob("*.txt"))
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()


def test_ctrl_c_while_writing_leaves_no_partial_file_and_releases_the_lock(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    calls = {"n": 0}

    def interrupt_second_file(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupt_second_file)
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo))
    assert code == EXIT_INTERRUPTED
    assert "error: interrupted" in err
    assert "Traceback" not in err
    assert _leftover_temp_files(repo) == []
    written = list((repo / "perf-issues").glob("*.txt"))
    assert len(written) == 1
    monkeypatch.setattr(os, "replace", real_replace)
    with OutputLock(repo / "perf-issues"):
        pass
    assert run_cli(BENCHMARK, "--repo", str(repo))[0] == 0


HOSTILE_NAMES = [
    "lang::vm::runtime::[link=file:///etc/passwd]x[/link]",
    "lang::vm::runtime::[/x]",
    "lang::vm::runtime::\x1b[31mred",
    "lang::vm::runtime::nul\x00byte",
    "lang::vm::runtime::\u202eevil",
]


def _raw_controls(text: str) -> list[str]:
    return [ch for ch in text if ch in "\x1b\x00\u202e\x9b"]


def test_profile_text_is_shown_escaped_never_as_markup(repo: Path) -> None:
    builder = _stacks_profile()
    for name in HOSTILE_NAMES:
        builder.sample([name, "lang::vm::runtime::VM::run"], 900)
    code, out, err = _with_profile(repo, builder.build())
    assert code == 0, err
    assert "MarkupError" not in err
    assert _raw_controls(out + err) == []
    assert "\\u{001B}[31mred" in out
    assert "[/x]" in out
    code, out, err = run_cli(
        BENCHMARK, "--repo", str(repo), "--profile", str(repo / "given.pb"), "--json"
    )
    assert code == 0, err
    symbols = {hotspot["symbol"] for hotspot in json.loads(out)["hotspots"]}
    assert "lang::vm::runtime::\\u{001B}[31mred" in symbols
    assert "lang::vm::runtime::nul\\u{0000}byte" in symbols
    assert _raw_controls("".join(symbols)) == []


def test_a_deleted_working_directory_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    """A shell left in a folder that was removed under it: one error, one hint, exit 2."""
    gone = tmp_path / "gone"
    gone.mkdir()
    script = (
        "import os, sys\n"
        f"os.chdir({str(gone)!r}); os.rmdir({str(gone)!r})\n"
        "from perf_identify.cli import main\n"
        "sys.exit(main(['list']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2, result.stderr
    assert_one_error(result.stderr, "the current directory no longer exists")


# -- the error fits the case -------------------------------------------------------------------


def test_missing_file_is_the_first_thing_said(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code, _, err = run_cli("examples/nope.santa", "--repo", str(repo))
    assert code == EXIT_USAGE
    assert err.startswith("error: "), err
    assert "ANTHROPIC_API_KEY" not in err


def test_no_makefile_hint_names_repo_option(repo: Path) -> None:
    (repo / "Makefile").unlink()
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo))
    assert code == EXIT_MAKE
    assert_one_error(err, "no Makefile")
    assert "--repo DIR" in err.splitlines()[-1]


def test_make_failure_names_the_command_not_found(repo: Path) -> None:
    # The Makefile's `perf-identify record` is not on PATH; a later step still prints.
    (repo / "Makefile").write_text(
        "analyze:\n\t@echo 'Compiling'\n"
        "\t@no-such-tool-on-path record -- true; echo 'Finished profiling in 0.01s'; exit 127\n"
    )
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo), "--quiet")
    assert code == EXIT_MAKE
    assert_one_error(err, "no-such-tool-on-path: not found")
    assert "Finished profiling" not in err
    assert "not on PATH" in err.splitlines()[-1]


def test_a_given_profile_that_is_not_one_gets_a_hint_about_the_file(repo: Path) -> None:
    """The user named the file with --profile: the hint speaks of that file, not of make."""
    code, _, err = _with_profile(repo, b"this is not a protobuf, it is a text file\n")
    assert code == 4
    assert_one_error(err, "given.pb")
    hint = next(line for line in err.splitlines() if line.startswith("hint: "))
    assert "--profile names a file that is not a usable pprof CPU profile" in hint
    assert "re-run make profile" not in hint
