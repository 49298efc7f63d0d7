"""The demo's fitted logistic fraud models: feature terms, :class:`LogisticModel`, the fit."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import statsmodels.api as sm

from mlopskit.demo.scenarios import CHANNELS, COUNTRIES, MERCHANT_CATEGORIES


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
