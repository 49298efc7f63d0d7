"""The simulation: transactions, labels with delay, shadow/canary/service logs,
:class:`DemoWorld` and :func:`generate`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.demo.model import (
    CHALLENGER_TERMS,
    CHAMPION_TERMS,
    WORSE_TERMS,
    LogisticModel,
    _expit,
    _fit,
)
from mlopskit.demo.scenarios import (
    BASE_LOGIT,
    CATEGORICAL,
    CHANNEL_EFFECT,
    CHANNEL_P,
    CHANNELS,
    COUNTRIES,
    COUNTRY_EFFECT,
    COUNTRY_P,
    DRIFTED_FEATURES,
    FEATURES,
    MCC_EFFECT,
    MCC_P,
    MERCHANT_CATEGORIES,
    NEW_DEVICE_APP,
    SEGMENTS,
    SIGNAL,
    SIZES,
    GroundTruth,
    Scenario,
    scenario,
)


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
        # the truth on every eventual label, not a truncated window (tests/test_canary.py)
        "canary": {
            "better": "PROMOTE",
            "default": "PROMOTE",
            "drift": "PROMOTE",
            "worse": "ROLLBACK",
            "latency": "ROLLBACK",
            "errors": "ROLLBACK",
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
