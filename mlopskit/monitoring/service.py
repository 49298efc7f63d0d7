"""Service health: latency and error rates of the serving model against budgets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _display, frames
from mlopskit.policy import MonitoringPolicy, Policy, as_policy
from mlopskit.rows import RowCounts


# --------------------------------------------------------------------------------------
# Service health
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """Latest window of the scoring service against its recent baseline.

    Attributes
    ----------
    window_start, window_end : the latest window ``[as_of − window, as_of)``.
    n, errors, error_rate : requests, failed requests and their share in the window.
    latency_p50, latency_p95, latency_p99 : latency quantiles (ms, linear interpolation).
    throughput_per_hour, baseline_throughput_per_hour : request rates of the window and of
        the same clock window on each of the ``baseline_days`` previous days that the log covers
        (averaged, so the daily traffic cycle cancels); ``throughput_ratio`` is their ratio.
    warnings : data problems (no latency or error column, empty baseline).
    row_counts : requests read, used (the latest window) and left out: before the window
        (they count only towards the throughput baseline) and at or after ``as_of``.
    """

    window_start: pd.Timestamp
    window_end: pd.Timestamp
    n: int
    errors: float
    error_rate: float
    latency_p50: float
    latency_p95: float
    latency_p99: float
    throughput_per_hour: float
    baseline_throughput_per_hour: float
    throughput_ratio: float
    warnings: tuple[str, ...] = ()
    row_counts: RowCounts | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "window_start": self.window_start,
                    "window_end": self.window_end,
                    "n": self.n,
                    "errors": self.errors,
                    "error_rate": self.error_rate,
                    "latency_p50": self.latency_p50,
                    "latency_p95": self.latency_p95,
                    "latency_p99": self.latency_p99,
                    "throughput_per_hour": self.throughput_per_hour,
                    "baseline_throughput_per_hour": self.baseline_throughput_per_hour,
                    "throughput_ratio": self.throughput_ratio,
                }
            ]
        )

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        line = (
            f"Service health {self.window_start} – {self.window_end}: {self.n:,} requests, "
            f"error rate {self.error_rate:.4%}, p99 latency {self.latency_p99:.1f} ms, "
            f"throughput {self.throughput_ratio:.2f}× baseline"
        )
        if self.row_counts is not None:
            line += f"\nrows: {self.row_counts.summary()}"
        return line

    def plot(self, ax: Any = None, *, policy: Policy | str | Path | None = None) -> Any:
        """Latency quantiles with the policy's WATCH / PAGE lines."""
        from mlopskit import plots

        return plots.plot_service_health(
            self, as_policy(policy).section("monitoring", MonitoringPolicy), ax=ax
        )

    def _repr_html_(self) -> str:
        df = self.to_frame().astype({"window_start": str, "window_end": str})
        return (
            f"<div><strong>{_display.escape(self.summary())}</strong>"
            f"{_display.table_html(df)}{_display.warnings_html(self.warnings)}</div>"
        )


def service_health(
    log: frames.FrameLike,
    *,
    ts: str = "ts",
    latency: str | None = "latency_ms",
    error: str | None = "error",
    as_of: Any = None,
    window: str | None = None,
    baseline_days: int = 7,
    columns: Mapping[str, str] | None = None,
    policy: Policy | str | Path | None = None,
) -> ServiceHealth:
    """Latency quantiles, error rate and throughput of the latest window of a request log.

    ``as_of`` defaults to the latest ``ts``; the window is policy ``monitoring.service_window``
    (``"1h"``); the throughput baseline is the same clock window on each of the
    ``baseline_days`` previous days. Pass ``latency=None`` / ``error=None`` when the log lacks
    them. ``columns`` maps ``ts``, ``latency_ms``, ``error`` to your column names. Three lazy
    aggregations: the time range, the window's statistics, and the baseline ranges with the
    row counts (read, before the window, after ``as_of``) in one select.
    """
    pol = as_policy(policy).section("monitoring", MonitoringPolicy)
    _, length = frames.parse_window(window or pol.service_window)
    if (
        isinstance(baseline_days, bool)
        or not isinstance(baseline_days, int | np.integer)
        or baseline_days < 1
    ):
        raise ValueError(
            f"`baseline_days` (previous days of the throughput baseline) must be an integer "
            f"≥ 1; got {baseline_days!r}."
        )
    as_of_t = None
    if as_of is not None:
        try:
            as_of_t = pd.Timestamp(as_of)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"`as_of` must be a date like 2026-09-01; got {as_of!r}.") from exc
    mapping = frames.resolve_columns(
        columns, frame="service log", ts=ts, latency_ms=latency or None, error=error or None
    )
    contract = frames.SERVICE_LOG.without(*[c for c in ("latency_ms", "error") if c not in mapping])
    lf = frames.validate(log, contract, columns=mapping, frame="service log")
    sch = frames.schema(lf)
    warn: list[str] = []
    lat = "latency_ms" if "latency_ms" in sch else None
    err = "error" if "error" in sch else None
    if lat is None:
        warn.append("service log has no latency column; latency quantiles are NaN.")
    if err is None:
        warn.append("service log has no error column; error rate is NaN.")
    first, last = frames.time_range(lf, "ts")
    end = last.floor("us") + pd.Timedelta(microseconds=1) if as_of_t is None else as_of_t
    if first.tzinfo is not None and end.tzinfo is None:  # as_of in the log's time zone
        end = end.tz_localize(first.tzinfo)
    elif first.tzinfo is None and end.tzinfo is not None:  # a naive log is read as UTC
        end = end.tz_convert("UTC").tz_localize(None)
    start = end - length
    cur = frames.service_stats(
        frames.time_filter(lf, "ts", start, end), latency=lat, error=err, probs=(0.5, 0.95, 0.99)
    )
    day = pd.Timedelta(days=1)
    ranges = [(start - k * day, end - k * day) for k in range(1, baseline_days + 1)]
    ranges = [r for r in ranges if r[0] >= first]  # days before the log began are unknown
    base_n, wc = frames.range_counts(lf, "ts", ranges, window=(start, end))
    n = int(cur["n"])
    if n == 0:
        raise ValueError(f"service log: no requests in the latest window {start} – {end}.")
    hours = length / pd.Timedelta(hours=1)
    rate = n / hours
    base_rate = float(np.mean(base_n)) / hours if base_n else math.nan
    if len(ranges) < baseline_days:
        warn.append(
            f"service log: the throughput baseline uses {len(ranges)} of {baseline_days} previous "
            "days (the log starts later)."
        )
    if base_n and sum(base_n) == 0:
        warn.append(
            f"service log: no requests in the same window on the {len(ranges)} previous days; "
            "throughput ratio is NaN."
        )
    if lat is not None and math.isnan(cur.get("q2", math.nan)):
        warn.append(
            f"service log: `latency_ms` has no value in the latest window ({n:,} requests, all "
            "latencies missing); latency quantiles are NaN: the latency check cannot be made."
        )
    errors = cur.get("errors", math.nan)
    rows = RowCounts.of(
        wc["read"],
        {
            "before the window (throughput baseline only)": wc["before"],
            "at or after as_of": wc["after"],
            "`ts` missing": wc["read"] - wc["before"] - wc["after"] - n,
        },
        unit="requests",
    )
    return ServiceHealth(
        window_start=start,
        window_end=end,
        n=n,
        errors=errors,
        error_rate=errors / n,
        latency_p50=cur.get("q0", math.nan),
        latency_p95=cur.get("q1", math.nan),
        latency_p99=cur.get("q2", math.nan),
        throughput_per_hour=rate,
        baseline_throughput_per_hour=base_rate,
        throughput_ratio=rate / base_rate if base_rate > 0 else math.nan,
        warnings=tuple(warn),
        row_counts=rows,
    )
