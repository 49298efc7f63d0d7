"""A progress line for calls that take more than a couple of seconds (no dependency).

``with progress("monitoring evidence", 8) as p: p.step("input drift"); ...`` shows, once the
call has run for ``MIN_SECONDS``, one line that is updated in place:

* in a Jupyter notebook: a display that is updated at each step and ends as one line
  ("monitoring evidence: done in 19.5 s, 8 steps");
* on a terminal (stderr is a TTY): ``\\r``-rewritten on stderr, refreshed every half second
  while a step runs, ended by a newline;
* anywhere else (pipes, CI logs, tests): nothing.

It never shows in a rendered report: the report kernel sets ``MLOPSKIT_PROGRESS=0``
(:func:`mlopskit.report.notebook.write_kernelspec`), so executed notebooks carry no
progress output and renders stay byte-identical. ``MLOPSKIT_PROGRESS=0`` turns it off
anywhere, ``MLOPSKIT_PROGRESS=1`` forces the terminal form on any stream.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

#: a call shows progress only once it has run this long (seconds).
MIN_SECONDS = 2.0


def _mode(stream: TextIO) -> str:
    env = os.environ.get("MLOPSKIT_PROGRESS", "").strip()
    if env == "0":
        return "off"
    if _in_notebook():
        return "notebook"
    if env == "1" or getattr(stream, "isatty", lambda: False)():
        return "terminal"
    return "off"


def _in_notebook() -> bool:
    ip = sys.modules.get("IPython")
    if ip is None:
        return False
    shell = ip.get_ipython() if hasattr(ip, "get_ipython") else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class Progress:
    """The progress of one call (use :func:`progress`)."""

    def __init__(self, label: str, total: int, stream: TextIO, mode: str) -> None:
        self.label, self.total, self.stream, self.mode = label, total, stream, mode
        self.start = time.monotonic()
        self.done = 0
        self.current = ""
        self.shown = False
        self._handle: Any = None
        self._lock = threading.Lock()

    def line(self, final: bool = False) -> str:
        t = time.monotonic() - self.start
        if final:
            return f"{self.label}: done in {t:.1f} s, {self.done} steps"
        return f"{self.label}: step {self.done}/{self.total} {self.current} · {t:.1f} s"

    def step(self, name: str) -> None:
        """Start the next step (``name``: what it computes)."""
        with self._lock:
            self.done += 1
            self.current = name
        self._show()

    def _show(self, final: bool = False) -> None:
        if self.mode == "off":
            return
        if not self.shown and time.monotonic() - self.start < MIN_SECONDS:
            return
        text = self.line(final)
        if self.mode == "notebook":
            from IPython.display import display

            bundle = {"text/plain": text}
            if self._handle is None:
                self._handle = display(bundle, raw=True, display_id=True)
            else:
                self._handle.update(bundle, raw=True)
        else:
            with self._lock:
                self.stream.write("\r" + text.ljust(78) + ("\n" if final else ""))
                self.stream.flush()
        self.shown = True


@contextmanager
def progress(label: str, total: int, *, stream: TextIO | None = None) -> Iterator[Progress]:
    """Progress of a call of ``total`` steps (see the module docstring)."""
    out = sys.stderr if stream is None else stream
    p = Progress(label, total, out, _mode(out))
    stop = threading.Event()
    ticker = None
    if p.mode == "terminal":  # refresh the elapsed time while a long step runs

        def tick() -> None:
            while not stop.wait(0.5):
                p._show()

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
    try:
        yield p
    finally:
        stop.set()
        if ticker is not None:
            ticker.join()
        if p.shown:
            p._show(final=True)
