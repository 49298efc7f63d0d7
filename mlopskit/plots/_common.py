"""Shared figure machinery: report settings, new Axes, PNG export with alt text."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

import matplotlib.pyplot as plt
from matplotlib.text import Text

F = TypeVar("F", bound=Callable[..., Any])

# No matplotlib.use() here: forcing a backend at import would replace Jupyter's inline
# backend and a bare ``result.plot()`` would never show. Headless runs fall back to Agg.


def use_report_settings() -> None:
    """Deterministic figures for reports: a fixed SVG hash salt (ids do not vary per run)."""
    plt.rcParams["svg.hashsalt"] = "mlopskit"


_TICK_MATH = re.compile(r"\$\\mathdefault\{[-−0-9.,^{}\\times ]*\}\$")


def literal_text(fn: F) -> F:
    """Draw data strings literally: no mathtext in any text of the figure ``fn`` returns.

    Segment values, category and feature names come from the data; a value such as
    ``$\\notacommand{x}$`` crashed matplotlib's mathtext parser (the report FAILED) and two
    ``$`` rendered as a formula. The figure is built and its ticks updated (tick labels
    are created then; no draw, no layout) with ``text.parse_math`` off, and every text
    artist keeps it off.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with plt.rc_context({"text.parse_math": False}):
            out = fn(*args, **kwargs)
            try:
                fig = _figure_of(out)
            except ValueError:
                return out
            _make_tick_labels(fig)
            for t in fig.findobj(Text):
                # matplotlib's own log-axis tick labels ($\mathdefault{10^{-1}}$) stay math;
                # everything else, data strings included, is drawn literally
                t.set_parse_math(bool(_TICK_MATH.fullmatch(t.get_text())))
        return out

    return wrapper  # type: ignore[return-value]


def _make_tick_labels(fig: Any) -> None:
    """Create the tick labels of every Axes of ``fig`` (their texts exist only once the ticks
    are updated) without drawing or laying out the figure: the real draw (``to_png``,
    Jupyter's display) lays it out at its final size and DPI anyway."""
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            axis.get_ticklabels(which="both")  # updates the major and minor ticks
            axis.offsetText.set_text(axis.get_major_formatter().get_offset())


def _axes(ax: Any = None, *, figsize: tuple[float, float] = (7.0, 3.6)) -> Any:
    """Return ``ax`` or a new Axes on a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _legend(ax: Any, **kw: Any) -> Any:
    """The legend outside the data: to the right of the axes, top-aligned, no frame."""
    opts = {
        "loc": "upper left",
        "bbox_to_anchor": (1.01, 1.0),
        "borderaxespad": 0.0,
        "fontsize": "small",
        "frameon": False,
        **kw,
    }
    return ax.legend(**opts)


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
        desc = ax.get_title() or ax.get_title(loc="left") or "Chart"
        x, y = ax.get_xlabel(), ax.get_ylabel()
        if x and y:
            desc += f" — {y} by {x}"
        elif x or y:
            desc += f" — {x or y}"
        parts.append(desc)
    return "; ".join(parts) or "Figure"


#: colours kept when a report figure is stored as a palette PNG (see :func:`to_png`).
PNG_COLOURS = 128


def to_png(
    obj: Any, *, dpi: int = 100, colours: int | None = PNG_COLOURS
) -> tuple[bytes, str, tuple[int, int]]:
    """Render an Axes/Figure to PNG bytes without metadata and close it.

    Returns the PNG, default alt text (:func:`alt_text`) and the pixel size. The PNG
    carries no ``Software``/date chunks, so the same figure gives the same bytes. With
    ``colours`` (default 128) the image is stored as an opaque palette PNG of at most that
    many colours (median cut, no dithering: deterministic): a line or bar chart looks the
    same and takes about a third of the bytes; ``None`` keeps full RGBA.

    A figure with constrained layout (every figure of :mod:`mlopskit.plots`) already fits
    its titles, labels and outside legends into the canvas: it is drawn once at its own
    size (no ``bbox_inches="tight"``, whose extra dry draw re-ran the layout and measured
    every text again) and the pixels go straight to the palette step, without a PNG
    encode/decode in between. Any other figure is cropped to its content as before.
    """
    import io

    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from PIL import Image

    fig = _figure_of(obj)
    alt = alt_text(fig)
    fitted = isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    if colours is not None and fitted:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig.set_dpi(dpi)
        canvas = FigureCanvasAgg(fig)  # what savefig does for a PNG, minus the encoding
        canvas.draw()
        h, w = canvas.get_renderer().height, canvas.get_renderer().width
        raw = bytes(canvas.buffer_rgba())
        plt.close(fig)
        img = Image.frombuffer("RGBA", (int(w), int(h)), raw, "raw", "RGBA", 0, 1).convert("RGB")
    else:
        buf = io.BytesIO()
        fig.savefig(
            buf,
            format="png",
            dpi=dpi,
            metadata={"Software": None},
            bbox_inches=None if fitted else "tight",
        )
        plt.close(fig)
        png = buf.getvalue()
        if colours is None:
            return png, alt, _png_size(png)
        img = Image.open(io.BytesIO(png)).convert("RGB")
    small = img.quantize(
        colors=int(colours), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return png, alt, _png_size(png)


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of a PNG: big-endian uint32 at bytes 16..24 of the IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
