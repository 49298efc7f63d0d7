"""Estimated performance beside realized (mlopskit.drift.estimated) on the demo worlds."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from mlopskit import demo, drift
from mlopskit.drift.estimated import estimated_performance
from mlopskit.stats.auc import delong_auc


@pytest.mark.slow
def test_estimate_diverges_from_matured_reality_after_concept_shift() -> None:
    """Demo ``drift`` world (concept shift on day 70): before the onset the eventual
    and precision at the threshold lie inside the estimate's intervals in most windows; after
    it the realized precision (more frauds than the scores expect) leaves its interval.
    The outcome result's 30-day label window misses late positives, so the realized AUC it
    gives is shown but not compared."""
    w = demo.generate("drift", canary_daily_volume=4000)
    start = pd.Timestamp(w.scenario.start)
    ref = (start, start + pd.Timedelta(days=28))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = drift.outcome_drift(w.events, reference_period=ref, as_of=w.as_of, window="7D")
    est = estimated_performance(
        w.events, as_of=w.as_of, start=start, threshold=w.threshold, window="7D", outcome=out
    )
    # the 30-day label window misses late positives in the demo: shown, not compared
    assert out.reference.late_share > 0.05 and not any(est.diverged)
    # against the eventual truth (an oracle the simulation has): inside before the onset,
    # outside after it
    ev = w.events
    onset = w.truth.drift_onset
    inside_before, outside_after, n_before, n_after = 0, 0, 0, 0
    rows = []
    for w0, e in zip(est.windows, est.estimates, strict=True):
        sel = (ev["ts"] >= w0) & (ev["ts"] < w0 + pd.Timedelta(days=7))
        if w0 + pd.Timedelta(days=7) > w.as_of:
            continue
        s, y = ev.loc[sel, "score"].to_numpy(), ev.loc[sel, "true_label"].to_numpy()
        flag = s >= w.threshold
        real = {
            "auc": delong_auc(s, y).auc,
            "precision": y[flag].mean(),
            "recall": y[flag].sum() / y.sum(),
        }
        outside = [m for m in real if not e[m].contains(real[m])]
        rows.append((w0.date(), outside))
        if w0 + pd.Timedelta(days=7) <= onset:
            n_before += 1
            inside_before += "precision" not in outside
        elif w0 >= onset + pd.Timedelta(days=7):
            n_after += 1
            outside_after += "precision" in outside
    assert n_before >= 10 and n_after >= 2, rows
    # the drifted segment's frauds are more frequent than the scores say: realized
    # precision at the threshold leaves the interval once the drift is in the window
    assert inside_before / n_before >= 0.8, rows
    assert outside_after / n_after >= 0.8, rows
