"""A small non-fraud dataset: car-loan applications scored for default risk.

Nothing in it follows mlopskit's default column names: ``application_id``, ``applied_at``
(STRING timestamps), ``pd_score`` (the champion's default probability), ``pd_score_v2``
(a challenger scored in shadow), ``scoring_ms[_v2]`` and ``scoring_failed[_v2]`` (each
model's latency and 0/1 failures in shadow), ``defaulted`` (a FLOAT 0.0/1.0 label, final: no arrival
time), features ``income``, ``loan_amount``, ``term_months``, ``age``, ``debt_ratio``
(with missing values) and ``region``. After day ``drift_day`` incomes fall and the
share of the ``north`` region rises (a drift the monitoring report should see).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-01-05")


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def loans(n_days: int = 70, per_day: int = 300, drift_day: int = 49, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_days * per_day
    day = np.repeat(np.arange(n_days), per_day)
    after = day >= drift_day
    ts = START + pd.to_timedelta(day, unit="D") + pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    region = np.where(
        rng.random(n) < np.where(after, 0.45, 0.2),
        "north",
        rng.choice(["south", "east", "west"], n),
    )
    income = np.exp(rng.normal(np.where(after, 10.4, 10.7), 0.5, n))
    loan_amount = np.exp(rng.normal(9.6, 0.6, n))
    term = rng.choice([36, 48, 60], n)
    age = rng.integers(19, 75, n)
    debt_ratio = rng.beta(2, 5, n)
    debt_ratio[rng.random(n) < 0.04] = np.nan
    z = (
        -3.2
        + 0.9 * (np.log(loan_amount) - np.log(income) + 1.1)
        + 2.0 * np.nan_to_num(debt_ratio, nan=0.3)
        + 0.01 * (term - 48)
        - 0.01 * (age - 45)
    )
    defaulted = (rng.random(n) < _expit(z)).astype(np.float64)
    pd_score = _expit(z + rng.normal(0, 0.6, n))
    pd_score_v2 = _expit(z + rng.normal(0, 0.45, n))
    # the shadow deployment logs each model's scoring time and failures
    scoring_ms = rng.lognormal(np.log(35), 0.3, n).round(1)
    scoring_ms_v2 = rng.lognormal(np.log(38), 0.3, n).round(1)
    scoring_failed = (rng.random(n) < 0.001).astype(np.int64)
    scoring_failed_v2 = (rng.random(n) < 0.001).astype(np.int64)
    return pd.DataFrame(
        {
            "application_id": [f"A{i:06d}" for i in range(n)],
            "applied_at": pd.Series(ts).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "region": region,
            "income": income.round(2),
            "loan_amount": loan_amount.round(2),
            "term_months": term,
            "age": age,
            "debt_ratio": debt_ratio,
            "pd_score": pd_score,
            "pd_score_v2": pd_score_v2,
            "scoring_ms": scoring_ms,
            "scoring_ms_v2": scoring_ms_v2,
            "scoring_failed": scoring_failed,
            "scoring_failed_v2": scoring_failed_v2,
            "defaulted": defaulted,
        }
    )


def loans_canary(
    start_day: int = 14, n_days: int = 42, per_day: int = 400, seed: int = 6
) -> pd.DataFrame:
    """A canary of the challenger on later applications: 5% of applications scored (and
    decided) by ``pd_score_v2``, the rest by ``pd_score``; ``declined`` when the deciding
    score is above 0.25. Same world as :func:`loans` (no drift), own seed."""
    rng = np.random.default_rng(seed)
    n = n_days * per_day
    day = start_day + np.repeat(np.arange(n_days), per_day)
    ts = START + pd.to_timedelta(day, unit="D") + pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    income = np.exp(rng.normal(10.7, 0.5, n))
    loan_amount = np.exp(rng.normal(9.6, 0.6, n))
    debt_ratio = rng.beta(2, 5, n)
    z = -3.2 + 0.9 * (np.log(loan_amount) - np.log(income) + 1.1) + 2.0 * debt_ratio
    defaulted = (rng.random(n) < _expit(z)).astype(np.float64)
    canary = rng.random(n) < 0.05
    score = np.where(canary, _expit(z + rng.normal(0, 0.45, n)), _expit(z + rng.normal(0, 0.6, n)))
    return pd.DataFrame(
        {
            "application_id": [f"C{i:06d}" for i in range(n)],
            "applied_at": pd.Series(ts).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "arm": np.where(canary, "canary", "control"),
            "pd_score": score,
            "declined": (score > 0.25).astype(np.int64),
            "scoring_ms": rng.lognormal(np.log(36), 0.3, n).round(1),
            "scoring_failed": (rng.random(n) < 0.001).astype(np.int64),
            "defaulted": defaulted,
        }
    )


def write_loans_canary(out_dir: str | Path, **kw: int) -> Path:
    """Write ``canary_applications.csv`` into ``out_dir`` and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "canary_applications.csv"
    loans_canary(**kw).to_csv(path, index=False)
    return path


def write_loans(out_dir: str | Path, **kw: int) -> Path:
    """Write ``applications.csv`` into ``out_dir`` and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "applications.csv"
    loans(**kw).to_csv(path, index=False)
    return path


if __name__ == "__main__":
    import sys

    out_dir = sys.argv[1] if len(sys.argv) > 1 else "data/loans"
    print(write_loans(out_dir))
    print(write_loans_canary(out_dir))
