"""label_maturity and drift_vs_label_lag on simulated logs (per backend) and on the demo world."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlopskit import frames
from mlopskit.labels import drift_vs_label_lag, label_maturity
from mlopskit.policy import LabelsPolicy, Policy
from mlopskit.stats.auc import positives_for_auc_precision
from mlopskit.stats.calibration import calibration_fit, expit, logit
from mlopskit.verdict import RetrainVerdict

START = pd.Timestamp("2026-01-01")
GAMMA = stats.gamma(2.0, scale=10.0)


def _events(
    *,
    n_days: int = 120,
    per_day: int = 2000,
    as_of_day: float | None = None,
    seed: int = 0,
    arrival_bias: float = 0.0,
    onset_day: int | None = None,
    logit_shift: float = 0.0,
    horizon: float = 90.0,
) -> pd.DataFrame:
    """Scored events whose labels arrive after Gamma(2, 10 d) delays (truncated at horizon).

    ``arrival_bias`` > 0 makes high-score frauds charge back faster (delay scale
    × exp(−bias·z), z the standardized logit); after ``onset_day`` the true fraud logit is
    ``logit(score) + logit_shift`` (a calibration shift). ``true_label`` is the eventual truth.
    """
    rng = np.random.default_rng(seed)
    n = n_days * per_day
    t = np.sort(rng.uniform(0, n_days, n))
    score = expit(rng.normal(-5.0, 1.1, n))
    true_logit = logit(score) + np.where(
        (onset_day is not None) & (t >= (onset_day or 0)), logit_shift, 0.0
    )
    y = rng.random(n) < expit(true_logit)
    zs = (logit(score) - logit(score)[y].mean()) / logit(score)[y].std()
    delay = GAMMA.rvs(size=n, random_state=rng) * np.exp(-arrival_bias * zs)
    as_of = n_days if as_of_day is None else as_of_day
    arrived = y & (delay <= horizon) & (t + delay <= as_of)
    ts = START + pd.to_timedelta(np.round(t * 86400), unit="s")
    lts = START + pd.to_timedelta(np.round((t + delay) * 86400), unit="s")
    return pd.DataFrame(
        {
            "ts": ts,
            "score": score,
            "label": arrived.astype(np.int64),
            "label_ts": pd.Series(lts).where(arrived),
            "true_label": y.astype(np.int64),
        }
    )


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return _events(seed=1)


def _true_f(age: float, horizon: float = 90.0) -> float:
    return float(GAMMA.cdf(age) / GAMMA.cdf(horizon))


# --------------------------------------------------------------------------------------
# The triangle (frames) against an independent pandas computation
# --------------------------------------------------------------------------------------
def test_triangle_counts_match_pandas(
    base: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    as_of = START + pd.Timedelta(days=100, hours=6)
    lf = frames.validate(to_backend(base), frames.LABELED_EVENTS)
    got = frames.label_triangle_counts(
        lf, as_of=as_of, origin=START, cohort_days=1, horizon_days=30, has_label=True
    )
    # reference: plain pandas on the raw rows
    df = base[base["ts"] < as_of]
    pos = (df["label"] == 1) & (df["label_ts"] <= as_of)
    delay = np.floor((df["label_ts"] - df["ts"]) / pd.Timedelta(days=1)).clip(upper=30)
    ref = (
        pd.DataFrame(
            {
                "cohort": ((df["ts"] - START) // pd.Timedelta(days=1)).astype(int),
                "delay_day": np.where(pos, delay, -1).astype(int),
            }
        )
        .groupby(["cohort", "delay_day"])
        .size()
        .rename("n")
        .reset_index()
    )
    merged = got.merge(ref, on=["cohort", "delay_day"], how="outer", suffixes=("", "_ref"))
    assert (merged["n"] == merged["n_ref"]).all()
    age_ref = (
        ((as_of - df["ts"]) / pd.Timedelta(days=1))
        .groupby(((df["ts"] - START) // pd.Timedelta(days=1)).astype(int))
        .sum()
    )
    age_got = got.groupby("cohort")["age_sum"].sum()
    np.testing.assert_allclose(age_got.to_numpy(), age_ref.to_numpy(), rtol=1e-9)


def test_label_maturity_recovers_the_gamma_curve(
    base: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    lm = label_maturity(to_backend(base), as_of=START + pd.Timedelta(days=120), score="score")
    for age in (7, 14, 30):
        est, se = lm.maturity[age - 1], lm.maturity_se[age - 1]
        assert abs(est - _true_f(age)) < 2.5 * se, (age, est, _true_f(age), se)
    assert lm.maturity[-1] == 1.0 and lm.ages[-1] == 90
    # eventual rates: published only where F̂ ≥ 0.3, and they cover the true cohort rate
    frame = lm.to_frame()
    assert list(frame.columns) == [
        "cohort_start",
        "n_events",
        "n_labelled",
        "age_days",
        "maturity",
        "eventual_rate",
        "ci_low",
        "ci_high",
        "suppressed",
    ]
    assert (frame["suppressed"] == (frame["maturity"] < 0.3)).all()
    truth = base.groupby(base["ts"].dt.floor("D"))["true_label"].mean().to_numpy()
    ok = ~frame["suppressed"].to_numpy()
    covered = (frame["ci_low"].to_numpy()[ok] <= truth[ok]) & (
        truth[ok] <= frame["ci_high"].to_numpy()[ok]
    )
    assert covered.mean() > 0.9
    assert not lm.arrival.biased  # no arrival bias simulated
    assert lm.warnings == ()


def test_backends_give_identical_results(
    base: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    as_of = START + pd.Timedelta(days=75)
    ref = label_maturity(base, as_of=as_of, score="score", cohort="7D")
    got = label_maturity(to_backend(base), as_of=as_of, score="score", cohort="7D")
    np.testing.assert_array_equal(got.maturity, ref.maturity)
    np.testing.assert_array_equal(got.n_events, ref.n_events)
    assert (got.cohort_start[1] - got.cohort_start[0]) == pd.Timedelta(days=7)
    assert got.warnings == ref.warnings


def test_weekly_and_daily_cohorts_agree(base: pd.DataFrame) -> None:
    as_of = START + pd.Timedelta(days=120)
    d = label_maturity(base, as_of=as_of)
    w = label_maturity(base, as_of=as_of, cohort="7D")
    for age in (7, 14, 30):
        se = np.hypot(d.maturity_se[age - 1], w.maturity_se[age - 1])
        assert abs(d.maturity[age - 1] - w.maturity[age - 1]) < 3 * se


def test_replaying_history_with_an_earlier_as_of(base: pd.DataFrame) -> None:
    # events/labels after as_of are unknown: the same as data cut at as_of
    as_of = START + pd.Timedelta(days=60, hours=12)
    cut = base[base["ts"] < as_of].copy()
    late = cut["label_ts"] > as_of
    cut.loc[late, "label"] = 0
    cut.loc[late, "label_ts"] = pd.NaT
    full = label_maturity(base, as_of=as_of)
    trimmed = label_maturity(cut, as_of=as_of)
    np.testing.assert_array_equal(full.maturity, trimmed.maturity)
    np.testing.assert_array_equal(full.n_labelled, trimmed.n_labelled)
    assert any(w.startswith("after_as_of:") for w in full.warnings)
    assert not any(w.startswith("after_as_of:") for w in trimmed.warnings)


def test_label_none_counts_rows_with_a_label_ts(base: pd.DataFrame) -> None:
    as_of = START + pd.Timedelta(days=120)
    only_ts = base.drop(columns=["label"]).rename(columns={"label_ts": "chargeback_ts"})
    a = label_maturity(only_ts, as_of=as_of, label=None, label_ts="chargeback_ts")
    b = label_maturity(base, as_of=as_of)
    np.testing.assert_array_equal(a.maturity, b.maturity)


# --------------------------------------------------------------------------------------
# Arrival bias
# --------------------------------------------------------------------------------------
def test_arrival_bias_is_detected_and_flags_immature_windows() -> None:
    df = _events(seed=2, arrival_bias=0.4)
    as_of = START + pd.Timedelta(days=120)
    lm = label_maturity(df, as_of=as_of, score="score")
    assert lm.arrival is not None and lm.arrival.evaluated and lm.arrival.biased
    assert lm.arrival.diff[1] > 0.1  # top score group: known share higher by age 14
    assert any(w.startswith("arrival_bias:") for w in lm.warnings)
    recent = lm.window_warnings(as_of - pd.Timedelta(days=10), as_of)
    assert [w.split(":")[0] for w in recent] == ["immature_window", "arrival_bias"]
    assert lm.window_warnings(START, START + pd.Timedelta(days=20)) == ()
    # why it matters: AUC on the labels known in the last 21 days vs the eventual truth
    win = df[df["ts"] >= as_of - pd.Timedelta(days=21)]
    auc_known = _auc(win["label"], win["score"])
    auc_true = _auc(win["true_label"], win["score"])
    assert auc_known > auc_true + 0.01
    assert lm.window_maturity(START, START + pd.Timedelta(days=10)) > 0.99
    assert lm.window_maturity(as_of - pd.Timedelta(days=10), as_of) < 0.3


def _auc(y: pd.Series, s: pd.Series) -> float:
    y = y.to_numpy().astype(bool)
    u = stats.mannwhitneyu(s.to_numpy()[y], s.to_numpy()[~y]).statistic
    return float(u / (y.sum() * (~y).sum()))


# --------------------------------------------------------------------------------------
# Bad input: errors and named warnings, per backend
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return _events(seed=3, n_days=60, per_day=1500)


def test_label_ts_before_ts_is_an_error(
    small: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    bad = small.copy()
    i = bad.index[bad["label"] == 1][0]
    bad.loc[i, "label_ts"] = bad.loc[i, "ts"] - pd.Timedelta(hours=1)
    with pytest.raises(
        ValueError, match=r"events: column `label_ts` must not be earlier than `ts`"
    ):
        label_maturity(to_backend(bad), as_of=START + pd.Timedelta(days=60))


def test_positives_without_label_ts(
    small: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    as_of = START + pd.Timedelta(days=60)
    some = small.copy()
    idx = some.index[some["label"] == 1][:7]
    some.loc[idx, "label_ts"] = pd.NaT
    lm = label_maturity(to_backend(some), as_of=as_of)
    w = [x for x in lm.warnings if x.startswith("positives_without_label_ts:")]
    assert len(w) == 1 and "7 positives" in w[0]
    none = small.assign(
        label_ts=pd.Series(pd.NaT, index=small.index, dtype=small["label_ts"].dtype)
    )
    with pytest.raises(ValueError, match=r"all .* positives .* have a null label_ts"):
        label_maturity(to_backend(none), as_of=as_of)


def test_as_of_before_the_data(
    small: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    with pytest.raises(
        ValueError, match=r"`as_of` \(2025-12-01 00:00:00\) must be after the first event"
    ):
        label_maturity(to_backend(small), as_of="2025-12-01")
    with pytest.raises(ValueError, match="at least 2 complete days"):
        label_maturity(to_backend(small), as_of=START + pd.Timedelta(days=2))
    with pytest.raises(ValueError, match="`as_of` must be a timestamp"):
        label_maturity(to_backend(small), as_of="not a date")


def test_horizon_shorter_than_observed_delays(
    small: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    lm = label_maturity(to_backend(small), as_of=START + pd.Timedelta(days=60), horizon_days=20)
    w = [x for x in lm.warnings if x.startswith("horizon_exceeded:")]
    assert len(w) == 1 and "beyond `horizon_days` = 20" in w[0]
    assert lm.ages[-1] == 20
    # the horizon is longer than the data: F̂ is relative to what was observed
    lm2 = label_maturity(to_backend(small), as_of=START + pd.Timedelta(days=40))
    assert any(x.startswith("horizon_not_reached:") for x in lm2.warnings)
    assert lm2.ages[-1] == 39


def test_cohort_with_no_events(
    small: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    gap = small[
        (small["ts"] < START + pd.Timedelta(days=20))
        | (small["ts"] >= START + pd.Timedelta(days=23))
    ]
    lm = label_maturity(to_backend(gap), as_of=START + pd.Timedelta(days=60))
    w = [x for x in lm.warnings if x.startswith("empty_cohorts:")]
    assert len(w) == 1 and "3 cohort(s)" in w[0] and "2026-01-21" in w[0]
    frame = lm.to_frame()
    assert frame.loc[frame["n_events"] == 0, "suppressed"].all()
    ref = label_maturity(to_backend(small), as_of=START + pd.Timedelta(days=60))
    assert abs(lm.maturity[13] - ref.maturity[13]) < 3 * ref.maturity_se[13]


def test_bad_arguments(small: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]) -> None:
    data = to_backend(small)
    as_of = START + pd.Timedelta(days=60)
    with pytest.raises(ValueError, match="`cohort` must be '1D' or '7D'"):
        label_maturity(data, as_of=as_of, cohort="2D")
    with pytest.raises(ValueError, match="`horizon_days` must be an integer"):
        label_maturity(data, as_of=as_of, horizon_days=1)
    with pytest.raises(ValueError, match="required column `chargeback_ts` is missing"):
        label_maturity(data, as_of=as_of, label_ts="chargeback_ts")
    with pytest.raises(ValueError, match="time-zone aware or both naive"):
        label_maturity(data, as_of=pd.Timestamp(as_of).tz_localize("UTC"))
    negatives = to_backend(small.assign(label=0))
    with pytest.raises(ValueError, match="no positive label arrived"):
        label_maturity(negatives, as_of=as_of)


# --------------------------------------------------------------------------------------
# Retraining decision on simulated logs
# --------------------------------------------------------------------------------------
ONSET_DAY = 90


@pytest.fixture(scope="module")
def shifted() -> pd.DataFrame:
    """Calibration shift at day 90: the fraud logit is logit(score) + 1.0 afterwards."""
    return _events(seed=4, n_days=140, per_day=2500, onset_day=ONSET_DAY, logit_shift=1.0)


def _at(day: float) -> pd.Timestamp:
    return START + pd.Timedelta(days=day)


def test_no_drift_no_trigger_is_no_action(base: pd.DataFrame) -> None:
    r = drift_vs_label_lag(base, as_of=_at(120), last_trained=_at(95))
    assert r.verdict == RetrainVerdict.NO_ACTION
    assert r.reasons[-1].code == "decision"
    fired = {t.name: t.fired for t in r.triggers}
    assert fired == {
        "scheduled": False,
        "psi": None,
        "output_drift": None,
        "auc_drop": None,
        "calibration_shift": False,
        "fresh_labels": None,
    }


def test_scheduled_cadence_fires_without_drift(
    base: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    r = drift_vs_label_lag(to_backend(base), as_of=_at(120), last_trained=_at(80))
    assert r.verdict == RetrainVerdict.RETRAIN_NOW
    sched = next(t for t in r.triggers if t.name == "scheduled")
    assert sched.fired and sched.threshold == 31.0  # one calendar month from 2026-02-20
    weekly = Policy(raw={"labels": {"cadence": "weekly"}})
    assert (
        drift_vs_label_lag(base, as_of=_at(120), last_trained=_at(110), policy=weekly).verdict
        == RetrainVerdict.RETRAIN_NOW
    )
    quarterly = LabelsPolicy(cadence="quarterly")
    assert (
        drift_vs_label_lag(base, as_of=_at(120), last_trained=_at(80), policy=quarterly).verdict
        == RetrainVerdict.NO_ACTION
    )


def test_fresh_labels_trigger(base: pd.DataFrame) -> None:
    r = drift_vs_label_lag(base, as_of=_at(120), last_trained=_at(100), training_positives=2000)
    fresh = next(t for t in r.triggers if t.name == "fresh_labels")
    known = ((base["ts"] >= _at(100)) & (base["label"] == 1)).sum()
    assert fresh.value == pytest.approx(known / 2000)
    assert fresh.fired == (known / 2000 >= 0.2)
    r2 = drift_vs_label_lag(base, as_of=_at(120), last_trained=_at(100), training_positives=100)
    assert r2.verdict == RetrainVerdict.RETRAIN_NOW


def test_walk_wait_recalibrate_retrain(
    shifted: pd.DataFrame, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    data = to_backend(shifted)
    onset = _at(ONSET_DAY)
    kstar = positives_for_auc_precision(auc=0.9, detectable_drop=0.02)
    # right after the drift: too few labels, calibration not measurable yet → wait, with a date
    early = drift_vs_label_lag(data, as_of=_at(ONSET_DAY + 6), drift=onset)
    assert early.verdict == RetrainVerdict.WAIT_FOR_LABELS
    assert early.k_star == kstar and early.k_star_source.startswith("Hanley–McNeil")
    assert early.forecast_date is not None and early.forecast_date > early.as_of
    assert early.labelled_now == int(
        (
            (shifted["ts"] >= onset)
            & (shifted["ts"] < early.as_of)
            & (shifted["label_ts"] <= early.as_of)
        ).sum()
    )
    assert not early.calibration.evaluated
    # three weeks on: calibration on matured labels has shifted, labels still short → stopgap
    mid = drift_vs_label_lag(data, as_of=_at(ONSET_DAY + 22), drift=onset)
    assert mid.verdict == RetrainVerdict.RECALIBRATE_STOPGAP
    cal = mid.calibration
    assert cal.shifted and cal.citl_shifted and cal.validated
    assert cal.fit.citl == pytest.approx(1.0, abs=3 * cal.fit.se_citl)
    assert cal.logloss_after < cal.logloss_before
    # the stopgap helps on the eventual truth of the whole post-drift period
    post = shifted[shifted["ts"] >= onset]
    before = calibration_fit(post["score"].to_numpy(), post["true_label"].to_numpy())
    after = calibration_fit(cal.apply(post["score"].to_numpy()), post["true_label"].to_numpy())
    assert abs(after.citl) < 0.3 < abs(before.citl)
    # later: enough post-drift labels → retrain now
    late = drift_vs_label_lag(data, as_of=_at(ONSET_DAY + 45), drift=onset)
    assert late.verdict == RetrainVerdict.RETRAIN_NOW
    assert late.labelled_now >= late.k_star
    # right after the drift the forecast borrows the pre-drift positive rate (and says so);
    # a week later it uses the post-drift rate, and the realized count bears it out
    assert any(w.startswith("rate_from_before_window:") for w in early.warnings)
    week2 = drift_vs_label_lag(data, as_of=_at(ONSET_DAY + 12), drift=onset)
    assert week2.rate_source == "post-window cohorts"
    true_rate = shifted.loc[shifted["ts"] >= onset, "true_label"].mean()
    assert week2.positive_rate == pytest.approx(true_rate, rel=0.25)
    assert _realized(shifted, onset, week2.forecast_date) >= kstar
    assert _realized(shifted, onset, week2.forecast_date_expected - pd.Timedelta(days=2)) < kstar


def _realized(df: pd.DataFrame, onset: pd.Timestamp, when: pd.Timestamp) -> int:
    return int(((df["ts"] >= onset) & (df["ts"] < when) & (df["label_ts"] <= when)).sum())


def test_forecast_frame_and_reasons_are_data(shifted: pd.DataFrame) -> None:
    r = drift_vs_label_lag(shifted, as_of=_at(ONSET_DAY + 6), drift=_at(ONSET_DAY), k_star=400)
    assert r.k_star == 400 and r.k_star_source == "argument"
    fc = r.forecast_frame()
    assert list(fc.columns) == ["date", "expected", "prob_reach", "k_star"]
    assert fc["expected"].is_monotonic_increasing and fc["expected"].iloc[0] == r.labelled_now
    first = fc.loc[fc["prob_reach"] >= 0.9, "date"].iloc[0]
    assert first == r.forecast_date
    codes = [x.code for x in r.reasons]
    assert codes[0] == "drift_onset" and codes[-1] == "decision"
    assert {"k_star", "labelled_positives", "forecast_date"} <= set(codes)
    frame = r.to_frame()
    assert list(frame.columns) == ["verdict", "code", "passed", "value", "threshold", "message"]
    lab = frame.set_index("code").loc["labelled_positives"]
    assert lab["value"] == r.labelled_now and lab["threshold"] == 400 and not lab["passed"]


def test_scheduled_retrain_is_held_back_during_drift(shifted: pd.DataFrame) -> None:
    r = drift_vs_label_lag(
        shifted, as_of=_at(ONSET_DAY + 6), drift=_at(ONSET_DAY), last_trained=_at(30)
    )
    assert r.verdict == RetrainVerdict.WAIT_FOR_LABELS
    assert "scheduled retrain is due but is held back" in r.reasons[-1].message


@dataclass
class _Drift:
    onset: Any
    material: bool = True


@dataclass
class _Flag:
    verdict: str


@dataclass
class _Auc:
    confirmed: bool


@dataclass
class _OutputDrift:  # the shape of the drift work's output-drift result
    flagged_windows: tuple[pd.Timestamp, ...]


@dataclass
class _OutcomeDrift:  # the shape of the drift work's outcome-drift result
    confirmed_drops: tuple[pd.Timestamp, ...]


@dataclass
class _Model:
    feature_importance: dict[str, float]


def test_duck_typed_trigger_inputs(base: pd.DataFrame) -> None:
    as_of = _at(120)
    model = _Model({"amount": 0.5, "country": 0.45, "hour": 0.01})
    psi = {"amount": 0.05, "country": 0.02, "hour": 0.9}  # only an unimportant feature drifted
    r = drift_vs_label_lag(base, as_of=as_of, psi=psi, feature_importance=model)
    t = next(x for x in r.triggers if x.name == "psi")
    assert t.fired is False and t.value == 0.05 and "importance-weighted PSI" in t.detail
    assert r.verdict == RetrainVerdict.NO_ACTION
    psi_frame = pd.DataFrame({"feature": ["amount", "hour"], "psi": [0.4, 0.9]})
    r = drift_vs_label_lag(
        base, as_of=as_of, psi=psi_frame, feature_importance=model, last_trained=_at(40)
    )
    t = next(x for x in r.triggers if x.name == "psi")
    assert t.fired and "['amount']" in t.detail
    assert r.verdict == RetrainVerdict.RETRAIN_NOW  # labels since the last training suffice
    assert r.window_start == _at(40) and r.labelled_now >= r.k_star
    # output drift by verdict, AUC drop by (drop, se) and by `confirmed`
    out = drift_vs_label_lag(base, as_of=as_of, output_drift=_Flag("WATCH"), auc_drop=(0.03, 0.01))
    assert out.verdict == RetrainVerdict.NO_ACTION  # 0.03 − 1.645·0.01 = 0.0136 < 0.02
    alarm = drift_vs_label_lag(base, as_of=as_of, auc_drop=_Auc(True))
    # no onset nor last training date: labels counted over the last 30 days, not enough yet
    assert alarm.verdict == RetrainVerdict.WAIT_FOR_LABELS
    assert alarm.window_start == as_of - pd.Timedelta(days=30)
    assert any(w.startswith("window_assumed:") for w in alarm.warnings)
    # a drift result object, marked not material
    quiet = drift_vs_label_lag(base, as_of=as_of, drift=_Drift(_at(110), material=False))
    assert quiet.verdict == RetrainVerdict.NO_ACTION and quiet.onset == _at(110)
    assert drift_vs_label_lag(base, as_of=as_of, drift=_Drift(None)).onset is None
    # the drift work's result shapes: first flagged window = onset; confirmed drops fire
    flagged = _OutputDrift((_at(112), _at(105)))
    r = drift_vs_label_lag(base, as_of=as_of, drift=flagged, output_drift=flagged)
    assert r.onset == _at(105) and r.verdict == RetrainVerdict.WAIT_FOR_LABELS
    assert next(x for x in r.triggers if x.name == "output_drift").fired
    assert drift_vs_label_lag(base, as_of=as_of, drift=_OutputDrift(())).onset is None
    r = drift_vs_label_lag(base, as_of=as_of, auc_drop=_OutcomeDrift(()), last_trained=_at(95))
    assert next(x for x in r.triggers if x.name == "auc_drop").fired is False
    with pytest.raises(ValueError, match="`output_drift` must be a bool or an object"):
        drift_vs_label_lag(base, as_of=as_of, output_drift=3.5)
    with pytest.raises(ValueError, match="`psi` must be a bool, a mapping"):
        drift_vs_label_lag(base, as_of=as_of, psi=[0.3])
    with pytest.raises(ValueError, match=r"`drift` onset .* must lie within the data"):
        drift_vs_label_lag(base, as_of=as_of, drift="2027-01-01")
    with pytest.raises(ValueError, match="`k_star` must be a positive integer"):
        drift_vs_label_lag(base, as_of=as_of, k_star=0)
    with pytest.raises(ValueError, match=r"`last_trained` .* must be before as_of"):
        drift_vs_label_lag(base, as_of=as_of, last_trained=_at(121))
    with pytest.raises(ValueError, match="`training_positives` must be a positive integer"):
        drift_vs_label_lag(base, as_of=as_of, last_trained=_at(100), training_positives=0)


def test_policy_section_validates() -> None:
    with pytest.raises(ValueError, match="`cadence` must be one of"):
        LabelsPolicy(cadence="daily")
    with pytest.raises(ValueError, match="`stopgap_method` must be one of"):
        LabelsPolicy(stopgap_method="isotonic")
    with pytest.raises(ValueError, match="`forecast_probability` must be in"):
        LabelsPolicy(forecast_probability=1.0)
    assert LabelsPolicy(k_star=500).k_star == 500


def test_policy_k_star_and_platt_stopgap(shifted: pd.DataFrame) -> None:
    pol = Policy(raw={"labels": {"k_star": 5000, "stopgap_method": "platt"}})
    r = drift_vs_label_lag(shifted, as_of=_at(ONSET_DAY + 30), drift=_at(ONSET_DAY), policy=pol)
    assert r.k_star == 5000 and r.k_star_source == "policy"
    assert r.verdict == RetrainVerdict.RECALIBRATE_STOPGAP
    assert r.calibration.method == "platt"


# --------------------------------------------------------------------------------------
# Display
# --------------------------------------------------------------------------------------
def test_summary_html_and_plots(shifted: pd.DataFrame) -> None:
    r = drift_vs_label_lag(shifted, as_of=_at(ONSET_DAY + 22), drift=_at(ONSET_DAY), score="score")
    text = r.summary()
    assert text.startswith(f"Retraining assessment as of {r.as_of}: RECALIBRATE_STOPGAP")
    html = r._repr_html_()
    assert "RECALIBRATE_STOPGAP" in html and "<script" not in html
    lm = r.maturity
    assert "Label maturity as of" in lm.summary() and "<table" in lm._repr_html_()
    ax = lm.plot()
    assert ax.get_title().startswith("Label maturity as of") and ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.lines[0].get_xdata()) == lm.ages.size + 1
    ax = lm.plot(kind="triangle")
    assert ax.get_title().startswith("Label triangle") and len(ax.images) == 1
    ax = r.plot()
    assert ax.get_title() == "Labels needed to retrain: RECALIBRATE_STOPGAP"
    assert any(line.get_ydata()[0] == r.k_star for line in ax.lines)
    with pytest.raises(ValueError, match="`kind` must be"):
        lm.plot(kind="pie")
    plt.close("all")


def test_html_escapes_column_names() -> None:
    df = _events(seed=5, n_days=40, per_day=800)
    lm = label_maturity(
        df.rename(columns={"ts": "<b>ts</b>"}), ts="<b>ts</b>", as_of=START + pd.Timedelta(days=30)
    )
    html = lm._repr_html_()
    assert "<b>ts</b>" not in html and "&lt;b&gt;ts&lt;/b&gt;" in html


def test_arrival_check_with_every_label_on_day_zero_is_not_biased(base: pd.DataFrame) -> None:
    # every label arrives within the hour: both score groups know 100% at every age, the
    # pooled z test has no SE, and the check says "same speed" (p = 1) rather than NaN
    df = base.assign(
        label_ts=base["label_ts"].where(base["label_ts"].isna(), base["ts"] + pd.Timedelta(hours=1))
    )
    lm = label_maturity(df, as_of=_at(120), score="score")
    assert lm.arrival is not None and lm.arrival.evaluated and not lm.arrival.biased
    assert lm.arrival.diff == (0.0, 0.0) and lm.arrival.p_value == (1.0, 1.0)


def test_arrival_plot(base: pd.DataFrame) -> None:
    lm = label_maturity(_events(seed=2, arrival_bias=0.4), as_of=_at(120), score="score")
    ax = lm.plot(kind="arrival")
    assert "arrival bias detected" in ax.get_title() and len(ax.lines) >= 5 + 2
    with pytest.raises(ValueError, match="no arrival-bias check"):
        label_maturity(base, as_of=_at(120)).plot(kind="arrival")
    plt.close("all")


# --------------------------------------------------------------------------------------
# The demo world (mlopskit.demo, scenario "drift": drift on day 70 of 120)
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drift_world() -> Any:
    from mlopskit import demo

    return demo.generate("drift")


def test_demo_drift_walks_wait_recalibrate_retrain(drift_world: Any) -> None:
    events, onset = drift_world.events, drift_world.truth.drift_onset
    steps = {}
    for day in (7, 22, 35):
        steps[day] = drift_vs_label_lag(events, as_of=onset + pd.Timedelta(days=day), drift=onset)
    wait, recal, retrain = steps[7], steps[22], steps[35]
    # a week after the drift: few new-world labels, calibration not measurable → wait, dated
    assert wait.verdict == RetrainVerdict.WAIT_FOR_LABELS
    assert wait.labelled_now < wait.k_star and wait.forecast_date is not None
    assert "wait (forecast: " in wait.reasons[-1].message
    # three weeks: matured post-drift labels show the champion under-predicting → stopgap
    assert recal.verdict == RetrainVerdict.RECALIBRATE_STOPGAP
    assert recal.calibration.citl_shifted and recal.calibration.fit.citl > 0.5
    assert recal.calibration.validated
    # five weeks: enough post-drift labels → retrain
    assert retrain.verdict == RetrainVerdict.RETRAIN_NOW
    assert retrain.labelled_now >= retrain.k_star
    # the dates line up: the stopgap-time forecast is met by the realized labels
    known = events["label_ts"].notna() & (events["ts"] >= onset)
    by_date = int((known & (events["label_ts"] <= recal.forecast_date)).sum())
    assert by_date >= recal.k_star
    # the stopgap moves calibration-in-the-large towards 0 on the eventual truth
    post = events[events["ts"] >= onset]
    truth_before = calibration_fit(post["score"].to_numpy(), post["true_label"].to_numpy())
    truth_after = calibration_fit(
        recal.calibration.apply(post["score"].to_numpy()), post["true_label"].to_numpy()
    )
    assert abs(truth_after.citl) < 0.5 * abs(truth_before.citl)


def test_demo_arrival_bias_inflates_immature_auc(drift_world: Any) -> None:
    events, as_of = drift_world.events, drift_world.as_of
    lm = label_maturity(events, as_of=as_of, score="score")
    assert lm.arrival.biased and lm.arrival.diff[0] > 0.1
    start = as_of - pd.Timedelta(days=14)
    win = events[events["ts"] >= start]
    auc_known, auc_true = _auc(win["label"], win["score"]), _auc(win["true_label"], win["score"])
    assert auc_known > auc_true + 0.02  # measured on immature labels: inflated
    codes = [w.split(":")[0] for w in lm.window_warnings(start, as_of)]
    assert codes == ["immature_window", "arrival_bias"]
    # the maturity curve of the demo's Gamma(2, 10 d) delays (with arrival bias, so only close)
    assert lm.maturity[13] == pytest.approx(_true_f(14), abs=0.05)


def test_duckdb_relation_and_parquet_path(small: pd.DataFrame, tmp_path: Any) -> None:
    duckdb = pytest.importorskip("duckdb")
    as_of = START + pd.Timedelta(days=60)
    ref = label_maturity(small, as_of=as_of, score="score")
    con = duckdb.connect()
    rel = con.from_df(small)
    got = label_maturity(rel, as_of=as_of, score="score")
    np.testing.assert_allclose(got.maturity, ref.maturity, rtol=1e-12)
    path = tmp_path / "events.parquet"
    small.to_parquet(path)
    from_file = label_maturity(str(path), as_of=as_of, score="score")
    np.testing.assert_allclose(from_file.maturity, ref.maturity, rtol=1e-12)
    r = drift_vs_label_lag(rel, as_of=as_of, drift=START + pd.Timedelta(days=45))
    assert (
        r.verdict
        == drift_vs_label_lag(small, as_of=as_of, drift=START + pd.Timedelta(days=45)).verdict
    )
