"""Issue 13: missing metric values are evidence, never silently dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlopskit import canary
from mlopskit.canary import Mean, Proportion
from mlopskit.policy import CanaryPolicy

POLICY = CanaryPolicy()


def _timeout_log(seed: int = 7, days: int = 14, daily: int = 20_000) -> pd.DataFrame:
    """A canary ~8 ms slower on average because 10% of its calls are slow (100 ms); those
    time out and are logged with ``error = 1`` and no latency."""
    rng = np.random.default_rng(seed)
    n = days * daily
    ts = pd.Timestamp("2026-03-01") + pd.to_timedelta(np.sort(rng.random(n)) * days, unit="D")
    canary_arm = rng.random(n) < 0.05
    lat = rng.lognormal(np.log(18.0), 0.35, n)
    slow = canary_arm & (rng.random(n) < 0.10)
    lat = np.where(slow, 100.0, lat)
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "ts": ts,
            "arm": np.where(canary_arm, "canary", "control"),
            "latency_ms": np.where(slow, np.nan, lat),
            "error": slow.astype(int),
        }
    )


AS_OF = pd.Timestamp("2026-03-15")


def test_nan_latencies_on_slow_canary_calls_never_promote_silently() -> None:
    log = _timeout_log()
    res = canary.canary_test(
        log, metrics=[Mean("latency_ms", "latency_ms", margin=5.0)], as_of=AS_OF, policy=POLICY
    )
    assert res.verdict != "PROMOTE"
    assert res.verdict == "INVALID"
    text = " ".join(r.message for r in res.reasons)
    assert "latency_ms" in text and "missing" in text
    row = res.to_frame().iloc[0]
    assert row["missing_control"] == 0
    seen = log[log.ts <= res.as_of]
    assert row["missing_canary"] == int(seen["latency_ms"].isna().sum())


def test_declared_timeout_treatment_counts_missing_latency_at_the_cap() -> None:
    log = _timeout_log()
    m = Mean("latency_ms", "latency_ms", margin=5.0, fill_missing=250.0, fill_when="error")
    res = canary.canary_test(log, metrics=[m], as_of=AS_OF, policy=POLICY)
    assert res.verdict == "ROLLBACK"
    r = res["latency_ms"]
    seen = log[log.ts <= res.as_of]  # the canary stops at its first terminal verdict
    assert r.filled_canary == int(seen["latency_ms"].isna().sum())
    assert r.missing_canary == 0
    # the canary mean includes the timeouts at 250 ms
    can = seen[seen.arm == "canary"]
    expect = np.where(can.error == 1, 250.0, can.latency_ms).mean()
    assert r.mean_canary == pytest.approx(expect, rel=1e-9)


def test_equal_missingness_is_reported_but_not_invalid() -> None:
    rng = np.random.default_rng(3)
    log = _timeout_log(seed=3)
    log["latency_ms"] = np.where(
        rng.random(len(log)) < 0.02, np.nan, rng.lognormal(3, 0.3, len(log))
    )
    res = canary.canary_test(
        log,
        metrics=[
            Mean("latency_ms", "latency_ms", margin=5.0),
            Proportion("error_rate", "error", margin=0.2),
        ],
        as_of=AS_OF,
        policy=POLICY,
    )
    assert res.verdict != "INVALID"
    assert any("latency_ms" in w and "missing" in w for w in res.warnings)
