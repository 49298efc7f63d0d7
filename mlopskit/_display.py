"""Small HTML/text helpers shared by result objects (no dataframe engine, no matplotlib).

Every string that may come from data (segment values, feature names, model names) goes
through :func:`escape` before it reaches HTML; tables are rendered with pandas' escaping on.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from mlopskit.verdict import VERDICT_COLOURS, Reason


def escape(value: object) -> str:
    """HTML-escape any value's string form (quotes included)."""
    return html.escape(str(value), quote=True)


def round_frame(df: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Round float columns to ``digits`` significant decimals for display."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v: _fmt(v, digits))
    return out


def _fmt(v: float, digits: int) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 10 ** (-digits):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{digits}g}"


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
