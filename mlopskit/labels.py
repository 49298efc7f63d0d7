"""Label lag: how mature are the labels, and should we retrain now, wait, or recalibrate?

Two questions a fraud data scientist asks once a drift alarm fires (STATISTICS.md §4):

* :func:`label_maturity` — of the labels (chargebacks) that will eventually arrive, what
  share is known today, per cohort and per age? The chain ladder on the cohort × age
  triangle of cumulative positives gives the maturity curve F̂(age) with Mack standard
  errors, eventual-rate estimates per cohort, and an arrival-bias check (do high-score
  frauds get reported faster, which inflates AUC and lift on immature windows?).
* :func:`drift_vs_label_lag` — given a drift onset, are there enough labelled positives
  from the new world to retrain (K*), when will there be (the date the count reaches K*
  with 90% probability), and meanwhile is a recalibration worth shipping as a stopgap?
  Scheduled and monitoring retraining triggers are combined into one verdict
  ``RETRAIN_NOW | WAIT_FOR_LABELS | RECALIBRATE_STOPGAP | NO_ACTION`` with its reasons.

Data enter through :mod:`mlopskit.frames` (pandas, polars eager/lazy, DuckDB, paths) and are
reduced lazily to a few thousand counts; the statistics live in :mod:`mlopskit.stats.maturity`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from mlopskit import frames
from mlopskit._display import escape, short_repr, table_html, text_table, warnings_html
from mlopskit._retrain import (
    CalibrationCheck,
    RetrainAssessment,
    Trigger,
    auc_trigger,
    calib_text,
    calibration_check,
    decide,
    flag_trigger,
    k_star_for,
    onset_of,
    psi_trigger,
    scheduled_trigger,
    timestamp,
)
from mlopskit.policy import LabelsPolicy, Policy, as_policy
from mlopskit.stats.maturity import (
    ChainLadderFit,
    MaturityFn,
    chain_ladder,
    eventual_rate,
    forecast_label_count,
    maturity_function,
)
from mlopskit.stats.multiple import holm
from mlopskit.stats.proportions import ztest_proportions_pooled

__all__ = [
    "ArrivalBias",
    "CalibrationCheck",
    "LabelMaturity",
    "RetrainAssessment",
    "Trigger",
    "drift_vs_label_lag",
    "label_maturity",
]

_DAY = pd.Timedelta(days=1)
_COHORTS = {"1D": 1, "7D": 7}
#: share of labelled positives beyond the horizon tolerated without a warning (a thin tail
#: past the practical label window is normal; more means the horizon is too short).
_BEYOND_TOLERANCE = 0.01


# ======================================================================================
# Shared preparation
# ======================================================================================
@dataclass(frozen=True, slots=True)
class _Prepared:
    lf: Any
    as_of: pd.Timestamp
    origin: pd.Timestamp
    cohort: str
    cohort_days: int
    horizon_days: int
    has_label: bool
    has_score: bool
    policy: LabelsPolicy
    warnings: tuple[str, ...]


def _policy(policy: Policy | str | Any | None) -> LabelsPolicy:
    if isinstance(policy, LabelsPolicy):
        return policy
    return as_policy(policy).section("labels", LabelsPolicy)


def _prepare(
    events: Any,
    *,
    ts: str,
    label_ts: str,
    label: str | None,
    score: str | None,
    as_of: Any,
    horizon_days: int | None,
    cohort: str | None,
    policy: Any,
) -> _Prepared:
    pol = _policy(policy)
    horizon = pol.horizon_days if horizon_days is None else horizon_days
    if not (isinstance(horizon, int | np.integer) and horizon >= 2):
        raise ValueError(f"`horizon_days` must be an integer ≥ 2; got {horizon!r}.")
    coh = pol.cohort if cohort is None else cohort
    if coh not in _COHORTS:
        raise ValueError(f"`cohort` must be '1D' or '7D'; got {coh!r}.")
    as_of_ts = timestamp(as_of, "as_of")
    mapping = {"ts": ts, "label_ts": label_ts}
    drop = []
    for canon, user in (("label", label), ("score", score)):
        if user is None:
            drop.append(canon)
        else:
            mapping[canon] = user
    contract = frames.LABELED_EVENTS.without(*drop) if drop else frames.LABELED_EVENTS
    lf = frames.validate(events, contract, columns=mapping, frame="events")
    rng = frames.label_time_range(lf, as_of=as_of_ts)
    if rng["n"] == 0:
        raise ValueError("events: the frame has no rows.")
    if as_of_ts <= rng["ts_min"]:
        raise ValueError(
            f"events: `as_of` ({as_of_ts}) must be after the first event (column `{ts}` "
            f"starts at {rng['ts_min']}); nothing is observable before the data."
        )
    warns = []
    if rng["n_after"]:
        warns.append(
            f"after_as_of: {rng['n_after']:,} of {rng['n']:,} events have `{ts}` at or after "
            f"as_of ({as_of_ts}); they are ignored, and labels arriving after as_of count as "
            f"not yet known."
        )
    origin = rng["ts_min"].floor("D")
    return _Prepared(
        lf=lf,
        as_of=as_of_ts,
        origin=origin,
        cohort=coh,
        cohort_days=_COHORTS[coh],
        horizon_days=int(horizon),
        has_label=label is not None,
        has_score=score is not None,
        policy=pol,
        warnings=tuple(warns),
    )


# ======================================================================================
# Label maturity
# ======================================================================================
@dataclass(frozen=True, slots=True)
class ArrivalBias:
    """Do positives of high and low scores get labelled at the same speed?

    Compared on mature cohorts (observed to ``reference_age``, where F̂ ≥ the policy's
    reference maturity): for each score quantile group of the labelled positives, the
    share of the labels known by each age among those known by ``reference_age``.

    Attributes
    ----------
    evaluated : False when there were no mature cohorts or too few positives.
    edges : score quantile edges of the labelled positives (group g: edges[g−1] ≤ s < edges[g]).
    reference_age : age (days) the shares are relative to.
    ages : 1..reference_age.
    shares : (groups, ages) known share by age per group.
    n_positives : positives per group in the mature cohorts.
    test_ages, diff, p_value, p_adjusted : top − bottom group difference at each test age,
        pooled two-proportion z test, Holm-adjusted across the test ages.
    biased : a difference both significant (adjusted p < alpha) and ≥ min_diff in size.
    """

    evaluated: bool
    edges: tuple[float, ...] = ()
    reference_age: int = 0
    ages: tuple[int, ...] = ()
    shares: tuple[tuple[float, ...], ...] = ()
    n_positives: tuple[int, ...] = ()
    test_ages: tuple[int, ...] = ()
    diff: tuple[float, ...] = ()
    p_value: tuple[float, ...] = ()
    p_adjusted: tuple[float, ...] = ()
    alpha: float = 0.01
    min_diff: float = 0.05
    biased: bool = False
    note: str = ""


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


def _arrival_text(a: ArrivalBias) -> str:
    if not a.evaluated:
        return f"Arrival bias not checked: {a.note}"
    parts = [
        f"age {age} d: top − bottom score group {d:+.1%} (Holm p = {p:.2g})"
        for age, d, p in zip(a.test_ages, a.diff, a.p_adjusted, strict=True)
    ]
    head = "Arrival bias DETECTED" if a.biased else "No arrival bias"
    return f"{head} on mature cohorts (ages up to {a.reference_age} d): " + "; ".join(parts)


def _cohort_arrays(
    prep: _Prepared, counts: pd.DataFrame
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray]:
    """Cohort starts, events, positives by (cohort, delay day 0..H) and latest ages."""
    w = pd.Timedelta(days=prep.cohort_days)
    m = math.ceil((prep.as_of - prep.origin) / w)
    starts = pd.DatetimeIndex([prep.origin + i * w for i in range(m)])
    n_events = np.bincount(counts["cohort"], weights=counts["n"], minlength=m)[:m].astype(np.int64)
    pos_rows = counts[counts["delay_day"] >= 0]
    pos = np.zeros((m, prep.horizon_days + 1))
    np.add.at(
        pos,
        (pos_rows["cohort"].to_numpy(), pos_rows["delay_day"].to_numpy()),
        pos_rows["n"].to_numpy(),
    )
    latest = np.floor(np.asarray((prep.as_of - (starts + w)) / _DAY, dtype=float)).astype(np.int64)
    return starts, n_events, pos, np.clip(latest, 0, prep.horizon_days)


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
    )


def _arrival_bias(
    prep: _Prepared, counts: pd.DataFrame, edges: np.ndarray, mat: np.ndarray, latest: np.ndarray
) -> ArrivalBias:
    pol = prep.policy
    a_short, a_long = pol.arrival_age_short, pol.arrival_age_long
    reach = np.flatnonzero(mat >= pol.arrival_reference_maturity)
    ref = int(reach[0]) + 1 if reach.size else len(mat)
    ref = max(ref, a_long)
    mature = np.flatnonzero(latest >= ref)
    if mature.size == 0 or ref > len(mat):
        return ArrivalBias(
            evaluated=False,
            note=f"no cohort is observed to age {ref} days (where F̂ ≥ "
            f"{pol.arrival_reference_maturity}) yet.",
        )
    n_groups = len(edges) + 1
    sel = counts[(counts["delay_day"] >= 0) & counts["cohort"].isin(mature)]
    arr = np.zeros((n_groups, prep.horizon_days + 1))
    np.add.at(arr, (sel["group"].to_numpy(), sel["delay_day"].to_numpy()), sel["n"].to_numpy())
    cum = np.cumsum(arr[:, :ref], axis=1)  # column k-1: delay < k
    total = cum[:, ref - 1]
    if min(total[0], total[-1]) < 20:
        return ArrivalBias(
            evaluated=False,
            note=f"fewer than 20 labelled positives in the top or bottom score group of the "
            f"mature cohorts ({int(total[-1])} / {int(total[0])}).",
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = cum / total[:, None]
    diffs, pv = [], []
    for a in (a_short, a_long):
        x_top, x_bot = cum[-1, a - 1], cum[0, a - 1]
        _, p_arr = ztest_proportions_pooled(x_top, total[-1], x_bot, total[0])
        # pooled share 0 or 1 (no SE): both groups have the same share, no evidence of bias
        p = float(p_arr) if np.isfinite(p_arr) else 1.0
        diffs.append(float(x_top / total[-1] - x_bot / total[0]))
        pv.append(p)
    adj = holm(pv)
    biased = bool(np.any((adj < pol.arrival_alpha) & (np.abs(diffs) >= pol.arrival_min_diff)))
    return ArrivalBias(
        evaluated=True,
        edges=tuple(float(e) for e in edges),
        reference_age=ref,
        ages=tuple(range(1, ref + 1)),
        shares=tuple(tuple(float(v) for v in row) for row in shares),
        n_positives=tuple(int(t) for t in total),
        test_ages=(a_short, a_long),
        diff=tuple(diffs),
        p_value=tuple(float(p) for p in pv),
        p_adjusted=tuple(float(p) for p in adj),
        alpha=pol.arrival_alpha,
        min_diff=pol.arrival_min_diff,
        biased=biased,
    )


def _score_edges(prep: _Prepared) -> np.ndarray | None:
    if not prep.has_score:
        return None
    g = prep.policy.arrival_groups
    probs = [i / g for i in range(1, g)]
    edges = frames.label_positive_score_quantiles(
        prep.lf, as_of=prep.as_of, probs=probs, has_label=prep.has_label
    )
    return np.unique(edges[np.isfinite(edges)])


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


# ======================================================================================
# Retraining: wait for labels, recalibrate, or retrain now
# ======================================================================================
def _window_stats(
    counts: pd.DataFrame,
    splits: list[pd.Timestamp],
    start: pd.Timestamp,
    lm: LabelMaturity,
    *,
    after: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cohort: events, labelled positives and mean age (days) of the events at or after
    ``start`` (``after=True``) or before it, from the ``period`` key of the counts."""
    k = splits.index(start) + 1  # period = number of splits ≤ ts
    sel = counts[counts["period"] >= k] if after else counts[counts["period"] < k]
    m = len(lm.cohort_start)
    n = np.bincount(sel["cohort"], weights=sel["n"], minlength=m)[:m]
    pos_sel = sel[sel["delay_day"] >= 0]
    c = np.bincount(pos_sel["cohort"], weights=pos_sel["n"], minlength=m)[:m]
    age = np.bincount(sel["cohort"], weights=sel["age_sum"], minlength=m)[:m]
    mean_age = np.divide(age, n, out=np.zeros(m), where=n > 0)
    return n, c, mean_age


def drift_vs_label_lag(
    events: Any,
    *,
    as_of: Any,
    drift: Any = None,
    ts: str = "ts",
    label_ts: str = "label_ts",
    label: str | None = "label",
    score: str | None = "score",
    k_star: int | None = None,
    last_trained: Any = None,
    training_positives: int | None = None,
    psi: Any = None,
    feature_importance: Any = None,
    output_drift: Any = None,
    auc_drop: Any = None,
    horizon_days: int | None = None,
    cohort: str | None = None,
    policy: Policy | LabelsPolicy | str | None = None,
) -> RetrainAssessment:
    """Retrain now, wait for labels, or ship a recalibration stopgap?

    Parameters
    ----------
    events : scored events with late labels (see :func:`label_maturity`); ``score`` is the
        served model's probability (needed for the calibration check and the stopgap).
    as_of : when the decision is made (later events and labels are treated as unknown).
    drift : the drift onset — None, a timestamp (a material drift starting then), or a
        drift result object: its ``onset`` attribute (timestamp or None) is read, and its
        optional boolean ``material`` attribute (default True when an onset is present);
        without ``onset``, the first of its ``flagged_windows`` (output drift result).
    k_star : labelled new-world positives needed to retrain; default from the policy, else
        derived from the AUC precision target (``positives_for_auc_precision``).
    last_trained : date of the model's last training run (scheduled cadence, fresh labels).
    training_positives : positives the model was trained on (fresh-label share trigger).
    psi, feature_importance : input drift per feature (mapping / result with to_frame()
        having ``feature``, ``psi``) and the model's importances (mapping, or a model with
        a ``feature_importance`` mapping). Fires when PSI > 0.25 on an important feature.
    output_drift : bool, or an object with ``flagged``/``fired``/``flagged_windows`` or
        ``verdict`` (ALERT/PAGE fire).
    auc_drop : bool, ``(drop, se)``, or an object with a boolean ``confirmed``, a
        ``confirmed_drops`` sequence or ``auc_drop_test == "confirmed"``.
    horizon_days, cohort, policy : as in :func:`label_maturity`; thresholds from the
        policy section ``labels``.

    Returns
    -------
    RetrainAssessment

    Notes
    -----
    Rules, in order. A drift is *material* when an onset is given (and not marked
    immaterial) or a monitoring trigger fired (PSI, output drift, AUC drop, calibration
    shift). Material: RETRAIN_NOW if the labelled new-world positives reach K*; else
    RECALIBRATE_STOPGAP if calibration on matured recent labels has shifted and the stopgap
    improved calibration on held-out matured data; else WAIT_FOR_LABELS, with the date the
    count reaches K* with the policy's probability. Not material: RETRAIN_NOW if the
    scheduled cadence is due or fresh labels exceed the policy share, else NO_ACTION.
    A due schedule never overrides waiting for post-drift labels: retraining then would fit
    new features to mostly pre-drift labels.
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
    )
    pol = prep.policy
    warns: list[str] = []
    onset, drift_material = onset_of(drift)
    trained = None if last_trained is None else timestamp(last_trained, "last_trained")
    if onset is not None and not (prep.origin <= onset < prep.as_of):
        raise ValueError(
            f"`drift` onset {onset} must lie within the data, in [{prep.origin}, {prep.as_of})."
        )
    if trained is not None and trained >= prep.as_of:
        raise ValueError(f"`last_trained` ({trained}) must be before as_of ({prep.as_of}).")
    if training_positives is not None and not (
        isinstance(training_positives, int | np.integer) and training_positives >= 1
    ):
        raise ValueError(
            f"`training_positives` must be a positive integer; got {training_positives!r}."
        )
    kstar, kstar_src = k_star_for(k_star, pol)
    cal_start = onset or trained or prep.as_of - pd.Timedelta(days=pol.calibration_window_days)
    splits = sorted({t for t in (onset, trained, cal_start) if t is not None})
    edges = _score_edges(prep)
    counts = frames.label_triangle_counts(
        prep.lf,
        as_of=prep.as_of,
        origin=prep.origin,
        cohort_days=prep.cohort_days,
        horizon_days=prep.horizon_days,
        has_label=prep.has_label,
        splits=splits,
        score_edges=None if edges is None else list(edges),
    )
    lm = _maturity_from_counts(prep, counts, edges)
    fmat = lm.maturity_fn

    # -- triggers
    calib = (
        calibration_check(
            prep.lf,
            as_of=prep.as_of,
            start=cal_start,
            has_label=prep.has_label,
            fmat=fmat,
            pol=pol,
        )
        if prep.has_score
        else None
    )
    cal_trigger = Trigger(
        "calibration_shift",
        None if calib is None or not calib.evaluated else calib.shifted,
        value=None if calib is None or calib.fit is None else calib.fit.citl,
        threshold=pol.calibration_citl_threshold,
        detail="no score column" if calib is None else (calib.note or calib_text(calib)),
    )
    if calib is not None and calib.evaluated and lm.arrival is not None and lm.arrival.biased:
        warns.append(
            f"calibration_arrival_bias: arrival bias was found and the calibration check "
            f"uses labels from ages with F̂ ≥ {pol.calibration_min_maturity}; the p·F̂ "
            f"correction assumes one arrival speed, so the calibration shift and the stopgap "
            f"lean towards the faster-reported high scores (raise `calibration_min_maturity` "
            f"to be conservative)."
        )
    monitors = (
        psi_trigger(psi, feature_importance, pol),
        flag_trigger("output_drift", output_drift),
        auc_trigger(auc_drop, pol),
        cal_trigger,
    )
    fired_monitors = [t.name for t in monitors if t.fired]
    material = (onset is not None and drift_material) or bool(fired_monitors)
    window_start = onset if onset is not None else trained
    if material and window_start is None:
        window_start = cal_start
        warns.append(
            f"window_assumed: a monitoring trigger fired but neither a drift onset nor "
            f"`last_trained` was given; new-world labels are counted from {cal_start}."
        )
    fresh: Trigger
    if trained is None or training_positives is None:
        fresh = Trigger(
            "fresh_labels",
            None,
            threshold=pol.fresh_label_share,
            detail="needs `last_trained` and `training_positives`",
        )
    else:
        _, c_tr, _ = _window_stats(counts, splits, trained, lm, after=True)
        share = float(c_tr.sum()) / int(training_positives)
        fresh = Trigger(
            "fresh_labels",
            share >= pol.fresh_label_share,
            value=share,
            threshold=pol.fresh_label_share,
            detail=f"{int(c_tr.sum()):,} positives labelled since {trained.date()} vs "
            f"{int(training_positives):,} in training",
        )
    scheduled = scheduled_trigger(trained, prep.as_of, pol.cadence)
    triggers = (scheduled, *monitors, fresh)

    # -- labels in the new world and the forecast
    labelled = window_n = 0
    rate, rate_src, volume = float("nan"), "", float("nan")
    forecast = None
    date_e = date_p = None
    if window_start is not None:
        n_w, c_w, age_w = _window_stats(counts, splits, window_start, lm, after=True)
        labelled, window_n = int(c_w.sum()), int(n_w.sum())
        expo = float(np.sum(n_w * fmat(age_w)))
        rate, rate_src = (labelled / expo if expo > 0 else float("nan")), "post-window cohorts"
        rate_cv = 1 / math.sqrt(labelled) if labelled else 0.0
        if labelled < pol.min_positives_for_rate or not np.isfinite(rate):
            n_b, c_b, age_b = _window_stats(counts, splits, window_start, lm, after=False)
            fb = fmat(age_b)
            ok = fb >= pol.min_maturity
            if np.sum(n_b[ok] * fb[ok]) > 0:
                rate = float(c_b[ok].sum() / np.sum(n_b[ok] * fb[ok]))
                rate_cv = 1 / math.sqrt(max(float(c_b[ok].sum()), 1.0))
                rate_src = "pre-window cohorts (too few labelled positives since the window start)"
                warns.append(
                    f"rate_from_before_window: only {labelled} labelled positives since "
                    f"{window_start}; the forecast assumes the eventual positive rate of the "
                    f"earlier cohorts ({rate:.4%}) — a drift that changed prevalence moves the date."
                )
        volume = _daily_volume(lm, pol.future_volume_days)
        if np.isfinite(rate):
            forecast = forecast_label_count(
                fmat,
                k_star=kstar,
                future_rate=rate * volume,
                past_rates=n_w * rate,
                past_ages=age_w,
                observed=labelled,
                max_days=pol.max_forecast_days,
                probability=pol.forecast_probability,
                future_age_offset=0.5,
                rate_cv=rate_cv,
            )
            if forecast.day_expected is not None:
                date_e = prep.as_of + pd.Timedelta(days=forecast.day_expected)
            if forecast.day_probable is not None:
                date_p = prep.as_of + pd.Timedelta(days=forecast.day_probable)

    verdict, reasons = decide(
        pol=pol,
        onset=onset,
        drift_material=drift_material,
        material=material,
        fired_monitors=fired_monitors,
        window_start=window_start,
        labelled=labelled,
        kstar=kstar,
        kstar_src=kstar_src,
        forecast=forecast,
        date_e=date_e,
        date_p=date_p,
        calib=calib,
        triggers=triggers,
    )
    return RetrainAssessment(
        verdict=verdict,
        reasons=reasons,
        as_of=prep.as_of,
        onset=onset,
        window_start=window_start,
        k_star=kstar,
        k_star_source=kstar_src,
        labelled_now=labelled,
        window_events=window_n,
        positive_rate=rate,
        rate_source=rate_src,
        daily_volume=volume,
        forecast=forecast,
        forecast_date_expected=date_e,
        forecast_date=date_p,
        calibration=calib,
        triggers=triggers,
        maturity=lm,
        warnings=(*lm.warnings, *warns),
    )


def _daily_volume(lm: LabelMaturity, days: int) -> float:
    w = _COHORTS[lm.cohort]
    complete = lm.cohort_start + pd.Timedelta(days=w) <= lm.as_of
    n = lm.n_events[complete]
    k = max(1, round(days / w))
    return float(n[-k:].mean() / w) if n.size else float(lm.n_events.sum())
