"""Label maturity: the chain-ladder maturity curve F̂(age) and label_maturity()."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from mlopskit import frames
from mlopskit._display import escape, nan_safe_eq, short_repr, table_html, text_table, warnings_html
from mlopskit.labels.arrival import ArrivalBias, _arrival_bias, _arrival_text
from mlopskit.labels.prepare import _COHORTS, _cohort_arrays, _prepare, _Prepared, _score_edges
from mlopskit.labels.triggers import _DAY, timestamp
from mlopskit.policy import LabelsPolicy, Policy
from mlopskit.rows import RowCounts
from mlopskit.stats.maturity import (
    ChainLadderFit,
    MaturityFn,
    chain_ladder,
    eventual_rate,
    maturity_function,
)

#: share of labelled positives beyond the horizon tolerated without a warning (a thin tail
#: past the practical label window is normal; more means the horizon is too short).
_BEYOND_TOLERANCE = 0.01


@dataclass(frozen=True, slots=True)
class LabelMaturity:
    """Maturity of late labels: triangle, chain ladder, curve, eventual rates, arrival bias.

    Attributes
    ----------
    as_of : the moment the data are looked at (events and labels after it are unknown).
    horizon_days : labels arriving later than this after the event are outside the triangle.
    cohort : cohort width ("1D" / "7D"); ages are always in days.
    cohort_start : (M,) start of each cohort.
    n_events, n_labelled : (M,) events and positives labelled by ``as_of`` per cohort.
    latest_age : (M,) last complete age (days) observed for every event of the cohort.
    triangle : (M, K) cumulative positives with delay < k days, k = 1..K; NaN unobserved.
    ages : (K,) 1..K; ``K = horizon_days`` unless the data are shorter.
    fit : the chain ladder on the cohorts with at least one observed age.
    maturity, maturity_se : (K,) F̂(age) and its delta-method standard error.
    cohort_maturity : (M,) F̂ at each cohort's latest age (0 when none).
    eventual_rate, ci_low, ci_high, suppressed : (M,) eventual positive rate per cohort
        with its interval; suppressed (NaN) where F̂ < ``min_maturity``.
    arrival : the arrival-bias check (None when no score column was given).
    min_maturity, alpha : thresholds used.
    warnings : data problems that do not invalidate the analysis (code first: "code: text").
    row_counts : events read, used (in a cohort before ``as_of``) and left out.
    """

    as_of: pd.Timestamp
    horizon_days: int
    cohort: str
    cohort_start: pd.DatetimeIndex
    n_events: np.ndarray
    n_labelled: np.ndarray
    latest_age: np.ndarray
    triangle: np.ndarray
    ages: np.ndarray
    fit: ChainLadderFit
    maturity: np.ndarray
    maturity_se: np.ndarray
    cohort_maturity: np.ndarray
    eventual_rate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    suppressed: np.ndarray
    arrival: ArrivalBias | None
    min_maturity: float
    alpha: float
    warnings: tuple[str, ...] = ()
    row_counts: RowCounts | None = None

    # -- queries -------------------------------------------------------------------
    @property
    def maturity_fn(self) -> MaturityFn:
        """F̂ as a function of (fractional) age in days: 0 at 0, 1 beyond the horizon."""
        return maturity_function(self.ages, self.maturity)

    def maturity_at(self, age_days: Any) -> np.ndarray:
        """F̂ at ``age_days`` (linear interpolation between whole days)."""
        return self.maturity_fn(np.asarray(age_days, dtype=float))

    def window_maturity(self, start: Any, end: Any) -> float:
        """Expected share of the eventual labels of events in ``[start, end)`` known now.

        Cohorts are taken at their middle age; assumes a constant positive rate within the
        window (volume-weighted mean of F̂).
        """
        s, e = timestamp(start, "start"), timestamp(end, "end")
        w = pd.Timedelta(days=_COHORTS[self.cohort])
        mids = self.cohort_start + w / 2
        sel = (mids >= s) & (mids < e)
        n = self.n_events[sel]
        if n.sum() == 0:
            raise ValueError(f"window [{s}, {e}) contains no events.")
        ages = np.asarray((self.as_of - mids[sel]) / _DAY, dtype=float)
        return float(np.sum(n * self.maturity_at(ages)) / n.sum())

    def window_warnings(self, start: Any, end: Any, *, tolerance: float = 0.95) -> tuple[str, ...]:
        """Warnings an outcome metric (AUC, lift, calibration) on ``[start, end)`` must carry."""
        share = self.window_maturity(start, end)
        out: list[str] = []
        if share < tolerance:
            out.append(
                f"immature_window: only {share:.0%} of the eventual labels of "
                f"[{start}, {end}) are known at {self.as_of}; outcome metrics on it are "
                f"provisional — compare windows at equal age."
            )
            if self.arrival is not None and self.arrival.biased:
                out.append(
                    "arrival_bias: high-score positives are labelled faster, so AUC and "
                    "lift on this immature window are inflated."
                )
        return tuple(out)

    # -- output --------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per cohort."""
        return pd.DataFrame(
            {
                "cohort_start": self.cohort_start,
                "n_events": self.n_events,
                "n_labelled": self.n_labelled,
                "age_days": self.latest_age,
                "maturity": self.cohort_maturity,
                "eventual_rate": self.eventual_rate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "suppressed": self.suppressed,
            }
        )

    def curve_frame(self) -> pd.DataFrame:
        """One row per age: development factor (age → age+1), F̂, SE and a normal CI."""
        z = float(sps.norm.isf(self.alpha / 2))
        factor = np.append(self.fit.factors, np.nan)
        return pd.DataFrame(
            {
                "age_days": self.ages,
                "factor": factor,
                "maturity": self.maturity,
                "maturity_se": self.maturity_se,
                "ci_low": np.clip(self.maturity - z * self.maturity_se, 0, 1),
                "ci_high": np.clip(self.maturity + z * self.maturity_se, 0, 1),
            }
        )

    __repr__ = short_repr
    __eq__ = nan_safe_eq

    def summary(self) -> str:
        curve = self.curve_frame()
        pick = curve[curve["age_days"].isin([7, 14, 30, 60, self.ages[-1]])]
        lines = [
            f"Label maturity as of {self.as_of} ({self.cohort} cohorts, horizon "
            f"{self.horizon_days} d, {int(self.n_events.sum()):,} events, "
            f"{int(self.n_labelled.sum()):,} labelled positives)",
            text_table(pick[["age_days", "maturity", "maturity_se", "ci_low", "ci_high"]]),
            f"Eventual rates suppressed for {int(self.suppressed.sum())} of "
            f"{self.suppressed.size} cohorts (F̂ < {self.min_maturity}).",
        ]
        if self.arrival is not None:
            lines.append(_arrival_text(self.arrival))
        if self.row_counts is not None:
            lines.insert(1, f"rows: {self.row_counts.summary()}")
        lines += [f"WARNING {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        curve = self.curve_frame()
        pick = curve[curve["age_days"].isin([1, 3, 7, 14, 30, 60, self.ages[-1]])]
        parts = [
            f"<h4>Label maturity as of {escape(self.as_of)}</h4>",
            warnings_html(self.warnings),
            table_html(pick, caption="Maturity curve F̂(age) (chain ladder, Mack SE)"),
        ]
        if self.arrival is not None:
            parts.append(f"<p>{escape(_arrival_text(self.arrival))}</p>")
        recent = self.to_frame().tail(14)
        parts.append(table_html(recent, caption="Most recent cohorts"))
        return "".join(parts)

    def plot(self, ax: Any = None, *, kind: str = "curve") -> Any:
        """``kind``: ``"curve"`` (F̂ with SE band), ``"triangle"`` (heatmap) or ``"arrival"``."""
        from mlopskit import plots

        if kind == "curve":
            return plots.plot_maturity_curve(self, ax=ax)
        if kind == "triangle":
            return plots.plot_label_triangle(self, ax=ax)
        if kind == "arrival":
            if self.arrival is None or not self.arrival.evaluated:
                raise ValueError("no arrival-bias check to plot (pass `score=` with enough data).")
            return plots.plot_arrival_curves(self.arrival, ax=ax)
        raise ValueError(f"`kind` must be 'curve', 'triangle' or 'arrival'; got {kind!r}.")


def _maturity_from_counts(
    prep: _Prepared, counts: pd.DataFrame, edges: np.ndarray | None
) -> LabelMaturity:
    pol = prep.policy
    H = prep.horizon_days
    warns = list(prep.warnings)
    starts, n_events, pos, latest = _cohort_arrays(prep, counts)
    k_max = int(latest.max())
    if k_max < 2:
        raise ValueError(
            f"events: the oldest cohort is observed to age {k_max} day(s) at as_of; at least "
            f"2 complete days after the first cohort ({prep.cohort}) are needed."
        )
    n_total_pos = pos.sum()
    no_ts = int(counts["n_pos_no_ts"].sum())
    if no_ts:
        if n_total_pos == 0:
            raise ValueError(
                f"events: all {no_ts:,} positives (label == 1) have a null label_ts; the "
                f"arrival time of labels is needed to measure their maturity."
            )
        warns.append(
            f"positives_without_label_ts: {no_ts:,} positives (label == 1) have no "
            f"label_ts; they are left out of the triangle (eventual rates are understated "
            f"by about {no_ts / (no_ts + n_total_pos):.1%})."
        )
    if n_total_pos == 0:
        raise ValueError(
            f"events: no positive label arrived by as_of ({prep.as_of}); label maturity "
            f"cannot be estimated."
        )
    beyond = pos[:, H].sum()
    if beyond / n_total_pos > _BEYOND_TOLERANCE:
        warns.append(
            f"horizon_exceeded: {int(beyond):,} of {int(n_total_pos):,} labelled positives "
            f"({beyond / n_total_pos:.1%}) arrived {H} or more days after the event, beyond "
            f"`horizon_days` = {H}; they are outside the triangle, so F̂ is the share of the "
            f"labels arriving within {H} days (raise `horizon_days`)."
        )
    if k_max < H:
        warns.append(
            f"horizon_not_reached: the oldest cohort is observed only to age {k_max} days < "
            f"`horizon_days` = {H}; F̂ is relative to {k_max} days and overstates maturity."
        )
    K = min(H, k_max)
    cum = np.cumsum(pos[:, :K], axis=1)  # column k-1: delay < k days
    ages = np.arange(1, K + 1)
    observed = ages[None, :] <= latest[:, None]
    tri = np.where(observed, cum, np.nan)
    empty = n_events == 0
    if empty.any():
        days = [str(d.date()) for d in starts[empty][:5]]
        warns.append(
            f"empty_cohorts: {int(empty.sum())} cohort(s) have no events (first: {days}); "
            f"a logging gap? They are left out of the chain ladder."
        )
    rows = (latest >= 1) & ~empty
    fit = chain_ladder(tri[rows])
    mat = fit.maturity
    mat_se = fit.maturity_se
    li = np.clip(latest, 1, K) - 1
    c_mat = np.where(latest >= 1, mat[li], 0.0)
    c_se = np.where(latest >= 1, mat_se[li], 0.0)
    c_obs = np.where(latest >= 1, cum[np.arange(len(latest)), li], 0.0)
    rate, lo, hi, supp = eventual_rate(
        c_obs, n_events, c_mat, c_se, alpha=pol.alpha, min_maturity=pol.min_maturity
    )
    arrival = None
    if edges is not None:
        arrival = _arrival_bias(prep, counts, edges, mat, latest)
        if arrival.biased:
            warns.append(
                "arrival_bias: " + _arrival_text(arrival) + ". AUC, lift and calibration on "
                "immature windows are inflated; use window_warnings() or matured windows."
            )
        elif not arrival.evaluated:
            warns.append(f"arrival_bias_not_checked: {arrival.note}")
    return LabelMaturity(
        as_of=prep.as_of,
        horizon_days=H,
        cohort=prep.cohort,
        cohort_start=starts,
        n_events=n_events,
        n_labelled=pos.sum(axis=1).astype(np.int64),
        latest_age=latest,
        triangle=tri,
        ages=ages,
        fit=fit,
        maturity=mat,
        maturity_se=mat_se,
        cohort_maturity=c_mat,
        eventual_rate=rate,
        ci_low=lo,
        ci_high=hi,
        suppressed=supp,
        arrival=arrival,
        min_maturity=pol.min_maturity,
        alpha=pol.alpha,
        warnings=tuple(warns),
        row_counts=RowCounts.of(
            prep.n_read,
            {
                "at or after as_of": prep.n_after,
                "outside the cohorts": prep.n_read - prep.n_after - int(n_events.sum()),
            },
            unit="events",
        ),
    )


def label_maturity(
    events: Any,
    *,
    as_of: Any,
    ts: str = "ts",
    label_ts: str = "label_ts",
    label: str | None = "label",
    score: str | None = None,
    horizon_days: int | None = None,
    cohort: str | None = None,
    columns: Mapping[str, str] | None = None,
    policy: Policy | LabelsPolicy | str | None = None,
) -> LabelMaturity:
    """How mature are the labels? Chain ladder on the cohort × age triangle.

    Parameters
    ----------
    events : scored events (pandas, polars eager/lazy, DuckDB relation, or a path), one row
        per event with its time ``ts`` and the label's arrival time ``label_ts``.
    as_of : the moment the data are looked at; events at or after it are ignored and labels
        arriving after it count as unknown (so history can be replayed).
    ts, label_ts, label, score : column names. With ``label`` a positive is ``label == 1``;
        ``label=None`` makes every row with a ``label_ts`` a positive. ``score`` (optional)
        enables the arrival-bias check.
    horizon_days : labels later than this are outside the triangle (policy default 90).
    cohort : ``"1D"`` or ``"7D"`` cohorts (policy default ``"1D"``); ages are in days.
    columns : mapping canonical name (``ts``, ``label_ts``, ``label``, ``score``) → your
        column name (instead of, or agreeing with, the per-column keywords).
    policy : a :class:`~mlopskit.policy.Policy`, a path, a ``LabelsPolicy`` or None.

    Returns
    -------
    LabelMaturity

    Raises
    ------
    ValueError
        ``label_ts`` before ``ts``, ``as_of`` not after the first event, no labelled
        positive, every positive without ``label_ts``, fewer than 2 observed days.
        Positives without ``label_ts`` (some), labels beyond the horizon, a horizon longer
        than the data and empty cohorts are warnings on the result.
    """
    prep = _prepare(
        events,
        ts=ts,
        label_ts=label_ts,
        label=label,
        score=score,
        as_of=as_of,
        horizon_days=horizon_days,
        cohort=cohort,
        policy=policy,
        columns=columns,
    )
    edges = _score_edges(prep)
    counts = frames.label_triangle_counts(
        prep.lf,
        as_of=prep.as_of,
        origin=prep.origin,
        cohort_days=prep.cohort_days,
        horizon_days=prep.horizon_days,
        has_label=prep.has_label,
        score_edges=None if edges is None else list(edges),
    )
    return _maturity_from_counts(prep, counts, edges)
