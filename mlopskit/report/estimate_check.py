"""Estimated performance beside reality: does the label stream refute the estimate?

:func:`mlopskit.drift.estimated_performance` (CBPE) estimates each window's AUC, precision
and recall from the scores alone, assuming the score is calibrated as on the reference and
``P(y | x)`` is unchanged. The realized values need matured labels, which arrive weeks late —
so on the windows that matter most (the latest ones) no matured value exists yet.

This module adds a check that needs no maturity: **labels still to arrive can only add
positives**. Under the estimate's assumption the number of positives a window will
*eventually* have is a sum of independent Bernoulli(p_i), with mean ``μ = Σ p_i``; its upper
``1 − α/m`` quantile is bounded by the Poisson(μ) quantile (a Poisson-binomial is less
dispersed than the Poisson of the same mean). When the positives *already labelled* by
``as_of`` exceed that bound, the window's eventual positives exceed it too, so the
assumption is refuted for that window: the estimate diverges from reality (concept drift or
a calibration shift the estimate cannot see). ``m`` is the number of windows checked
(Bonferroni), so the probability of any false divergence over the report is at most ``α``
under the assumption, and immature labels only make the check more conservative.

Beside it: precision at the threshold among the flagged events of each window from the
labels arrived so far (a lower bound of the eventual precision; the realized value once the
window is matured), and the matured AUC from the outcome-drift result.

Computation only (the report notebook displays the result); engines are reached through
:mod:`mlopskit.frames`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _display, frames
from mlopskit import _format as fmt

#: family-wise error of the divergence check over all windows of a report.
ALPHA = 0.05


@dataclass(frozen=True, slots=True)
class EstimateCheck:
    """CBPE per window beside the labels that have arrived (see the module docstring).

    Attributes
    ----------
    windows : window starts (the estimate's windows).
    n_events, n_flagged : events and flagged events (score ≥ threshold) per window.
    expected_positives : ``Σ p`` — the estimate's expected eventual positives.
    bound : upper ``1 − alpha/m`` Poisson bound of the eventual positives.
    arrived, arrived_flagged : positives labelled by ``as_of`` (all / among flagged).
    matured : every event of the window is older than the label window.
    complete : the window is a full ``window`` long before ``as_of`` (a partial window is
        shown, marked, and never flagged as diverging).
    auc_estimated, auc_low, auc_high, auc_realized : estimate, interval, matured AUC.
    precision_estimated, precision_low, precision_high : estimate and interval.
    diverged : arrived positives exceed the bound (the assumption is refuted).
    alpha, label_window_days, threshold, level, assumption : the choices behind it.
    """

    windows: tuple[pd.Timestamp, ...]
    n_events: tuple[int, ...]
    n_flagged: tuple[int, ...]
    expected_positives: tuple[float, ...]
    bound: tuple[float, ...]
    arrived: tuple[int, ...]
    arrived_flagged: tuple[int, ...]
    matured: tuple[bool, ...]
    complete: tuple[bool, ...]
    auc_estimated: tuple[float, ...]
    auc_low: tuple[float, ...]
    auc_high: tuple[float, ...]
    auc_realized: tuple[float, ...]
    precision_estimated: tuple[float, ...]
    precision_low: tuple[float, ...]
    precision_high: tuple[float, ...]
    diverged: tuple[bool, ...]
    alpha: float
    label_window_days: float
    threshold: float
    level: float
    assumption: str
    window: str = "7D"

    __eq__ = _display.nan_safe_eq

    @property
    def precision_so_far(self) -> tuple[float, ...]:
        """Arrived positives among flagged / flagged (eventual precision is at least this)."""
        return tuple(
            a / n if n else math.nan
            for a, n in zip(self.arrived_flagged, self.n_flagged, strict=True)
        )

    @property
    def first_divergence(self) -> pd.Timestamp | None:
        return next((w for w, d in zip(self.windows, self.diverged, strict=True) if d), None)

    def sentence(self) -> str:
        """What the report says about the estimate against reality, in one sentence."""
        m = len(self.windows)
        if self.first_divergence is not None:
            i = self.windows.index(self.first_divergence)
            n_div = sum(self.diverged)
            more = f" ({n_div} of {m} windows diverge)" if n_div > 1 else ""
            return (
                f"The estimate diverges from reality from the window of "
                f"{self.first_divergence:%Y-%m-%d}{more}: "
                f"{fmt.count(self.arrived[i], 'positive labels')} have already arrived where "
                f"the estimate expects {fmt.count(round(self.expected_positives[i]))} in total "
                f"(at most {fmt.count(int(self.bound[i]))} at family-wise error "
                f"{self.alpha:g}); labels still to arrive can only add positives, so the "
                "estimate's assumption (no concept drift, calibration as on the reference) no "
                "longer holds and its numbers for the recent windows are not to be trusted."
            )
        return (
            f"The labels arrived so far are consistent with the estimate in all {m} windows "
            f"(no window has more positives than the estimate allows at family-wise error "
            f"{self.alpha:g}); the estimate stands in for the realized values until they mature."
        )

    def to_frame(self) -> pd.DataFrame:
        so_far = self.precision_so_far
        return pd.DataFrame(
            {
                "window_start": [w.strftime("%Y-%m-%d") for w in self.windows],
                "events": list(self.n_events),
                "positives_expected": [round(x, 1) for x in self.expected_positives],
                "positives_bound": [int(b) for b in self.bound],
                "positives_arrived": list(self.arrived),
                "complete": list(self.complete),
                "matured": list(self.matured),
                "auc_estimated": list(self.auc_estimated),
                "auc_interval": [
                    f"[{lo:.3f}, {hi:.3f}]"
                    for lo, hi in zip(self.auc_low, self.auc_high, strict=True)
                ],
                "auc_realized": list(self.auc_realized),
                "precision_estimated": list(self.precision_estimated),
                "precision_interval": [
                    f"[{lo:.3f}, {hi:.3f}]"
                    for lo, hi in zip(self.precision_low, self.precision_high, strict=True)
                ],
                "precision_realized": [
                    p if mat else math.nan for p, mat in zip(so_far, self.matured, strict=True)
                ],
                "precision_at_least": [
                    math.nan if mat else p for p, mat in zip(so_far, self.matured, strict=True)
                ],
                "diverged": list(self.diverged),
            }
        )

    def summary(self) -> str:
        head = (
            f"Estimated performance ({self.window} windows, threshold {self.threshold:g}, "
            f"{self.level:.0%} intervals); assumes {self.assumption}."
        )
        return f"{head}\n{self.sentence()}"

    __repr__ = _display.short_repr

    def _repr_html_(self) -> str:
        return (
            f"<div><p><strong>{_display.escape(self.sentence())}</strong></p>"
            f"<p>Assumption: {_display.escape(self.assumption)}. Realized values are shown once "
            f"a window's labels are older than the {fmt.days(self.label_window_days)} label "
            "window; before that, precision is shown as the lower bound the arrived labels "
            "give.</p>"
            f"{_display.table_html(self.to_frame(), caption='Estimated vs realized per window')}"
            "</div>"
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.plot_estimate_check(self, ax=ax)


def estimate_check(
    events: frames.FrameLike,
    estimated: Any,
    *,
    as_of: Any,
    start: Any,
    label_window_days: float,
    alpha: float = ALPHA,
) -> EstimateCheck:
    """Put :func:`~mlopskit.drift.estimated_performance`'s windows beside the labels arrived
    by ``as_of`` in ``events`` (``ts``, ``score``, ``label``, ``label_ts``), with the same
    windows (anchored at ``start``, length ``estimated.window``).

    ``label_window_days``: a window is *matured* once its last event is that old.
    """
    from scipy import stats

    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be a float in (0, 1); got {alpha!r}.")
    as_of_t, start_t = pd.Timestamp(as_of), pd.Timestamp(start)
    _, length = frames.parse_window(estimated.window)
    lf = frames.lazy(events, frame="events")
    cells = frames.label_calibration_counts(lf, as_of=as_of_t, start=start_t, has_label=True)
    day = (as_of_t - start_t) / pd.Timedelta(days=1) - cells["age_day"].to_numpy() - 1
    per = length / pd.Timedelta(days=1)
    widx = np.floor(np.maximum(day, 0) / per).astype(int)
    lg = cells["logit_sum"].to_numpy() / cells["n"].to_numpy()
    p = 1.0 / (1.0 + np.exp(-lg))
    n = cells["n"].to_numpy()
    pos = cells["n_pos"].to_numpy()
    flag = p >= estimated.threshold
    m = len(estimated.windows)
    cols: dict[str, list[Any]] = {k: [] for k in ("n", "nf", "mu", "bd", "a", "af", "mat", "full")}
    for w0 in estimated.windows:
        k = round((pd.Timestamp(w0) - start_t) / length)
        sel = widx == k
        mu = float(np.sum(n[sel] * p[sel]))
        cols["n"].append(int(n[sel].sum()))
        cols["nf"].append(int(n[sel & flag].sum()))
        cols["mu"].append(mu)
        # P(X > bound) ≤ alpha/m for X ~ Poisson(mu) (see the module docstring)
        cols["bd"].append(float(stats.poisson.isf(alpha / max(m, 1), mu)) if mu > 0 else 0.0)
        cols["a"].append(int(pos[sel].sum()))
        cols["af"].append(int(pos[sel & flag].sum()))
        end = min(pd.Timestamp(w0) + length, as_of_t)
        cols["mat"].append(bool(end + pd.Timedelta(days=label_window_days) <= as_of_t))
        cols["full"].append(bool(pd.Timestamp(w0) >= start_t and w0 + length <= as_of_t))
    est = estimated.estimates
    return EstimateCheck(
        windows=tuple(pd.Timestamp(w) for w in estimated.windows),
        n_events=tuple(cols["n"]),
        n_flagged=tuple(cols["nf"]),
        expected_positives=tuple(cols["mu"]),
        bound=tuple(cols["bd"]),
        arrived=tuple(cols["a"]),
        arrived_flagged=tuple(cols["af"]),
        matured=tuple(cols["mat"]),
        complete=tuple(cols["full"]),
        auc_estimated=tuple(e["auc"].estimate for e in est),
        auc_low=tuple(e["auc"].ci_low for e in est),
        auc_high=tuple(e["auc"].ci_high for e in est),
        auc_realized=tuple(float(x) for x in estimated.realized_auc),
        precision_estimated=tuple(e["precision"].estimate for e in est),
        precision_low=tuple(e["precision"].ci_low for e in est),
        precision_high=tuple(e["precision"].ci_high for e in est),
        diverged=tuple(
            bool(full and a > b)
            for a, b, full in zip(cols["a"], cols["bd"], cols["full"], strict=True)
        ),
        alpha=alpha,
        label_window_days=float(label_window_days),
        threshold=float(estimated.threshold),
        level=float(estimated.level),
        assumption=str(estimated.assumption),
        window=str(estimated.window),
    )
