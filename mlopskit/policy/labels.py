"""The ``labels`` section (label maturity, retraining): :class:`LabelsPolicy`."""

from __future__ import annotations

from dataclasses import dataclass

from mlopskit.policy.core import SECTIONS

_CADENCES = ("none", "weekly", "monthly", "quarterly")
_STOPGAP_METHODS = ("intercept", "platt")


@dataclass(frozen=True)
class LabelsPolicy:
    """Label maturity and the retraining decision (``mlopskit.labels``; STATISTICS.md §4).

    Attributes
    ----------
    horizon_days : days after the event by which a label counts as eventual (90: card
        chargeback windows are ~60–120 days; later labels are outside the triangle).
    cohort : cohort width of the triangle, ``"1D"`` or ``"7D"`` (daily cohorts give the
        most ages; weekly ones are steadier at low volume).
    min_maturity : eventual-rate (and AUC) estimates are suppressed below this maturity
        F̂ (0.3, STATISTICS.md §4: dividing by a small uncertain F̂ is not publishable).
    alpha : two-sided level of confidence intervals (0.05) and of the calibration-shift
        significance check.
    k_star : labelled post-drift positives needed to retrain; ``null`` derives it from the
        AUC precision target below (Hanley–McNeil; ~660 at the defaults).
    k_star_auc : AUC assumed when deriving K* (0.9, a typical fraud model).
    k_star_auc_drop : AUC drop the retrained model's evaluation must detect (0.02, the
        outcome-drift trigger).
    k_star_power : power to detect that drop, one-sided α = 0.05 (0.8, convention).
    forecast_probability : the forecast date is the first day with
        P(labelled count ≥ K*) ≥ this (0.9: a date you can plan a retrain on).
    max_forecast_days : how far ahead the forecast looks (365 days).
    future_volume_days : the future daily volume is the mean of the last this-many complete
        days (7: one weekly cycle).
    min_positives_for_rate : below this many labelled post-drift positives, the eventual
        positive rate of the post-drift events is taken from the pre-drift cohorts (30).
    calibration_min_maturity : events whose age has maturity F̂ ≥ this count as matured
        labels for the calibration check and the stopgap (0.5: half the eventual labels
        known; the remaining immaturity is corrected by using p·F̂(age) as the expected
        label probability, a correction that leans more on "arrival speed does not depend
        on the score" the lower this is; 0.7+ to be conservative when arrival bias is found).
    calibration_min_positives : matured positives needed to check calibration (50: the
        calibration-in-the-large then has SE ≈ 0.14 on the logit scale).
    calibration_citl_threshold : |calibration-in-the-large| (logit scale) that counts as a
        shift (0.2 ≈ 22% over- or under-prediction of the fraud rate); flagged only when the
        ``1 − alpha`` interval lies entirely beyond it (a material shift, with confidence).
    calibration_slope_threshold : |calibration slope − 1| that counts as a shift (0.2), same
        rule.
    calibration_window_days : without a drift onset or last training date, calibration is
        checked on the last this-many days (30).
    stopgap_method : recalibration shipped as a stopgap, ``"intercept"`` (shift of the
        logit; one parameter, robust with few labels) or ``"platt"`` (slope and intercept).
    stopgap_holdout_share : share of the matured positives, the most recent ones, held out
        to measure the stopgap's effect (0.3: a time split).
    arrival_groups : score quantile groups (of the labelled positives) whose arrival speeds
        are compared (5; 10 for deciles when positives are plentiful).
    arrival_age_short, arrival_age_long : ages (days) at which the share of labels already
        known is compared between the top and bottom score groups (7 and 14).
    arrival_reference_maturity : cohorts count as mature for the arrival comparison once
        observed to the age where F̂ reaches this (0.95).
    arrival_min_diff : difference in known share (top − bottom) that matters (0.05).
    arrival_alpha : Holm-adjusted significance for the arrival-speed difference (0.01).
    cadence : scheduled retraining cadence from the last training run, ``none`` /
        ``weekly`` (adversarial fraud) / ``monthly`` / ``quarterly`` (stable domains).
    psi_threshold : PSI above which an input feature has drifted significantly (0.25).
    psi_min_importance : share of the model's total |feature importance| a feature needs
        for its drift to count as a trigger (0.05).
    auc_drop_threshold : confirmed AUC drop that triggers retraining (0.02).
    fresh_label_share : fresh labelled positives since the last training run, as a share
        of the positives it was trained on, that trigger retraining (0.2).
    """

    horizon_days: int = 90
    cohort: str = "1D"
    min_maturity: float = 0.3
    alpha: float = 0.05
    k_star: int | None = None
    k_star_auc: float = 0.9
    k_star_auc_drop: float = 0.02
    k_star_power: float = 0.8
    forecast_probability: float = 0.9
    max_forecast_days: int = 365
    future_volume_days: int = 7
    min_positives_for_rate: int = 30
    calibration_min_maturity: float = 0.5
    calibration_min_positives: int = 50
    calibration_citl_threshold: float = 0.2
    calibration_slope_threshold: float = 0.2
    calibration_window_days: int = 30
    stopgap_method: str = "intercept"
    stopgap_holdout_share: float = 0.3
    arrival_groups: int = 5
    arrival_age_short: int = 7
    arrival_age_long: int = 14
    arrival_reference_maturity: float = 0.95
    arrival_min_diff: float = 0.05
    arrival_alpha: float = 0.01
    cadence: str = "monthly"
    psi_threshold: float = 0.25
    psi_min_importance: float = 0.05
    auc_drop_threshold: float = 0.02
    fresh_label_share: float = 0.2

    def __post_init__(self) -> None:
        where = "policy section `labels`"
        if self.cadence not in _CADENCES:
            raise ValueError(
                f"{where}: `cadence` must be one of {_CADENCES}; got {self.cadence!r}."
            )
        if self.stopgap_method not in _STOPGAP_METHODS:
            raise ValueError(
                f"{where}: `stopgap_method` must be one of {_STOPGAP_METHODS}; "
                f"got {self.stopgap_method!r}."
            )
        if self.cohort not in ("1D", "7D"):
            raise ValueError(f"{where}: `cohort` must be '1D' or '7D'; got {self.cohort!r}.")
        for name in (
            "min_maturity",
            "alpha",
            "k_star_power",
            "forecast_probability",
            "calibration_min_maturity",
            "stopgap_holdout_share",
            "arrival_reference_maturity",
            "arrival_alpha",
            "fresh_label_share",
        ):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0 < v < 1):
                raise ValueError(f"{where}: `{name}` must be in (0, 1); got {v!r}.")
        for name in ("horizon_days", "max_forecast_days", "future_volume_days", "arrival_groups"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 2):
                raise ValueError(f"{where}: `{name}` must be an integer ≥ 2; got {v!r}.")
        if self.k_star is not None and not (isinstance(self.k_star, int) and self.k_star >= 1):
            raise ValueError(
                f"{where}: `k_star` must be null or an integer ≥ 1; got {self.k_star!r}."
            )
        if not 0 < self.arrival_age_short < self.arrival_age_long:
            raise ValueError(
                f"{where}: need 0 < `arrival_age_short` < `arrival_age_long`; got "
                f"{self.arrival_age_short!r}, {self.arrival_age_long!r}."
            )


SECTIONS["labels"] = LabelsPolicy
