"""Run the CLI in-process and check its error contract."""

from __future__ import annotations

import io

from perf_identify.cli import main


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def assert_one_error(err: str, fragment: str) -> None:
    """Exactly one `error:` line containing `fragment`, a `hint:` line, and no traceback."""
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert fragment in lines[0], err
    assert any(line.startswith("hint: ") for line in err.splitlines()), err
    assert "Traceback" not in err
