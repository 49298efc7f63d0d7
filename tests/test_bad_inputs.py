"""The bad-input matrix: every function in ``mlopskit.__all__`` x hostile inputs (issue 14).

Each case states what a careful library must do with the input:

* ``RAISE`` — a ``ValueError``/``TypeError`` whose message names the input (regex);
* ``RAISE_OR_WARN`` — that, or a result whose ``warnings`` name the problem (regex);
* ``ACCEPT`` — a result, optionally checked against the right answer (``check`` returns
  ``None`` when right, else what is wrong).

Every call is classified as ``clear_error``, ``vague_error`` (a ValueError/TypeError that
does not say what is wrong), ``crash`` (any other exception: KeyError, ZeroDivisionError,
sqlite3.DatabaseError, ...), ``warned``, ``accepted`` or ``silent_wrong`` (a result where an
error or a warning was due, or a wrong number). The test passes only on the outcome the case
allows. ``python tests/test_bad_inputs.py`` prints the outcome counts (issue 14's note).
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import re
import sqlite3
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlopskit as mk

AS_OF = pd.Timestamp("2026-03-01")
RAISE, RAISE_OR_WARN, ACCEPT = "raise", "raise_or_warn", "accept"
OK_OUTCOMES = {
    RAISE: {"clear_error"},
    RAISE_OR_WARN: {"clear_error", "warned"},
    ACCEPT: {"accepted", "warned"},
}


@dataclass(frozen=True)
class Case:
    func: str  # the public name in mlopskit.__all__
    hostile: str  # what is wrong with the input
    call: Callable[[Path], Any]  # receives a private temporary directory
    expect: str
    pattern: str = ""  # regex the error message / a warning must match (case-insensitive)
    check: Callable[[Any], str | None] | None = None

    @property
    def id(self) -> str:
        return f"{self.func}-{self.hostile}"


# --------------------------------------------------------------------------------------
# Small, seeded base data (built once)
# --------------------------------------------------------------------------------------
def _rng(stream: int) -> np.random.Generator:
    return np.random.default_rng([14, stream])


@functools.cache
def scored() -> pd.DataFrame:
    """Scored events: ts, score, label, label_ts (NaT until the label arrives)."""
    rng, n = _rng(1), 4000
    ts = AS_OF - pd.to_timedelta(rng.uniform(0, 120, n), unit="D")
    score = rng.beta(1, 12, n)
    fraud = rng.random(n) < np.clip(score * 2, 0, 1)
    label_ts = pd.Series(ts + pd.to_timedelta(rng.gamma(2, 7, n), unit="D"))
    arrived = fraud & (label_ts <= AS_OF).to_numpy()
    df = pd.DataFrame(
        {
            "ts": ts,
            "score": score,
            "label": arrived.astype(int),
            "label_ts": label_ts.where(arrived),
        }
    )
    return df.sort_values("ts", ignore_index=True)


@functools.cache
def features(which: str) -> pd.DataFrame:
    rng, n = _rng(2 if which == "reference" else 3), 2000
    start = pd.Timestamp("2026-01-01" if which == "reference" else "2026-02-01")
    return pd.DataFrame(
        {
            "ts": start + pd.to_timedelta(rng.uniform(0, 14, n), unit="D"),
            "amount": rng.lognormal(3, 1, n),
            "country": rng.choice(["US", "GB", "FR", "DE"], n, p=[0.5, 0.2, 0.2, 0.1]),
            "device_risk": rng.uniform(0, 1, n),
        }
    ).sort_values("ts", ignore_index=True)


@functools.cache
def canary() -> pd.DataFrame:
    rng, n = _rng(4), 20000
    arm = np.where(rng.random(n) < 0.05, "canary", "control")
    ts = AS_OF - pd.Timedelta(days=45) + pd.to_timedelta(rng.uniform(0, 14, n), unit="D")
    score = rng.beta(1, 12, n)
    fraud = rng.random(n) < score
    label_ts = pd.Series(ts + pd.to_timedelta(rng.gamma(2, 5, n), unit="D")).where(fraud)
    amount = rng.lognormal(3, 1, n)
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "ts": ts,
            "arm": arm,
            "score": score,
            "flagged": (score > 0.3).astype(int),
            "label": fraud.astype(int),
            "label_ts": label_ts,
            "amount": amount,
            "loss": amount * (fraud & (score <= 0.3)),
            "latency_ms": rng.lognormal(3, 0.3, n),
            "error": (rng.random(n) < 0.002).astype(int),
        }
    ).sort_values("ts", ignore_index=True)


@functools.cache
def shadow() -> pd.DataFrame:
    rng, n = _rng(5), 6000
    ts = AS_OF - pd.Timedelta(days=15) + pd.to_timedelta(rng.uniform(0, 14, n), unit="D")
    s1 = rng.beta(1, 12, n)
    s2 = np.clip(s1 + rng.normal(0, 0.01, n), 0, 1)
    return pd.DataFrame(
        {
            "request_id": np.arange(n),
            "ts": ts,
            "score_champion": s1,
            "score_challenger": s2,
            "latency_ms_champion": rng.lognormal(3, 0.3, n),
            "latency_ms_challenger": rng.lognormal(3, 0.3, n),
            "error_champion": np.zeros(n, dtype=int),
            "error_challenger": np.zeros(n, dtype=int),
            "channel": rng.choice(["web", "pos"], n),
        }
    ).sort_values("ts", ignore_index=True)


@functools.cache
def quality_set() -> pd.DataFrame:
    rng, n = _rng(6), 3000
    x = rng.normal(0, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x * 2 - 2)))).astype(int)
    return pd.DataFrame({"request_id": np.arange(n), "x": x, "label": y})


class _Scorer:
    def score(self, frame: Any) -> np.ndarray:
        x = np.asarray(frame["x"], dtype=float)
        return 1 / (1 + np.exp(-(x * 2 - 2)))


EMPTY = r"empty|no rows|0 rows|no events|no units|no requests"
ONE_ROW = r"rows?\b|few|insufficient|not enough|no positive|no units|cannot be estimated"
REF_PERIOD = (AS_OF - pd.Timedelta(days=120), AS_OF - pd.Timedelta(days=60))
FEATS = ["amount", "country", "device_risk"]


# --------------------------------------------------------------------------------------
# Hostile frame variants
# --------------------------------------------------------------------------------------
def _set(df: pd.DataFrame, col: str, values: Any) -> pd.DataFrame:
    out = df.copy()
    out[col] = values
    return out


def _some_inf(df: pd.DataFrame, col: str) -> pd.DataFrame:
    out = df.copy()
    vals = out[col].astype(float).to_numpy().copy()
    vals[::50] = np.inf
    vals[25::50] = -np.inf
    out[col] = vals
    return out


def _tz_mixed(df: pd.DataFrame) -> pd.DataFrame:
    return _set(df, "ts", df["ts"].dt.tz_localize("UTC"))


def _label_before(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    has = out["label_ts"].notna()
    idx = out.index[has][::2]
    out.loc[idx, "label_ts"] = out.loc[idx, "ts"] - pd.Timedelta(days=3)
    return out


def _future(df: pd.DataFrame) -> pd.DataFrame:
    """A tenth of the events stamped 30 days after as_of (their labels not arrived)."""
    out = df.copy()
    idx = out.index[::10]
    out.loc[idx, "ts"] = AS_OF + pd.Timedelta(days=30)
    if "label_ts" in out:
        out.loc[idx, "label_ts"] = pd.NaT
        out.loc[idx, "label"] = 0
    return out


def _shuffled(df: pd.DataFrame) -> pd.DataFrame:
    return df.sample(frac=1.0, random_state=3).reset_index(drop=True)


def _warned(res: Any, pattern: str) -> bool:
    """A named warning on the result, or (gates) a failed check naming the problem."""
    ws = [str(w) for w in getattr(res, "warnings", ()) or ()]
    if getattr(res, "passed", None) is False:
        ws += [str(r.message) for r in getattr(res, "reasons", ()) if r.passed is False]
    return any(re.search(pattern, w, re.IGNORECASE) for w in ws)


def _num(x: Any) -> float:
    return float(x)


# --------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------
CASES: list[Case] = []


def case(func: str, hostile: str, expect: str, pattern: str = "", check: Any = None) -> Any:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        call = fn if len(inspect.signature(fn).parameters) == 1 else (lambda _tmp: fn())
        CASES.append(Case(func, hostile, call, expect, pattern, check))
        return fn

    return deco


def add(func: str, hostile: str, expect: str, call: Callable[[], Any], pattern: str = "",
        check: Any = None) -> None:  # fmt: skip
    CASES.append(Case(func, hostile, lambda _tmp: call(), expect, pattern, check))


# ---- frame functions: one generic set of hostile frames each ---------------------------
@dataclass(frozen=True)
class FrameFn:
    func: str
    base: Callable[[], pd.DataFrame]
    call: Callable[[pd.DataFrame], Any]
    numeric: str  # a numeric column the analysis reads
    ts: str | None = "ts"
    label_ts: bool = False
    key: str | None = None  # a column that must be unique
    fingerprint: Callable[[Any], Any] | None = None  # a number the result must keep


FRAME_FNS = [
    FrameFn(
        "profile",
        lambda: features("reference"),
        lambda df: mk.profile(df, features=FEATS),
        "amount",
        ts=None,
    ),
    FrameFn(
        "psi_table",
        lambda: features("current"),
        lambda df: mk.psi_table(features("reference"), df, features=FEATS),
        "amount",
        ts=None,
        fingerprint=lambda r: round(float(r.to_frame()["psi"].sum()), 9),
    ),
    FrameFn(
        "psi_over_time",
        lambda: features("current"),
        lambda df: mk.psi_over_time(features("reference"), df, features=FEATS),
        "amount",
        fingerprint=lambda r: round(float(r.to_frame()["psi"].sum()), 9),
    ),
    FrameFn(
        "output_drift",
        scored,
        lambda df: mk.output_drift(df, reference_period=REF_PERIOD),
        "score",
        fingerprint=lambda r: round(float(r.to_frame()["psi"].sum()), 9),
    ),
    FrameFn(
        "outcome_drift",
        scored,
        lambda df: mk.outcome_drift(df, reference_period=REF_PERIOD, as_of=AS_OF),
        "score",
        label_ts=True,
        # 3 decimals: the top-k bootstrap depends on row order in the 8th digit (noted)
        fingerprint=lambda r: round(float(r.to_frame().select_dtypes("number").sum().sum()), 3),
    ),
    FrameFn(
        "label_maturity",
        scored,
        lambda df: mk.label_maturity(df, as_of=AS_OF, score="score"),
        "score",
        label_ts=True,
        fingerprint=lambda r: r.summary(),
    ),
    FrameFn(
        "drift_vs_label_lag",
        scored,
        lambda df: mk.drift_vs_label_lag(df, as_of=AS_OF, drift=AS_OF - pd.Timedelta(days=30)),
        "score",
        label_ts=True,
        fingerprint=lambda r: str(r.verdict),
    ),
    FrameFn(
        "canary_test",
        canary,
        lambda df: mk.canary_test(df, as_of=AS_OF),
        "latency_ms",
        label_ts=True,
        fingerprint=lambda r: r.summary(),
    ),
    FrameFn(
        "canary_history",
        canary,
        lambda df: mk.canary_history(df, as_of=AS_OF),
        "latency_ms",
        label_ts=True,
        fingerprint=lambda r: round(float(r.to_frame().select_dtypes("number").sum().sum()), 6),
    ),
    FrameFn(
        "shadow_profile",
        shadow,
        lambda df: mk.shadow_profile(df, threshold=0.3, segments=["channel"], as_of=AS_OF),
        "score_challenger",
        key="request_id",
        fingerprint=lambda r: r.summary(),
    ),
]


def _same_as_base(spec: FrameFn) -> Callable[[Any], str | None] | None:
    if spec.fingerprint is None:
        return None
    fp = spec.fingerprint

    def check(res: Any) -> str | None:
        want = fp(spec.call(spec.base()))
        got = fp(res)
        return None if got == want else f"result changed: {got!r} != {want!r}"

    return check


def _frame_cases(spec: FrameFn) -> None:
    f, b, c = spec.func, spec.base, spec.call
    n = spec.numeric
    add(f, "empty", RAISE, lambda: c(b().iloc[:0]), EMPTY)
    add(f, "one_row", RAISE_OR_WARN, lambda: c(b().iloc[:1]), ONE_ROW)
    add(f, "missing_column", RAISE, lambda: c(b().drop(columns=[n])), re.escape(n))
    add(f, f"all_nan_{n}", RAISE_OR_WARN, lambda: c(_set(b(), n, np.nan)), re.escape(n))
    add(f, f"inf_{n}", RAISE_OR_WARN, lambda: c(_some_inf(b(), n)), r"inf|finite")
    add(f, f"text_numbers_{n}", RAISE_OR_WARN, lambda: c(_set(b(), n, b()[n].astype(str))), n)
    add(f, f"words_in_{n}", RAISE_OR_WARN, lambda: c(_set(b(), n, "abc")), re.escape(n))
    add(f, f"bool_{n}", RAISE_OR_WARN, lambda: c(_set(b(), n, b()[n] > 0.5)), re.escape(n))
    add(f, "unsorted_rows", ACCEPT, lambda: c(_shuffled(b())), check=_same_as_base(spec))
    if spec.ts:
        add(f, "ts_text", RAISE, lambda: c(_set(b(), "ts", "yesterday")), r"\bts\b")
        add(f, "ts_epoch_int", RAISE_OR_WARN, lambda: c(_set(b(), "ts", b()["ts"].astype("int64") // 10**9)), r"\bts\b")  # fmt: skip
        add(f, "ts_all_null", RAISE, lambda: c(_set(b(), "ts", pd.NaT)), r"\bts\b")
        add(f, "ts_iso_strings", RAISE_OR_WARN, lambda: c(_set(b(), "ts", b()["ts"].astype(str))), r"\bts\b")  # fmt: skip
    if spec.label_ts:
        add(f, "tz_aware_ts_naive_label_ts", RAISE, lambda: c(_tz_mixed(b())), r"time ?zone|tz")
        add(f, "label_before_event", RAISE_OR_WARN, lambda: c(_label_before(b())), r"label_ts.*(before|earlier)")  # fmt: skip
        add(f, "future_events", RAISE_OR_WARN, lambda: c(_future(b())), r"after|future|as_of")
    if spec.key:
        add(f, f"duplicate_{spec.key}", RAISE_OR_WARN, lambda: c(pd.concat([b(), b().iloc[:500]], ignore_index=True)), r"duplicate")  # fmt: skip


for _spec in FRAME_FNS:
    _frame_cases(_spec)


# ---- drift specifics ------------------------------------------------------------------
def _psi_of(res: Any, feature: str) -> float:
    fr = res.to_frame()
    return float(fr.loc[fr["feature"] == feature, "psi"].iloc[0])


def _drift_seen(feature: str, min_psi: float = 0.25) -> Callable[[Any], str | None]:
    def check(res: Any) -> str | None:
        v = _psi_of(res, feature)
        return None if v >= min_psi else f"PSI of {feature} is {v:.4f}: the shift reads stable"

    return check


def _cur_times(k: float) -> pd.DataFrame:
    return _set(features("current"), "amount", features("current")["amount"] * k)


WIN = ("2026-01-03", "2026-01-08")
add("profile", "window_without_ts", RAISE, lambda: mk.profile(features("reference").drop(columns="ts"), features=FEATS, window=WIN), r"window.*ts")  # fmt: skip
add("profile", "window_ts_as_text", RAISE, lambda: mk.profile(_set(features("reference"), "ts", features("reference")["ts"].astype(str)), features=FEATS, window=WIN), r"window.*datetime")  # fmt: skip
add("profile", "window_reversed", RAISE, lambda: mk.profile(features("reference"), features=FEATS, window=WIN[::-1]), r"start < end")  # fmt: skip
add("profile", "window_not_a_pair", RAISE, lambda: mk.profile(features("reference"), features=FEATS, window="2026-01-03"), r"\(start, end\)")  # fmt: skip
add("profile", "window_not_dates", RAISE, lambda: mk.profile(features("reference"), features=FEATS, window=("yesterday", "today")), r"two dates")  # fmt: skip
add("profile", "window_without_rows", RAISE, lambda: mk.profile(features("reference"), features=FEATS, window=("2027-01-01", "2027-02-01")), r"no rows.*window")  # fmt: skip
add("profile", "window_counts_rows_outside", ACCEPT, lambda: mk.profile(features("reference"), features=FEATS, window=WIN),
    check=lambda r: None if (r.row_counts.read, r.row_counts.used) == (2000, int(((features("reference")["ts"] >= WIN[0]) & (features("reference")["ts"] < WIN[1])).sum())) == (2000, r.n) else f"row counts {r.row_counts}")  # fmt: skip


def _stored_profile(tmp: Path, content: str | None, name: str = "profile.json") -> Any:
    """``ReferenceProfile.from_json`` on a file holding ``content`` (None: a missing path)."""
    path = tmp / name
    if content is not None:
        path.write_text(content)
    return mk.ReferenceProfile.from_json(path)


_GOOD_PROFILE = lambda: mk.profile(features("reference"), features=FEATS).to_json()  # noqa: E731
CASES.append(Case("ReferenceProfile.from_json", "text_file", lambda tmp: _stored_profile(tmp, "meeting notes\n", "notes.txt"), RAISE, r"notes\.txt.*not JSON"))  # fmt: skip
CASES.append(Case("ReferenceProfile.from_json", "missing_path", lambda tmp: _stored_profile(tmp, None), RAISE, r"profile\.json.*not a file"))  # fmt: skip
CASES.append(Case("ReferenceProfile.from_json", "directory", lambda tmp: mk.ReferenceProfile.from_json(tmp), RAISE, r"not a file"))  # fmt: skip
CASES.append(Case("ReferenceProfile.from_json", "wrong_version", lambda tmp: _stored_profile(tmp, _GOOD_PROFILE().replace('"version": 1', '"version": 7')), RAISE, r"version.*7"))  # fmt: skip
CASES.append(Case("ReferenceProfile.from_json", "missing_key", lambda tmp: _stored_profile(tmp, json.dumps({k: v for k, v in json.loads(_GOOD_PROFILE()).items() if k != "bins"})), RAISE, r"malformed.*bins"))  # fmt: skip
CASES.append(Case("ReferenceProfile.from_json", "counts_as_text", lambda tmp: _stored_profile(tmp, _GOOD_PROFILE().replace('"counts": [', '"counts": ["many", ')), RAISE, r"malformed"))  # fmt: skip
CASES.append(Case("ReferenceProfile.from_json", "round_trip", lambda tmp: _stored_profile(tmp, _GOOD_PROFILE()), ACCEPT,
    check=lambda r: None if r == mk.profile(features("reference"), features=FEATS) else "round trip changed the profile"))  # fmt: skip
add("psi_table", "reference_numbers_as_text_amount_x10", RAISE_OR_WARN,
    lambda: mk.psi_table(_set(features("reference"), "amount", features("reference")["amount"].astype(str)), _cur_times(10), features=FEATS),
    r"amount")  # fmt: skip
add("psi_table", "amount_x10_detected", ACCEPT,
    lambda: mk.psi_table(features("reference"), _cur_times(10), features=FEATS),
    check=_drift_seen("amount"))  # fmt: skip
add("psi_table", "unseen_category", ACCEPT,
    lambda: mk.psi_table(features("reference"), _set(features("current"), "country", "ZZ"), features=FEATS),
    check=_drift_seen("country"))  # fmt: skip
add("psi_table", "feature_not_in_reference", RAISE,
    lambda: mk.psi_table(features("reference").drop(columns=["amount"]), features("current"), features=FEATS),
    r"amount")  # fmt: skip
add("psi_table", "inf_in_current_only", RAISE_OR_WARN,
    lambda: mk.psi_table(features("reference"), _some_inf(features("current"), "amount"), features=FEATS),
    r"inf|finite")  # fmt: skip
add("psi_table", "bins_zero", RAISE,
    lambda: mk.psi_table(features("reference"), features("current"), features=FEATS, bins=0), r"bins")  # fmt: skip
add("psi_over_time", "window_nonsense", RAISE,
    lambda: mk.psi_over_time(features("reference"), features("current"), features=FEATS, window="banana"),
    r"window")  # fmt: skip
add("output_drift", "reference_period_reversed", RAISE,
    lambda: mk.output_drift(scored(), reference_period=(REF_PERIOD[1], REF_PERIOD[0])),
    r"reference_period")  # fmt: skip
add("output_drift", "reference_period_empty", RAISE,
    lambda: mk.output_drift(scored(), reference_period=(AS_OF + pd.Timedelta(days=1), AS_OF + pd.Timedelta(days=2))),
    r"reference_period|no rows|empty")  # fmt: skip
add("output_drift", "scores_exactly_0_and_1", ACCEPT,
    lambda: mk.output_drift(_set(scored(), "score", (scored()["score"] > 0.1).astype(float)), reference_period=REF_PERIOD))  # fmt: skip
add("outcome_drift", "scores_exactly_0_and_1", ACCEPT,
    lambda: mk.outcome_drift(_set(scored(), "score", (scored()["score"] > 0.1).astype(float)), reference_period=REF_PERIOD, as_of=AS_OF))  # fmt: skip
add("outcome_drift", "label_not_binary", RAISE,
    lambda: mk.outcome_drift(_set(scored(), "label", 2), reference_period=REF_PERIOD, as_of=AS_OF), r"label")  # fmt: skip
add("outcome_drift", "one_positive", RAISE_OR_WARN,
    lambda: mk.outcome_drift(_set(scored(), "label", np.r_[1, np.zeros(len(scored()) - 1, int)]), reference_period=REF_PERIOD, as_of=AS_OF),
    r"positive|label|few")  # fmt: skip
add("label_maturity", "label_not_binary", RAISE,
    lambda: mk.label_maturity(_set(scored(), "label", 2), as_of=AS_OF), r"label")  # fmt: skip
add("label_maturity", "as_of_nonsense", RAISE,
    lambda: mk.label_maturity(scored(), as_of="not a date"), r"as_of")  # fmt: skip
add("label_maturity", "no_positive", RAISE_OR_WARN,
    lambda: mk.label_maturity(_set(_set(scored(), "label", 0), "label_ts", pd.NaT), as_of=AS_OF), r"positive|label")  # fmt: skip
add("drift_vs_label_lag", "drift_after_as_of", RAISE,
    lambda: mk.drift_vs_label_lag(scored(), as_of=AS_OF, drift=AS_OF + pd.Timedelta(days=5)), r"drift|as_of")  # fmt: skip
add("psi", "empty_current", RAISE, lambda: mk.psi(np.arange(100.0), np.array([])), r"current|empty")  # fmt: skip
add("psi", "one_value", RAISE_OR_WARN, lambda: mk.psi(np.arange(100.0), np.array([3.0])), r"current|few|row")  # fmt: skip
add("psi", "all_nan", RAISE_OR_WARN, lambda: mk.psi(np.arange(100.0), np.full(100, np.nan)), r"nan|missing")  # fmt: skip
add("psi", "inf", RAISE_OR_WARN, lambda: mk.psi(np.arange(100.0), np.r_[np.arange(99.0), np.inf]), r"inf|finite")  # fmt: skip
add("psi", "numbers_as_text", RAISE_OR_WARN,
    lambda: mk.psi(np.arange(100.0).astype(str), np.arange(100.0) * 10), r"text|string|categor|dtype")  # fmt: skip
add("psi", "two_dimensional", RAISE, lambda: mk.psi(np.ones((10, 2)), np.ones((10, 2))), r"1-d|one-dimensional|dimension|shape")  # fmt: skip
add("psi", "unseen_category", ACCEPT,
    lambda: mk.psi(np.array(["a", "b"] * 50), np.array(["c"] * 100)),
    check=lambda r: None if float(r.psi) > 0.25 else f"psi {r.psi} for a wholly new category")  # fmt: skip
add("psi", "identical_is_zero", ACCEPT, lambda: mk.psi(np.arange(1000.0), np.arange(1000.0)),
    check=lambda r: None if abs(float(r.psi)) < 1e-12 else f"psi {r.psi} of identical samples")  # fmt: skip

# ---- canary specifics -----------------------------------------------------------------
add("canary_test", "one_arm_only", RAISE_OR_WARN,
    lambda: mk.canary_test(_set(canary(), "arm", "control"), as_of=AS_OF), r"arm|canary")  # fmt: skip
add("canary_test", "unknown_arm_value", RAISE,
    lambda: mk.canary_test(_set(canary(), "arm", np.where(canary()["arm"] == "canary", "treatment", "control")), as_of=AS_OF),
    r"arm")  # fmt: skip
add("canary_test", "flagged_not_binary", RAISE,
    lambda: mk.canary_test(_set(canary(), "flagged", 7), as_of=AS_OF), r"flagged")  # fmt: skip
add("canary_test", "negative_latency", RAISE_OR_WARN,
    lambda: mk.canary_test(_set(canary(), "latency_ms", -canary()["latency_ms"]), as_of=AS_OF), r"latency")  # fmt: skip
add("canary_test", "expected_split_nonsense", RAISE,
    lambda: mk.canary_test(canary(), as_of=AS_OF, expected_split=(0.9, 0.9)), r"expected_split")  # fmt: skip
add("canary_test", "alpha_out_of_range", RAISE,
    lambda: mk.canary_test(canary(), as_of=AS_OF, alpha=1.5), r"alpha")  # fmt: skip
add("canary_test", "as_of_before_data", RAISE_OR_WARN,
    lambda: mk.canary_test(canary(), as_of=AS_OF - pd.Timedelta(days=400)), r"as_of|no rows|before")  # fmt: skip
add("canary_test", "columns_unknown_key", RAISE,
    lambda: mk.canary_test(canary(), as_of=AS_OF, columns={"not_a_column_role": "x"}), r"columns")  # fmt: skip
add("canary_history", "one_arm_only", RAISE_OR_WARN,
    lambda: mk.canary_history(_set(canary(), "arm", "canary"), as_of=AS_OF), r"arm|control")  # fmt: skip

# ---- shadow specifics -----------------------------------------------------------------
add("shadow_profile", "threshold_outside_0_1", RAISE,
    lambda: mk.shadow_profile(shadow(), threshold=1.5), r"threshold")  # fmt: skip
add("shadow_profile", "threshold_nan", RAISE,
    lambda: mk.shadow_profile(shadow(), threshold=float("nan")), r"threshold")  # fmt: skip
add("shadow_profile", "scores_exactly_0_and_1", ACCEPT,
    lambda: mk.shadow_profile(_set(_set(shadow(), "score_champion", (shadow()["score_champion"] > 0.3).astype(float)), "score_challenger", (shadow()["score_challenger"] > 0.3).astype(float)), threshold=0.3))  # fmt: skip
add("shadow_profile", "scores_outside_0_1", RAISE_OR_WARN,
    lambda: mk.shadow_profile(_set(shadow(), "score_challenger", shadow()["score_challenger"] * 100), threshold=0.3), r"score_challenger")  # fmt: skip
add("shadow_profile", "unknown_segment", RAISE,
    lambda: mk.shadow_profile(shadow(), threshold=0.3, segments=["nope"]), r"nope")  # fmt: skip
add("shadow_profile", "segment_value_is_mathtext", ACCEPT,
    lambda: mk.shadow_profile(_set(shadow(), "channel", np.where(shadow()["channel"] == "web", r"$\notacommand{x}$", "$a$b$")), threshold=0.3, segments=["channel"]))  # fmt: skip
add("shadow_profile", "infinite_latency", RAISE_OR_WARN,
    lambda: mk.shadow_profile(_set(shadow(), "latency_ms_challenger", np.inf), threshold=0.3), r"latency|inf")  # fmt: skip

# ---- planning: nonsense inputs -----------------------------------------------------------
PLAN = {
    "canary_mde": lambda **kw: mk.canary_mde("fraud_missed_rate", **{"n_total": 200000, **kw}),
    "canary_power": lambda **kw: mk.canary_power(
        "fraud_missed_rate", **{"n_total": 200000, "margin": 0.0005, **kw}
    ),
    "canary_sample_size": lambda **kw: mk.canary_sample_size(
        "fraud_missed_rate", **{"margin": 0.0005, **kw}
    ),
}
PLAN_BAD: list[tuple[str, dict[str, Any], str]] = [
    ("baseline_negative", {"baseline": -0.1}, "baseline"),
    ("baseline_zero", {"baseline": 0.0}, "baseline"),
    ("baseline_one", {"baseline": 1.0}, "baseline"),
    ("baseline_above_one", {"baseline": 1.5}, "baseline"),
    ("baseline_nan", {"baseline": float("nan")}, "baseline"),
    ("baseline_inf", {"baseline": float("inf")}, "baseline"),
    ("canary_share_zero", {"baseline": 0.01, "canary_share": 0.0}, "canary_share"),
    ("canary_share_one", {"baseline": 0.01, "canary_share": 1.0}, "canary_share"),
    ("alpha_zero", {"baseline": 0.01, "alpha": 0.0}, "alpha"),
    ("alpha_one", {"baseline": 0.01, "alpha": 1.0}, "alpha"),
    ("baseline_text", {"baseline": "0.01"}, "baseline"),
]
PLAN_N_BAD: list[tuple[str, dict[str, Any], str]] = [
    ("n_total_zero", {"baseline": 0.01, "n_total": 0}, "n_total"),
    ("n_total_negative", {"baseline": 0.01, "n_total": -5}, "n_total"),
    ("n_total_nan", {"baseline": 0.01, "n_total": float("nan")}, "n_total"),
    ("n_total_inf", {"baseline": 0.01, "n_total": float("inf")}, "n_total"),
]
for _fn, _call in PLAN.items():
    for _name, _kw, _param in PLAN_BAD + (PLAN_N_BAD if _fn != "canary_sample_size" else []):
        add(_fn, _name, RAISE, functools.partial(_call, **_kw), re.escape(_param))
    add(_fn, "power_one" if _fn != "canary_power" else "true_effect_nan", RAISE,
        functools.partial(_call, baseline=0.01, **({"power": 1.0} if _fn != "canary_power" else {"true_effect": float("nan")})),
        r"power|true_effect")  # fmt: skip
    add(_fn, "extreme_imbalance_1e-6", ACCEPT, functools.partial(_call, baseline=1e-6),
        check=lambda r: None if all(math.isfinite(float(v)) for v in ([r] if isinstance(r, float) else [getattr(r, a) for a in ("n_total", "power") if hasattr(r, a) and getattr(r, a) is not None])) else f"non-finite plan {r!r}")  # fmt: skip
# a metric name is a label for the plan; the numbers depend on the baseline (and sd), so a
# free name is fine as long as the answer is finite
add("canary_mde", "free_metric_name", ACCEPT, lambda: mk.canary_mde("frued_rate", baseline=0.01, n_total=1000),
    check=lambda r: None if math.isfinite(r) and r > 0 else f"mde {r!r}")  # fmt: skip
add("canary_power", "mean_metric_without_sd", RAISE,
    lambda: mk.canary_power(mk.Mean("lat", "latency_ms", margin=5.0), baseline=30.0, n_total=10000), r"\bsd\b")  # fmt: skip
add("canary_sample_size", "sd_negative", RAISE,
    lambda: mk.canary_sample_size(mk.Mean("lat", "latency_ms", margin=5.0), baseline=30.0, sd=-1.0), r"\bsd\b")  # fmt: skip

# ---- metric declarations ----------------------------------------------------------------
for _ctor, _args in (("Mean", ("lat", "latency_ms")), ("Proportion", ("err", "error")),
                     ("Ratio", ("loss", "loss", "amount"))):  # fmt: skip
    _f = getattr(mk, _ctor)
    add(_ctor, "margin_negative", RAISE, functools.partial(_f, *_args, margin=-1.0), r"margin")
    add(_ctor, "margin_nan", RAISE, functools.partial(_f, *_args, margin=float("nan")), r"margin")
    add(_ctor, "margin_text", RAISE, functools.partial(_f, *_args, margin="5"), r"margin")
    add(_ctor, "direction_nonsense", RAISE,
        functools.partial(_f, *_args, margin=1.0, direction="sideways"), r"direction")  # fmt: skip
    add(_ctor, "role_nonsense", RAISE, functools.partial(_f, *_args, margin=1.0, role="boss"), r"role")  # fmt: skip
    add(_ctor, "empty_name", RAISE, functools.partial(_f, "", *_args[1:], margin=1.0), r"name")
    add(_ctor, "empty_column", RAISE, functools.partial(_f, _args[0], *[""] * (len(_args) - 1), margin=1.0), r"column|events|numerator")  # fmt: skip


# ---- policies: malformed files -----------------------------------------------------------
def _policy_file(tmp: Path, text: str | bytes) -> Path:
    p = tmp / "policy.yml"
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


BAD_POLICIES: list[tuple[str, Any, str]] = [
    ("malformed_yaml", "canary: [unclosed\n  alpha: 0.05", r"yaml|parse|policy"),
    ("not_a_mapping", "- a\n- b\n", r"mapping|policy"),
    ("misspelled_section", "canray:\n  alpha: 0.05\n", r"canray"),
    ("misspelled_key", "canary:\n  alfa: 0.05\n", r"alfa"),
    ("alpha_text", "canary:\n  alpha: high\n", r"alpha"),
    ("alpha_out_of_range", "canary:\n  alpha: 1.5\n", r"alpha"),
    ("section_not_mapping", "canary: 5\n", r"canary"),
    ("binary_file", b"\x00\x01\x02\xff\xfe", r"policy|yaml|utf|decode"),
    ("margin_negative", "canary:\n  margin_latency_ms: -5\n", r"margin_latency_ms"),
    ("bins_one", "drift:\n  bins: 1\n", r"bins"),
    ("tau_order", "drift:\n  tau_moderate: 0.5\n  tau_significant: 0.1\n", r"tau"),
    ("nan_value", "canary:\n  alpha: .nan\n", r"alpha"),
]
for _name, _text, _pat in BAD_POLICIES:
    CASES.append(Case("load_policy", _name, functools.partial(lambda t, tmp: mk.load_policy(_policy_file(tmp, t)), _text), RAISE, _pat))  # fmt: skip
    if _name in ("malformed_yaml", "misspelled_section", "alpha_out_of_range"):
        CASES.append(Case("default_metrics", _name, functools.partial(lambda t, tmp: mk.default_metrics(_policy_file(tmp, t)), _text), RAISE, _pat))  # fmt: skip
        CASES.append(Case("canary_test", f"policy_{_name}", functools.partial(lambda t, tmp: mk.canary_test(canary(), as_of=AS_OF, policy=_policy_file(tmp, t)), _text), RAISE, _pat))  # fmt: skip
CASES.append(Case("load_policy", "directory", lambda tmp: mk.load_policy(tmp), RAISE, r"director|file"))  # fmt: skip
CASES.append(Case("load_policy", "missing_file", lambda tmp: mk.load_policy(tmp / "nope.yml"), RAISE, r"nope\.yml"))  # fmt: skip
CASES.append(Case("load_policy", "empty_file", lambda tmp: mk.load_policy(_policy_file(tmp, "")), ACCEPT))  # fmt: skip


# ---- registry: non-registry and missing files --------------------------------------------
def _untouched(path: Path, before: bytes | None) -> Callable[[Any], str | None]:
    def check(_res: Any) -> str | None:
        now = path.read_bytes() if path.exists() else None
        return None if now == before else f"{path} was created or changed"

    return check


def _registry_read(tmp: Path, kind: str, op: str) -> Any:
    path = tmp / ("notes.txt" if kind == "text" else "missing.sqlite")
    if kind == "text":
        path.write_text("meeting notes, not a database\n")
    elif kind == "sqlite_other":
        path = tmp / "other.sqlite"
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    elif kind == "directory":
        path = tmp
    before = path.read_bytes() if path.is_file() else None
    listing = sorted(p.name for p in tmp.iterdir())
    try:
        reg = mk.open_registry(path)
        return {
            "list": reg.list_models,
            "verify": reg.verify,
            "history": lambda: reg.history("fraud"),
        }[op]()
    finally:
        now_listing = sorted(p.name for p in tmp.iterdir())
        after = path.read_bytes() if path.is_file() else None
        if now_listing != listing or after != before:
            raise AssertionError(f"reading {path} changed the filesystem")


for _kind in ("text", "missing", "sqlite_other", "directory"):
    for _op in ("list", "verify", "history"):
        CASES.append(Case("open_registry", f"{_kind}_{_op}", functools.partial(lambda k, o, tmp: _registry_read(tmp, k, o), _kind, _op), RAISE, r"registry|not a|does not exist|database"))  # fmt: skip
add("open_registry", "relative_path", RAISE, lambda: mk.open_registry("data/x.sqlite"), r"absolute")  # fmt: skip

# ---- monitor ------------------------------------------------------------------------------
add("monitor", "input_drift_is_a_dataframe", RAISE, lambda: mk.monitor(input_drift=features("current")), r"input_drift")  # fmt: skip
add("monitor", "output_drift_is_a_string", RAISE, lambda: mk.monitor(output_drift="ok"), r"output_drift")  # fmt: skip
add("monitor", "service_is_a_dict", RAISE, lambda: mk.monitor(service={"p99": 1}), r"service")  # fmt: skip
add("monitor", "nothing_given", RAISE_OR_WARN, lambda: mk.monitor(), r"not evaluated|no result|at least one")  # fmt: skip
add("monitor", "policy_missing_file", RAISE, lambda: mk.monitor(policy="/nonexistent/p.yml"), r"p\.yml")  # fmt: skip

# ---- CI gates -------------------------------------------------------------------------------
QG = functools.partial(mk.model_quality_gate, "fraud_v9", scorer=_Scorer(), thresholds={"auc": 0.6})


class _NanScorer:
    def score(self, frame: Any) -> np.ndarray:
        return np.full(len(frame), np.nan)


add("model_quality_gate", "empty_test_set", RAISE, lambda: QG(quality_set().iloc[:0]), r"empty|no rows|test_set")  # fmt: skip
add("model_quality_gate", "one_class_only", RAISE_OR_WARN, lambda: QG(_set(quality_set(), "label", 0)), r"positive|class|label")  # fmt: skip
add("model_quality_gate", "label_not_binary", RAISE, lambda: QG(_set(quality_set(), "label", 3)), r"label")  # fmt: skip
add("model_quality_gate", "label_as_text", RAISE_OR_WARN, lambda: QG(_set(quality_set(), "label", quality_set()["label"].astype(str))), r"label")  # fmt: skip
add("model_quality_gate", "scorer_returns_nan", RAISE, lambda: mk.model_quality_gate("fraud_v9", quality_set(), scorer=_NanScorer(), thresholds={"auc": 0.6}), r"nan|score")  # fmt: skip
add("model_quality_gate", "unknown_threshold_metric", RAISE, lambda: mk.model_quality_gate("fraud_v9", quality_set(), scorer=_Scorer(), thresholds={"acu": 0.6}), r"acu")  # fmt: skip
add("model_quality_gate", "bad_model_name", RAISE, lambda: mk.model_quality_gate("fraud v9; rm", quality_set(), scorer=_Scorer(), thresholds={"auc": 0.6}), r"model|name")  # fmt: skip
PG = functools.partial(mk.feature_parity_gate, "fraud_v9", key="request_id", features=["x"])
add("feature_parity_gate", "identical_passes", ACCEPT, lambda: PG(quality_set(), quality_set()),
    check=lambda r: None if r.passed else "identical frames fail parity")  # fmt: skip
add("feature_parity_gate", "duplicate_keys", RAISE_OR_WARN, lambda: PG(pd.concat([quality_set(), quality_set().iloc[:5]]), quality_set()), r"duplicate")  # fmt: skip
add("feature_parity_gate", "missing_key_column", RAISE, lambda: PG(quality_set().drop(columns=["request_id"]), quality_set()), r"request_id")  # fmt: skip
add("feature_parity_gate", "no_common_keys", RAISE_OR_WARN, lambda: PG(_set(quality_set(), "request_id", quality_set()["request_id"] + 10**6), quality_set()), r"key|match|common")  # fmt: skip
add("feature_parity_gate", "nan_vs_value", ACCEPT, lambda: PG(_set(quality_set(), "x", np.nan), quality_set()),
    check=lambda r: "NaN features pass parity" if r.passed else None)  # fmt: skip
add("feature_parity_gate", "numbers_as_text", RAISE_OR_WARN, lambda: PG(_set(quality_set(), "x", quality_set()["x"].astype(str)), quality_set()), r"\bx\b")  # fmt: skip
add("feature_parity_gate", "empty", RAISE_OR_WARN, lambda: PG(quality_set().iloc[:0], quality_set().iloc[:0]), r"empty|no rows")  # fmt: skip


def _smoke(tmp: Path, requests: pd.DataFrame, **kw: Any) -> Any:
    """A Staging version whose model is ``_Scorer`` and whose offline predictions match."""
    reg = mk.open_registry(tmp / "reg.sqlite")
    model = tmp / "model.json"
    model.write_text("{}")
    preds = tmp / "preds.parquet"
    full = quality_set()
    pd.DataFrame({"request_id": full["request_id"], "score": _Scorer().score(full)}).to_parquet(
        preds
    )
    run = reg.record_run(data_hash="d", n_rows=len(full), feature_set_version="1", features=["x"],
                         hyperparameters={}, metrics={}, artifacts={"model": model, "eval_predictions": preds})  # fmt: skip
    reg.register("fraud", run.run_id, version="9", actor="t")
    reg.promote("fraud_v9", to="Staging", reason="test setup", actor="t", force=True)
    kw.setdefault("latency_p99_ms", 1e6)  # latency is not under test (a loaded CI machine)
    return mk.staging_smoke_test(
        "fraud_v9", requests, loader=lambda _b: _Scorer(), key="request_id", registry=reg, **kw
    )


# ---- monitoring.service_health (not in mlopskit.__all__; public in mlopskit.monitoring) --
def service_log() -> pd.DataFrame:
    rng, n = _rng(9), 3000
    ts = AS_OF - pd.Timedelta(days=3) + pd.to_timedelta(rng.uniform(0, 3, n), unit="D")
    return pd.DataFrame(
        {
            "ts": ts,
            "latency_ms": rng.lognormal(3, 0.4, n),
            "error": (rng.random(n) < 0.01).astype(int),
        }
    )


SH = functools.partial(mk.monitoring.service_health, as_of=AS_OF)
_SH_N = lambda: SH(service_log()).n  # noqa: E731
add("monitoring.service_health", "valid", ACCEPT, lambda: SH(service_log()),
    check=lambda r: None if r.row_counts.used == r.n == int(((service_log().ts >= AS_OF - pd.Timedelta(hours=1)) & (service_log().ts < AS_OF)).sum()) else f"n {r.n}")  # fmt: skip
add("monitoring.service_health", "empty", RAISE, lambda: SH(service_log().iloc[:0]), EMPTY)  # fmt: skip
add("monitoring.service_health", "all_nan_latency", RAISE_OR_WARN, lambda: SH(_set(service_log(), "latency_ms", np.nan)), r"latency")  # fmt: skip
add("monitoring.service_health", "inf_latency", RAISE, lambda: SH(_set(service_log(), "latency_ms", np.inf)), r"latency_ms.*finite")  # fmt: skip
add("monitoring.service_health", "ts_as_text", RAISE, lambda: SH(_set(service_log(), "ts", service_log()["ts"].astype(str))), r"\bts\b.*datetime")  # fmt: skip
add("monitoring.service_health", "tz_aware_ts_naive_as_of", ACCEPT, lambda: SH(_set(service_log(), "ts", service_log()["ts"].dt.tz_localize("UTC"))),
    check=lambda r: None if r.n == _SH_N() else f"n {r.n} ≠ {_SH_N()} of the naive log")  # fmt: skip
add("monitoring.service_health", "as_of_not_a_date", RAISE, lambda: mk.monitoring.service_health(service_log(), as_of="yesterday"), r"as_of.*date")  # fmt: skip
add("monitoring.service_health", "baseline_days_negative", RAISE, lambda: SH(service_log(), baseline_days=-3), r"baseline_days")  # fmt: skip
add("monitoring.service_health", "as_of_after_the_log", RAISE, lambda: mk.monitoring.service_health(service_log(), as_of="2030-01-01"), r"no requests")  # fmt: skip
add("monitoring.service_health", "unsorted", ACCEPT, lambda: SH(service_log().sample(frac=1.0, random_state=0)),
    check=lambda r: None if r.n == _SH_N() else "row order changed the result")  # fmt: skip


CASES.append(Case("staging_smoke_test", "valid_passes", lambda tmp: _smoke(tmp, quality_set()), ACCEPT,
                  check=lambda r: None if r.passed else r.summary()))  # fmt: skip
CASES.append(Case("staging_smoke_test", "one_of_n_requests", lambda tmp: _smoke(tmp, quality_set().iloc[:1], n=50), RAISE_OR_WARN, r"1 of 50|fewer|only"))  # fmt: skip
CASES.append(Case("staging_smoke_test", "empty_requests", lambda tmp: _smoke(tmp, quality_set().iloc[:0]), RAISE_OR_WARN, r"empty|no rows|requests"))  # fmt: skip
CASES.append(Case("staging_smoke_test", "n_zero", lambda tmp: _smoke(tmp, quality_set(), n=0), RAISE, r"\bn\b"))  # fmt: skip
CASES.append(Case("staging_smoke_test", "missing_key", lambda tmp: _smoke(tmp, quality_set().drop(columns=["request_id"])), RAISE, r"request_id"))  # fmt: skip


# --------------------------------------------------------------------------------------
# Running and classifying
# --------------------------------------------------------------------------------------
def classify(c: Case, tmp: Path) -> tuple[str, str]:
    """(outcome, detail) of one case."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a library warning is not an answer: result.warnings is
        try:
            res = c.call(tmp)
        except (ValueError, TypeError) as exc:
            msg = str(exc)
            if c.pattern and re.search(c.pattern, msg, re.IGNORECASE) and len(msg) >= 20:
                return "clear_error", f"{type(exc).__name__}: {msg[:200]}"
            return "vague_error", f"{type(exc).__name__}: {msg[:200]}"
        except Exception as exc:
            return "crash", f"{type(exc).__name__}: {str(exc)[:200]}"
        if c.expect == ACCEPT:
            wrong = c.check(res) if c.check is not None else None
            return ("silent_wrong", wrong) if wrong else ("accepted", "")
        if c.pattern and _warned(res, c.pattern):
            return "warned", ""
        return "silent_wrong", f"returned {type(res).__name__} without an error or a warning"


def public_functions() -> set[str]:
    return {n for n in mk.__all__ if inspect.isfunction(getattr(mk, n))}


def test_matrix_covers_every_public_function() -> None:
    missing = public_functions() - {c.func for c in CASES}
    assert not missing, f"no bad-input case for {sorted(missing)}"


#: cases still answered wrongly (issue 14 not fully resolved; /work/notes/issue14.md lists
#: them). Strict xfail: a fix makes the test XPASS and fail until it is removed from here.
KNOWN_GAPS: dict[str, str] = {}


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input(c: Case, tmp_path: Path) -> None:
    if c.id in KNOWN_GAPS:
        pytest.xfail(f"known gap (issue 14): {KNOWN_GAPS[c.id]}")
    outcome, detail = classify(c, tmp_path)
    assert outcome in OK_OUTCOMES[c.expect], f"{c.id}: {outcome} ({detail})"


def test_known_gaps_are_still_gaps(tmp_path: Path) -> None:
    """A gap that was fixed must leave KNOWN_GAPS (so the list never hides a passing case)."""
    by_id = {c.id: c for c in CASES}
    assert set(KNOWN_GAPS) <= set(by_id)
    fixed = [
        k for k in KNOWN_GAPS if classify(by_id[k], tmp_path)[0] in OK_OUTCOMES[by_id[k].expect]
    ]
    assert fixed == [], f"fixed; remove from KNOWN_GAPS: {fixed}"


if __name__ == "__main__":  # the counts for the issue note
    import sys
    import tempfile

    counts: Counter[str] = Counter()
    rows = []
    only = sys.argv[1:]
    for c in CASES:
        if only and c.func not in only:
            continue
        with tempfile.TemporaryDirectory() as d:
            outcome, detail = classify(c, Path(d))
        ok = outcome in OK_OUTCOMES[c.expect]
        counts[outcome] += 1
        rows.append(
            {"case": c.id, "expect": c.expect, "outcome": outcome, "ok": ok, "detail": detail}
        )
        print(f"{'ok ' if ok else 'BAD'} {outcome:13s} {c.id}  {'' if ok else detail}", flush=True)
    print(json.dumps({"cases": len(rows), **counts, "failing": sum(not r["ok"] for r in rows)}))
