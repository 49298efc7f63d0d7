"""The simulated card-fraud world: the embedded default data and the tests' ground truth.

A seeded simulation realistic enough to exercise every decision mlopskit makes:

* transactions with 12 features of mixed types (heavy-tailed ``amount``, merchant category,
  country, channel, hour, account age, velocity counts, device risk, new device, distance,
  card present); fraud (≈ 0.7 %) depends on the features through a known logit;
* two *fitted* logistic models: champion ``fraud_v2.2`` (fewer signals) and challenger
  ``fraud_v2.3`` (more signals in the ``better`` scenario), both calibrated probabilities
  fitted on a training window, judged on an offline holdout;
* label lag: a fraud's chargeback arrives after a Gamma delay (median ≈ 17 days, horizon 90
  days), faster for riskier frauds (arrival bias), so recent labels are immature;
* an optional drift event (a merchant-category surge, an amount shift and a new fraud
  pattern) that degrades the champion;
* a shadow log (both scores, latencies, rare challenger errors) and a canary log (units
  hashed into control/canary, decisions, outcomes, losses) following ARCHITECTURE.md §4;
* a service log (latency and errors of the serving champion's calls) for the
  service-health monitoring layer.

``events`` and ``shadow_log`` are a uniform sample of production traffic (``daily_volume``
rows a day, as a monitoring sample would be); the canary log holds every unit of the canary
period (``canary_daily_volume`` a day) because the canary comparison needs the volume.

Same seed → the same frames and byte-identical files. Scenarios export their ground truth
(true effects, drift onset, the segment made to disagree) so tests can check decisions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

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


# --------------------------------------------------------------------------------------
# Scenario and ground truth
# --------------------------------------------------------------------------------------
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
    canary_start_day: int = 44
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


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------
def _terms(x: Mapping[str, Any], term: str) -> np.ndarray:
    """One design column from raw features (the models' feature engineering)."""
    if term == "log_amount":
        return np.log1p(np.asarray(x["amount"], dtype=float))
    if term.startswith("mcc="):
        return (np.asarray(x["merchant_category"]) == term[4:]).astype(float)
    if term.startswith("country="):
        return (np.asarray(x["country"]) == term[8:]).astype(float)
    if term.startswith("channel="):
        return (np.asarray(x["channel"]) == term[8:]).astype(float)
    if term == "night":
        return (np.asarray(x["hour"]) < 6).astype(float)
    if term == "log_account_age":
        return np.log1p(np.asarray(x["account_age_days"], dtype=float) / 30.0)
    if term == "log_distance":
        return np.log1p(np.asarray(x["distance_km"], dtype=float))
    if term == "new_device_app":
        return np.asarray(x["is_new_device"], dtype=float) * (np.asarray(x["channel"]) == "app")
    if term in ("txn_count_1h", "txn_count_24h", "device_risk", "is_new_device", "card_present"):
        return np.asarray(x[term], dtype=float)
    raise ValueError(f"unknown model term {term!r}")


def _term_feature(term: str) -> str:
    return {
        "log_amount": "amount",
        "night": "hour",
        "log_account_age": "account_age_days",
        "log_distance": "distance_km",
        "new_device_app": "is_new_device",
    }.get(term, term.split("=")[0].replace("mcc", "merchant_category"))


CHAMPION_TERMS = (
    "log_amount",
    *(f"mcc={c}" for c in MERCHANT_CATEGORIES[1:]),
    *(f"country={c}" for c in COUNTRIES[1:]),
    *(f"channel={c}" for c in CHANNELS[1:]),
    "night",
    "log_account_age",
    "txn_count_1h",
    "card_present",
)
CHALLENGER_TERMS = (
    *CHAMPION_TERMS,
    "txn_count_24h",
    "device_risk",
    "new_device_app",
    "log_distance",
)
WORSE_TERMS = ("log_amount", "night", "log_account_age", "card_present", "channel=web")


@dataclass(frozen=True)
class LogisticModel:
    """A fitted logistic fraud model: ``P(fraud) = expit(intercept + Σ coef·term)``."""

    name: str
    version: str
    terms: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float = 0.5
    """Decision threshold shipped with the model: scores ≥ threshold are flagged."""
    feature_importance: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return f"{self.name}_v{self.version}"

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_term_feature(t) for t in self.terms))

    def logit(self, x: Mapping[str, Any]) -> np.ndarray:
        out = np.full(len(np.asarray(x["amount"])), self.intercept, dtype=float)
        for term, c in zip(self.terms, self.coef, strict=True):
            out += c * _terms(x, term)
        return out

    def score(self, x: Mapping[str, Any]) -> np.ndarray:
        """Fraud probability for each row of ``x`` (a mapping of feature → array, e.g. a
        pandas DataFrame)."""
        return _expit(self.logit(x))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> LogisticModel:
        d = json.loads(text)
        d["terms"] = tuple(d["terms"])
        d["coef"] = tuple(d["coef"])
        return cls(**d)


def _expit(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _fit(
    name: str,
    version: str,
    terms: tuple[str, ...],
    x: Mapping[str, Any],
    y: np.ndarray,
    idx: np.ndarray,
) -> LogisticModel:
    sub = {k: np.asarray(v)[idx] for k, v in x.items()}
    X = np.column_stack([np.ones(idx.size)] + [_terms(sub, t) for t in terms])
    res = sm.Logit(y[idx], X).fit(disp=0, method="newton", maxiter=100)
    params = np.asarray(res.params, dtype=float)
    sds = X[:, 1:].std(axis=0)
    imp: dict[str, float] = {}
    for t, c, s in zip(terms, params[1:], sds, strict=True):
        f = _term_feature(t)
        imp[f] = imp.get(f, 0.0) + abs(float(c)) * float(s)
    total = sum(imp.values()) or 1.0
    importance = {k: round(v / total, 6) for k, v in sorted(imp.items())}
    return LogisticModel(
        name=name,
        version=version,
        terms=terms,
        coef=tuple(round(float(c), 10) for c in params[1:]),
        intercept=round(float(params[0]), 10),
        feature_importance=importance,
        training={
            "rows": int(idx.size),
            "positives": int(y[idx].sum()),
            "hyperparameters": {"estimator": "logistic regression (Newton MLE)", "penalty": None},
            "feature_set_version": f"fs-{len(terms)}terms",
        },
    )


# --------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------
def _rng(s: Scenario, stream: int) -> np.random.Generator:
    return np.random.default_rng([s.seed, stream])


def _simulate(
    s: Scenario, rng: np.random.Generator, day: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Features, true fraud logit and timestamps (ns offsets) for rows on integer ``day``s."""
    n = day.size
    drifted = np.zeros(n, dtype=bool) if s.drift_day is None else day >= s.drift_day
    mcc_p = MCC_P.copy()
    mcc_p_drift = MCC_P.copy()
    surge = MERCHANT_CATEGORIES.index(s.drift_category)
    mcc_p_drift[surge] *= s.drift_mcc_surge
    mcc_p_drift /= mcc_p_drift.sum()
    u = rng.random(n)
    mcc = np.where(
        drifted,
        np.searchsorted(np.cumsum(mcc_p_drift), u, side="right"),
        np.searchsorted(np.cumsum(mcc_p), u, side="right"),
    ).clip(0, len(MERCHANT_CATEGORIES) - 1)
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_P)
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_P)
    # hour: fewer transactions at night
    hour_w = np.array(
        [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4, 4, 5, 5, 4, 4, 4, 5, 5, 5, 4, 3, 2, 1.5]
    )
    hour = rng.choice(24, size=n, p=hour_w / hour_w.sum())
    seconds = hour * 3600 + rng.integers(0, 3600, size=n)
    log_amount = rng.normal(3.4, 1.1, n)
    shift = drifted & (mcc == surge)
    log_amount = log_amount + np.where(shift, s.drift_amount_shift, 0.0)
    amount = np.round(np.exp(log_amount), 2)
    account_age = np.round(rng.gamma(1.3, 420.0, n), 0)
    txn_1h = rng.poisson(0.4, n)
    txn_24h = txn_1h + rng.poisson(2.5, n)
    device_risk = np.round(rng.beta(1.2, 9.0, n), 4)
    is_new_device = (rng.random(n) < 0.08).astype(np.int8)
    distance = np.round(rng.lognormal(2.0, 1.3, n), 1)
    card_present = np.where(channel == 0, rng.random(n) < 0.93, rng.random(n) < 0.02).astype(
        np.int8
    )
    z = (
        BASE_LOGIT
        + SIGNAL
        * (
            0.35 * np.log1p(amount)
            + MCC_EFFECT[mcc]
            + COUNTRY_EFFECT[country]
            + CHANNEL_EFFECT[channel]
            + 0.5 * (hour < 6)
            - 0.6 * np.log1p(account_age / 30.0)
            + 0.45 * txn_1h
            + 0.04 * txn_24h
            + 0.8 * device_risk
            + 0.1 * np.log1p(distance)
            - 0.8 * card_present
        )
        + NEW_DEVICE_APP * is_new_device * (channel == 2)
        + np.where(drifted & (mcc == surge), s.drift_fraud_lift, 0.0)
    )
    x = {
        "amount": amount,
        "merchant_category": np.asarray(MERCHANT_CATEGORIES)[mcc],
        "country": np.asarray(COUNTRIES)[country],
        "channel": np.asarray(CHANNELS)[channel],
        "hour": hour.astype(np.int64),
        "account_age_days": account_age,
        "txn_count_1h": txn_1h.astype(np.int64),
        "txn_count_24h": txn_24h.astype(np.int64),
        "device_risk": device_risk,
        "is_new_device": is_new_device.astype(np.int64),
        "distance_km": distance,
        "card_present": card_present.astype(np.int64),
    }
    return x, z, seconds.astype(np.int64)


def _days(s: Scenario, first: int, n_days: int, per_day: int) -> np.ndarray:
    return np.repeat(np.arange(first, first + n_days), per_day)


def _timestamps(s: Scenario, day: np.ndarray, seconds: np.ndarray) -> pd.DatetimeIndex:
    start = pd.Timestamp(s.start)
    return start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(seconds, unit="s")


def _labels(
    s: Scenario, rng: np.random.Generator, z: np.ndarray, ts: pd.DatetimeIndex, as_of: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """True fraud, observed label and label_ts as of ``as_of`` (NaT when not yet arrived)."""
    n = z.size
    fraud = rng.random(n) < _expit(z)
    # standardize the logit among frauds: the typical fraud has the nominal delay scale
    zf = z[fraud] if fraud.any() else z
    zs = (z - zf.mean()) / (zf.std() or 1.0)
    scale = s.label_delay_scale_days * np.exp(-s.arrival_bias * zs)
    delay_days = rng.gamma(s.label_delay_shape, 1.0, n) * scale
    delay = pd.to_timedelta(np.round(delay_days * 86400).astype(np.int64), unit="s")
    arrives = fraud & (delay_days <= s.label_horizon_days)
    label_ts = pd.Series(ts + delay).where(arrives)
    observed = arrives & (label_ts <= as_of).to_numpy()
    label_ts = label_ts.where(observed)
    return fraud.astype(np.int64), observed.astype(np.int64), label_ts


def _latency(rng: np.random.Generator, n: int, median: float, tail: float) -> np.ndarray:
    return np.round(rng.lognormal(np.log(median), tail, n), 2)


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    ranks = pd.Series(score).rank(method="average").to_numpy()
    n1 = y.sum()
    n0 = y.size - n1
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass(frozen=True)
class DemoWorld:
    """The simulated world: frames, models and the ground truth (see module docstring)."""

    scenario: Scenario
    truth: GroundTruth
    as_of: pd.Timestamp
    reference: pd.DataFrame
    offline: pd.DataFrame
    events: pd.DataFrame
    shadow_log: pd.DataFrame
    canary_log: pd.DataFrame
    service_log: pd.DataFrame
    champion: LogisticModel
    challenger: LogisticModel
    features: tuple[str, ...] = FEATURES
    categorical: tuple[str, ...] = CATEGORICAL
    segments: tuple[str, ...] = SEGMENTS

    @property
    def threshold(self) -> float:
        return self.truth.threshold


def generate(
    scenario_or_name: str | Scenario = "better", *, size: str = "small", **overrides: Any
) -> DemoWorld:
    """Simulate a world. ``size`` is ``small`` (default, quick reports), ``medium`` or
    ``large`` (benchmarks); ``overrides`` replace Scenario fields (e.g. ``seed=3``)."""
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {sorted(SIZES)}; got {size!r}.")
    if isinstance(scenario_or_name, Scenario):
        s = dataclasses.replace(scenario_or_name, **overrides)
    else:
        s = scenario(scenario_or_name, **{**SIZES[size], **overrides})
    if (
        s.canary_start_day + s.canary_days > s.n_days
        or s.shadow_start_day + s.shadow_days > s.n_days
    ):
        raise ValueError("shadow and canary windows must end within n_days.")
    start = pd.Timestamp(s.start)
    as_of = start + pd.Timedelta(days=s.n_days)

    # ---- training window → reference, fitted models, offline holdout -----------------
    rng = _rng(s, 1)
    tday = _days(s, -s.train_days, s.train_days, s.daily_volume)
    tx, tz, tsec = _simulate(s, rng, tday)
    t_ts = _timestamps(s, tday, tsec)
    t_fraud = (rng.random(tz.size) < _expit(tz)).astype(np.int64)  # training labels: mature
    order = _rng(s, 2).permutation(tz.size)
    n_hold = round(s.holdout_share * tz.size)
    hold, train = np.sort(order[:n_hold]), np.sort(order[n_hold:])
    champion = _fit("fraud", "2.2", CHAMPION_TERMS, tx, t_fraud, train)
    if s.challenger == "better":
        challenger = _fit("fraud", "2.3", CHALLENGER_TERMS, tx, t_fraud, train)
    elif s.challenger == "equal":
        boot = np.sort(_rng(s, 3).choice(train, size=train.size, replace=True))
        challenger = _fit("fraud", "2.3", CHAMPION_TERMS, tx, t_fraud, boot)
    elif s.challenger == "worse":
        small = np.sort(_rng(s, 3).choice(train, size=max(train.size // 8, 2000), replace=False))
        challenger = _fit("fraud", "2.3", WORSE_TERMS, tx, t_fraud, small)
    else:
        raise ValueError(f"`challenger` must be better, worse or equal; got {s.challenger!r}.")
    reference = pd.DataFrame({"ts": t_ts, **tx})
    reference["label"] = t_fraud
    reference["score_champion"] = champion.score(tx)
    reference["score_challenger"] = challenger.score(tx)
    offline = reference.iloc[hold].reset_index(drop=True)
    reference = reference.iloc[train].reset_index(drop=True)
    # each model ships with its capacity-matched threshold: flag rate = s.flag_rate offline
    threshold = float(np.round(np.quantile(offline["score_champion"], 1 - s.flag_rate), 5))
    threshold_cl = float(np.round(np.quantile(offline["score_challenger"], 1 - s.flag_rate), 5))
    champion = dataclasses.replace(champion, threshold=threshold)
    challenger = dataclasses.replace(challenger, threshold=threshold_cl)

    # ---- production events (a uniform sample of traffic) -------------------------------
    rng = _rng(s, 4)
    eday = _days(s, 0, s.n_days, s.daily_volume)
    ex, ez, esec = _simulate(s, rng, eday)
    e_ts = _timestamps(s, eday, esec)
    order = np.lexsort((np.arange(eday.size), e_ts.asi8))
    ex = {k: v[order] for k, v in ex.items()}
    ez, e_ts, eday = ez[order], e_ts[order], eday[order]
    fraud, label, label_ts = _labels(s, rng, ez, e_ts, as_of)
    s_champ = champion.score(ex)
    s_chall = challenger.score(ex)
    events = pd.DataFrame(
        {
            "request_id": [
                f"tx{d:03d}-{i:07d}" for d, i in zip(eday, range(eday.size), strict=True)
            ],
            "ts": e_ts,
        }
    )
    for k, v in ex.items():
        events[k] = v
    events["score"] = s_champ
    events["score_champion"] = s_champ
    events["score_challenger"] = s_chall
    events["label"] = label
    events["label_ts"] = label_ts.to_numpy()
    events["true_label"] = fraud

    # ---- service log: the serving (champion) calls behind the sampled events ----------
    rng = _rng(s, 7)
    n_ev = len(events)
    svc_err = rng.random(n_ev) < s.champion_error_rate
    service = pd.DataFrame(
        {
            "request_id": events["request_id"],
            "ts": events["ts"],
            "latency_ms": np.where(svc_err, 250.0, _latency(rng, n_ev, 18.0, 0.35)),
            "error": svc_err,
        }
    )

    # ---- shadow log: the shadow window of events, with operations --------------------
    win = (eday >= s.shadow_start_day) & (eday < s.shadow_start_day + s.shadow_days)
    sh = events.loc[win].reset_index(drop=True)
    rng = _rng(s, 5)
    n = len(sh)
    err_ch = rng.random(n) < s.champion_error_rate
    err_cl = rng.random(n) < s.challenger_error_rate
    shadow = pd.DataFrame(
        {
            "request_id": sh["request_id"],
            "ts": sh["ts"],
            "score_champion": sh["score_champion"].where(~err_ch),
            "score_challenger": sh["score_challenger"].where(~err_cl),
            "latency_ms_champion": np.where(err_ch, 250.0, _latency(rng, n, 18.0, 0.35)),
            "latency_ms_challenger": np.where(
                err_cl, 250.0, _latency(rng, n, s.challenger_latency_ms, s.challenger_latency_tail)
            ),
            "error_champion": err_ch,
            "error_challenger": err_cl,
            "label": sh["label"],
            "label_ts": sh["label_ts"],
        }
    )
    for seg in SEGMENTS:
        shadow[seg] = sh[seg]

    # ---- canary log: every unit of the canary period ----------------------------------
    rng = _rng(s, 6)
    cday = _days(s, s.canary_start_day, s.canary_days, s.canary_daily_volume)
    cx, cz, csec = _simulate(s, rng, cday)
    c_ts = _timestamps(s, cday, csec)
    order = np.lexsort((np.arange(cday.size), c_ts.asi8))
    cx = {k: v[order] for k, v in cx.items()}
    cz, c_ts, cday = cz[order], c_ts[order], cday[order]
    _, c_label, c_label_ts = _labels(s, rng, cz, c_ts, as_of)
    share = s.canary_share if s.logged_canary_share is None else s.logged_canary_share
    unit_ids = np.arange(cz.size, dtype=np.int64) + 10_000_000
    # deterministic hash assignment of units (splitmix-style mixing of the unit id)
    h = unit_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(s.seed)
    h ^= h >> np.uint64(31)
    h = h * np.uint64(0xBF58476D1CE4E5B9)  # uint64 arithmetic wraps modulo 2**64
    h ^= h >> np.uint64(29)
    bucket = (h % np.uint64(1_000_000)).astype(float) / 1_000_000
    is_canary = bucket < share
    c_champ = champion.score(cx)
    c_chall = challenger.score(cx)
    c_score = np.where(is_canary, c_chall, c_champ)
    flagged = c_score >= np.where(is_canary, threshold_cl, threshold)
    amount = cx["amount"]
    canary = pd.DataFrame(
        {
            "unit_id": unit_ids,
            "ts": c_ts,
            "arm": np.where(is_canary, "canary", "control"),
            "score": c_score,
            "flagged": flagged,
            "label": c_label,
            "label_ts": c_label_ts.to_numpy(),
            "amount": amount,
            "loss": np.where((c_label == 1) & ~flagged, amount, 0.0),
            "latency_ms": np.where(
                is_canary,
                _latency(rng, cz.size, s.challenger_latency_ms, s.challenger_latency_tail),
                _latency(rng, cz.size, 18.0, 0.35),
            ),
            "error": np.where(
                is_canary,
                rng.random(cz.size) < s.challenger_error_rate,
                rng.random(cz.size) < s.champion_error_rate,
            ),
        }
    )
    for seg in SEGMENTS:
        canary[seg] = cx[seg]

    # ---- ground truth ---------------------------------------------------------------
    p_true = _expit(cz)
    f_ch, f_cl = c_champ >= threshold, c_chall >= threshold_cl
    effects = {
        "fraud_missed_rate": float(np.mean(p_true * (~f_cl)) - np.mean(p_true * (~f_ch))),
        "false_positive_rate": float(np.mean((1 - p_true) * f_cl) - np.mean((1 - p_true) * f_ch)),
        "flag_rate": float(np.mean(f_cl) - np.mean(f_ch)),
        "loss_per_unit": float(
            np.mean(p_true * amount * (~f_cl)) - np.mean(p_true * amount * (~f_ch))
        ),
    }
    expected = {
        "shadow": {
            "better": "READY_FOR_CANARY",
            "default": "READY_FOR_CANARY",
            "equal": "READY_FOR_CANARY",
            "drift": "READY_FOR_CANARY",
            "srm": "READY_FOR_CANARY",
            "latency": "FIX",
            "errors": "FIX",
        }.get(s.name, ""),
        "canary": {
            "better": "PROMOTE",
            "default": "PROMOTE",
            "worse": "ROLLBACK",
            "srm": "INVALID",
        }.get(s.name, ""),
    }
    truth = GroundTruth(
        scenario=s.name,
        drift_onset=None if s.drift_day is None else start + pd.Timedelta(days=s.drift_day),
        drifted_features=DRIFTED_FEATURES if s.drift_day is not None else (),
        auc_champion=round(
            _auc(offline["label"].to_numpy(), offline["score_champion"].to_numpy()), 6
        ),
        auc_challenger=round(
            _auc(offline["label"].to_numpy(), offline["score_challenger"].to_numpy()), 6
        ),
        threshold=threshold,
        challenger_threshold=threshold_cl,
        fraud_rate=round(float(fraud.mean()), 6),
        canary_true_effect={k: round(v, 8) for k, v in effects.items()},
        disagreement_segment=("channel", "app") if s.challenger == "better" else ("", ""),
        expected={k: v for k, v in expected.items() if v},
    )
    return DemoWorld(
        scenario=s,
        truth=truth,
        as_of=as_of,
        reference=reference,
        offline=offline,
        events=events,
        shadow_log=shadow,
        canary_log=canary,
        service_log=service,
        champion=champion,
        challenger=challenger,
    )


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------
TABLES = ("events", "reference", "offline", "shadow_log", "canary_log", "service_log")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write(world: DemoWorld, out_dir: str | Path) -> dict[str, Path]:
    """Write the world as parquet + JSON into ``out_dir``; returns name → path.

    Byte-identical for the same world (no timestamps or random ids in the files).
    """
    out = Path(out_dir)
    (out / "models").mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in TABLES:
        p = out / f"{name}.parquet"
        getattr(world, name).to_parquet(p, index=False, compression="zstd")
        paths[name] = p
    for model in (world.champion, world.challenger):
        p = out / "models" / f"{model.display_name}.json"
        p.write_text(model.to_json())
        paths[model.display_name] = p
    truth = out / "truth.json"
    truth.write_text(json.dumps(world.truth.to_dict(), sort_keys=True, indent=1))
    paths["truth"] = truth
    scen = out / "scenario.json"
    scen.write_text(json.dumps(dataclasses.asdict(world.scenario), sort_keys=True, indent=1))
    paths["scenario"] = scen
    manifest = {
        "as_of": world.as_of.isoformat(),
        "threshold": world.threshold,
        "challenger_threshold": world.truth.challenger_threshold,
        "champion": world.champion.display_name,
        "challenger": world.challenger.display_name,
        "files": {
            k: {"path": str(v.relative_to(out)), "sha256": _sha256(v)}
            for k, v in sorted(paths.items())
        },
    }
    mp = out / "manifest.json"
    mp.write_text(json.dumps(manifest, sort_keys=True, indent=1))
    paths["manifest"] = mp
    return paths


def load(out_dir: str | Path) -> DemoWorld:
    """Read a world written by :func:`write` (frames as pandas)."""
    out = Path(out_dir)
    if not (out / "manifest.json").exists():
        raise ValueError(f"`{out}` is not a demo world directory (no manifest.json).")
    manifest = json.loads((out / "manifest.json").read_text())
    s = Scenario(**json.loads((out / "scenario.json").read_text()))
    frames = {name: pd.read_parquet(out / f"{name}.parquet") for name in TABLES}
    champ = LogisticModel.from_json((out / "models" / f"{manifest['champion']}.json").read_text())
    chall = LogisticModel.from_json((out / "models" / f"{manifest['challenger']}.json").read_text())
    return DemoWorld(
        scenario=s,
        truth=GroundTruth.from_dict(json.loads((out / "truth.json").read_text())),
        as_of=pd.Timestamp(manifest["as_of"]),
        reference=frames["reference"],
        offline=frames["offline"],
        events=frames["events"],
        shadow_log=frames["shadow_log"],
        canary_log=frames["canary_log"],
        service_log=frames["service_log"],
        champion=champ,
        challenger=chall,
    )
