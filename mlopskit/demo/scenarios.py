"""The simulated world's constants, its scenarios and the ground truth they export."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SCENARIOS = ("default", "better", "worse", "equal", "drift", "latency", "errors", "srm")

MERCHANT_CATEGORIES = (
    "grocery",
    "fuel",
    "restaurants",
    "travel",
    "electronics",
    "digital_goods",
    "fashion",
    "gambling",
)
MCC_P = np.array([0.24, 0.12, 0.18, 0.08, 0.09, 0.10, 0.14, 0.05])
MCC_EFFECT = np.array([0.0, -0.2, 0.0, 0.3, 0.7, 1.0, 0.2, 0.9])
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "IN", "BR", "NG")
COUNTRY_P = np.array([0.40, 0.14, 0.12, 0.10, 0.08, 0.07, 0.05, 0.04])
COUNTRY_EFFECT = np.array([0.0, 0.0, -0.1, 0.0, 0.0, 0.3, 0.5, 0.6])
CHANNELS = ("pos", "web", "app")
CHANNEL_P = np.array([0.5, 0.3, 0.2])
CHANNEL_EFFECT = np.array([0.0, 0.6, 0.3])

FEATURES = (
    "amount",
    "merchant_category",
    "country",
    "channel",
    "hour",
    "account_age_days",
    "txn_count_1h",
    "txn_count_24h",
    "device_risk",
    "is_new_device",
    "distance_km",
    "card_present",
)
CATEGORICAL = ("merchant_category", "country", "channel")
SEGMENTS = ("channel", "merchant_category", "country")

BASE_LOGIT = -8.2
"""Chosen so the pre-drift fraud rate is ≈ 0.7 % (checked in tests/test_demo.py)."""
SIGNAL = 2.0
"""Scale of the shared fraud signals (gives champion AUC ≈ 0.92 offline)."""
NEW_DEVICE_APP = 2.8
"""Fraud log-odds of a new device in the app channel: a signal only the challenger has,
so the ``better`` challenger disagrees with the champion mostly in ``channel == "app"``."""

DRIFTED_FEATURES = ("merchant_category", "amount")

SIZES: dict[str, dict[str, int]] = {
    "small": {"daily_volume": 4000, "canary_daily_volume": 40000},
    "medium": {"daily_volume": 20000, "canary_daily_volume": 100000},
    "large": {"daily_volume": 200000, "canary_daily_volume": 400000},
}


@dataclass(frozen=True)
class Scenario:
    """Every knob of the simulated world (defaults: the ``better`` scenario, size small).

    Days are counted from ``start`` (day 0 = first production day); the training window is
    the ``train_days`` before it.
    """

    name: str = "better"
    seed: int = 7
    start: str = "2026-06-01"
    n_days: int = 120
    daily_volume: int = 4000
    train_days: int = 60
    holdout_share: float = 0.25
    shadow_start_day: int = 30
    shadow_days: int = 14
    canary_start_day: int = 2
    """The canary runs on days 2–30, so that at the as-of (day ``n_days`` = 120) every
    canary unit's label window under the policy's 90-day label horizon has elapsed and the
    default report decides on mature labels. (Until round 3 it ran on days 44–72: at day
    120 no unit was 90 days old, and the old PROMOTE rested on 30-day labels.) Only the
    canary's timestamps and which labels have arrived depend on it: the canary is drawn from
    its own random stream, so every other number of the world is unchanged."""
    canary_days: int = 28
    canary_daily_volume: int = 40000
    canary_share: float = 0.05
    logged_canary_share: float | None = None
    """Share actually assigned to canary (``None`` = ``canary_share``); ``srm`` uses 0.06."""
    drift_day: int | None = None
    drift_category: str = "fashion"
    """The merchant category that surges after the drift, with a new fraud pattern."""
    drift_mcc_surge: float = 2.5
    """Multiplier of ``drift_category``'s share after the drift."""
    drift_amount_shift: float = 1.5
    """Added to log(amount) in ``drift_category`` after the drift."""
    drift_fraud_lift: float = 2.0
    """Added to the fraud logit of ``drift_category`` after the drift: a pattern the models
    (trained before it) miss, so the champion's AUC drops and it under-predicts."""
    label_delay_shape: float = 2.0
    label_delay_scale_days: float = 10.0
    arrival_bias: float = 0.35
    """Delay scale × exp(−arrival_bias·z), z the standardized true fraud logit: riskier
    frauds charge back faster."""
    label_horizon_days: int = 90
    challenger: str = "better"
    """Which challenger is trained: ``better`` (more signals), ``worse`` (fewer signals,
    little data) or ``equal`` (the champion's signals, another sample)."""
    flag_rate: float = 0.015
    """The decision threshold is the champion's offline score quantile at 1 − flag_rate."""
    challenger_latency_ms: float = 21.0
    """Median challenger latency (champion: 18 ms)."""
    challenger_latency_tail: float = 0.35
    """Log-scale SD of challenger latency (champion: 0.35)."""
    challenger_error_rate: float = 0.001
    champion_error_rate: float = 0.0005


def scenario(name: str = "better", **overrides: Any) -> Scenario:
    """The named scenario with ``overrides`` applied."""
    presets: dict[str, dict[str, Any]] = {
        "default": {"drift_day": 100},
        "better": {},
        "worse": {"challenger": "worse"},
        "equal": {"challenger": "equal"},
        "drift": {"drift_day": 70},
        "latency": {"challenger_latency_ms": 48.0, "challenger_latency_tail": 0.8},
        "errors": {"challenger_error_rate": 0.03},
        "srm": {"logged_canary_share": 0.06},
    }
    if name not in presets:
        raise ValueError(f"`scenario` must be one of {SCENARIOS}; got {name!r}.")
    fields = {f.name for f in dataclasses.fields(Scenario)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown Scenario fields {unknown}; known: {sorted(fields)}.")
    return Scenario(**{"name": name, **presets[name], **overrides})


@dataclass(frozen=True)
class GroundTruth:
    """What the simulation knows and an analysis must recover."""

    scenario: str
    drift_onset: pd.Timestamp | None
    drifted_features: tuple[str, ...]
    auc_champion: float
    auc_challenger: float
    threshold: float
    """The champion's decision threshold (champion.threshold)."""
    challenger_threshold: float
    """The challenger's shipped threshold (capacity-matched on the offline holdout)."""
    fraud_rate: float
    canary_true_effect: dict[str, float]
    disagreement_segment: tuple[str, str]
    expected: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["drift_onset"] = None if self.drift_onset is None else self.drift_onset.isoformat()
        d["disagreement_segment"] = list(self.disagreement_segment)
        d["drifted_features"] = list(self.drifted_features)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GroundTruth:
        d = dict(d)
        d["drift_onset"] = None if d["drift_onset"] is None else pd.Timestamp(d["drift_onset"])
        d["disagreement_segment"] = tuple(d["disagreement_segment"])
        d["drifted_features"] = tuple(d["drifted_features"])
        return cls(**d)
