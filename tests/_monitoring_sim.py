"""Seeded worlds for the monitoring and retraining simulations (issue 12).

A daily stream of scored events whose labels arrive late, at a speed that depends on how
risky the event is (riskier positives are labelled faster: arrival bias), with day-to-day
variability larger than sampling noise (a daily random effect on the population mix,
AR(1) over days, and a weekday volume pattern), and optionally a drift at a known day:

* covariate shift (``drift_shift``): the risk feature's mean moves, so the score
  distribution moves; the served score stays calibrated;
* concept shift (``concept_shift``): the true fraud log-odds move by a constant the served
  model does not know, so the score is no longer calibrated after the drift.

The served score is the calibrated probability ``σ(a + b·x)`` of the pre-drift world.
Everything is returned as a pandas frame of events following the scored-events contract
(``ts, score, label, label_ts``; ``label`` is 1 when the positive label has arrived by
``as_of``, ``label_ts`` then its arrival time) plus the eventual truth (``fraud``), so tests can
compare any estimate with what will eventually be known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

A, B = -5.0, 1.1  # base log-odds and signal: prevalence ≈ 1.2 %, AUC ≈ 0.84


@dataclass(frozen=True)
class World:
    events: pd.DataFrame
    start: pd.Timestamp
    as_of: pd.Timestamp
    drift_onset: pd.Timestamp | None
    reference_period: tuple[pd.Timestamp, pd.Timestamp]


def simulate_world(
    seed: int,
    *,
    n_days: int = 120,
    reference_days: int = 30,
    daily_volume: int = 1500,
    drift_day: int | None = None,
    drift_shift: float = 0.0,
    concept_shift: float = 0.0,
    daily_sd: float = 0.04,
    daily_ar: float = 0.3,
    arrival_bias: float = 0.5,
    delay_shape: float = 2.0,
    delay_scale_days: float = 8.0,
    label_horizon_days: int = 90,
    as_of_day: int | None = None,
    start: str = "2026-01-05",
) -> World:
    """One seeded world; ``as_of_day`` (default ``n_days``) is when the labels are read."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    days = np.arange(n_days)
    weekday = (t0 + pd.to_timedelta(days, unit="D")).day_of_week.to_numpy()
    vol = rng.poisson(daily_volume * np.where(weekday >= 5, 0.8, 1.08))
    # AR(1) day effect on the risk feature's mean: overdispersion of daily statistics
    u = np.empty(n_days)
    u[0] = rng.normal(0, daily_sd)
    for d in range(1, n_days):
        u[d] = daily_ar * u[d - 1] + np.sqrt(1 - daily_ar**2) * rng.normal(0, daily_sd)
    day = np.repeat(days, vol)
    drifted = (day >= drift_day) if drift_day is not None else np.zeros(day.size, dtype=bool)
    x = rng.normal(u[day] + drift_shift * drifted, 1.0)
    eta_model = A + B * x
    score = 1 / (1 + np.exp(-eta_model))
    eta_true = eta_model + concept_shift * drifted
    fraud = rng.random(day.size) < 1 / (1 + np.exp(-eta_true))
    ts = t0 + pd.to_timedelta(day + rng.random(day.size), unit="D")
    # faster labels for riskier frauds: scale × exp(−bias·z), z the standardized true logit
    z = (eta_true - A) / B
    delay = rng.gamma(delay_shape, delay_scale_days * np.exp(-arrival_bias * z))
    arrives = fraud & (delay <= label_horizon_days)
    as_of = t0 + pd.Timedelta(days=n_days if as_of_day is None else as_of_day)
    label_ts = pd.Series(ts + pd.to_timedelta(delay, unit="D"))
    observed = arrives & (label_ts <= as_of).to_numpy()
    events = pd.DataFrame(
        {
            "ts": ts,
            "score": score,
            "label": observed.astype(np.int64),
            "label_ts": label_ts.where(observed),
            "fraud": fraud.astype(np.int64),
            "delay_days": np.where(fraud, delay, np.nan),
        }
    )
    events = events[events["ts"] < as_of].reset_index(drop=True)
    onset = None if drift_day is None else t0 + pd.Timedelta(days=drift_day)
    return World(
        events=events,
        start=t0,
        as_of=as_of,
        drift_onset=onset,
        reference_period=(t0, t0 + pd.Timedelta(days=reference_days)),
    )


def daily_logit_means(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Daily mean logit score on the reference days and on every later day."""
    ev = world.events
    day = ((ev["ts"] - world.start) / pd.Timedelta(days=1)).astype(int).to_numpy()
    lg = np.log(ev["score"] / (1 - ev["score"])).to_numpy()
    m = np.bincount(day, weights=lg) / np.maximum(np.bincount(day), 1)
    k = int((world.reference_period[1] - world.start) / pd.Timedelta(days=1))
    return m[:k], m[k:]
