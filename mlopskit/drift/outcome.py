"""Outcome drift: is the model still as good as it was, on labels of equal age?

:func:`outcome_drift` compares each time window of scored events with a reference period on
**matured labels of one common age** (STATISTICS.md §4–§5): a positive counts only when
``label_ts ≤ ts + age``, and only events with ``ts + age ≤ as_of`` are used, so a recent
window is never judged on the few labels that happened to arrive early. Per window: AUC with
its DeLong interval, calibration slope and intercept, O/E ratio, Brier score, ECE beside its
no-miscalibration reference, precision / capture / lift at the top ``k`` with intervals, and
the three-outcome test "AUC dropped by more than the tolerance" against the reference period.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlopskit import _display, frames
from mlopskit.policy import DriftPolicy, Policy, as_policy
from mlopskit.rows import RowCounts
from mlopskit.stats.auc import auc_drop_test, delong_auc
from mlopskit.stats.calibration import calibration_fit
from mlopskit.stats.outcome import (
    brier_score,
    expected_calibration_error,
    observed_expected,
    top_k_quantile,
    top_k_threshold,
)

LATE_SHARE_WARN = 0.05
"""Share of positives arriving after the label window above which outcome drift warns."""

DROP_OUTCOMES = ("confirmed", "cleared", "inconclusive", "not_evaluated")


@dataclass(frozen=True, slots=True)
class WindowOutcome:
    """Outcome metrics of one window (or of the reference period) on matured labels.

    Attributes
    ----------
    window_start : window start (the reference period's start for the reference).
    n_events, n_matured : events in the window, and those with ``ts + age ≤ as_of`` (used).
    n, n_pos : matured rows and matured positives the metrics are computed on.
    auc, auc_se, auc_ci_low, auc_ci_high : AUC, DeLong SE and two-sided Wald interval.
    calibration_slope, calibration_intercept : ``logit P(y) = a + b·logit(p)`` (ideal 1, 0).
    oe, oe_ci_low, oe_ci_high : observed / expected positives with its interval. At a label
        age short of full maturity O/E is below 1 even for a calibrated model (late labels are
        missing), so compare it with the reference at the same age:
    oe_vs_reference (+ ``_ci_low``/``_ci_high``) : ``O/E_window / O/E_reference`` with the
        interval ``exp(ln ratio ± z·√(1/O_w + 1/O_ref))`` (independent Poisson counts).
    brier : Brier score.
    ece, ece_null_mean, ece_null_q95 : ECE on equal-mass bins and its distribution under
        perfect calibration (mean, 95th percentile).
    precision, capture, lift (+ ``_ci_low``/``_ci_high``) : among the top-k / thresholded rows.
    auc_drop, auc_drop_se : ``AUC_ref − AUC_window`` and its SE (independent samples).
    auc_drop_test : ``confirmed | cleared | inconclusive | not_evaluated``.
    reliability_score, reliability_rate : per-ECE-bin mean score and observed rate.
    reliability_n, reliability_positives : rows and positives per ECE bin.
    n_late : positives of matured events whose label arrived *after* the label window; they
        count as negatives in these metrics (stated, and warned about when material).
    """

    window_start: pd.Timestamp
    n_events: int
    n_matured: int
    n: int = 0
    n_pos: int = 0
    n_late: int = 0
    auc: float = math.nan
    auc_se: float = math.nan
    auc_ci_low: float = math.nan
    auc_ci_high: float = math.nan
    calibration_slope: float = math.nan
    calibration_intercept: float = math.nan
    oe: float = math.nan
    oe_ci_low: float = math.nan
    oe_ci_high: float = math.nan
    oe_vs_reference: float = math.nan
    oe_vs_reference_ci_low: float = math.nan
    oe_vs_reference_ci_high: float = math.nan
    brier: float = math.nan
    ece: float = math.nan
    ece_null_mean: float = math.nan
    ece_null_q95: float = math.nan
    precision: float = math.nan
    precision_ci_low: float = math.nan
    precision_ci_high: float = math.nan
    capture: float = math.nan
    capture_ci_low: float = math.nan
    capture_ci_high: float = math.nan
    lift: float = math.nan
    lift_ci_low: float = math.nan
    lift_ci_high: float = math.nan
    auc_drop: float = math.nan
    auc_drop_se: float = math.nan
    auc_drop_test: str = "not_evaluated"
    reliability_score: tuple[float, ...] = ()
    reliability_rate: tuple[float, ...] = ()
    reliability_n: tuple[int, ...] = ()
    reliability_positives: tuple[float, ...] = ()

    @property
    def matured_share(self) -> float:
        return self.n_matured / self.n_events if self.n_events else math.nan

    @property
    def late_share(self) -> float:
        """Share of the eventual-so-far positives that arrived after the label window."""
        tot = self.n_pos + self.n_late
        return self.n_late / tot if tot else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("reliability_score")
        d.pop("reliability_rate")
        d.pop("reliability_n")
        d.pop("reliability_positives")
        d["matured_share"] = self.matured_share
        d["late_share"] = self.late_share
        return d


def _metrics(
    p: np.ndarray,
    y: np.ndarray,
    pol: DriftPolicy,
    *,
    top_k: float,
    threshold: float | None,
    label: str,
    warn: list[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {"n": int(p.size), "n_pos": int(y.sum())}
    if p.size == 0:
        return out
    n_pos = out["n_pos"]
    if 0 < n_pos < p.size:
        a = delong_auc(p, y)
        lo, hi = a.ci(pol.ci_alpha)
        out.update(auc=a.auc, auc_se=a.se, auc_ci_low=lo, auc_ci_high=hi, _delong=a)
        try:
            fit = calibration_fit(p, y)
            out.update(calibration_slope=fit.slope, calibration_intercept=fit.intercept)
        except ValueError as exc:  # non-convergence (separation) is a data problem
            warn.append(f"{label}: calibration fit failed ({exc}); slope and intercept are NaN.")
        if n_pos < pol.min_positives:
            warn.append(
                f"{label}: only {n_pos} matured positives (< {pol.min_positives}); AUC and "
                "calibration are imprecise."
            )
    else:
        cls = "positive" if n_pos else "negative"
        warn.append(
            f"{label}: every matured label is {cls} (n={p.size:,}); AUC and calibration are NaN."
        )
    if p.sum() > 0:
        oe = observed_expected(p, y, alpha=pol.ci_alpha)
        out.update(oe=oe.ratio, oe_ci_low=oe.ci_low, oe_ci_high=oe.ci_high)
    out["brier"] = brier_score(p, y)
    e = expected_calibration_error(p, y, bins=pol.ece_bins, n_sim=pol.ece_n_sim, seed=pol.seed)
    out.update(
        ece=e.ece,
        ece_null_mean=e.expected_null,
        ece_null_q95=e.q95_null,
        reliability_score=e.mean_score,
        reliability_rate=e.observed_rate,
        reliability_n=e.counts,
        reliability_positives=e.positives,
    )
    if threshold is not None:
        tk = top_k_threshold(p, y, threshold=threshold, alpha=pol.ci_alpha)
    else:
        tk = top_k_quantile(
            p, y, k=top_k, alpha=pol.ci_alpha, n_boot=pol.n_bootstrap, seed=pol.seed
        )
    out.update(
        precision=tk.precision,
        precision_ci_low=tk.precision_low,
        precision_ci_high=tk.precision_high,
        capture=tk.capture,
        capture_ci_low=tk.capture_low,
        capture_ci_high=tk.capture_high,
        lift=tk.lift,
        lift_ci_low=tk.lift_low,
        lift_ci_high=tk.lift_high,
    )
    return out


def _oe_vs_reference(m: dict[str, Any], ref: dict[str, Any], ci_alpha: float) -> dict[str, float]:
    o_w, o_r = m.get("n_pos", 0), ref.get("n_pos", 0)
    oe_w, oe_r = m.get("oe", math.nan), ref.get("oe", math.nan)
    if not (o_w > 0 and o_r > 0 and oe_r > 0) or math.isnan(oe_w):
        return {}
    ratio = oe_w / oe_r
    half = float(stats.norm.isf(ci_alpha / 2)) * math.sqrt(1 / o_w + 1 / o_r)
    return {
        "oe_vs_reference": ratio,
        "oe_vs_reference_ci_low": ratio * math.exp(-half),
        "oe_vs_reference_ci_high": ratio * math.exp(half),
    }


@dataclass(frozen=True, slots=True)
class OutcomeDrift:
    """Outcome metrics per window on equal-age matured labels, against a reference period.

    Attributes
    ----------
    reference : metrics of the reference period.
    windows : one :class:`WindowOutcome` per window (immature windows have NaN metrics).
    as_of, label_age : data end and the common label age; events after
        ``as_of − label_age`` are immature and not used.
    window : window length.
    reference_period : ``(start, end)``, end exclusive.
    auc_drop_tolerance, auc_drop_alpha : the drop test (one-sided).
    ci_alpha : two-sided level of the intervals.
    top_k, threshold, top_k_method : flagged share (or fixed threshold) and the interval
        method (``"wilson"`` for a fixed threshold, ``"bootstrap"`` for a data quantile).
    ece_bins, ece_n_sim, n_bootstrap, seed : simulation settings.
    warnings : data problems (one-class windows, partially matured windows, …).
    row_counts : events read, used (matured) and left out (after ``as_of``; label younger
        than ``label_age``), per window in ``by``.
    """

    reference: WindowOutcome
    windows: tuple[WindowOutcome, ...]
    as_of: pd.Timestamp
    label_age: pd.Timedelta
    window: str
    reference_period: tuple[pd.Timestamp, pd.Timestamp]
    auc_drop_tolerance: float
    auc_drop_alpha: float
    ci_alpha: float
    top_k: float
    threshold: float | None
    top_k_method: str
    ece_bins: int
    ece_n_sim: int
    n_bootstrap: int
    seed: int
    warnings: tuple[str, ...] = ()
    row_counts: RowCounts | None = None

    @property
    def maturity_cutoff(self) -> pd.Timestamp:
        """Events at or before this time have labels of the full common age."""
        return self.as_of - self.label_age

    @property
    def label_window(self) -> str:
        """The label window every metric uses, in words."""
        return (
            f"a positive counts when its label arrived within {self.label_age.days} d of the "
            f"event; events after {self.maturity_cutoff} are not evaluable yet"
        )

    @property
    def not_evaluable_since(self) -> pd.Timestamp | None:
        """Start of the first window not fully matured (it and every later window cannot be
        judged yet), None when every window is matured."""
        for w in self.windows:
            if w.n_matured < w.n_events:
                return w.window_start
        return None

    @property
    def confirmed_drops(self) -> tuple[pd.Timestamp, ...]:
        return tuple(w.window_start for w in self.windows if w.auc_drop_test == "confirmed")

    def to_frame(self) -> pd.DataFrame:
        """One row per window (the reference first, ``window_start`` = its start), with
        ``is_reference``."""
        rows = [{"is_reference": True, **self.reference.to_dict()}]
        rows += [{"is_reference": False, **w.to_dict()} for w in self.windows]
        df = pd.DataFrame(rows)
        first = ["window_start", "is_reference", "n_events", "n_matured", "matured_share"]
        return df[first + [c for c in df.columns if c not in first]]

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        r = self.reference
        done = [w for w in self.windows if w.n_matured > 0]
        head = (
            f"Outcome drift: labels at age {self.label_age.days} d (as of {self.as_of}); "
            f"reference AUC {r.auc:.4f} ± {r.auc_se:.4f} (n_pos = {r.n_pos:,}); "
            f"{len(done)} of {len(self.windows)} windows matured; AUC drop > "
            f"{self.auc_drop_tolerance:g} confirmed in {len(self.confirmed_drops)}"
        )
        since = self.not_evaluable_since
        head += f"\nLabel window: {self.label_window}" + (
            f"; not evaluable since {since.date()}." if since is not None else "."
        )
        if self.row_counts is not None:
            head += f"\nrows: {self.row_counts.summary()}"
        cols = [
            "window_start",
            "n",
            "n_pos",
            "auc",
            "auc_ci_low",
            "auc_ci_high",
            "oe",
            "ece",
            "precision",
            "n_late",
            "auc_drop",
            "auc_drop_test",
        ]
        df = self.to_frame()[cols]
        return "\n".join([head, _display.text_table(df), *(f"warning: {w}" for w in self.warnings)])

    def _repr_html_(self) -> str:
        cols = [
            "window_start",
            "is_reference",
            "matured_share",
            "n",
            "n_pos",
            "auc",
            "auc_ci_low",
            "auc_ci_high",
            "calibration_slope",
            "calibration_intercept",
            "oe",
            "brier",
            "ece",
            "ece_null_q95",
            "precision",
            "capture",
            "lift",
            "auc_drop",
            "auc_drop_test",
        ]
        df = self.to_frame()[cols]
        df["window_start"] = df["window_start"].astype(str)
        return (
            f"<div><strong>{_display.escape(self.summary().splitlines()[0])}</strong>"
            f"{_display.table_html(df)}{_display.warnings_html(self.warnings)}</div>"
        )

    def plot(self, ax: Any = None, *, kind: str = "auc") -> Any:
        """``kind="auc"``: AUC over time with CI ribbon, immature region shaded;
        ``kind="reliability"``: reliability diagram of the reference and the latest matured
        window."""
        from mlopskit import plots

        if kind == "auc":
            return plots.plot_outcome_auc(self, ax=ax)
        if kind == "reliability":
            return plots.plot_reliability(self, ax=ax)
        raise ValueError(f"`kind` must be 'auc' or 'reliability'; got {kind!r}.")


def outcome_drift(
    scored: frames.FrameLike,
    *,
    reference_period: tuple[Any, Any],
    as_of: Any,
    score: str = "score",
    label: str = "label",
    label_ts: str = "label_ts",
    ts: str = "ts",
    window: str | None = None,
    top_k: float | None = None,
    threshold: float | None = None,
    label_age_days: float | None = None,
    columns: Mapping[str, str] | None = None,
    policy: Policy | str | Path | None = None,
) -> OutcomeDrift:
    """Outcome metrics per window on labels matured to one common age.

    Parameters
    ----------
    scored : scored events with ``ts, score, label, label_ts`` (names are parameters).
    reference_period : ``(start, end)`` of the baseline, end exclusive (its events must be
        matured: ``end + age ≤ as_of``).
    as_of : when the data was extracted; labels arriving later are not in it.
    window : window length (policy ``drift.outcome_window``, ``"7D"``); windows start at the
        reference period's start and every multiple of the length before and after it.
    top_k : share flagged (policy ``drift.top_k``, 0.01): the window's own top-k quantile,
        with bootstrap intervals. ``threshold`` instead fixes the score cutoff (Wilson).
    label_age_days : common label age (policy ``drift.label_age_days``, 30).
    columns : mapping canonical name (``score``, ``label``, ``label_ts``, ``ts``) → your
        column name (instead of, or agreeing with, the per-column keywords).

    Frames: one lazy group-by for the per-window event counts, then only the matured rows'
    ``score`` and matured ``label`` (plus window and reference flags) are collected, since
    AUC needs row-level pairs.
    """
    pol = as_policy(policy).section("drift", DriftPolicy)
    win = window or pol.outcome_window
    every = frames.window_spec(win).every
    k = pol.top_k if top_k is None else float(top_k)
    if threshold is None and not 0 < k < 1:
        raise ValueError(f"`top_k` must be in (0, 1); got {top_k!r}.")
    age = pd.Timedelta(days=pol.label_age_days if label_age_days is None else float(label_age_days))
    if age <= pd.Timedelta(0):
        raise ValueError(f"`label_age_days` must be > 0; got {label_age_days!r}.")
    mapping = frames.resolve_columns(
        columns, frame="scored events", score=score, label=label, label_ts=label_ts, ts=ts
    )
    lf = frames.validate(scored, frames.SCORED_EVENTS, columns=mapping, frame="scored events")
    sch = frames.schema(lf)
    for canon in ("label", "label_ts"):
        if canon not in sch:
            raise ValueError(
                f"scored events: column `{mapping[canon]}` is missing; outcome drift needs labels "
                f"and their arrival times. Columns found: {sorted(sch)[:20]}."
            )
    as_of_t = pd.Timestamp(as_of)
    start, end = pd.Timestamp(reference_period[0]), pd.Timestamp(reference_period[1])
    if not start < end:
        raise ValueError(
            f"`reference_period` must be (start, end) with start < end; got {reference_period!r}."
        )
    if end + age > as_of_t:
        raise ValueError(
            f"`reference_period` ends {end}; its labels are not matured to age {age.days} d by "
            f"`as_of` {as_of_t} (need end + age ≤ as_of)."
        )
    wins, pairs = frames.matured_pairs(
        lf,
        score="score",
        label="label",
        label_ts="label_ts",
        ts="ts",
        as_of=as_of_t,
        age=age,
        every=every,
        reference_period=(start, end),
        anchor=start,
    )
    warn: list[str] = []
    ref_rows = pairs[pairs["in_reference"].to_numpy(dtype=bool)]
    if ref_rows.empty:
        raise ValueError(f"scored events: no events in `reference_period` {start} – {end}.")
    ref_p = ref_rows["score"].to_numpy(dtype=float)
    ref_y = ref_rows["label"].to_numpy(dtype=float)
    if threshold is None and len(ref_p) * k < 1:
        raise ValueError(
            f"reference period: {len(ref_p)} matured events, fewer than one in the top "
            f"{k:.2%} (`top_k`): too few rows to compare outcomes; widen `reference_period`."
        )
    late_all = pairs["late"].to_numpy(dtype=bool) if "late" in pairs else np.zeros(len(pairs), bool)
    ref_late = int(late_all[pairs["in_reference"].to_numpy(dtype=bool)].sum())
    kw: dict[str, Any] = {"top_k": k, "threshold": threshold}
    ref_m = _metrics(ref_p, ref_y, pol, label="reference period", warn=warn, **kw)
    ref_auc = ref_m.pop("_delong", None)
    if ref_auc is None:
        raise ValueError("reference period: its matured labels have a single class; no AUC.")
    reference = WindowOutcome(
        start, len(ref_p), len(ref_p), **ref_m, oe_vs_reference=1.0, n_late=ref_late
    )
    if reference.late_share > LATE_SHARE_WARN:
        warn.append(
            f"late_positives: reference period: {ref_late:,} of {ref_late + reference.n_pos:,} "
            f"positives labelled so far ({reference.late_share:.1%}) arrived after the "
            f"{age.days} d label window and count as negatives in every metric (AUC, O/E, "
            f"precision read low); raise `label_age_days` to include them."
        )
    wkey = pairs[frames.WINDOW_COL].to_numpy()
    out: list[WindowOutcome] = []
    for _, row in wins.iterrows():
        w = pd.Timestamp(row["window_start"])
        n_ev, n_mat = int(row["n_events"]), int(row["n_matured"])
        if n_mat == 0:
            out.append(WindowOutcome(w, n_ev, 0))
            continue
        sel = wkey == row[frames.WINDOW_COL]
        p = pairs["score"].to_numpy(dtype=float)[sel]
        y = pairs["label"].to_numpy(dtype=float)[sel]
        label_w = f"window {w.date()}"
        if n_mat < n_ev:
            warn.append(f"{label_w}: {n_mat:,} of {n_ev:,} events matured (partial window).")
        m = _metrics(p, y, pol, label=label_w, warn=warn, **kw)
        m.update(_oe_vs_reference(m, ref_m, pol.ci_alpha))
        cur = m.pop("_delong", None)
        if cur is not None:
            test, d, se = auc_drop_test(
                ref_auc, cur, tolerance=pol.auc_drop_tolerance, alpha=pol.auc_drop_alpha
            )
            m.update(auc_drop=d, auc_drop_se=se, auc_drop_test=test)
        out.append(WindowOutcome(w, n_ev, n_mat, **m, n_late=int(late_all[sel].sum())))
    return OutcomeDrift(
        reference=reference,
        windows=tuple(out),
        as_of=as_of_t,
        label_age=age,
        window=win,
        reference_period=(start, end),
        auc_drop_tolerance=pol.auc_drop_tolerance,
        auc_drop_alpha=pol.auc_drop_alpha,
        ci_alpha=pol.ci_alpha,
        top_k=k if threshold is None else math.nan,
        threshold=threshold,
        top_k_method="wilson" if threshold is not None else "bootstrap",
        ece_bins=pol.ece_bins,
        ece_n_sim=pol.ece_n_sim,
        n_bootstrap=pol.n_bootstrap,
        seed=pol.seed,
        warnings=tuple(warn),
        row_counts=_row_counts(wins, age),
    )


def _row_counts(wins: pd.DataFrame, age: pd.Timedelta) -> RowCounts:
    """Events per window: matured (used), after ``as_of``, or not yet ``age`` old."""
    by = {}
    for _, row in wins.iterrows():
        n_ev, n_mat = int(row["n_events"]), int(row["n_matured"])
        after = int(row.get("n_after_as_of", 0))
        by[str(pd.Timestamp(row["window_start"]))] = RowCounts.of(
            n_ev, {"after as_of": after, f"label younger than {age.days} d": n_ev - n_mat - after}
        )
    total = RowCounts.of(0)
    for rc in by.values():
        total = total + rc
    return RowCounts.of(total.read, total.dropped, by=by)
