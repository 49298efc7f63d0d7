"""Data text never becomes markup (issue 14): segment values, category and feature names
that look like mathtext or HTML are drawn and rendered literally."""

from __future__ import annotations

import re
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import mlopskit as mk

MATH_BAD = r"$\notacommand{x}$"  # crashed matplotlib's mathtext parser: the report FAILED
MATH_TWO = "$a$b$"  # two dollars: rendered as a formula
HTML = "<script>alert(1)</script>&"


def _shadow() -> pd.DataFrame:
    rng, n = np.random.default_rng(14), 4000
    ts = pd.Timestamp("2026-02-01") + pd.to_timedelta(rng.uniform(0, 14, n), unit="D")
    s1 = rng.beta(1, 12, n)
    return pd.DataFrame(
        {
            "request_id": np.arange(n),
            "ts": ts,
            "score_champion": s1,
            "score_challenger": np.clip(s1 + rng.normal(0, 0.02, n), 0, 1),
            "latency_ms_champion": rng.lognormal(3, 0.3, n),
            "latency_ms_challenger": rng.lognormal(3, 0.3, n),
            "error_champion": np.zeros(n, dtype=int),
            "error_challenger": np.zeros(n, dtype=int),
            "channel": rng.choice([MATH_BAD, MATH_TWO, HTML], n),
        }
    )


def _texts(obj: Any) -> list[str]:
    fig = obj.get_figure() if hasattr(obj, "get_figure") else obj
    fig.canvas.draw()  # outside any library context: this is where mathtext used to crash
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


@pytest.fixture(scope="module")
def profile() -> Any:
    return mk.shadow_profile(_shadow(), threshold=0.2, segments=["channel"], min_n=100)


def test_shadow_segments_figure_draws_values_literally(profile: Any) -> None:
    ax = profile.plot("segments")
    try:
        texts = _texts(ax)
        for value in (MATH_BAD, MATH_TWO, HTML):
            assert any(value in t for t in texts), (value, texts)
        fig = ax.get_figure()
        for t in fig.findobj(lambda a: hasattr(a, "get_parse_math")):
            if "$" in t.get_text():
                assert not t.get_parse_math(), t.get_text()
    finally:
        plt.close("all")


@pytest.mark.parametrize("kind", ["decisions", "segments", "scores", "latency"])
def test_every_shadow_figure_renders_to_png(profile: Any, kind: str) -> None:
    from mlopskit import report

    fig = report.figure(profile.plot(kind))
    assert fig.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<script>" not in fig._repr_html_()


def test_html_stays_escaped(profile: Any) -> None:
    html = profile._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_psi_table_with_markup_names_draws_literally() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({MATH_TWO: rng.normal(0, 1, 2000), "cat": rng.choice([MATH_BAD, "b"], 2000)})
    cur = pd.DataFrame(
        {MATH_TWO: rng.normal(0.5, 1, 2000), "cat": rng.choice([MATH_BAD, HTML], 2000)}
    )
    table = mk.psi_table(ref, cur)
    try:
        texts = _texts(table.plot())
        assert any(MATH_TWO in t for t in texts), texts
    finally:
        plt.close("all")
    assert "<script>" not in table._repr_html_()
    assert re.search(r"\$a\$b\$", table.summary())
