"""Issue 12 "Done when": monitoring and retraining verdicts under label lag and daily looks.

Seeded worlds from tests/_monitoring_sim.py (arrival bias on, overdispersed AR(1) day
effects, weekday volume, 90 monitored days after a 30-day reference), run end to end:
``output_drift`` (the onset) → ``drift_vs_label_lag`` (the verdict and the calibration check),
as the monitoring report runs them. Frames are handed over as polars lazy frames and the
policy is loaded once, which is what makes ≥ 100 worlds per test affordable (~0.25 s each).

Measured rates (seeds and Monte-Carlo SEs) are in the issue note; each test's docstring
states what its seeds give.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest

from mlopskit import drift, labels
from mlopskit.policy import load_policy
from tests._monitoring_sim import simulate_world

COLS = ["ts", "score", "label", "label_ts"]
POLICY = load_policy()
BAD = ("RETRAIN_NOW", "RECALIBRATE_STOPGAP")


def _assess(w, *, onset=None):  # type: ignore[no-untyped-def]
    ev = pl.from_pandas(w.events[COLS]).lazy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = drift.output_drift(ev, reference_period=w.reference_period, policy=POLICY)
        ret = labels.drift_vs_label_lag(
            ev,
            as_of=w.as_of,
            drift=out if onset is None else onset,
            output_drift=out,
            policy=POLICY,
        )
    return out, ret


def _mcse(k: int, n: int) -> float:
    p = max(k, 1) / n  # one event when none was seen, so the SE is not 0
    return math.sqrt(p * (1 - p) / n)


@pytest.mark.slow
@pytest.mark.parametrize("block", [0, 1])
def test_no_drift_worlds_no_false_onset_or_action(block: int) -> None:
    """No drift, 500 events/day: a false onset, RETRAIN_NOW or RECALIBRATE_STOPGAP in ≤ 5%.

    Two blocks of 100 seeds (0–99, 100–199), each held to ≤ 5%. Measured on seeds 0–399:
    see the issue note (≈ 2%, all of it false onsets at the CUSUM's α = 0.02; the
    calibration check, which alarmed in 12% of these worlds before its rule asked for a
    shift beyond the threshold with confidence, now alarms in none).
    """
    seeds = range(100 * block, 100 * block + 100)
    onsets = actions = bad = 0
    for s in seeds:
        out, ret = _assess(simulate_world(s, daily_volume=500))
        onsets += out.onset is not None
        actions += str(ret.verdict) in BAD
        bad += out.onset is not None or str(ret.verdict) in BAD
    n = len(seeds)
    msg = f"{bad}/{n} bad (onsets {onsets}, actions {actions}; MCSE {_mcse(bad, n):.3f})"
    assert bad / n <= 0.05, msg
    # the calibration check alone must not drive actions without drift
    assert actions / n <= 0.02, msg


@pytest.mark.slow
def test_drift_worlds_onset_within_7_days_and_covered() -> None:
    within = covered = 0
    seeds = range(200, 240)
    for s in seeds:
        w = simulate_world(s, daily_volume=500, drift_day=70, drift_shift=0.25)
        out, ret = _assess(w)
        assert w.drift_onset is not None
        if out.onset is not None:
            within += abs((out.onset - w.drift_onset) / pd.Timedelta(days=1)) <= 7
            covered += out.onset_low <= w.drift_onset <= out.onset_high
            # the retraining decision counts new-world labels from the conservative end
            assert ret.window_start == out.onset_high
    assert within / len(seeds) >= 0.9
    assert covered / len(seeds) >= 0.9


@pytest.mark.slow
def test_calibration_alarm_rate_with_score_dependent_label_speed() -> None:
    """Calibrated score, strong arrival bias (delay scale × e^{−z}: the riskiest frauds are
    labelled ~3× faster), 500 events/day, no drift: the calibration check inside
    ``drift_vs_label_lag`` (per-band chain-ladder maturity, matured likelihood) alarms in
    ≤ 5% of worlds, and the fitted slope is not biased by the arrival speed."""
    seeds = range(120)
    alarms = 0
    slopes = []
    for s in seeds:
        w = simulate_world(s, daily_volume=500, arrival_bias=1.0)
        ev = pl.from_pandas(w.events[COLS]).lazy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ret = labels.drift_vs_label_lag(ev, as_of=w.as_of, policy=POLICY)
        cal = ret.calibration
        assert cal is not None and cal.evaluated and cal.fit is not None
        alarms += cal.shifted
        slopes.append(cal.fit.slope)
    assert alarms / len(seeds) <= 0.05, f"{alarms}/{len(seeds)}"
    mean_slope = sum(slopes) / len(slopes)
    assert abs(mean_slope - 1) < 0.06, mean_slope


@pytest.mark.slow
def test_calibration_shift_is_still_found_after_a_concept_shift() -> None:
    """The material-shift rule keeps its power: a +0.6 logit concept shift 30 days before
    as_of (true onset given) is flagged as a calibration shift in ≥ 90% of worlds."""
    seeds = range(300, 330)
    found = 0
    for s in seeds:
        w = simulate_world(s, daily_volume=500, n_days=100, drift_day=70, concept_shift=0.6)
        ev = pl.from_pandas(w.events[COLS]).lazy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ret = labels.drift_vs_label_lag(ev, as_of=w.as_of, drift=w.drift_onset, policy=POLICY)
        cal = ret.calibration
        found += bool(
            cal is not None and cal.citl_shifted and cal.fit is not None and cal.fit.citl > 0
        )
    assert found / len(seeds) >= 0.9, f"{found}/{len(seeds)}"


# --------------------------------------------------------------------------------------
# The demo world, through the monitoring report's own path (report/evidence.py)
# --------------------------------------------------------------------------------------
SCHEDULE = {"scheduled", "fresh_labels"}


def _demo_assessment(tmp: Path, scenario: str, seed: int) -> tuple[Any, Any]:
    """The monitoring evidence (``output_drift``, ``drift_vs_label_lag``) on one demo world.

    ``daily_volume = 1000`` (instead of 4000) and ``canary_daily_volume = 1000`` keep a world
    at ~5 s: the canary frames are not read by monitoring, and the onset's and the calibration
    check's error controls are volume-free (the CUSUM is standardized by the reference
    windows' own variability, the calibration rule by its SE); every mechanism of the world
    (arrival bias 0.35, 90-day label horizon, 120 days, daily windows) is unchanged.
    """
    from mlopskit import demo
    from mlopskit.report import evidence
    from mlopskit.report.inputs import open_inputs

    w = demo.generate(scenario, seed=seed, daily_volume=1000, canary_daily_volume=1000)
    assert w.truth.drift_onset is None
    demo.write(w, tmp / "data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPSKIT_REGISTRY", str(tmp / "registry.sqlite"))
        inputs = open_inputs(tmp / "data", "fraud_v2.2")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ev = evidence.monitoring(inputs)
    return ev.output_drift, ev.retrain


def _drift_action(ret: Any) -> bool:
    """RETRAIN_NOW / RECALIBRATE_STOPGAP for a drift reason. The report path passes the
    model's training end as ``last_trained``, so after 120 days the monthly schedule is
    always due: a scheduled retrain with no monitoring trigger is not a false alarm."""
    fired = {t.name for t in ret.triggers if t.fired} - SCHEDULE
    return str(ret.verdict) in BAD and bool(fired)


@pytest.mark.slow
@pytest.mark.parametrize(("scenario", "seeds"), [("better", range(3)), ("equal", range(100, 103))])
def test_demo_no_drift_worlds_no_false_onset_or_drift_action(
    tmp_path: Path, scenario: str, seeds: range
) -> None:
    """CI version (3 worlds per scenario) of the ≥ 20-seed run in the issue note: no onset
    and no drift-driven action. ``equal`` uses other seeds than ``better`` because the
    champion's events depend on the seed only (same seed → the same monitored world)."""
    for s in seeds:
        out, ret = _demo_assessment(tmp_path / f"{scenario}{s}", scenario, s)
        assert out.onset is None, (scenario, s, out.onset)
        assert not _drift_action(ret), (scenario, s, ret.verdict, ret.reasons[-1].message)
