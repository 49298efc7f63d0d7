"""Every figure of mlopskit; the only module that imports matplotlib (and seaborn).

Each function takes the result object (or its numbers) and ``ax=None``, draws, sets a title
and axis labels, and returns the Axes. Result objects' ``.plot()`` delegate here lazily.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt


def _axes(ax: Any = None, *, figsize: tuple[float, float] = (7.0, 3.6)) -> Any:
    """Return ``ax`` or a new Axes on a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


# ---- overview (demo / foundation) --------------------------------------------------
def _figure_of(obj: Any) -> Any:
    """The matplotlib Figure behind an Axes, an array of Axes, or a Figure."""
    if hasattr(obj, "savefig"):  # a Figure (or SubFigure's parent)
        return obj
    if hasattr(obj, "get_figure") and obj.get_figure() is not None:
        return obj.get_figure()
    if hasattr(obj, "flat"):  # numpy array of Axes
        return next(iter(obj.flat)).get_figure()
    raise ValueError(f"expected a matplotlib Axes or Figure; got {type(obj).__name__}.")


def alt_text(fig: Any) -> str:
    """Alt text from each Axes' title and axis labels (suptitle first)."""
    parts = []
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    if suptitle:
        parts.append(suptitle)
    for ax in fig.get_axes():
        title = ax.get_title() or ax.get_title(loc="left")
        desc = title or "Chart"
        labels = [t for t in (ax.get_xlabel(), ax.get_ylabel()) if t]
        if labels:
            desc += f" ({' against '.join(reversed(labels))})" if len(labels) == 2 else ""
            if len(labels) == 1:
                desc += f" ({labels[0]})"
        parts.append(desc)
    return "; ".join(parts) or "Figure"


def to_png(obj: Any, *, dpi: int = 100) -> tuple[bytes, str, tuple[int, int]]:
    """Render an Axes/Figure to PNG bytes without metadata and close it.

    Returns the PNG, default alt text (:func:`alt_text`) and the pixel size. The PNG
    carries no ``Software``/date chunks, so the same figure gives the same bytes.
    """
    import io

    fig = _figure_of(obj)
    alt = alt_text(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    png = buf.getvalue()
    # width and height are big-endian uint32 at bytes 16..24 of the IHDR chunk
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    return png, alt, (width, height)


# ---- end overview ------------------------------------------------------------------


# ---- drift (issue 3) ---------------------------------------------------------------


# ---- end drift ---------------------------------------------------------------------


# ---- labels (issue 4) --------------------------------------------------------------


# ---- end labels --------------------------------------------------------------------


# ---- shadow (issue 5) --------------------------------------------------------------


# ---- end shadow --------------------------------------------------------------------


# ---- canary (issue 6) --------------------------------------------------------------


# ---- end canary --------------------------------------------------------------------


# ---- monitoring --------------------------------------------------------------------


# ---- end monitoring ----------------------------------------------------------------
