"""Report cells: figures embedded as PNG with alt text, notes, folded sections.

What a report notebook displays besides results: :func:`figure` (a matplotlib figure as an
embeddable ``<img>``), :class:`Note`, :func:`section`, :func:`figures`, :func:`collapsed`.
"""

from __future__ import annotations

import base64
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
    return Figures(tuple(figure(result.plot(kind=kind)) for kind in kinds))
