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
    """Demo ``drift`` world (concept shift on day 70): before the onset the eventual AUC
    lies inside the estimate's interval in most windows; after it, outside in every window.
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
    for w0, e in zip(est.windows, est.estimates, strict=True):
        sel = (ev["ts"] >= w0) & (ev["ts"] < w0 + pd.Timedelta(days=7))
        if w0 + pd.Timedelta(days=7) > w.as_of:
            continue
        real = delong_auc(ev.loc[sel, "score"], ev.loc[sel, "true_label"]).auc
        if w0 + pd.Timedelta(days=7) <= onset:
            n_before += 1
            inside_before += e["auc"].contains(real)
        elif w0 >= onset + pd.Timedelta(days=7):
            n_after += 1
            outside_after += not e["auc"].contains(real)
    assert n_before >= 10 and n_after >= 2
    assert inside_before / n_before >= 0.8
    assert outside_after == n_after
