"""The retraining assessment and its decision rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlopskit._display import nan_safe_eq, short_repr, table_html, verdict_html, warnings_html
from mlopskit.labels.calibration import CalibrationCheck, calib_text
from mlopskit.labels.maturity import LabelMaturity
from mlopskit.labels.triggers import Trigger
from mlopskit.policy import LabelsPolicy
from mlopskit.rows import RowCounts
from mlopskit.stats.maturity import (
    CountForecast,
)
from mlopskit.verdict import Reason, RetrainVerdict


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
    maturity : the label maturity the forecast is based on (``row_counts``: its events).
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
    __eq__ = nan_safe_eq

    @property
    def row_counts(self) -> RowCounts | None:
        """The events of :attr:`maturity` (read, used, left out), with the new-world window's
        share: events before ``window_start`` count for maturity, not for ``labelled_now``."""
        rc = self.maturity.row_counts
        if rc is None or self.window_start is None or not 0 <= self.window_events <= rc.used:
            return rc
        label = f"window since {self.window_start}"
        window = RowCounts.of(
            rc.used, {"before the window": rc.used - self.window_events}, unit=rc.unit
        )
        return RowCounts(rc.read, rc.used, rc.dropped, ((label, window),), rc.unit)

    def summary(self) -> str:
        lines = [f"Retraining assessment as of {self.as_of}: {self.verdict}"]
        if self.row_counts is not None:
            lines.append(f"rows: {self.row_counts.summary()}")
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
                f"Drift onset {onset}"
                + ("" if drift_material else " (marked not material)")
                + (
                    f"; new-world labels are counted from the onset interval's late end "
                    f"{window_start}"
                    if window_start is not None and window_start != onset
                    else ""
                )
                + ".",
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
        drifted = onset is not None and drift_material
        if drifted:
            why = "Material drift (drift onset)"
        elif fired_monitors == ["calibration_shift"]:
            why = "No drift onset; a calibration finding (calibration_shift), not drift,"
        else:
            why = f"No drift onset detected, but monitoring triggers fired ({', '.join(fired_monitors)})"
        if enough:
            v, rule = (
                RetrainVerdict.RETRAIN_NOW,
                f"{why} and {labelled} ≥ K* = {kstar} new-world labels: retrain now.",
            )
        elif calib is not None and calib.shifted and calib.validated:
            v, rule = (
                RetrainVerdict.RECALIBRATE_STOPGAP,
                f"{why} but only {labelled} < K* = {kstar} new-world labels; "
                f"calibration has shifted and the {calib.method} recalibration improves held-out "
                f"calibration: ship it as a stopgap and retrain when labels suffice{when}.",
            )
        else:
            v, rule = (
                RetrainVerdict.WAIT_FOR_LABELS,
                f"{why} but only {labelled} < K* = {kstar} new-world labels: "
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
