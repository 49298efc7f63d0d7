"""HTML/text helpers of mlopskit._display: captions survive pandas' markup, values are escaped."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mlopskit import _display


def test_table_html_has_the_caption_inside_the_table_and_escapes_it() -> None:
    df = pd.DataFrame({"metric": ["auc"], "value": [0.91234567]})
    html = _display.table_html(df, caption='PSI < 0.1 & "ok" \\1')
    # exactly one caption, directly after the opening <table ...> tag (whatever its attributes)
    assert re.search(r"<table\b[^>]*><caption>[^<]*</caption>", html)
    assert html.count("<caption>") == 1
    assert "<caption>PSI &lt; 0.1 &amp; &quot;ok&quot; \\1</caption>" in html
    assert "0.9123" in html and "0.91234567" not in html  # rounded to 4 digits
    assert "<caption>" not in _display.table_html(df)  # no caption asked, none written


def test_table_html_escapes_cell_values_and_column_names() -> None:
    df = pd.DataFrame({"<b>segment</b>": ["<script>alert(1)</script>", "a & b"], "n": [1, 2]})
    html = _display.table_html(df, caption="Segments")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "a &amp; b" in html
    assert "&lt;b&gt;segment&lt;/b&gt;" in html and "<b>segment</b>" not in html


def test_table_html_missing_values_and_text_table() -> None:
    df = pd.DataFrame({"x": [np.nan, 0.0, 12345.6, 1.5e-7]})
    html = _display.table_html(df)
    # large values print with separators, never in scientific notation (issue 17)
    assert html.count("—") == 1 and ">0<" in html and "12,346" in html and "1.500e-07" in html
    assert _display.text_table(df).splitlines()[0].strip() == "x"


def test_table_html_floors_p_values_counts_integers_and_folds_long_tables() -> None:
    df = pd.DataFrame(
        {
            "n": [55910.0, 5.484e4],
            "p_value": [0.0, 1.392e-150],
            "q_value": [1.55e-316, 0.5],
            "units_canary": [55898, 3],
        }
    )
    html = _display.table_html(df)
    assert "&lt; 1e-300" in html and "1.4e-150" in html and ">0<" not in html
    assert "55,910" in html and "54,840" in html and "55,898" in html and "e+" not in html
    long = pd.DataFrame({"x": range(_display.FOLD_ROWS + 1)})
    folded = _display.table_html(long, caption="Flip sample")
    assert folded.startswith('<details class="mk-details"><summary>Flip sample — 16 rows')
    assert "<details" not in _display.table_html(long.head(_display.FOLD_ROWS))


def test_short_repr_is_one_screen() -> None:
    class R:
        __repr__ = _display.short_repr

        def summary(self) -> str:
            return "\n".join(f"line {i} " + "x" * 300 for i in range(100))

    text = repr(R())
    lines = text.splitlines()
    assert len(lines) == _display.MAX_REPR_LINES + 1 and all(len(ln) <= 160 for ln in lines)
    assert lines[-1].startswith("… 76 more line(s)")
