"""Row reconciliation (issue 14, Build 8): every result says how many rows it read, used and
dropped by reason, and ``read = used + Σ dropped`` — checked here against an independent
pandas count on frames with planted drops (missing scores, events after ``as_of``, null
timestamps, immature labels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlopskit as mk
from mlopskit.rows import RowCounts

AS_OF = pd.Timestamp("2026-03-01")


def _reconciles(rc: RowCounts | None) -> RowCounts:
    assert rc is not None
    assert rc.read == rc.used + sum(k for _, k in rc.dropped)
    for _, sub in rc.by:
        assert sub.read == sub.used + sum(k for _, k in sub.dropped)
    return rc


def test_row_counts_refuses_counts_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="do not reconcile"):
        RowCounts(read=10, used=7, dropped=(("after as_of", 2),))
    rc = RowCounts.of(10, {"after as_of": 2, "missing score": 0})
    assert (rc.used, rc.dropped) == (8, (("after as_of", 2),))
    assert "read 10 rows; used 8; dropped 2 (after as_of 2)" in rc.summary()
    assert (rc + rc).to_dict()["dropped"] == {"after as_of": 4}


# ---- shadow -------------------------------------------------------------------------
def _shadow_log() -> pd.DataFrame:
    rng, n = np.random.default_rng(151), 3000
    ts = AS_OF - pd.Timedelta(days=20) + pd.to_timedelta(rng.uniform(0, 14, n), unit="D")
    s1 = rng.beta(1, 12, n)
    s2 = np.clip(s1 + rng.normal(0, 0.02, n), 0, 1)
    label = (rng.random(n) < s1).astype(float)
    label_ts = pd.Series(ts + pd.to_timedelta(rng.uniform(1, 40, n), unit="D"))
    df = pd.DataFrame(
        {
            "request_id": np.arange(n),
            "ts": ts,
            "score_champion": s1,
            "score_challenger": s2,
            "latency_ms_champion": rng.lognormal(3, 0.3, n),
            "latency_ms_challenger": rng.lognormal(3, 0.3, n),
            "error_champion": np.zeros(n, dtype=int),
            "error_challenger": np.zeros(n, dtype=int),
            "label": label,
            "label_ts": label_ts,
        }
    )
    # planted drops: champion missing, challenger missing (NaN and null), both, no label
    df.loc[rng.choice(n, 40, replace=False), "score_champion"] = np.nan
    df.loc[rng.choice(n, 55, replace=False), "score_challenger"] = np.nan
    nolabel = rng.choice(n, 300, replace=False)
    df.loc[nolabel, "label"] = np.nan
    df.loc[nolabel, "label_ts"] = pd.NaT
    return df


@pytest.mark.parametrize("as_of", [None, AS_OF + pd.Timedelta(days=10)])
def test_shadow_profile_reconciles_requests(as_of: pd.Timestamp | None) -> None:
    df = _shadow_log()
    res = mk.shadow_profile(df, threshold=0.2, as_of=as_of)
    rc = _reconciles(res.row_counts)
    c, h = df["score_champion"].isna(), df["score_challenger"].isna()
    assert rc.read == len(df)
    assert rc.used == int((~c & ~h).sum()) == res.decisions.n
    assert rc.dropped_for("champion score missing") == int((c & ~h).sum())
    assert rc.dropped_for("challenger score missing") == int((~c & h).sum())
    assert rc.dropped_for("both scores missing") == int((c & h).sum())
    labels = dict(rc.by)["precision/recall (matured labels)"]
    when = res.as_of if as_of is None else as_of
    cut = when - pd.Timedelta(days=res.label_maturity_days)
    assert labels.dropped_for("no label") == int(df["label"].isna().sum())
    matured = df["label"].notna() & (df["ts"] <= cut)
    assert labels.used == int(matured.sum())
    assert "rows: read 3,000 requests" in res.summary()


# ---- canary -------------------------------------------------------------------------
def _canary_log() -> pd.DataFrame:
    rng, n = np.random.default_rng(152), 8000
    arm = np.where(rng.random(n) < 0.2, "canary", "control")
    ts = AS_OF - pd.Timedelta(days=40) + pd.to_timedelta(rng.uniform(0, 44, n), unit="D")
    score = rng.beta(1, 12, n)
    fraud = rng.random(n) < score
    label_ts = pd.Series(ts + pd.to_timedelta(rng.gamma(2, 4, n), unit="D")).where(fraud)
    amount = rng.lognormal(3, 1, n)
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "ts": ts,  # about a tenth after as_of (planted)
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
    )


def test_canary_reconciles_units_per_arm_and_warns_about_later_units() -> None:
    df = _canary_log()
    res = mk.canary_test(df, as_of=AS_OF)
    rc = _reconciles(res.row_counts)
    late = df["ts"] > AS_OF
    assert late.sum() > 0
    assert rc.read == len(df)
    assert rc.dropped_for("after as_of") == int(late.sum())
    by = dict(rc.by)
    for arm in ("control", "canary"):
        sel = df["arm"] == arm
        assert by[arm].read == int(sel.sum())
        assert by[arm].dropped_for("after as_of") == int((sel & late).sum())
    assert (by["control"].used, by["canary"].used) == (res.units_control, res.units_canary)
    # a sequential stop at an earlier look: the units exposed after it are their own reason
    looked = df["ts"] <= res.as_of
    for arm in ("control", "canary"):
        sel = df["arm"] == arm
        assert by[arm].used == int((sel & looked).sum())
        assert by[arm].dropped_for(f"after the look of {res.as_of}") == int(
            (sel & ~looked & ~late).sum()
        )
    assert any(f"{int(late.sum()):,} units exposed after as_of" in w for w in res.warnings)
    hist = mk.canary_history(df, as_of=AS_OF)
    assert _reconciles(hist.final.row_counts).read == len(df)


# ---- drift --------------------------------------------------------------------------
def _features(start: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ts": pd.Timestamp(start) + pd.to_timedelta(rng.uniform(0, 7, n), unit="D"),
            "amount": rng.lognormal(3, 1, n),
            "country": rng.choice(["US", "GB", "FR"], n),
        }
    )


def test_psi_table_and_psi_over_time_reconcile() -> None:
    ref = _features("2026-01-01", 3000, 1)
    cur = _features("2026-02-01", 2500, 2)
    cur.loc[::17, "amount"] = np.nan  # a missing value is binned, not dropped
    tab = mk.psi_table(ref.drop(columns="ts"), cur.drop(columns="ts"))
    rc = _reconciles(tab.row_counts)
    assert (rc.read, rc.used, rc.dropped) == (len(cur), len(cur), ())
    cur.loc[cur.index[::23], "ts"] = pd.NaT  # planted: no window
    ot = mk.psi_over_time(ref.drop(columns="ts"), cur, window="1D")
    rc = _reconciles(ot.row_counts)
    n_null = int(cur["ts"].isna().sum())
    assert (rc.read, rc.used, rc.dropped) == (
        len(cur),
        len(cur) - n_null,
        (("`ts` missing", n_null),),
    )
    per_day = cur["ts"].dt.floor("D").value_counts()
    got = dict(rc.by)
    assert {pd.Timestamp(k): v.used for k, v in got.items()} == {
        pd.Timestamp(k): int(v) for k, v in per_day.items()
    }
    assert any("null `ts`" in w for w in ot.warnings)


def _scored() -> pd.DataFrame:
    rng, n = np.random.default_rng(153), 6000
    ts = AS_OF - pd.to_timedelta(rng.uniform(-10, 120, n), unit="D")  # some after as_of
    score = rng.beta(1, 12, n)
    fraud = rng.random(n) < np.clip(score * 2, 0, 1)
    label_ts = pd.Series(ts + pd.to_timedelta(rng.gamma(2, 7, n), unit="D"))
    arrived = fraud & (label_ts <= AS_OF).to_numpy()
    return pd.DataFrame(
        {
            "ts": ts,
            "score": score,
            "label": arrived.astype(int),
            "label_ts": label_ts.where(arrived),
        }
    )


REF = (AS_OF - pd.Timedelta(days=120), AS_OF - pd.Timedelta(days=60))


def test_output_and_outcome_drift_reconcile_per_window() -> None:
    df = _scored()
    out = mk.output_drift(df[["ts", "score"]], reference_period=REF, window="7D")
    rc = _reconciles(out.row_counts)
    assert rc.read == rc.used == len(df)
    assert sum(sub.used for _, sub in rc.by) == len(df)
    od = mk.outcome_drift(df, reference_period=REF, as_of=AS_OF, label_age_days=30)
    rc = _reconciles(od.row_counts)
    after = df["ts"] > AS_OF
    young = (df["ts"] > AS_OF - pd.Timedelta(days=30)) & ~after
    assert rc.read == len(df)
    assert rc.dropped_for("after as_of") == int(after.sum())
    assert rc.dropped_for("label younger than 30 d") == int(young.sum())
    assert rc.used == int((~after & ~young).sum())
    assert rc.used == sum(w.n_matured for w in od.windows)


def test_label_maturity_lag_and_monitoring_reconcile() -> None:
    df = _scored()
    lm = mk.label_maturity(df, as_of=AS_OF)
    rc = _reconciles(lm.row_counts)
    assert rc.read == len(df)
    assert rc.dropped_for("at or after as_of") == int((df["ts"] >= AS_OF).sum())
    assert rc.used == int(lm.n_events.sum())
    ra = mk.drift_vs_label_lag(df, as_of=AS_OF, drift=AS_OF - pd.Timedelta(days=30))
    rr = _reconciles(ra.row_counts)
    assert (rr.read, rr.used) == (rc.read, rc.used)
    if rr.by:
        window = dict(rr.by)[f"window since {ra.window_start}"]
        assert window.used == ra.window_events
    ref = _features("2026-01-01", 3000, 1)
    cur = _features("2026-02-01", 2500, 2)
    tab = mk.psi_table(ref.drop(columns="ts"), cur.drop(columns="ts"))
    out = mk.output_drift(df[["ts", "score"]], reference_period=REF, window="7D")
    mon = mk.monitor(input_drift=tab, output_drift=out)
    rm = _reconciles(mon.row_counts)
    by = dict(rm.by)
    assert by["input_drift"] == tab.row_counts and by["output_drift"] == out.row_counts
    assert rm.read == len(cur) + len(df)
    assert "rows: read" in mon.summary()


def test_the_report_provenance_lists_rows_read_used_and_dropped() -> None:
    from mlopskit.report import evidence, rendering

    df = _canary_log()
    res = mk.canary_test(df, as_of=AS_OF)
    counts = evidence.row_counts(canary=res, shadow=None)
    assert counts == {"canary": res.row_counts.to_dict()}  # type: ignore[union-attr]
    prov = rendering.provenance({}, {"decision": {"key_numbers": {"row_counts": counts}}})
    html = rendering.provenance_html(prov)
    assert "Rows read, used and dropped" in html
    late = int((df["ts"] > AS_OF).sum())
    assert f"after as_of {late:,}" in html and f"<td>{len(df):,}</td>" in html


def test_service_health_reconciles_requests() -> None:
    rng, n = np.random.default_rng(157), 5000
    ts = AS_OF - pd.Timedelta(days=3) + pd.to_timedelta(rng.uniform(0, 4, n), unit="D")
    log = pd.DataFrame(
        {"ts": ts, "latency_ms": rng.lognormal(3, 0.4, n), "error": rng.random(n) < 0.01}
    )
    res = mk.monitoring.service_health(log, as_of=AS_OF, window="6h")
    rc = _reconciles(res.row_counts)
    start = AS_OF - pd.Timedelta(hours=6)
    in_window = int(((log.ts >= start) & (log.ts < AS_OF)).sum())  # independent pandas count
    assert (rc.read, rc.used, rc.unit) == (n, in_window, "requests") and res.n == in_window
    assert rc.dropped_for("at or after as_of") == int((log.ts >= AS_OF).sum()) > 0
    assert rc.dropped_for("before the window (throughput baseline only)") == int(
        (log.ts < start).sum()
    )
    assert "rows: read 5,000 requests" in res.summary()
