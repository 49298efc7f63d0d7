"""The four monitoring layers: service health numbers, severities, paging rules, rendering."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mlopskit import monitoring
from mlopskit.drift import FeaturePSI, PSITable
from mlopskit.drift.outcome import OutcomeDrift, WindowOutcome
from mlopskit.drift.score_band import OutputDrift
from mlopskit.policy import MonitoringPolicy, Policy
from mlopskit.verdict import MonitorVerdict

Backend = Callable[[pd.DataFrame], Any]


def _log(hours: int = 24 * 8, per_hour: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = hours * per_hour
    ts = pd.Timestamp("2026-04-01") + pd.to_timedelta(
        np.repeat(np.arange(hours), per_hour) + rng.uniform(0, 1, n), unit="h"
    )
    return pd.DataFrame(
        {
            "ts": ts,
            "latency_ms": rng.lognormal(np.log(30), 0.4, n),
            "error": rng.random(n) < 0.001,
        }
    )


# ---- service health ----------------------------------------------------------------------------
def test_service_health_numbers_match_pandas(to_backend: Backend) -> None:
    log = _log()
    as_of = pd.Timestamp("2026-04-08 12:00")
    sh = monitoring.service_health(to_backend(log), as_of=as_of, window="1h")
    win = log[(log.ts >= as_of - pd.Timedelta(hours=1)) & (log.ts < as_of)]
    assert sh.n == len(win) and sh.errors == win.error.sum()
    assert sh.error_rate == pytest.approx(win.error.mean())
    # narwhals/polars "linear" quantiles = numpy's default (linear) method
    q = np.quantile(win.latency_ms, [0.5, 0.95, 0.99])
    np.testing.assert_allclose([sh.latency_p50, sh.latency_p95, sh.latency_p99], q, rtol=1e-12)
    # baseline: the same clock hour on each of the 7 previous days
    base = [
        (
            (log.ts >= as_of - pd.Timedelta(hours=1) - pd.Timedelta(days=k))
            & (log.ts < as_of - pd.Timedelta(days=k))
        ).sum()
        for k in range(1, 8)
    ]
    assert sh.baseline_throughput_per_hour == pytest.approx(np.mean(base))
    assert sh.throughput_ratio == pytest.approx(len(win) / np.mean(base))


def test_service_health_defaults_and_bad_input(to_backend: Backend) -> None:
    log = _log(hours=30)
    sh = monitoring.service_health(to_backend(log))  # as_of = latest ts, window 1h
    assert sh.window_end > log.ts.max() and sh.n == int((log.ts >= sh.window_start).sum())
    # the log covers one earlier day: the baseline is that day's same hour, with a warning
    prev_day = (log.ts >= sh.window_start - pd.Timedelta(days=1)) & (
        log.ts < sh.window_end - pd.Timedelta(days=1)
    )
    assert sh.baseline_throughput_per_hour == pytest.approx(prev_day.sum())
    assert any("baseline uses 1 of 7 previous days" in w for w in sh.warnings)
    no_err = monitoring.service_health(to_backend(log.drop(columns=["error"])), error=None)
    assert math.isnan(no_err.error_rate)
    assert any("no error column" in w for w in no_err.warnings)
    with pytest.raises(ValueError, match=r"service log: column `latency_ms` must be ≥ 0"):
        monitoring.service_health(to_backend(log.assign(latency_ms=-log.latency_ms)))
    with pytest.raises(ValueError, match="no requests in the latest window"):
        monitoring.service_health(to_backend(log), as_of="2027-01-01")


def _sh(**kw: float) -> monitoring.ServiceHealth:
    base = dict(
        window_start=pd.Timestamp("2026-04-08 11:00"),
        window_end=pd.Timestamp("2026-04-08 12:00"),
        n=1000,
        errors=1.0,
        error_rate=0.001,
        latency_p50=30.0,
        latency_p95=60.0,
        latency_p99=90.0,
        throughput_per_hour=1000.0,
        baseline_throughput_per_hour=1000.0,
        throughput_ratio=1.0,
    )
    base.update(kw)
    return monitoring.ServiceHealth(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "severity"),
    [
        ({}, "OK"),
        ({"latency_p99": 250.0}, "WATCH"),
        ({"latency_p99": 600.0}, "PAGE"),
        ({"error_rate": 0.01}, "WATCH"),
        ({"error_rate": 0.05}, "PAGE"),
        ({"throughput_ratio": 0.3}, "PAGE"),
    ],
)
def test_service_health_severities(kw: dict[str, float], severity: str) -> None:
    res = monitoring.monitor(service=_sh(**kw))
    assert res.layer("service_health").severity == MonitorVerdict(severity)
    assert res.verdict == MonitorVerdict(severity)
    assert res.pages == (("service_health",) if severity == "PAGE" else ())


# ---- input drift never pages -----------------------------------------------------------------------
_PSI_OF = {"stable": 0.01, "moderate": 0.15, "significant": 0.5, "insufficient_data": math.nan}


def _table(*statuses: str) -> PSITable:
    rows = tuple(
        FeaturePSI(f"f{i}", "numeric", _PSI_OF[s], 1000, 1000, 10, 0.017, 1e-9, 1e-9, s)
        for i, s in enumerate(statuses)
    )
    return PSITable(rows, 0.05, 0.10, 0.25, 0.5, 5.0)


@pytest.mark.parametrize(
    ("statuses", "severity"),
    [
        (("stable", "stable"), "OK"),
        (("stable", "moderate"), "WATCH"),
        (("moderate", "significant"), "ALERT"),
        (("significant",) * 12, "ALERT"),  # any amount of input drift stays non-paging
    ],
)
def test_input_drift_severity(statuses: tuple[str, ...], severity: str) -> None:
    layer = monitoring.monitor(input_drift=_table(*statuses)).layer("input_drift")
    assert layer.severity == MonitorVerdict(severity)
    assert not layer.pages
    flagged = [s for s in statuses if s in ("moderate", "significant")]
    assert sum(r.passed is False for r in layer.reasons) == len(flagged)


def test_policy_refuses_paging_on_input_drift_and_unknown_severities() -> None:
    with pytest.raises(ValueError, match="input drift is non-paging"):
        MonitoringPolicy(input_significant_severity="PAGE")
    with pytest.raises(ValueError, match="`output_severe_severity` must be one of"):
        MonitoringPolicy(output_severe_severity="LOUD")
    with pytest.raises(ValueError, match="0 < `outcome_oe_low` < 1 < `outcome_oe_high`"):
        MonitoringPolicy(outcome_oe_low=1.2)


# ---- output drift --------------------------------------------------------------------------------
def _output(psi_last: float, out: bool) -> OutputDrift:
    w = (pd.Timestamp("2026-04-01"), pd.Timestamp("2026-04-02"))
    return OutputDrift(
        windows=w,
        n=(4000, 4000),
        psi=(0.001, psi_last),
        bins=(10, 10),
        critical_value=(0.006, 0.006),
        band_upper=(0.006, 0.006),
        p_value=(0.5, 1e-9),
        in_reference=(True, False),
        out_of_band=(False, out),
        status=("stable", "stable"),
        overdispersion=1.0,
        reference_psi_max=0.001,
        reference_period=w,
        window="1D",
        band_alpha=0.01,
        edges=(),
        n_reference=4000,
        tau_moderate=0.1,
        tau_significant=0.25,
    )


@pytest.mark.parametrize(
    ("psi", "out", "severity"),
    [(0.003, False, "OK"), (0.02, True, "WATCH"), (0.15, True, "ALERT"), (0.4, True, "ALERT")],
)
def test_output_drift_severity(psi: float, out: bool, severity: str) -> None:
    layer = monitoring.monitor(output_drift=_output(psi, out)).layer("output_drift")
    assert layer.severity == MonitorVerdict(severity)


def test_output_drift_pages_only_when_the_team_says_so() -> None:
    pol = Policy(raw={"monitoring": {"output_severe_severity": "PAGE"}})
    assert monitoring.monitor(output_drift=_output(0.4, True), policy=pol).pages == (
        "output_drift",
    )
    assert monitoring.monitor(output_drift=_output(0.15, True), policy=pol).pages == ()


# ---- outcome drift ----------------------------------------------------------------------------------
def _outcome(test: str, drop: float, oe: float, oe_lo: float, oe_hi: float) -> OutcomeDrift:
    t0 = pd.Timestamp("2026-04-01")
    ref = WindowOutcome(t0, 10_000, 10_000, auc=0.92, oe=0.8, oe_vs_reference=1.0)
    last = WindowOutcome(
        t0 + pd.Timedelta(days=7),
        10_000,
        10_000,
        auc=0.92 - drop,
        auc_drop=drop,
        auc_drop_se=0.006,
        auc_drop_test=test,
        oe_vs_reference=oe,
        oe_vs_reference_ci_low=oe_lo,
        oe_vs_reference_ci_high=oe_hi,
    )
    immature = WindowOutcome(t0 + pd.Timedelta(days=14), 10_000, 0)
    return OutcomeDrift(
        ref,
        (last, immature),
        t0 + pd.Timedelta(days=40),
        pd.Timedelta(days=30),
        "7D",
        (t0, t0 + pd.Timedelta(days=7)),
        0.02,
        0.05,
        0.05,
        0.01,
        None,
        "bootstrap",
        10,
        200,
        500,
        0,
    )


@pytest.mark.parametrize(
    ("args", "severity"),
    [
        (("cleared", 0.0, 1.0, 0.9, 1.1), "OK"),
        (("inconclusive", 0.01, 1.0, 0.9, 1.1), "OK"),
        (("inconclusive", 0.03, 1.0, 0.9, 1.1), "WATCH"),
        (("confirmed", 0.05, 1.0, 0.9, 1.1), "PAGE"),
        (("cleared", 0.0, 1.6, 1.3, 1.9), "ALERT"),
        (("cleared", 0.0, 1.3, 1.1, 1.5), "OK"),  # interval overlaps the band
        (("confirmed", 0.05, 0.5, 0.4, 0.6), "PAGE"),
    ],
)
def test_outcome_drift_severity_uses_the_latest_matured_window(args: tuple, severity: str) -> None:
    layer = monitoring.monitor(outcome_drift=_outcome(*args)).layer("outcome_drift")
    assert layer.severity == MonitorVerdict(severity)
    assert "window 2026-04-08" in layer.reasons[0].message  # not the immature 04-15 window


# ---- combined result ----------------------------------------------------------------------------------
def test_monitor_combines_layers_and_renders() -> None:
    res = monitoring.monitor(
        service=_sh(),
        input_drift=_table("stable", "significant"),
        output_drift=_output(0.02, True),
        outcome_drift=_outcome("confirmed", 0.05, 1.0, 0.9, 1.1),
    )
    assert res.verdict == MonitorVerdict.PAGE and res.pages == ("outcome_drift",)
    df = res.to_frame()
    assert list(df.columns) == ["layer", "severity", "pages", "owner", "message", "runbook"]
    assert df.severity.tolist() == ["OK", "ALERT", "WATCH", "PAGE"]
    pol = MonitoringPolicy()
    assert df.owner.tolist() == [
        pol.service_owner,
        pol.input_owner,
        pol.output_owner,
        pol.outcome_owner,
    ]
    assert df.runbook[3] == pol.outcome_runbook
    d = json.loads(json.dumps(res.to_dict()))
    assert d["verdict"] == "PAGE" and d["layers"][1]["reasons"][0]["code"] == "psi:f1"
    assert "PAGE" in res.summary() and "outcome_drift" in res.summary()
    ax = res.plot()
    assert ax.get_title() == "Monitoring: PAGE" and ax.get_ylabel() == "layer"
    plt.close("all")


def test_monitor_escapes_html_and_reports_missing_layers() -> None:
    table = _table("moderate")
    table = replace(table, rows=(replace(table.rows[0], feature="<script>x</script>"),))
    res = monitoring.monitor(input_drift=table)
    html = res._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert res.layer("service_health").severity is None
    assert sum("not evaluated" in w for w in res.warnings) == 3
    with pytest.raises(ValueError, match="pass at least one layer result"):
        monitoring.monitor()
    with pytest.raises(ValueError, match="`name` must be one of"):
        res.layer("vibes")


def test_service_health_plot_shows_the_policy_lines() -> None:
    sh = monitoring.service_health(_log(hours=30))
    ax = sh.plot()
    assert [round(ln.get_ydata()[0]) for ln in ax.lines] == [200, 500]
    assert ax.get_ylabel() == "latency (ms)" and len(ax.patches) == 3
    assert "requests" in sh.summary() and "<table" in sh._repr_html_()
    plt.close("all")
