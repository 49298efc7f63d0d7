"""Row reconciliation (issue 14, Build 8): every result says how many rows it read, used and
dropped by reason, and ``read = used + Σ dropped`` — checked here against an independent
pandas count on frames with planted drops (missing scores, events after ``as_of``, null
timestamps, immature labels)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlopskit as mk
from mlopskit.drift.estimated import estimated_performance
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


def test_calibration_check_reconciles_events_against_pandas() -> None:
    df = _scored()
    ra = mk.drift_vs_label_lag(df, as_of=AS_OF, drift=AS_OF - pd.Timedelta(days=30))
    cal = ra.calibration
    assert cal is not None
    rc = _reconciles(cal.row_counts)
    start = cal.window_start
    before, after = df["ts"] < start, df["ts"] >= AS_OF  # independent pandas counts
    assert before.sum() > 0 and after.sum() > 0
    assert rc.read == len(df)
    assert rc.dropped_for(f"before start ({start})") == int(before.sum())
    assert rc.dropped_for("at or after as_of") == int(after.sum())
    immature = rc.dropped_for(f"labels not mature (F̂ < {cal.min_maturity:g})")
    assert rc.used == cal.n  # the matured rows the fit used
    assert rc.used + immature == int((~before & ~after).sum())


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


# ---- reference profile --------------------------------------------------------------
def _reference_frame() -> pd.DataFrame:
    rng, n = np.random.default_rng(158), 4000
    df = pd.DataFrame(
        {
            "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.uniform(0, 40, n), unit="D"),
            "amount": rng.lognormal(3, 1, n),
            "hour": rng.integers(0, 24, n).astype(float),
            "country": rng.choice(["US", "GB", "FR"], n).astype(object),
        }
    )
    df.loc[rng.choice(n, 70, replace=False), "amount"] = np.nan  # planted: missing values
    df.loc[rng.choice(n, 15, replace=False), "hour"] = np.nan
    df.loc[rng.choice(n, 33, replace=False), "country"] = None
    df.loc[rng.choice(n, 21, replace=False), "ts"] = pd.NaT  # planted: no ts
    return df


def test_profile_states_rows_even_when_none_are_dropped() -> None:
    df = _reference_frame().drop(columns="ts")
    prof = mk.profile(df)
    rc = _reconciles(prof.row_counts)
    assert (rc.read, rc.used, rc.dropped) == (len(df), len(df), ())  # said, not implied
    assert "rows: read 4,000 rows; used 4,000; dropped 0" in prof.summary()
    assert "rows: read 4,000 rows" in repr(prof) and "rows: read 4,000" in prof._repr_html_()
    by = dict(rc.by)
    for col in ("amount", "hour", "country"):  # independent pandas count of null/NaN
        sub = by[f"`{col}` values"]
        assert sub.dropped_for("null/NaN (counted in the __missing__ bin)") == int(
            df[col].isna().sum()
        )
        assert sub.used == int(df[col].notna().sum()) == len(df) - prof.feature(col).n_missing
    # the counts survive the JSON round trip (derived from the stored bin counts)
    again = mk.drift.ReferenceProfile.from_json(prof.to_json())
    assert again.row_counts == rc


def test_profile_counts_nan_and_null_of_a_polars_frame_and_refuses_inf() -> None:
    import polars as pl

    x = pl.Series("x", [1.0, float("nan"), None, 4.0, 5.0, float("nan"), 7.0, 8.0, 9.0, 10.0])
    prof = mk.profile(pl.DataFrame({"x": x}), bins=2)
    sub = dict(prof.row_counts.by)["`x` values"]
    assert (sub.read, sub.used, sub.n_dropped) == (10, 7, 3)  # 2 NaN + 1 null
    with pytest.raises(ValueError, match=r"±inf"):
        mk.profile(pd.DataFrame({"x": [1.0, np.inf, 3.0, 4.0]}), bins=2)


def test_profile_window_counts_rows_outside_it_against_pandas() -> None:
    df = _reference_frame()
    start, end = pd.Timestamp("2026-01-08"), pd.Timestamp("2026-01-29")
    prof = mk.profile(df, features=["amount", "hour", "country"], window=(start, end))
    rc = _reconciles(prof.row_counts)
    inside = (df["ts"] >= start) & (df["ts"] < end)
    assert rc.read == len(df) and rc.used == prof.n == int(inside.sum())
    assert rc.dropped_for(f"before the window ({start})") == int((df["ts"] < start).sum())
    assert rc.dropped_for(f"at or after the window end ({end})") == int((df["ts"] >= end).sum())
    assert rc.dropped_for("`ts` missing") == int(df["ts"].isna().sum()) == 21
    sub = dict(rc.by)["`amount` values"]
    assert sub.read == int(inside.sum()) and sub.used == int((inside & df["amount"].notna()).sum())
    # the window profile equals profiling the pandas-filtered rows (same bins, same counts)
    alone = mk.profile(df[inside], features=["amount", "hour", "country"], ts="ts")
    assert alone.features == prof.features and alone.n == prof.n
    assert mk.drift.ReferenceProfile.from_json(prof.to_json()).row_counts == rc
    with pytest.raises(ValueError, match=r"`window` needs a datetime `ts`"):
        mk.profile(df.drop(columns="ts"), window=(start, end))


# ---- estimated performance (CBPE) ---------------------------------------------------
def test_estimated_performance_reconciles_events_per_window() -> None:
    df = _scored()
    start = AS_OF - pd.Timedelta(days=56)
    est = estimated_performance(
        df[["ts", "score"]], as_of=AS_OF, start=start, threshold=0.2, window="14D", n_sim=200
    )
    rc = _reconciles(est.row_counts)
    before, after = df["ts"] < start, df["ts"] >= AS_OF
    assert before.sum() > 0 and after.sum() > 0
    assert rc.read == len(df)
    assert rc.dropped_for(f"before start ({start})") == int(before.sum())
    assert rc.dropped_for("at or after as_of") == int(after.sum())
    used = df[~before & ~after]
    per = ((used["ts"] - start) // pd.Timedelta(days=14)).value_counts()  # independent count
    assert [sub.used for _, sub in rc.by] == [int(per[k]) for k in sorted(per.index)]
    assert list(est.to_frame()["n_events"]) == [sub.used for _, sub in rc.by]
    assert f"rows: read {len(df):,} events" in est.summary()


# ---- registry gates ---------------------------------------------------------------
def _gate_set(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(159)
    x = rng.normal(0, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * x - 2)))).astype(int)
    return pd.DataFrame({"request_id": np.arange(n), "x": x, "label": y})


class _FlakyScorer:
    """Raises on ids divisible by 7, returns 1.5 on those divisible by 11 (not by 7)."""

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        rid = int(frame["request_id"].iloc[0])
        if rid % 7 == 0:
            raise RuntimeError("boom")
        if rid % 11 == 0:
            return np.array([1.5])
        return 1 / (1 + np.exp(-(2 * frame["x"].to_numpy(dtype=float) - 2)))


def test_quality_gate_states_its_test_rows() -> None:
    df = _gate_set()
    df["s"] = 1 / (1 + np.exp(-(2 * df["x"] - 2)))
    res = mk.model_quality_gate("fraud_v9", df, scorer="s", thresholds={"auc": 0.6})
    rc = _reconciles(res.row_counts)
    assert (rc.read, rc.used, rc.dropped, rc.unit) == (len(df), len(df), (), "test rows")
    assert "rows: read 2,000 test rows; used 2,000; dropped 0" in res.summary()
    assert res.to_record()["details"]["row_counts"] == rc.to_dict()
    assert "rows: read 2,000 test rows" in res._repr_html_()


def test_parity_gate_counts_unmatched_keys_per_side_against_pandas() -> None:
    t = _gate_set()
    r = t.copy()
    r = r[r["request_id"] % 9 != 0]  # planted: training rows with no recomputed row
    extra = pd.DataFrame({"request_id": np.arange(10**6, 10**6 + 37), "x": 0.0, "label": 0})
    r = pd.concat([r, extra, r.iloc[:4]], ignore_index=True)  # unmatched + duplicate keys
    res = mk.feature_parity_gate("fraud_v9", r, t, key="request_id", features=["x"])
    rc = _reconciles(res.row_counts)
    by = dict(rc.by)
    t_keys, r_keys = set(t["request_id"]), set(r["request_id"])
    n_t_only = int((~t["request_id"].isin(r_keys)).sum())  # independent pandas count
    n_r_only = int((~r["request_id"].isin(t_keys)).sum())
    assert (n_t_only, n_r_only) == (len(t) - len(t[t["request_id"] % 9 != 0]), 37)
    assert by["training"].read == len(t) and by["recomputed"].read == len(r)
    assert by["training"].dropped_for("key not in the recomputed features") == n_t_only
    assert by["recomputed"].dropped_for("key not in the training features") == n_r_only
    assert by["recomputed"].used == int(r["request_id"].isin(t_keys).sum())
    assert rc.read == len(t) + len(r) and not res.passed
    assert "rows: read" in res.summary() and "key not in the recomputed features" in res.summary()
    assert res.to_record()["details"]["row_counts"] == rc.to_dict()


def test_smoke_test_counts_requests_sent_scored_failed_and_logs_them(tmp_path: Any) -> None:
    full = _gate_set(2000)
    reg = mk.open_registry(tmp_path / "reg.sqlite")
    model = tmp_path / "model.json"
    model.write_text("{}")
    preds = tmp_path / "preds.parquet"
    keep = full[full["request_id"] % 13 != 0]  # planted: no offline prediction
    pd.DataFrame(
        {"request_id": keep["request_id"], "score": 1 / (1 + np.exp(-(2 * keep["x"] - 2)))}
    ).to_parquet(preds)
    run = reg.record_run(data_hash="d", n_rows=len(full), feature_set_version="1", features=["x"],
                         hyperparameters={}, metrics={}, artifacts={"model": model, "eval_predictions": preds})  # fmt: skip
    reg.register("fraud", run.run_id, version="9", actor="t")
    # CI gates recorded, then → Staging: the transition's log row quotes their row counts
    scored = full.assign(s=1 / (1 + np.exp(-(2 * full["x"] - 2))))
    quality = mk.model_quality_gate("fraud_v9", scored, scorer="s", thresholds={"auc": 0.6})
    parity = mk.feature_parity_gate("fraud_v9", full, full, key="request_id", features=["x"])
    assert quality.passed and parity.passed
    reg.record_gate(quality)
    reg.record_gate(parity)
    moved = reg.promote("fraud_v9", to="Staging", reason="CI green", actor="t")
    logged_checks = {c["gate"]: c["summary"] for c in moved.transitions[-1].evidence["checks"]}
    assert "rows: read 2,000 test rows; used 2,000; dropped 0" in logged_checks["model_quality"]
    assert "rows: read 4,000 rows; used 4,000; dropped 0" in logged_checks["feature_parity"]
    res = mk.staging_smoke_test(
        "fraud_v9",
        full.sample(frac=1.0, random_state=1),  # the sample is the 60 smallest ids, any order
        loader=lambda _b: _FlakyScorer(),
        key="request_id",
        registry=reg,
        n=60,
        latency_p99_ms=1e6,  # latency is not under test
    )
    rc = _reconciles(res.row_counts)
    ids = pd.Series(np.arange(60))  # independent count over the sample
    raised, bad = ids % 7 == 0, (ids % 11 == 0) & (ids % 7 != 0)
    scored = ~raised & ~bad
    assert (rc.read, rc.used) == (60, int(scored.sum()))
    assert rc.dropped_for("failed: raised an error") == int(raised.sum())
    assert rc.dropped_for("failed: not one probability in [0, 1]") == int(bad.sum())
    off = dict(rc.by)["offline parity"]
    assert off.read == int(scored.sum())
    assert off.dropped_for("no recorded offline prediction") == int(
        (scored & (ids % 13 == 0)).sum()
    )
    assert res.n_errors == rc.n_dropped and not res.passed
    # the gate's log record carries them
    reg.record_gate(res)
    logged = reg.gate_results("fraud_v9")[-1]
    assert logged["details"]["row_counts"] == rc.to_dict()
    assert "rows: read 60 requests sent" in logged["summary"]


def test_monitoring_provenance_lists_profile_and_estimate_rows() -> None:
    from mlopskit.report import evidence, rendering

    df = _scored()
    prof = mk.profile(_reference_frame(), features=["amount"], window=REF_WINDOW)
    est = estimated_performance(
        df[["ts", "score"]], as_of=AS_OF, start=REF[1], threshold=0.2, window="14D", n_sim=100
    )
    counts = evidence.row_counts(input_drift_reference=prof, estimated_performance=est)
    assert counts["input_drift_reference"] == prof.row_counts.to_dict()
    assert counts["estimated_performance"] == est.row_counts.to_dict()  # type: ignore[union-attr]
    html = rendering.provenance_html(
        rendering.provenance({}, {"decision": {"key_numbers": {"row_counts": counts}}})
    )
    assert "<td>estimated_performance</td>" in html and "<td>input_drift_reference</td>" in html
    assert f"<td>{len(df):,}</td>" in html and "at or after as_of" in html


REF_WINDOW = (pd.Timestamp("2026-01-08"), pd.Timestamp("2026-01-29"))
