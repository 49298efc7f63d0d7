"""Calibration check on matured labels and the recalibration stopgap."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from mlopskit import frames
from mlopskit.policy import LabelsPolicy
from mlopskit.rows import RowCounts
from mlopskit.stats.calibration import CalibrationFit, expit
from mlopskit.stats.matured_calibration import band_maturity, matured_calibration_fit
from mlopskit.stats.maturity import (
    MaturityFn,
)


@dataclass(frozen=True, slots=True)
class CalibrationCheck:
    """Calibration of the served scores on matured recent labels, and the stopgap.

    Rows count as matured when F̂(age) ≥ ``min_maturity``; their expected label
    probability is ``p·F̂(age)`` (the model's probability times the share of labels known at
    that age; exact for rare events when arrival speed does not depend on the score), so
    ``fit`` measures the calibration of ``p`` itself. The stopgap is fitted on the older
    matured rows and evaluated on the most recent ones (a time split).

    Attributes
    ----------
    evaluated : False when fewer than the policy's minimum matured positives exist.
    window_start : start of the window (drift onset, last training run, or as_of − window).
    n, n_pos : matured rows and positives used.
    fit : calibration of the served scores (intercept/slope/citl with SEs).
    citl_shifted, slope_shifted, shifted : the deviation (|CITL|, |slope − 1|) exceeds its
        policy threshold with confidence: the two-sided ``1 − alpha`` interval lies entirely
        beyond the threshold (see :func:`shift_flags`).
    method : ``"intercept"`` or ``"platt"``.
    stopgap : the recalibration fitted on the training part (``stopgap.apply(p, method=…)``).
    n_train_pos, n_holdout_pos : positives on each side of the time split.
    holdout_before, holdout_after : calibration on the held-out rows before/after.
    logloss_before, logloss_after : mean log loss on the held-out rows before/after.
    validated : the stopgap lowered both the held-out log loss and |CITL|.
    note : why something could not be evaluated.
    row_counts : events read, used (matured, in ``[start, as_of)``) and left out: before
        ``start``, at or after ``as_of``, labels not mature enough (F̂ below ``min_maturity``).
    """

    evaluated: bool
    window_start: pd.Timestamp
    n: int = 0
    n_pos: int = 0
    min_maturity: float = 0.5
    fit: CalibrationFit | None = None
    citl_shifted: bool = False
    slope_shifted: bool = False
    shifted: bool = False
    method: str = "intercept"
    stopgap: CalibrationFit | None = None
    n_train_pos: int = 0
    n_holdout_pos: int = 0
    holdout_before: CalibrationFit | None = None
    holdout_after: CalibrationFit | None = None
    logloss_before: float = float("nan")
    logloss_after: float = float("nan")
    validated: bool = False
    note: str = ""
    row_counts: RowCounts | None = None

    def apply(self, p: Any) -> np.ndarray:
        """The stopgap recalibration applied to served probabilities ``p``."""
        if self.stopgap is None:
            raise ValueError("no stopgap was fitted (see `note`).")
        return self.stopgap.apply(p, method=self.method)


# -- calibration on matured recent labels -----------------------------------------------
def shift_flags(fit: CalibrationFit, pol: LabelsPolicy) -> tuple[bool, bool]:
    """(CITL shifted, slope shifted): the deviation exceeds the policy threshold *with
    confidence*, ``|dev| − threshold > z_{1−α/2}·SE``: the ``1 − α`` interval lies entirely
    beyond the tolerance ``±threshold`` (a test of a material shift, H₀: |dev| ≤ threshold).

    The earlier rule (``|dev| > threshold`` and ``|dev| > z·SE``) is a plain test of perfect
    calibration once SE ≈ threshold/2 (≈ 130 matured positives): with two statistics it
    alarmed in 12% of calibrated no-drift worlds (measured, tests/test_monitoring_verdicts_sim.py),
    and the check is looked at daily. Under perfect calibration this rule alarms with
    probability ≤ 2·P(Z > threshold/SE + z) per statistic and look (< 0.1% at SE ≤ 0.14),
    and at a true deviation equal to the threshold with probability ≤ α/2, whatever the
    number of positives; a shift of 1 logit with SE 0.15 is still flagged with power ≈ 1.
    """
    z = float(sps.norm.isf(pol.alpha / 2))
    citl_dev, slope_dev = abs(fit.citl), abs(fit.slope - 1)
    citl = citl_dev - pol.calibration_citl_threshold > z * fit.se_citl
    slope = slope_dev - pol.calibration_slope_threshold > z * fit.se_slope
    return bool(citl), bool(slope)


def _cell_maturity(
    cells: pd.DataFrame,
    fmat: MaturityFn,
    band_edges: np.ndarray | None,
    band_curves: list[MaturityFn] | None,
) -> np.ndarray:
    """F̂ per score × age cell: its score band's curve when given, else the pooled one."""
    age = cells["age_day"].to_numpy() + 0.5
    if band_edges is None or band_curves is None:
        return np.asarray(fmat(age), dtype=float)
    p = expit(cells["logit_sum"].to_numpy() / cells["n"].to_numpy())
    return band_maturity(p, age, band_edges, list(band_curves))


def _cell_fit(cells: pd.DataFrame, f: np.ndarray, p: np.ndarray | None = None) -> CalibrationFit:
    p_cell = expit(cells["logit_sum"].to_numpy() / cells["n"].to_numpy()) if p is None else p
    return matured_calibration_fit(p_cell, f, cells["n_pos"].to_numpy(), cells["n"].to_numpy())


def _cell_logloss(q: np.ndarray, cells: pd.DataFrame) -> float:
    q = np.clip(q, 1e-12, 1 - 1e-12)
    n, y = cells["n"].to_numpy(), cells["n_pos"].to_numpy()
    return float(-np.sum(y * np.log(q) + (n - y) * np.log1p(-q)) / n.sum())


def calibration_check(
    lf: Any,
    *,
    as_of: pd.Timestamp,
    start: pd.Timestamp,
    has_label: bool,
    fmat: MaturityFn,
    pol: LabelsPolicy,
    band_edges: np.ndarray | None = None,
    band_curves: list[MaturityFn] | None = None,
) -> CalibrationCheck:
    """Calibration of the served score on matured labels since ``start``, and the stopgap.

    With ``band_edges``/``band_curves`` (a chain-ladder maturity curve per score band) each
    cell's arrival factor is its own band's ``F̂_b(age)`` and the calibration is the
    maximum-likelihood fit of ``P(label arrived) = F̂_b(age)·σ(a + b·logit p)``
    (STATISTICS.md §7.2, :func:`mlopskit.stats.matured_calibration.matured_calibration_fit`):
    faster-labelled high scores no longer read as a calibration shift.
    """
    cells, read = frames.label_calibration_rows(lf, as_of=as_of, start=start, has_label=has_label)
    immature = 0
    if len(cells):
        f_all = _cell_maturity(cells, fmat, band_edges, band_curves)
        keep = f_all >= pol.calibration_min_maturity
        immature = int(cells.loc[~keep, "n"].sum())
        cells = cells[keep].reset_index(drop=True)
    rows = RowCounts.of(
        read["read"],
        {
            f"before start ({start})": read["before"],
            "at or after as_of": read["after"],
            f"labels not mature (F̂ < {pol.calibration_min_maturity:g})": immature,
        },
        unit="events",
    )
    n = int(cells["n"].sum()) if len(cells) else 0
    n_pos = int(cells["n_pos"].sum()) if len(cells) else 0
    out = CalibrationCheck(
        evaluated=False,
        window_start=start,
        n=n,
        n_pos=n_pos,
        min_maturity=pol.calibration_min_maturity,
        method=pol.stopgap_method,
        row_counts=rows,
    )
    if n_pos < pol.calibration_min_positives or n <= n_pos:
        return replace(
            out,
            note=f"{n_pos} matured positives (F̂ ≥ {pol.calibration_min_maturity}) since "
            f"{start}; {pol.calibration_min_positives} needed to check calibration.",
        )
    f_cells = _cell_maturity(cells, fmat, band_edges, band_curves)
    fit = _cell_fit(cells, f_cells)
    citl_shift, slope_shift = shift_flags(fit, pol)
    out = replace(
        out,
        evaluated=True,
        fit=fit,
        citl_shifted=bool(citl_shift),
        slope_shifted=bool(slope_shift),
        shifted=bool(citl_shift or slope_shift),
    )
    # time split: the most recent matured ages (the youngest) are held out
    by_age = cells.groupby("age_day", sort=True)["n_pos"].sum()
    first = by_age.cumsum().shift(fill_value=0) < pol.stopgap_holdout_share * n_pos
    ho = cells["age_day"].isin(by_age.index[first.to_numpy()]).to_numpy()
    tr_cells, ho_cells = cells[~ho], cells[ho]
    n_tr, n_ho = int(tr_cells["n_pos"].sum()), int(ho_cells["n_pos"].sum())
    out = replace(out, n_train_pos=n_tr, n_holdout_pos=n_ho)
    neg_tr = int(tr_cells["n"].sum()) - n_tr
    neg_ho = int(ho_cells["n"].sum()) - n_ho
    if min(n_tr, n_ho) < 10 or min(neg_tr, neg_ho) < 1:
        return replace(
            out,
            note=f"the time split left {n_tr} / {n_ho} positives (train / held out); 10 "
            f"each are needed to fit and validate a stopgap.",
        )
    f_tr, f_ho = f_cells[~ho], f_cells[ho]
    stopgap = _cell_fit(tr_cells, f_tr)
    p_ho = expit(ho_cells["logit_sum"].to_numpy() / ho_cells["n"].to_numpy())
    p_new = stopgap.apply(p_ho, method=pol.stopgap_method)
    before = _cell_fit(ho_cells, f_ho, p_ho)
    after = _cell_fit(ho_cells, f_ho, p_new)
    ll_b, ll_a = _cell_logloss(p_ho * f_ho, ho_cells), _cell_logloss(p_new * f_ho, ho_cells)
    return replace(
        out,
        stopgap=stopgap,
        holdout_before=before,
        holdout_after=after,
        logloss_before=ll_b,
        logloss_after=ll_a,
        validated=bool(ll_a < ll_b and abs(after.citl) < abs(before.citl)),
    )


def calib_text(c: CalibrationCheck) -> str:
    if c.fit is None:
        return c.note
    f = c.fit
    txt = (
        f"calibration on {c.n_pos} matured positives since {c.window_start.date()}: "
        f"CITL {f.citl:+.3f} (SE {f.se_citl:.3f}), slope {f.slope:.3f} (SE {f.se_slope:.3f})"
    )
    if c.holdout_before is not None and c.holdout_after is not None:
        txt += (
            f"; {c.method} stopgap on held-out ({c.n_holdout_pos} positives): CITL "
            f"{c.holdout_before.citl:+.3f} → {c.holdout_after.citl:+.3f}, log loss "
            f"{c.logloss_before:.5f} → {c.logloss_after:.5f}"
        )
    return txt
