"""The plugin's own files: manifests, icon, licence, command frontmatter, launcher and hook.

The real client checks these too (`tests/test_claude_code_e2e.py` runs `claude plugin validate`
and the commands headless); these tests are fast, need no Claude Code, and say exactly what
is wrong. The launcher is tested with a stand-in Python whose `pip install` only records what
it was given, so its install, reuse and reinstall rules run in milliseconds without a network.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import struct
import subprocess
import tomllib
import zlib
from pathlib import Path

import pytest

from perf_identify import __version__
from perf_identify.cli import COMMANDS
from tests.conftest import REPO_ROOT

PLUGIN = json.loads((REPO_ROOT / ".claude-plugin" / "plugin.json").read_text())
MARKETPLACE = json.loads((REPO_ROOT / ".claude-plugin" / "marketplace.json").read_text())
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
COMMAND_FILES = sorted((REPO_ROOT / "commands").glob("*.md"))
LAUNCHER = REPO_ROOT / "bin" / "perf-identify"
HOOK = REPO_ROOT / "hooks" / "export-data-dir"


# --- manifests, licence, icon ----------------------------------------------------------------


def test_one_version_and_name_everywhere() -> None:
    (entry,) = MARKETPLACE["plugins"]
    assert PLUGIN["name"] == entry["name"] == MARKETPLACE["name"] == "perf-identify"
    assert PLUGIN["version"] == entry["version"] == __version__ == PYPROJECT["project"]["version"]
    assert PLUGIN["description"] == entry["description"]
    assert entry["source"] == "./"


def test_licence_is_mit_in_every_place_that_says() -> None:
    assert PLUGIN["license"] == PYPROJECT["project"]["license"] == "MIT"
    assert (REPO_ROOT / "LICENSE").read_text().startswith("MIT License\n")


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: list[tuple[bytes, bytes]] = []
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


def test_icon_is_a_square_png_the_plugin_directory_accepts() -> None:
    path = REPO_ROOT / PLUGIN["icon"]
    data = path.read_bytes()
    assert len(data) < 2 * 1024 * 1024
    chunks = _png_chunks(data)
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1][0] == b"IEND"
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert width == height
    assert 512 <= width <= 2048
    assert (depth, colour) == (8, 6)  # 8-bit RGBA, as scripts/make_icon.py writes it
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(pixels) == height * (1 + 4 * width)
    assert len(set(pixels[1 + 4 * width * 200 :][: 4 * width])) > 4  # not a blank square


# --- command files ---------------------------------------------------------------------------


def _frontmatter(path: Path) -> tuple[dict[str, str], str]:
    text = path.read_text()
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    assert match is not None, f"{path.name}: no frontmatter"
    fields = dict(line.split(": ", 1) for line in match.group(1).splitlines())
    return fields, match.group(2)


def _bash_rules(allowed_tools: str) -> list[str]:
    """`Bash(prefix:*)` rules as prefixes; a bare `Bash` would allow anything, so none is."""
    tools = [tool.strip() for tool in re.split(r",\s*(?![^()]*\))", allowed_tools)]
    assert "Bash" not in tools, "a bare Bash lets the command run anything"
    rules = []
    for tool in tools:
        match = re.fullmatch(r"Bash\((.+):\*\)", tool)
        if tool.startswith("Bash"):
            assert match is not None, f"unexpected Bash rule {tool}"
        if match:
            rules.append(match.group(1))
    return rules


def _bash_calls(body: str) -> list[str]:
    """Each command line of the body's ```bash blocks (continuations joined)."""
    calls = []
    for block in re.findall(r"```bash\n(.*?)```", body, re.DOTALL):
        calls += [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    return calls


@pytest.mark.parametrize("path", COMMAND_FILES, ids=[p.stem for p in COMMAND_FILES])
def test_command_frontmatter_and_allowed_tools_cover_its_cli_calls(path: Path) -> None:
    fields, body = _frontmatter(path)
    assert fields["description"]
    assert fields["argument-hint"].startswith("<")
    # Every command builds, measures or writes files: only the user starts it.
    assert fields["disable-model-invocation"] == "true"
    rules = _bash_rules(fields["allowed-tools"])
    calls = _bash_calls(body)
    assert calls, f"{path.name} runs nothing"
    for call in calls:
        assert any(call == rule or call.startswith(rule + " ") for rule in rules), (
            f"{path.name}: `{call}` is not allowed by {fields['allowed-tools']}"
        )
        words = shlex.split(call.replace("$ARGUMENTS", "FILE"))
        if words[0] == "perf-identify" and words[1] != "FILE":
            assert words[1] in COMMANDS, f"{path.name}: no CLI command {words[1]!r}"
    # No rule allows more perf-identify than the body runs, beyond the read-only `list`.
    used = {shlex.split(c)[1] if c.split()[1] != "$ARGUMENTS" else "" for c in calls}
    for rule in rules:
        words = rule.split()
        if words[0] == "perf-identify" and len(words) > 1:
            assert words[1] in used | {"list"}, f"{path.name}: {rule} is never used"
    assert "$ARGUMENTS" in body


# --- bin/perf-identify and the SessionStart hook ---------------------------------------------

FAKE_PYTHON = """\
#!/usr/bin/env bash
# Stands in for python3: the launcher's version check, `-m venv DIR`, and, as DIR/bin/python,
# `-m pip install ... SRC` (which records SRC's listing and writes a perf-identify that echoes).
case "$1 $2" in
  "-c "*) exit 0 ;;
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0 ;;
  "-m pip")
    src="${@: -1}"
    (cd "$src" && find . | sort) > "$FAKE_PIP_LOG.$(date +%s%N)"
    if [ -n "${FAKE_PIP_FAILS:-}" ]; then echo "pip: cannot reach the index" >&2; exit 1; fi
    venv="$(cd "$(dirname "$0")/.." && pwd)"
    printf '#!/bin/sh\\necho "fake perf-identify $*"\\n' > "$venv/bin/perf-identify"
    chmod +x "$venv/bin/perf-identify"
    exit 0 ;;
esac
exit 2
"""


@pytest.fixture
def plugin_root(tmp_path: Path) -> Path:
    """A plugin folder with the real launcher and stand-ins for what it installs from."""
    root = tmp_path / "plugin"
    (root / "bin").mkdir(parents=True)
    (root / ".claude-plugin").mkdir()
    (root / "bin" / "perf-identify").write_bytes(LAUNCHER.read_bytes())
    (root / "bin" / "perf-identify").chmod(0o755)
    (root / ".claude-plugin" / "plugin.json").write_text(json.dumps(PLUGIN, indent=2))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        (root / name).write_text(name)
    for name in ("perf_identify", "prompts", "commands"):
        (root / name).mkdir()
        (root / name / "x").write_text(name)
    (root / "perf_identify" / "slash_commands").symlink_to("../commands")
    return root


@pytest.fixture
def python(tmp_path: Path) -> Path:
    path = tmp_path / "fake-python"
    path.write_text(FAKE_PYTHON)
    path.chmod(0o755)
    return path


def _launch(
    root: Path, python: Path, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "PERF_IDENTIFY_PYTHON": str(python),
        "FAKE_PIP_LOG": str(tmp_path / "pip"),
        "TMPDIR": str(tmp_path),
    }
    return subprocess.run(
        [str(root / "bin" / "perf-identify"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _installs(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("pip.*"))


def test_launcher_installs_once_per_version_into_the_plugin_data_folder(
    plugin_root: Path, python: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = _launch(plugin_root, python, tmp_path, "list", PERF_IDENTIFY_PLUGIN_DATA=str(data))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "fake perf-identify list\n"
    assert f"installing version {PLUGIN['version']} into {data / 'venv'}" in first.stderr
    assert (data / "venv" / ".perf-identify-plugin-version").read_text() == PLUGIN["version"] + "\n"
    (listing,) = _installs(tmp_path)
    files = listing.read_text().split()
    # Built from a copy of exactly the package's sources, the commands symlink kept.
    assert "./perf_identify/slash_commands" in files
    assert "./bin" not in files
    assert not list((tmp_path).glob("perf-identify-src.*"))  # the copy is gone

    again = _launch(plugin_root, python, tmp_path, "-h", PERF_IDENTIFY_PLUGIN_DATA=str(data))
    assert again.returncode == 0
    assert again.stdout == "fake perf-identify -h\n"
    assert again.stderr == ""
    assert len(_installs(tmp_path)) == 1

    manifest = plugin_root / ".claude-plugin" / "plugin.json"
    manifest.write_text(manifest.read_text().replace(PLUGIN["version"], "9.9.9"))
    bumped = _launch(plugin_root, python, tmp_path, "list", PERF_IDENTIFY_PLUGIN_DATA=str(data))
    assert bumped.returncode == 0, bumped.stderr
    assert "installing version 9.9.9" in bumped.stderr
    assert len(_installs(tmp_path)) == 2
    assert (data / "venv" / ".perf-identify-plugin-version").read_text() == "9.9.9\n"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PERF_IDENTIFY_PLUGIN_DATA": "ours", "CLAUDE_PLUGIN_DATA": "claude"}, "ours"),
        ({"CLAUDE_PLUGIN_DATA": "claude", "XDG_CACHE_HOME": "xdg"}, "claude"),
        ({"XDG_CACHE_HOME": "xdg"}, "xdg/perf-identify"),
        ({}, "home/.cache/perf-identify"),
    ],
)
def test_launcher_data_folder_precedence(
    plugin_root: Path, python: Path, tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    done = _launch(
        plugin_root, python, tmp_path, "list", **{k: str(tmp_path / v) for k, v in env.items()}
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / expected / "venv" / "bin" / "perf-identify").is_file()


def test_launcher_failed_install_says_why_and_retries_next_time(
    plugin_root: Path, python: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    failed = _launch(
        plugin_root,
        python,
        tmp_path,
        "list",
        PERF_IDENTIFY_PLUGIN_DATA=str(data),
        FAKE_PIP_FAILS="1",
    )
    assert failed.returncode == 1
    assert "pip: cannot reach the index" in failed.stderr  # the log's tail
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: could not install perf-identify {PLUGIN['version']} into "
                      f"{data / 'venv'}"]  # fmt: skip
    assert any(
        line.startswith(f"hint: see {data / 'install.log'}") for line in failed.stderr.splitlines()
    )
    assert not (data / "venv").exists()
    ok = _launch(plugin_root, python, tmp_path, "list", PERF_IDENTIFY_PLUGIN_DATA=str(data))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "fake perf-identify list\n"


def test_launcher_without_a_new_enough_python_says_so(plugin_root: Path, tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("bash", "env", "sed", "head", "cat", "mkdir", "flock", "readlink", "dirname"):
        found = subprocess.run(["which", tool], capture_output=True, text=True, check=False)
        if found.returncode == 0:
            (tools / tool).symlink_to(found.stdout.strip())
    done = _launch(
        plugin_root, tmp_path / "no-python", tmp_path, "list",
        PATH=str(tools), PERF_IDENTIFY_PLUGIN_DATA=str(tmp_path / "data"),
    )  # fmt: skip
    assert done.returncode == 1
    assert "error: perf-identify needs Python 3.11 or newer, and none was found" in done.stderr
    assert "hint: " in done.stderr


def _hook(tmp_path: Path, **env: str) -> str:
    env_file = tmp_path / "session.env"
    env_file.write_text("")
    subprocess.run(
        [str(HOOK)],
        env={"PATH": os.environ["PATH"], "CLAUDE_ENV_FILE": str(env_file), **env},
        check=True,
        timeout=30,
    )
    return env_file.read_text()


def test_hook_exports_the_data_folder_for_the_bash_tool(tmp_path: Path) -> None:
    data = str(tmp_path / "plugin data's folder")
    exported = _hook(tmp_path, CLAUDE_PLUGIN_DATA=data)
    seen = subprocess.run(
        ["bash", "-c", f'source {shlex.quote(str(tmp_path / "session.env"))}; '
         'printf %s "$PERF_IDENTIFY_PLUGIN_DATA"'],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert seen == data, exported
    # A folder the user chose wins; without Claude Code's variables the hook does nothing.
    assert _hook(tmp_path, CLAUDE_PLUGIN_DATA=data, PERF_IDENTIFY_PLUGIN_DATA="/mine") == ""
    assert _hook(tmp_path) == ""


def test_hooks_json_runs_the_hook_script() -> None:
    hooks = json.loads((REPO_ROOT / "hooks" / "hooks.json").read_text())
    (entry,) = hooks["hooks"]["SessionStart"]
    (hook,) = entry["hooks"]
    assert hook["command"] == '"${CLAUDE_PLUGIN_ROOT}/hooks/export-data-dir"'
    assert os.access(HOOK, os.X_OK)
    assert os.access(LAUNCHER, os.X_OK)
