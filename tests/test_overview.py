"""The overview section (volumes, labels at a glance, score distributions) and its lazy
aggregations in frames.py, per backend, against direct pandas/numpy computations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlopskit import frames, report
from mlopskit.report import overview

Backend = Callable[[pd.DataFrame], Any]


def _events(seed: int = 1, n: int = 3000, days: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-06-01")
    ts = start + pd.to_timedelta(rng.uniform(0, days * 86400, n).round(), unit="s")
    label = (rng.random(n) < 0.05).astype(np.int64)
    delay = pd.to_timedelta(rng.uniform(0, 15 * 86400, n).round(), unit="s")
    label_ts = pd.Series(ts + delay).where(label == 1)
    score = rng.beta(0.5, 30, n)
    score[:7] = np.nan
    return pd.DataFrame(
        {
            "ts": ts,
            "label": label,
            "label_ts": label_ts,
            "score": score,
            "score_b": rng.uniform(0, 1, n),
            "arm": np.where(rng.random(n) < 0.1, "canary", "control"),
        }
    ).sort_values("ts", ignore_index=True)


def test_daily_counts_match_pandas(to_backend: Backend) -> None:
    df = _events()
    got = frames.daily_counts(to_backend(df), by="arm")
    want = (
        df.assign(day=df["ts"].dt.floor("D"))
        .groupby(["day", "arm"])
        .size()
        .rename("n")
        .reset_index()
    )
    pd.testing.assert_frame_equal(
        got[["day", "arm", "n"]].astype({"arm": str}),
        want.astype({"arm": str, "day": got["day"].dtype}),
        check_dtype=False,
    )
    assert got["n"].dtype == np.int64


def test_daily_counts_respect_as_of(to_backend: Backend) -> None:
    df = _events()
    cut = pd.Timestamp("2026-06-10 12:00")
    got = frames.daily_counts(to_backend(df), as_of=cut)
    assert got["n"].sum() == (df["ts"] < cut).sum()
    assert got["day"].max() == pd.Timestamp("2026-06-10")


def test_label_arrivals_count_only_labels_arrived_by_as_of(to_backend: Backend) -> None:
    df = _events()
    cut = pd.Timestamp("2026-06-15")
    got = frames.label_arrivals(to_backend(df), as_of=cut)
    seen = df[df["ts"] < cut]
    arrived = (seen["label"] == 1) & (seen["label_ts"] <= cut)
    want = (
        seen.assign(day=seen["ts"].dt.floor("D"), a=arrived.astype(int))
        .groupby("day")
        .agg(n=("a", "size"), n_positive=("a", "sum"))
        .reset_index()
    )
    assert got["n"].tolist() == want["n"].tolist()
    assert got["n_positive"].tolist() == want["n_positive"].tolist()
    assert got["n_positive"].sum() < (seen["label"] == 1).sum()  # some still in flight


def test_score_histogram_matches_numpy(to_backend: Backend) -> None:
    df = _events()
    edges = np.array([0.0, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0])
    got = frames.score_bin_counts(to_backend(df), ["score", "score_b"], edges)
    for col in ("score", "score_b"):
        x = df[col].dropna().to_numpy()
        # reference: numpy.histogram, bins [a, b) except the last [a, b]
        want, _ = np.histogram(x, bins=edges)
        g = got[got["column"] == col]
        assert g["n"].tolist() == want.tolist()
        assert int(g["n_missing"].iloc[0]) == df[col].isna().sum()
        assert int(g["total"].iloc[0]) == x.size
        assert float(g["score_sum"].iloc[0]) == pytest.approx(x.sum())


def test_score_histogram_edges_include_the_right_end(to_backend: Backend) -> None:
    df = pd.DataFrame({"s": [0.0, 0.5, 1.0, 1.0]})
    got = frames.score_bin_counts(to_backend(df), ["s"], [0, 0.5, 1])
    assert got["n"].tolist() == [1, 3]


def test_score_histogram_rejects_bad_input(to_backend: Backend) -> None:
    df = pd.DataFrame({"s": [0.2, 1.5]})
    with pytest.raises(ValueError, match=r"column `s` must lie in \[0, 1\]"):
        frames.score_bin_counts(to_backend(df), ["s"], [0, 0.5, 1], frame="shadow log")
    with pytest.raises(ValueError, match="strictly increasing"):
        frames.score_bin_counts(to_backend(df), ["s"], [0, 1, 0.5])
    with pytest.raises(ValueError, match="column `nope` is missing"):
        frames.score_bin_counts(to_backend(df), ["nope"], [0, 1])


def test_volumes_zero_fill_gaps_and_flag_low_days(to_backend: Backend) -> None:
    days = pd.to_datetime(["2026-06-01"] * 100 + ["2026-06-02"] * 30 + ["2026-06-04"] * 100)
    df = pd.DataFrame({"ts": days + pd.Timedelta(hours=3)})
    v = overview.volumes({"events": to_backend(df)})
    assert v.counts["n"].tolist() == [100, 30, 0, 100]
    assert any("1 day(s) without rows (2026-06-03)" in w for w in v.warnings)
    assert any("below 50% of the median" in w and "2026-06-02" in w for w in v.warnings)
    row = v.to_frame().iloc[0]
    assert (row["days"], row["rows"], row["min_per_day"]) == (4, 230, 0)


def test_volumes_split_by_arm(to_backend: Backend) -> None:
    df = _events()
    v = overview.volumes({"canary log": to_backend(df)}, split={"canary log": "arm"})
    tab = v.to_frame().set_index("source")
    assert tab.loc["canary log · canary", "rows"] == (df["arm"] == "canary").sum()
    assert tab.loc["canary log · control", "rows"] == (df["arm"] == "control").sum()


def test_label_glance_cohorts_ages_and_mature_rate() -> None:
    # Two weeks of events (Mon 2026-06-01 ...), as_of 100 days after the first week's end.
    ts = pd.to_datetime(["2026-06-01 10:00"] * 10 + ["2026-06-08 10:00"] * 10)
    label = np.array([1, 1] + [0] * 8 + [1] + [0] * 9)
    label_ts = pd.Series(ts + pd.Timedelta(days=5)).where(label == 1)
    as_of = pd.Timestamp("2026-06-02") + pd.Timedelta(days=100)
    g = overview.label_glance(
        pd.DataFrame({"ts": ts, "label": label, "label_ts": label_ts}),
        as_of=as_of,
        horizon_days=95,
    )
    c = g.cohorts
    assert c["n"].tolist() == [10, 10] and c["n_positive"].tolist() == [2, 1]
    assert c["age_days"].tolist() == [100.0, 93.0]  # from the day after each cohort's last event
    assert c["mature"].tolist() == [True, False]
    assert g.mature_rate == pytest.approx(0.2)
    assert g.immature_share == pytest.approx(0.5)
    assert g.to_frame()["share_of_mature_rate"].tolist() == pytest.approx([1.0, 0.5])
    young = overview.label_glance(
        pd.DataFrame({"ts": ts, "label": label, "label_ts": label_ts}),
        as_of=as_of,
        horizon_days=120,
    )
    assert young.mature_rate is None and "lower bound" in young.warnings[0]


def test_score_distributions_flag_rate_is_exact() -> None:
    df = _events()
    t = 0.0321
    sd = overview.score_distributions(
        {"a": (df, "score"), "b": (df, "score_b")}, thresholds={"a": t}
    )
    assert t in sd.edges
    stats = sd.stats.set_index("series")
    x = df["score"].dropna()
    assert stats.loc["a", "flag_rate"] == pytest.approx(float((x >= t).mean()), abs=1e-15)
    assert stats.loc["a", "mean_score"] == pytest.approx(float(x.mean()))
    assert stats.loc["a", "n_missing"] == 7
    assert pd.isna(stats.loc["b", "flag_rate"])
    assert any("7 of 3,000 rows have no `score`" in w for w in sd.warnings)
    with pytest.raises(ValueError, match="not in `series`"):
        overview.score_distributions({"a": (df, "score")}, thresholds={"z": 0.1})
    with pytest.raises(ValueError, match=r"must be in \(0, 1\)"):
        overview.score_distributions({"a": (df, "score")}, thresholds={"a": 1.0})


def test_overview_results_render_and_plot() -> None:
    df = _events()
    v = overview.volumes({"events": df})
    g = overview.label_glance(df, as_of="2026-06-30")
    s = overview.score_distributions({"x": (df, "score")}, thresholds={"x": 0.05})
    for res, title in (
        (v, "Rows per day by source"),
        (g, "Arrived positive labels by weekly cohort"),
        (s, "Score distributions"),
    ):
        html = res._repr_html_()
        assert "<table" in html and "<caption>" in html
        assert res.summary()
        fig = report.figure(res.plot())
        assert fig.alt.startswith(title)
        assert " by " in fig.alt  # y label by x label
        assert fig.png[:8] == b"\x89PNG\r\n\x1a\n"
