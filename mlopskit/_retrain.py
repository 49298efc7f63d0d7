"""The retraining decision behind :func:`mlopskit.labels.drift_vs_label_lag`: its result
(``RetrainAssessment``), the duck-typed trigger inputs, the calibration check and stopgap on
matured labels, and the decision rule. Private: import the public names from
``mlopskit.labels``.

Kept apart from ``labels.py`` so each file answers one question: ``labels.py`` measures label
maturity and assembles the assessment; this module turns inputs into triggers and triggers
into a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from mlopskit import frames
from mlopskit._display import short_repr, table_html, verdict_html, warnings_html
from mlopskit.policy import LabelsPolicy
from mlopskit.stats.auc import positives_for_auc_precision
from mlopskit.stats.calibration import CalibrationFit, calibration_fit, expit
from mlopskit.stats.maturity import CountForecast, MaturityFn
from mlopskit.verdict import Reason, RetrainVerdict

if TYPE_CHECKING:
    from mlopskit.labels import LabelMaturity

_DAY = pd.Timedelta(days=1)


def timestamp(value: Any, name: str) -> pd.Timestamp:
    """``value`` as a ``pd.Timestamp``; a ValueError naming ``name`` otherwise."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be a timestamp; got {value!r}.") from exc
    if ts is pd.NaT:
        raise ValueError(f"`{name}` must be a timestamp; got NaT.")
    return ts


@dataclass(frozen=True, slots=True)
class Trigger:
    """One retraining trigger: whether it fired and why.

    ``fired`` is None when the input was not given (not evaluated).
    """

    name: str
    fired: bool | None
    value: float | None = None
    threshold: float | None = None
    detail: str = ""


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
    citl_shifted, slope_shifted, shifted : effect larger than the policy threshold AND
        significant at ``alpha`` (two-sided).
    method : ``"intercept"`` or ``"platt"``.
    stopgap : the recalibration fitted on the training part (``stopgap.apply(p, method=…)``).
    n_train_pos, n_holdout_pos : positives on each side of the time split.
    holdout_before, holdout_after : calibration on the held-out rows before/after.
    logloss_before, logloss_after : mean log loss on the held-out rows before/after.
    validated : the stopgap lowered both the held-out log loss and |CITL|.
    note : why something could not be evaluated.
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

    def apply(self, p: Any) -> np.ndarray:
        """The stopgap recalibration applied to served probabilities ``p``."""
        if self.stopgap is None:
            raise ValueError("no stopgap was fitted (see `note`).")
        return self.stopgap.apply(p, method=self.method)


# -- inputs (duck-typed) ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RetrainAssessment:
    """Retrain now, wait for labels, ship a recalibration stopgap, or do nothing.

    Attributes
    ----------
    verdict : ``RetrainVerdict``.
    reasons : the checks behind it, as data (``Reason``); the last one states the rule.
    as_of : when the assessment is made.
    onset : drift onset (None when no drift was given).
    window_start : start of the "new world" whose labels count (onset, else last training
        run, else as_of − calibration window when a monitoring trigger fired).
    k_star, k_star_source : labelled positives needed to retrain and where the number
        came from ("argument", "policy" or the Hanley–McNeil derivation).
    labelled_now : positives from events in ``[window_start, as_of)`` labelled by as_of.
    window_events : events in that window.
    positive_rate, rate_source : eventual positive rate used for the forecast.
    daily_volume : events per day assumed for the future.
    forecast : expected labelled count by day after as_of (``CountForecast``).
    forecast_date_expected, forecast_date : first date the expected count reaches K*, and
        the first date it is reached with the policy's probability (None if beyond range).
    calibration : the calibration check and stopgap (None when no score column).
    triggers : scheduled and monitoring triggers, each with fired / value / threshold.
    maturity : the label maturity the forecast is based on.
    warnings : data problems that do not invalidate the assessment.
    """

    verdict: RetrainVerdict
    reasons: tuple[Reason, ...]
    as_of: pd.Timestamp
    onset: pd.Timestamp | None
    window_start: pd.Timestamp | None
    k_star: int
    k_star_source: str
    labelled_now: int
    window_events: int
    positive_rate: float
    rate_source: str
    daily_volume: float
    forecast: CountForecast | None
    forecast_date_expected: pd.Timestamp | None
    forecast_date: pd.Timestamp | None
    calibration: CalibrationCheck | None
    triggers: tuple[Trigger, ...]
    maturity: LabelMaturity
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The reasons, one row each (stable columns)."""
        return pd.DataFrame(
            [
                {
                    "verdict": str(self.verdict),
                    "code": r.code,
                    "passed": r.passed,
                    "value": r.value,
                    "threshold": r.threshold,
                    "message": r.message,
                }
                for r in self.reasons
            ]
        )

    def triggers_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "trigger": t.name,
                    "fired": t.fired,
                    "value": t.value,
                    "threshold": t.threshold,
                    "detail": t.detail,
                }
                for t in self.triggers
            ]
        )

    def forecast_frame(self) -> pd.DataFrame:
        """Expected labelled count and P(count ≥ K*) by date."""
        if self.forecast is None:
            return pd.DataFrame(columns=["date", "expected", "prob_reach", "k_star"])
        fc = self.forecast
        return pd.DataFrame(
            {
                "date": self.as_of + pd.to_timedelta(fc.days, unit="D"),
                "expected": fc.expected,
                "prob_reach": fc.prob_reach,
                "k_star": fc.k_star,
            }
        )

    __repr__ = short_repr

    def summary(self) -> str:
        lines = [f"Retraining assessment as of {self.as_of}: {self.verdict}"]
        lines += [f"  - {r.message}" for r in self.reasons]
        lines += [f"WARNING {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "".join(
            [
                verdict_html(self.verdict, "Retraining", self.reasons),
                warnings_html(self.warnings),
                table_html(self.triggers_frame(), caption="Retraining triggers"),
            ]
        )

    def plot(self, ax: Any = None) -> Any:
        """Expected vs needed labelled count by date."""
        from mlopskit import plots

        return plots.plot_label_forecast(self, ax=ax)


# -- the assessment ---------------------------------------------------------------------
def onset_of(drift: Any) -> tuple[pd.Timestamp | None, bool]:
    """Drift onset and materiality from ``drift``.

    Accepts None; a timestamp (str/datetime/``pd.Timestamp``: a material drift starting
    then); or a result object, read duck-typed: its ``onset`` attribute (timestamp or None)
    and optional boolean ``material`` attribute (default True when an onset is present), or
    else its ``flagged_windows`` (a sequence of window-start timestamps, as on the output
    drift result): the first flagged window is the onset.
    """
    if drift is None:
        return None, False
    if hasattr(drift, "onset"):
        onset = drift.onset
        if onset is None:
            return None, False
        material = getattr(drift, "material", True)
        return timestamp(onset, "drift.onset"), bool(material)
    if hasattr(drift, "flagged_windows"):
        windows = [timestamp(w, "drift.flagged_windows") for w in drift.flagged_windows]
        return (min(windows), True) if windows else (None, False)
    return timestamp(drift, "drift"), True


def k_star_for(k_star: int | None, pol: LabelsPolicy) -> tuple[int, str]:
    if k_star is not None:
        if not (isinstance(k_star, int | np.integer) and k_star >= 1):
            raise ValueError(f"`k_star` must be a positive integer; got {k_star!r}.")
        return int(k_star), "argument"
    if pol.k_star is not None:
        return int(pol.k_star), "policy"
    k = positives_for_auc_precision(
        auc=pol.k_star_auc, detectable_drop=pol.k_star_auc_drop, alpha=0.05, power=pol.k_star_power
    )
    return k, (
        f"Hanley–McNeil: detect an AUC drop of {pol.k_star_auc_drop} at AUC "
        f"{pol.k_star_auc} with power {pol.k_star_power}"
    )


def flag_trigger(name: str, obj: Any) -> Trigger:
    """bool, or an object with ``flagged`` / ``fired`` (bool or a sequence: non-empty fires),
    ``flagged_windows`` (a sequence, as on the output drift result) or ``verdict``
    (ALERT/PAGE fire)."""
    if obj is None:
        return Trigger(name, None, detail="not given")
    if isinstance(obj, bool | np.bool_):
        return Trigger(name, bool(obj), detail="given as a boolean")
    for attr in ("flagged", "fired", "flagged_windows"):
        if hasattr(obj, attr):
            value = getattr(obj, attr)
            fired = bool(len(value)) if isinstance(value, tuple | list) else bool(value)
            return Trigger(name, fired, detail=f"`{attr}` of {type(obj).__name__}")
    if hasattr(obj, "verdict"):
        v = str(obj.verdict)
        return Trigger(name, v in ("ALERT", "PAGE"), detail=f"verdict {v}")
    raise ValueError(
        f"`{name}` must be a bool or an object with a `flagged`, `fired`, `flagged_windows` "
        f"or `verdict` attribute; got {type(obj).__name__}."
    )


def auc_trigger(auc_drop: Any, pol: LabelsPolicy) -> Trigger:
    """bool, ``(drop, se)`` (confirmed iff drop − z_{1−α}·se > threshold, STATISTICS.md §5),
    or an object with a boolean ``confirmed`` attribute, a ``confirmed_drops`` sequence
    (non-empty fires, as on the outcome drift result) or ``auc_drop_test == "confirmed"``."""
    name, thr = "auc_drop", pol.auc_drop_threshold
    if auc_drop is None:
        return Trigger(name, None, threshold=thr, detail="not given")
    if isinstance(auc_drop, bool | np.bool_):
        return Trigger(name, bool(auc_drop), threshold=thr, detail="given as a boolean")
    if hasattr(auc_drop, "confirmed"):
        return Trigger(
            name, bool(auc_drop.confirmed), threshold=thr, detail="`confirmed` attribute"
        )
    if hasattr(auc_drop, "confirmed_drops"):
        drops = tuple(auc_drop.confirmed_drops)
        return Trigger(
            name, bool(drops), threshold=thr, detail=f"confirmed drops in windows {drops[:3]}"
        )
    if hasattr(auc_drop, "auc_drop_test"):
        test = str(auc_drop.auc_drop_test)
        return Trigger(name, test == "confirmed", threshold=thr, detail=f"AUC drop test: {test}")
    if isinstance(auc_drop, tuple) and len(auc_drop) == 2:
        drop, se = (float(v) for v in auc_drop)
        lower = drop - float(sps.norm.isf(pol.alpha)) * se
        return Trigger(
            name,
            lower > thr,
            value=drop,
            threshold=thr,
            detail=f"drop {drop:.4f}, one-sided lower bound {lower:.4f}",
        )
    raise ValueError(
        f"`auc_drop` must be a bool, a (drop, se) tuple or an object with `confirmed`, "
        f"`confirmed_drops` or `auc_drop_test`; "
        f"got {type(auc_drop).__name__}."
    )


def psi_trigger(psi: Any, importance: Any, pol: LabelsPolicy) -> Trigger:
    """PSI > threshold on a feature holding ≥ ``psi_min_importance`` of the importance.

    ``psi``: bool, mapping feature → PSI, or a frame / result with ``to_frame()`` having
    ``feature`` and ``psi`` columns. ``importance``: mapping feature → importance, or an
    object with a ``feature_importance`` mapping (a model); None counts every feature.
    """
    name, thr = "psi", pol.psi_threshold
    if psi is None:
        return Trigger(name, None, threshold=thr, detail="not given")
    if isinstance(psi, bool | np.bool_):
        return Trigger(name, bool(psi), threshold=thr, detail="given as a boolean")
    if isinstance(psi, Mapping):
        values = {str(k): float(v) for k, v in psi.items()}
    else:
        df = psi if isinstance(psi, pd.DataFrame) else getattr(psi, "to_frame", lambda: None)()
        if not isinstance(df, pd.DataFrame) or not {"feature", "psi"} <= set(df.columns):
            raise ValueError(
                "`psi` must be a bool, a mapping feature → PSI, or a frame/result whose "
                "to_frame() has `feature` and `psi` columns."
            )
        values = dict(zip(df["feature"].astype(str), df["psi"].astype(float), strict=True))
    imp = getattr(importance, "feature_importance", importance)
    if imp is None:
        shares = dict.fromkeys(values, 1.0)
        note = "no feature importance given: every feature counts"
    else:
        if not isinstance(imp, Mapping):
            raise ValueError("`feature_importance` must be a mapping feature → importance.")
        tot = sum(abs(float(v)) for v in imp.values()) or 1.0
        shares = {f: abs(float(imp.get(f, 0.0))) / tot for f in values}
        note = "importance-weighted PSI " + f"{sum(shares[f] * values[f] for f in values):.3f}"
    hits = sorted(
        (f for f in values if values[f] > thr and shares[f] >= pol.psi_min_importance),
        key=lambda f: -values[f],
    )
    top = max((values[f] for f in values if shares[f] >= pol.psi_min_importance), default=None)
    detail = (f"drifted important features {hits}; " if hits else "") + note
    return Trigger(name, bool(hits), value=top, threshold=thr, detail=detail)


_CADENCE_OFFSETS = {
    "weekly": pd.DateOffset(weeks=1),
    "monthly": pd.DateOffset(months=1),
    "quarterly": pd.DateOffset(months=3),
}


def scheduled_trigger(
    last_trained: pd.Timestamp | None, as_of: pd.Timestamp, cadence: str
) -> Trigger:
    if cadence == "none":
        return Trigger("scheduled", None, detail="no cadence in the policy")
    if last_trained is None:
        return Trigger("scheduled", None, detail="`last_trained` not given")
    due = last_trained + _CADENCE_OFFSETS[cadence]
    age = (as_of - last_trained) / _DAY
    return Trigger(
        "scheduled",
        bool(as_of >= due),
        value=float(age),
        threshold=float((due - last_trained) / _DAY),
        detail=f"{cadence} cadence: last training {last_trained.date()}, due {due.date()}",
    )


# -- calibration on matured recent labels -----------------------------------------------
def _expand(cells: pd.DataFrame, fmat: MaturityFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (p, F, y) from score × age cells: each cell's mean logit, n_pos ones, rest zeros."""
    n = cells["n"].to_numpy()
    p_cell = expit(cells["logit_sum"].to_numpy() / n)
    f_cell = fmat(cells["age_day"].to_numpy() + 0.5)
    idx = np.repeat(np.arange(len(cells)), n)
    offsets = np.concatenate([[0], np.cumsum(n)[:-1]])
    rank = np.arange(idx.size) - offsets[idx]
    y = (rank < cells["n_pos"].to_numpy()[idx]).astype(float)
    return p_cell[idx], f_cell[idx], y


def _logloss(q: np.ndarray, y: np.ndarray) -> float:
    q = np.clip(q, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log1p(-q)))


def calibration_check(
    lf: Any,
    *,
    as_of: pd.Timestamp,
    start: pd.Timestamp,
    has_label: bool,
    fmat: MaturityFn,
    pol: LabelsPolicy,
) -> CalibrationCheck:
    """Calibration of the served score on matured labels since ``start``, and the stopgap."""
    cells = frames.label_calibration_counts(lf, as_of=as_of, start=start, has_label=has_label)
    if len(cells):
        cells = cells[fmat(cells["age_day"].to_numpy() + 0.5) >= pol.calibration_min_maturity]
    n = int(cells["n"].sum()) if len(cells) else 0
    n_pos = int(cells["n_pos"].sum()) if len(cells) else 0
    out = CalibrationCheck(
        evaluated=False,
        window_start=start,
        n=n,
        n_pos=n_pos,
        min_maturity=pol.calibration_min_maturity,
        method=pol.stopgap_method,
    )
    if n_pos < pol.calibration_min_positives or n <= n_pos:
        return replace(
            out,
            note=f"{n_pos} matured positives (F̂ ≥ {pol.calibration_min_maturity}) since "
            f"{start}; {pol.calibration_min_positives} needed to check calibration.",
        )
    p, f, y = _expand(cells, fmat)
    fit = calibration_fit(p * f, y)
    z = float(sps.norm.isf(pol.alpha / 2))
    citl_dev, slope_dev = abs(fit.citl), abs(fit.slope - 1)
    citl_shift = citl_dev > pol.calibration_citl_threshold and citl_dev > z * fit.se_citl
    slope_shift = slope_dev > pol.calibration_slope_threshold and slope_dev > z * fit.se_slope
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
    p_tr, f_tr, y_tr = _expand(tr_cells, fmat)
    p_ho, f_ho, y_ho = _expand(ho_cells, fmat)
    stopgap = calibration_fit(p_tr * f_tr, y_tr)
    p_new = stopgap.apply(p_ho, method=pol.stopgap_method)
    before = calibration_fit(p_ho * f_ho, y_ho)
    after = calibration_fit(p_new * f_ho, y_ho)
    ll_b, ll_a = _logloss(p_ho * f_ho, y_ho), _logloss(p_new * f_ho, y_ho)
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


def decide(
    *,
    pol: LabelsPolicy,
    onset: pd.Timestamp | None,
    drift_material: bool,
    material: bool,
    fired_monitors: list[str],
    window_start: pd.Timestamp | None,
    labelled: int,
    kstar: int,
    kstar_src: str,
    forecast: CountForecast | None,
    date_e: pd.Timestamp | None,
    date_p: pd.Timestamp | None,
    calib: CalibrationCheck | None,
    triggers: tuple[Trigger, ...],
) -> tuple[RetrainVerdict, tuple[Reason, ...]]:
    R: list[Reason] = []
    if onset is None:
        R.append(Reason("drift_onset", "No drift onset given.", passed=True))
    else:
        R.append(
            Reason(
                "drift_onset",
                f"Drift onset {onset}" + ("" if drift_material else " (marked not material)") + ".",
                passed=not drift_material,
            )
        )
    for t in triggers:
        if t.fired is None or t.name == "calibration_shift":  # it has its own reason below
            continue
        R.append(
            Reason(
                f"trigger_{t.name}",
                f"Trigger {t.name}: {'FIRED' if t.fired else 'not fired'} ({t.detail}).",
                passed=not t.fired,
                value=t.value,
                threshold=t.threshold,
            )
        )
    R.append(
        Reason("k_star", f"K* = {kstar} labelled positives ({kstar_src}).", value=float(kstar))
    )
    enough = labelled >= kstar
    if window_start is not None:
        R.append(
            Reason(
                "labelled_positives",
                f"{labelled} positives labelled from events since {window_start}; K* = {kstar}.",
                passed=enough,
                value=float(labelled),
                threshold=float(kstar),
            )
        )
        if forecast is not None and not enough:
            msg = (
                f"Expected labelled count reaches K* on {date_e.date() if date_e else 'no date within range'}"
                f"; with {pol.forecast_probability:.0%} probability on "
                f"{date_p.date() if date_p else 'no date within ' + str(pol.max_forecast_days) + ' days'}."
            )
            R.append(
                Reason(
                    "forecast_date",
                    msg,
                    passed=None,
                    value=None if forecast.day_probable is None else float(forecast.day_probable),
                )
            )
    if calib is not None and calib.evaluated and calib.fit is not None:
        R.append(
            Reason(
                "calibration_shift",
                ("Calibration has shifted: " if calib.shifted else "Calibration holds: ")
                + calib_text(calib)
                + ".",
                passed=not calib.shifted,
                value=calib.fit.citl,
                threshold=pol.calibration_citl_threshold,
            )
        )
        if calib.shifted:
            R.append(
                Reason(
                    "stopgap_validated",
                    (
                        "The stopgap improves held-out calibration."
                        if calib.validated
                        else f"The stopgap is not validated on held-out data{': ' + calib.note if calib.note else ''}."
                    ),
                    passed=calib.validated,
                    value=calib.logloss_after - calib.logloss_before if calib.stopgap else None,
                )
            )
    by = {t.name: t for t in triggers}
    when = f" (forecast: {date_p.date()})" if date_p is not None else ""
    if material:
        why = "drift onset" if onset is not None and drift_material else ", ".join(fired_monitors)
        if enough:
            v, rule = (
                RetrainVerdict.RETRAIN_NOW,
                f"Material drift ({why}) and {labelled} ≥ K* = {kstar} new-world labels: retrain now.",
            )
        elif calib is not None and calib.shifted and calib.validated:
            v, rule = (
                RetrainVerdict.RECALIBRATE_STOPGAP,
                f"Material drift ({why}) but only {labelled} < K* = {kstar} new-world labels; "
                f"calibration has shifted and the {calib.method} recalibration improves held-out "
                f"calibration: ship it as a stopgap and retrain when labels suffice{when}.",
            )
        else:
            v, rule = (
                RetrainVerdict.WAIT_FOR_LABELS,
                f"Material drift ({why}) but only {labelled} < K* = {kstar} new-world labels: "
                f"retraining now would fit mostly pre-drift labels; wait{when}.",
            )
        if by["scheduled"].fired and not enough:
            rule += " The scheduled retrain is due but is held back for the same reason."
    elif by["scheduled"].fired or by["fresh_labels"].fired:
        what = " and ".join(n for n in ("scheduled", "fresh_labels") if by[n].fired)
        v, rule = (
            RetrainVerdict.RETRAIN_NOW,
            f"No material drift; {what} trigger fired: retrain on schedule.",
        )
    else:
        v, rule = RetrainVerdict.NO_ACTION, "No material drift and no retraining trigger fired."
    R.append(Reason("decision", rule, passed=None, critical=True))
    return v, tuple(R)
