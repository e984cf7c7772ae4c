"""Progress on stderr: a live status line on a terminal, plain lines in a pipe or a log.

Every line passes through `display_text.visible`: notices quote function names, paths and make
output, and a control character in them must not act on the terminal.
"""

from __future__ import annotations

from typing import TextIO

from perf_identify.display_text import visible


class ConsoleProgress:
    """Implements the pipeline's `Progress` protocol for a person watching stderr."""

    # A pipe gets a heartbeat this often instead of a repainted line.
    HEARTBEAT_S = 30.0

    def __init__(self, stream: TextIO, *, quiet: bool, verbose: bool) -> None:
        self._stream = stream
        self._quiet = quiet
        self._verbose = verbose
        self._tty = stream.isatty()
        self._last_heartbeat = 0.0
        self._status_shown = False

    def _clear(self) -> None:
        if self._tty and self._status_shown:
            self._stream.write("\r\x1b[2K")
            self._status_shown = False

    def _line(self, text: str) -> None:
        self._clear()
        self._stream.write(visible(text) + "\n")
        self._stream.flush()

    def step(self, text: str) -> None:
        if not self._quiet:
            self._line(f"perf-identify: {text}")

    def status(self, text: str, elapsed_s: float) -> None:
        if self._quiet:
            return
        line = visible(f"  {text} ... {elapsed_s:.0f}s")
        if self._tty:
            self._stream.write("\r\x1b[2K" + line)
            self._status_shown = True
            self._stream.flush()
        elif elapsed_s - self._last_heartbeat >= self.HEARTBEAT_S:
            self._last_heartbeat = elapsed_s
            self._line(line)

    def output(self, line: str) -> None:
        if self._verbose:
            self._line(line)

    def notice(self, text: str) -> None:
        if not self._quiet:
            self._line(f"perf-identify: {text}")

    def done(self) -> None:
        self._clear()
