"""Small HTML/text helpers shared by result objects (no dataframe engine, no matplotlib).

Every string that may come from data (segment values, feature names, model names) goes
through :func:`escape` before it reaches HTML; tables are rendered with pandas' escaping on.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _format
from mlopskit.verdict import VERDICT_COLOURS, Reason

#: a result's text repr shows at most this many lines of its ``summary()``.
MAX_REPR_LINES = 24


def short_repr(self: object) -> str:
    """Concise text repr of a result object: its ``summary()`` cut to one screen.

    Used as ``__repr__ = _display.short_repr`` by result classes, so ``repr(result)``,
    logs and a notebook's ``text/plain`` output stay short (a raw dataclass repr of a
    result with tables runs to 100,000+ characters).
    """
    text = str(self.summary())  # type: ignore[attr-defined]
    lines = [ln if len(ln) <= 160 else ln[:157] + "…" for ln in text.splitlines()]
    if len(lines) > MAX_REPR_LINES:
        more = len(lines) - MAX_REPR_LINES
        lines = [
            *lines[:MAX_REPR_LINES],
            f"… {more} more line(s): .summary() prints all, .to_frame() has the numbers.",
        ]
    return "\n".join(lines)


def same_value(a: Any, b: Any) -> bool:
    """Equality in which NaN equals NaN, recursively through tuples, lists, dicts,
    dataclass-like results, numpy arrays and pandas objects (a result pickled and read
    back compares equal to itself, even with NaN fields)."""
    if a is b:
        return True
    if type(a) is not type(b):
        # numbers of different types (int vs numpy int) still compare by value
        if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
            return bool(a == b) or bool(np.isnan(a) and np.isnan(b))
        return False
    if isinstance(a, float | np.floating):
        return bool(a == b) or bool(np.isnan(a) and np.isnan(b))
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, pd.DataFrame | pd.Series | pd.Index):
        return bool(a.equals(b))
    slots = _fields(a)
    if slots is not None:
        return all(same_value(getattr(a, f), getattr(b, f)) for f in slots)
    return bool(a == b)


def _fields(obj: object) -> tuple[str, ...] | None:
    fields = getattr(type(obj), "__dataclass_fields__", None)
    return None if fields is None else tuple(fields)


def nan_safe_eq(self: object, other: object) -> bool:
    """``__eq__`` of result classes: same class and every field :func:`same_value`
    (``__eq__ = _display.nan_safe_eq``; NaN fields compare equal to NaN)."""
    if other.__class__ is not self.__class__:
        return NotImplemented
    return same_value(self, other) if _fields(self) is not None else self is other


def escape(value: object) -> str:
    """HTML-escape any value's string form (quotes included)."""
    return html.escape(str(value), quote=True)


#: columns holding p-values (printed floored, never as ``0``).
_P_COLUMNS = re.compile(r"(^|_)(p|q)(_value|_harm|_bh)?$|^p_value|p_value$|^srm_p$|^q_value$")
#: columns holding counts (printed as integers with separators, never ``5.591e+04``).
_COUNT_COLUMNS = re.compile(
    r"^(n|count|rows|pairs|positives|flagged|true_positives|both|neither|latency_n)$"
    r"|^(n|units|rows|events|positives)_|_(n|count|rows|units)$|^(champion|challenger)_only$"
)


def round_frame(df: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Format numeric columns for display: p-values floored (``< 1e-300``), counts as
    integers with separators, other floats to ``digits`` significant digits."""
    out = df.copy()
    for col in out.columns:
        name = str(col)
        if pd.api.types.is_bool_dtype(out[col]):
            continue
        if pd.api.types.is_float_dtype(out[col]) and _P_COLUMNS.search(name):
            out[col] = out[col].map(
                lambda v: _format.p_value(min(max(v, 0.0), 1.0)) if v == v else "—"
            )
        elif pd.api.types.is_numeric_dtype(out[col]) and _COUNT_COLUMNS.search(name):
            out[col] = out[col].map(_format.count)
        elif pd.api.types.is_integer_dtype(out[col]):
            out[col] = out[col].map(_format.count)
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v: _fmt(v, digits))
    return out


def _fmt(v: float, digits: int) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    if v == 0:
        return "0"
    if abs(v) >= 1e4:  # never scientific for large values: separators
        return _format.sig(v, max(digits, len(str(int(abs(v))))))
    if abs(v) < 10 ** (-digits):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{digits}g}"


#: tables with more rows than this are folded behind a one-line summary.
FOLD_ROWS = 15


_TABLE_OPEN = re.compile(r"<table\b[^>]*>")


def table_html(df: pd.DataFrame, *, caption: str | None = None, digits: int = 4) -> str:
    """A rounded, escaped HTML table with an optional (escaped) caption.

    The caption goes right after the opening ``<table …>`` tag, whatever attributes the
    pandas version writes on it (pandas 3 no longer writes ``border="0"``).
    """
    body = round_frame(df, digits).to_html(index=False, escape=True, border=0, classes="mk-table")
    if caption:
        cap = f"<caption>{escape(caption)}</caption>"
        body = _TABLE_OPEN.sub(lambda m: m.group(0) + cap, body, count=1)
    if len(df) > FOLD_ROWS:
        what = caption.rstrip(".") if caption else "table"
        body = (
            f'<details class="mk-details"><summary>{escape(what)} — '
            f"{_format.count(len(df), 'rows')} (click to show)</summary>{body}</details>"
        )
    return body


def warnings_html(warnings: Sequence[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return f'<div class="mk-warnings"><strong>Warnings</strong><ul>{items}</ul></div>'


def reasons_html(reasons: Iterable[Reason]) -> str:
    rows = []
    for r in reasons:
        mark = {True: "✔", False: "✘", None: "·"}[r.passed]
        rows.append(f"<li>{mark} {escape(r.message)}</li>")
    return f"<ul class='mk-reasons'>{''.join(rows)}</ul>" if rows else ""


def verdict_html(verdict: object, title: str, reasons: Sequence[Reason] = ()) -> str:
    """A coloured verdict banner with the reasons under it."""
    colour = VERDICT_COLOURS.get(str(verdict), "#57606a")
    return (
        f'<div class="mk-verdict" style="border-left:6px solid {colour};padding:6px 12px;">'
        f'<div style="font-size:1.2em;"><strong>{escape(title)}: '
        f'<span style="color:{colour}">{escape(verdict)}</span></strong></div>'
        f"{reasons_html(reasons)}</div>"
    )


def text_table(df: pd.DataFrame, digits: int = 4) -> str:
    """Plain-text table for ``summary()`` output in logs and CI."""
    return round_frame(df, digits).to_string(index=False)
