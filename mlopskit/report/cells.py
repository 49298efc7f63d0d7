"""Report cells: figures embedded as PNG with alt text, notes, folded sections.

What a report notebook displays besides results: :func:`figure` (a matplotlib figure as an
embeddable ``<img>``), :class:`Note`, :func:`section`, :func:`figures`, :func:`collapsed`.
"""

from __future__ import annotations

import base64
import functools
import os
import pickle
import select
import signal
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlopskit._display import escape


@dataclass(frozen=True, slots=True)
class Figure:
    """A PNG figure with alt text, displayed as an ``<img>`` embedded in the HTML."""

    png: bytes
    alt: str
    width: int
    height: int

    def __repr__(self) -> str:  # never the PNG bytes as text/plain
        return (
            f"<Figure {self.width}×{self.height} px, {len(self.png):,} bytes PNG: {self.alt[:80]}>"
        )

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        return (
            f'<figure class="mk-figure"><img src="data:image/png;base64,{data}" '
            f'alt="{escape(self.alt)}" width="{self.width}" height="{self.height}"></figure>'
        )


def figure(obj: Any, alt: str | None = None, *, dpi: int = 100) -> Figure:
    """Turn a matplotlib Axes/Figure into an embeddable PNG with alt text (and close it).

    ``alt`` defaults to the figure's titles and axis labels. Display the returned object
    (``display(report.figure(result.plot()))`` or as a cell's last expression).
    """
    from mlopskit import plots

    png, default_alt, (w, h) = plots.to_png(obj, dpi=dpi)
    return Figure(png=png, alt=alt or default_alt, width=w, height=h)


# --------------------------------------------------------------------------------------
# Report sections: which analysis runs on which input, and how a missing one shows
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Note:
    """A short paragraph in a report (e.g. why a section is empty)."""

    text: str

    def _repr_html_(self) -> str:
        return f'<p class="mk-note"><em>{escape(self.text)}</em></p>'


@dataclass(frozen=True, slots=True)
class Figures:
    """Several figures displayed in one output."""

    figures: tuple[Figure, ...]

    def __repr__(self) -> str:
        return (
            f"<{len(self.figures)} figure(s): " + "; ".join(f.alt[:60] for f in self.figures) + ">"
        )

    def _repr_html_(self) -> str:
        return "".join(f._repr_html_() for f in self.figures)


@dataclass(frozen=True, slots=True)
class Collapsed:
    """A long result folded under a one-line summary (HTML ``<details>``, no script)."""

    result: Any
    summary: str

    def _repr_html_(self) -> str:
        inner = self.result._repr_html_() if hasattr(self.result, "_repr_html_") else ""
        return (
            f'<details class="mk-details"><summary>{escape(self.summary)}</summary>'
            f"{inner}</details>"
        )


def collapsed(result: Any, summary: str) -> Any:
    """``result`` folded under ``summary`` (for long per-window tables); ``None`` passes."""
    return None if result is None else Collapsed(result, summary)


def section(result: Any, what: str) -> Any:
    """``result`` itself, or a :class:`Note` saying the section has no data."""
    if result is None:
        return Note(f"No {what} in the data: this section is empty.")
    return result


def figures(result: Any, *kinds: str) -> Figures | Note:
    """The result's figures (``result.plot(kind)`` for each kind, or ``result.plot()``)."""
    if result is None:
        return Note("No figure: the section has no data.")
    if not kinds:
        return Figures((figure(result.plot()),))
    return Figures(render_all([functools.partial(_kind_figure, result, kind) for kind in kinds]))


def _kind_figure(result: Any, kind: str) -> Figure:
    return figure(result.plot(kind=kind))


#: render_all uses a second process (``False``: always one after the other)
PARALLEL = hasattr(os, "fork") and sys.platform != "darwin"


def render_all(makers: Sequence[Callable[[], Figure]]) -> tuple[Figure, ...]:
    """``tuple(make() for make in makers)``, the odd-numbered ones drawn by a forked copy of
    this process on the machine's other core while this one draws the even-numbered ones.

    A figure is a pure function of the result it is drawn from, so the copy's PNG is the
    same byte for byte (tests/test_report_kernel.py). The copy only draws: whenever it
    would have shown something (a warning, printed output), raised, or did not answer in
    time, its figures are drawn here instead, one after the other, so warnings, errors and
    outputs are exactly those of a plain loop.
    """
    if not PARALLEL or len(makers) < 2:
        return tuple(make() for make in makers)
    mine, theirs = list(range(0, len(makers), 2)), list(range(1, len(makers), 2))
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the copy: draw, send the PNGs, exit without any clean-up of the kernel's
        os.close(read_fd)
        code = 1
        try:
            _draw_in_copy(makers, theirs, write_fd)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    out: dict[int, Figure] = {}
    try:
        t0 = time.monotonic()
        for i in mine:
            out[i] = makers[i]()
        # the copy has as much to draw as this process had: allow it ample time
        out.update(
            _receive(read_fd, deadline=time.monotonic() + max(20.0, 5 * (time.monotonic() - t0)))
        )
    finally:
        os.close(read_fd)
        _reap(pid)
    return tuple(out[i] if i in out else makers[i]() for i in range(len(makers)))


def _draw_in_copy(makers: Sequence[Callable[[], Figure]], which: list[int], fd: int) -> None:
    import io

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # an interrupted cell ends the copy at once
    sys.stdout = sys.stderr = shown = io.StringIO()
    drawn: dict[int, Figure] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in which:
            fig = makers[i]()
            if caught or shown.getvalue():
                break  # this and the rest are drawn by the parent (it shows what this showed)
            drawn[i] = fig
    data = pickle.dumps({i: (f.png, f.alt, f.width, f.height) for i, f in drawn.items()})
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)


def _receive(fd: int, deadline: float) -> dict[int, Figure]:
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return {}  # no answer in time: drawn here
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    try:
        got = pickle.loads(b"".join(chunks))
    except Exception:  # the copy failed part-way: drawn here
        return {}
    return {i: Figure(png=p, alt=a, width=w, height=h) for i, (p, a, w, h) in got.items()}


def _reap(pid: int) -> None:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass
