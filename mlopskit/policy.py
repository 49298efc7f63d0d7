"""Policy: thresholds, budgets, owners and decision rules, loaded from YAML.

``policies/default.yml`` documents every default; a team copies it and overrides what it
needs. Each analysis reads its own section through :meth:`Policy.section`, which builds the
section's frozen dataclass from the defaults below overridden by the YAML keys. An unknown
key is an error (a typo in a threshold must not silently fall back to the default).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent.parent / "policies" / "default.yml"


@dataclass(frozen=True)
class Policy:
    """A loaded policy file.

    Attributes
    ----------
    raw : the parsed YAML mapping (section name → mapping).
    path : where it came from (``None`` for built-in defaults).
    sha256 : hash of the file's bytes, recorded in report provenance.
    """

    raw: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None
    sha256: str | None = None

    def section(self, name: str, cls: type[T]) -> T:
        """Build the dataclass ``cls`` from defaults overridden by YAML section ``name``."""
        values = self.raw.get(name) or {}
        if not isinstance(values, Mapping):
            raise ValueError(
                f"policy {self.path or '<defaults>'}: section `{name}` must be a mapping; "
                f"got {type(values).__name__}."
            )
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"policy {self.path or '<defaults>'}: section `{name}` has unknown keys "
                f"{unknown}; known keys are {sorted(known)}."
            )
        return cls(**values)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy YAML file (default: ``policies/default.yml`` of this checkout).

    Falls back to the dataclass defaults when no path is given and the default file is not
    present (an installed package without the repository).
    """
    if path is None:
        if not DEFAULT_POLICY_PATH.exists():
            return Policy()
        path = DEFAULT_POLICY_PATH
    p = Path(path)
    if not p.exists():
        raise ValueError(f"policy file `{p}` does not exist.")
    data = p.read_bytes()
    raw = yaml.safe_load(data) or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"policy file `{p}` must contain a mapping at top level.")
    return Policy(raw=raw, path=str(p), sha256=hashlib.sha256(data).hexdigest())


def as_policy(policy: Policy | str | Path | None) -> Policy:
    """Accept a ``Policy``, a path, or ``None`` (defaults)."""
    if isinstance(policy, Policy):
        return policy
    return load_policy(policy)


# ======================================================================================
# Section dataclasses. Each analysis module owns one; defaults must equal policies/default.yml
# (tests/test_policy.py checks this for every registered section).
# ======================================================================================

#: section name → dataclass, filled by the sections below.
SECTIONS: dict[str, type] = {}


# ---- drift (issue 3) ---------------------------------------------------------------
@dataclass(frozen=True)
class DriftPolicy:
    """Drift monitoring (``mlopskit.drift``; STATISTICS.md §1 and §5).

    Attributes
    ----------
    bins : number of reference-quantile bins per numeric feature and for the score (B).
        10 deciles is the industry convention PSI thresholds were calibrated on.
    tau_moderate : PSI above which a shift is ``moderate`` (0.10; the usual rule of thumb:
        below 0.1 "no material change").
    tau_significant : PSI above which a shift is ``significant`` (0.25; "major shift").
    alpha : level of the PSI sampling-noise test (critical value ``c_α``, p-values, BH across
        features). 0.05: a shift must also be larger than 95% of no-drift PSIs.
    min_expected_per_bin : bins are merged until the smaller sample expects at least this
        many rows per bin (5: the usual validity condition of the χ² approximation).
    smoothing : additive smoothing ``s`` of bin shares, ``(count + s)/(n + s·B)``. 0.5
        (Jeffreys); a fixed floor such as 1e-4 inflates false alarms on sparse bins.
    max_categories : categories kept per categorical feature (most frequent in the
        reference); rarer ones count in ``__other__``. 50 keeps tables readable.
    top_bins : number of bins listed as the largest contributors of each feature's PSI.
    window : time window of ``psi_over_time`` and ``output_drift`` (pandas-style: 1D, 12h, 7D).
        One day matches a daily monitoring job.
    band_alpha : per-window level of the output-drift band. 0.01 because a band is looked at
        every window (120 daily looks at 0.05 would raise ~6 false alarms).
    outcome_window : time window of ``outcome_drift``. 7D: a day of fraud labels holds too
        few positives for a useful AUC.
    label_age_days : common label age (days) for outcome drift: a positive counts only when
        ``label_ts ≤ ts + age``, and only events with ``ts + age ≤ as_of`` are used. 30 days
        covers ~80% of chargebacks when delays are Gamma(2, 10 days).
    auc_drop_tolerance : the AUC drop that matters (0.02, the usual retraining trigger).
    auc_drop_alpha : one-sided level of the "AUC dropped by more than the tolerance" test.
    ci_alpha : two-sided level of the intervals shown (AUC, O/E, top-k metrics): 95%.
    ece_bins : equal-mass bins of the expected calibration error (10).
    ece_n_sim : simulations of the ECE under perfect calibration (its reference). 200 gives
        the mean to ~1% and a usable 95th percentile.
    top_k : share of rows flagged for precision / capture / lift (0.01: fraud queues review
        about the top 1% of scores).
    n_bootstrap : bootstrap replicates for top-k intervals when the cutoff is the window's
        own quantile (500: percentile intervals stable to ~0.5 percentage points).
    seed : seed of every simulation and bootstrap (results are reproducible).
    min_positives : below this many matured positives in a window its AUC and calibration
        carry a warning (10: DeLong's normal approximation is poor below it).
    """

    bins: int = 10
    tau_moderate: float = 0.10
    tau_significant: float = 0.25
    alpha: float = 0.05
    min_expected_per_bin: float = 5.0
    smoothing: float = 0.5
    max_categories: int = 50
    top_bins: int = 3
    window: str = "1D"
    band_alpha: float = 0.01
    outcome_window: str = "7D"
    label_age_days: float = 30.0
    auc_drop_tolerance: float = 0.02
    auc_drop_alpha: float = 0.05
    ci_alpha: float = 0.05
    ece_bins: int = 10
    ece_n_sim: int = 200
    top_k: float = 0.01
    n_bootstrap: int = 500
    seed: int = 0
    min_positives: int = 10

    def __post_init__(self) -> None:
        for name in ("alpha", "band_alpha", "auc_drop_alpha", "ci_alpha", "top_k"):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise ValueError(f"policy drift: `{name}` must be in (0, 1); got {v!r}.")
        if not 0 < self.tau_moderate < self.tau_significant:
            raise ValueError(
                "policy drift: need 0 < `tau_moderate` < `tau_significant`; got "
                f"{self.tau_moderate!r} and {self.tau_significant!r}."
            )
        if self.bins < 2:
            raise ValueError(f"policy drift: `bins` must be ≥ 2; got {self.bins!r}.")


SECTIONS["drift"] = DriftPolicy
# ---- end drift ---------------------------------------------------------------------


# ---- labels / retraining (issue 4) -------------------------------------------------
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
        shift (0.2 ≈ 22% over- or under-prediction of the fraud rate).
    calibration_slope_threshold : |calibration slope − 1| that counts as a shift (0.2).
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


# ---- end labels --------------------------------------------------------------------


# ---- shadow (issue 5) --------------------------------------------------------------
@dataclass(frozen=True)
class ShadowPolicy:
    """Budgets and tolerances of the shadow phase (``shadow_profile``).

    Checks marked *critical* send the verdict to ``FIX`` when they fail; the evidence checks
    (duration, volume) send it to ``CONTINUE_SHADOW``; ``jaccard_min`` and the recommended
    duration only add a failed reason and a warning.

    Attributes
    ----------
    alpha : level of every interval and test (Wilson CIs, κ CI, BH across segments, PSI and
        KS critical values). 0.05, the convention.
    flag_rate_ratio_min, flag_rate_ratio_max : tolerance for the challenger's flag rate over
        the champion's at the shared threshold (critical). Fails only when the whole 95% CI
        of the paired ratio lies outside. 0.8–1.25 (the bioequivalence band): a larger
        change moves the review team's workload by more than a quarter.
    jaccard_min : minimum overlap of the two flagged sets at the threshold (not critical: a
        better model is expected to flag different requests; below it a human should read
        the flip sample). 0.5.
    psi_max : challenger live-vs-offline PSI above which production does not look like the
        offline evaluation (critical; training–serving skew). 0.10 = "moderate shift"
        (STATISTICS.md §1).
    ks_d_max : challenger live-vs-offline KS statistic D above which the score distribution
        moved (critical). 0.05, the effect size STATISTICS.md §6 names.
    p99_latency_ratio_max : maximum challenger/champion p99 latency ratio (critical). 1.5:
        half again the champion's tail latency eats the request budget.
    max_error_rate : budget for the challenger's error/timeout rate (critical; fails when
        the Wilson lower bound exceeds it). 0.005 (0.5%).
    max_missing_rate : budget for challenger scores missing for any reason (errors, lost
        calls, join gaps) (critical). 0.01.
    min_duration_days : calendar days of shadow below which the verdict is
        CONTINUE_SHADOW. 7: one full weekly cycle.
    recommended_duration_days : below this a warning is added. 14: two weekly cycles.
    min_requests : scored requests below which the verdict is CONTINUE_SHADOW. 10,000.
    min_flagged : champion-flagged requests below which the verdict is CONTINUE_SHADOW
        (the 2×2 table and the flag-rate ratio need them). 100.
    min_segment_n : segment values with fewer scored pairs are suppressed. 500.
    flips_per_segment : disagreements kept per segment value for manual review. 5.
    label_maturity_days : rows older than this (before ``as_of``) count as labelled for
        precision/recall. 60: ≥ 98% of chargebacks arrive within 60 days for a Gamma(2, 10 d)
        delay (STATISTICS.md §4).
    """

    alpha: float = 0.05
    flag_rate_ratio_min: float = 0.8
    flag_rate_ratio_max: float = 1.25
    jaccard_min: float = 0.5
    psi_max: float = 0.1
    ks_d_max: float = 0.05
    p99_latency_ratio_max: float = 1.5
    max_error_rate: float = 0.005
    max_missing_rate: float = 0.01
    min_duration_days: int = 7
    recommended_duration_days: int = 14
    min_requests: int = 10_000
    min_flagged: int = 100
    min_segment_n: int = 500
    flips_per_segment: int = 5
    label_maturity_days: int = 60

    def __post_init__(self) -> None:
        for name in (
            "alpha",
            "jaccard_min",
            "psi_max",
            "ks_d_max",
            "max_error_rate",
            "max_missing_rate",
        ):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0 < v < 1):
                raise ValueError(f"policy section `shadow`: `{name}` must be in (0, 1); got {v!r}.")
        if not 0 < self.flag_rate_ratio_min < 1 < self.flag_rate_ratio_max:
            raise ValueError(
                "policy section `shadow`: need 0 < `flag_rate_ratio_min` < 1 < "
                f"`flag_rate_ratio_max`; got {self.flag_rate_ratio_min!r}, "
                f"{self.flag_rate_ratio_max!r}."
            )
        if not self.p99_latency_ratio_max > 1:
            raise ValueError(
                "policy section `shadow`: `p99_latency_ratio_max` must be > 1; got "
                f"{self.p99_latency_ratio_max!r}."
            )
        for name in (
            "min_duration_days",
            "recommended_duration_days",
            "min_requests",
            "min_flagged",
            "min_segment_n",
            "flips_per_segment",
            "label_maturity_days",
        ):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                raise ValueError(
                    f"policy section `shadow`: `{name}` must be an integer ≥ 1; got {v!r}."
                )


SECTIONS["shadow"] = ShadowPolicy


# ---- end shadow --------------------------------------------------------------------


# ---- canary (issue 6) --------------------------------------------------------------
@dataclass(frozen=True)
class CanaryPolicy:
    """Decision rules for canary vs control (STATISTICS.md §2–§3).

    Attributes
    ----------
    alpha : one-sided error rate of each decision (non-inferiority, harm), 0.025: a 95%
        two-sided interval read one side at a time, the regulatory convention for
        non-inferiority.
    srm_alpha : sample-ratio-mismatch alarm level of the chi-square test, 0.001: strict,
        because at millions of units only a real assignment bug reaches it, and an SRM
        makes every other number meaningless.
    burn_in_min_events : events per arm (units with a non-zero outcome) before a metric is
        tested or its confidence sequence starts, 10: below that the normal approximation
        behind every interval here is not trustworthy.
    min_days : days since the first exposure before PROMOTE is allowed, 7: one full weekly
        cycle of traffic (weekday/weekend fraud mix) must be seen. ROLLBACK is never delayed.
    max_duration_days : days after which an inconclusive canary stops waiting and takes
        ``inconclusive_action``, 90: a 28-day exposure, the 30-day label window of its last
        units, and a month of slack.
    planned_days : days at which the team expects to decide; tunes the confidence sequence
        to be tightest there (``N* = planned_days × units per day``), 28. Any value keeps
        the sequence valid; a close guess makes it narrower.
    inconclusive_action : ``"hold"`` (keep the canary, ask a human — what Argo Rollouts
        does) or ``"rollback"`` at the maximum duration.
    margin_not_excluded_action : taxonomy row 5 (statistically worse, margin not excluded):
        ``"rollback"`` (default, the conservative reading) or ``"hold"``.
    power : target power of the projected "days to a decision", 0.8.
    maturity_days : label window in days used by ``canary_test`` when none is given, 30:
        about 80% of chargebacks arrive within 30 days under the demo's Gamma(2, 10 d) delays.
    margin_fraud_missed_rate : non-inferiority margin of the default primary metric, absolute
        (missed frauds per unit), 0.0005 = 5 more missed frauds per 10,000 units.
    margin_false_positive_rate : absolute margin on wrongly flagged units per unit, 0.002.
    margin_loss_per_dollar : relative margin on fraud loss per dollar, 0.10 (+10%).
    margin_latency_ms : absolute margin on mean latency, 5.0 ms.
    margin_error_rate : absolute margin on the error/timeout rate, 0.001.
    """

    alpha: float = 0.025
    srm_alpha: float = 0.001
    burn_in_min_events: int = 10
    min_days: float = 7.0
    max_duration_days: float = 90.0
    planned_days: float = 28.0
    inconclusive_action: str = "hold"
    margin_not_excluded_action: str = "rollback"
    power: float = 0.8
    maturity_days: float = 30.0
    margin_fraud_missed_rate: float = 0.0005
    margin_false_positive_rate: float = 0.002
    margin_loss_per_dollar: float = 0.10
    margin_latency_ms: float = 5.0
    margin_error_rate: float = 0.001

    def __post_init__(self) -> None:
        for name in ("alpha", "srm_alpha", "power"):
            v = getattr(self, name)
            if not (isinstance(v, float | int) and 0 < v < 1):
                raise ValueError(f"policy canary.{name} must be in (0, 1); got {v!r}.")
        if self.alpha >= 0.5:
            raise ValueError(f"policy canary.alpha must be < 0.5; got {self.alpha!r}.")
        for name, allowed in (
            ("inconclusive_action", ("hold", "rollback")),
            ("margin_not_excluded_action", ("hold", "rollback")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"policy canary.{name} must be one of {allowed}; got {getattr(self, name)!r}."
                )
        for name in ("min_days", "max_duration_days", "planned_days", "maturity_days"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"policy canary.{name} must be ≥ 0; got {getattr(self, name)!r}.")
        if not self.planned_days > 0:
            raise ValueError(f"policy canary.planned_days must be > 0; got {self.planned_days!r}.")


SECTIONS["canary"] = CanaryPolicy
# ---- end canary --------------------------------------------------------------------


# ---- monitoring (four layers) -------------------------------------------------------
_SEVERITIES = ("OK", "WATCH", "ALERT", "PAGE")


@dataclass(frozen=True)
class MonitoringPolicy:
    """The four monitoring layers (``mlopskit.monitoring``): owner, thresholds, severity, runbook.

    Severities are ``OK < WATCH < ALERT < PAGE``. Paging is reserved for outcome regressions
    and service health (a 3 AM page must be worth it); input drift never pages (a non-paging
    alert investigated next business day), output drift pages only if a team sets
    ``output_severe_severity: PAGE``.

    Attributes
    ----------
    service_owner, input_owner, output_owner, outcome_owner : who acts on each layer.
    service_runbook, input_runbook, output_runbook, outcome_runbook : what the on-call does.
    service_window : window of the latest service-health look (1h: an outage must page
        within the hour).
    latency_p99_watch_ms, latency_p99_page_ms : p99 latency (ms) at which service health is
        WATCH / PAGE (200 ms watch, 500 ms page: a typical real-time scoring SLO).
    error_rate_watch, error_rate_page : share of failed requests at WATCH / PAGE (0.5% / 2%).
    throughput_drop_page : PAGE when the latest window's request rate falls below this share
        of the baseline rate (0.5: half the traffic missing is an outage upstream).
    input_moderate_severity, input_significant_severity : severity of the worst feature's PSI
        status (WATCH / ALERT). Never PAGE.
    output_out_of_band_severity : latest score window outside its band but PSI below
        ``tau_moderate`` of the drift policy (WATCH).
    output_moderate_severity : outside the band with PSI ≥ ``tau_moderate`` (ALERT).
    output_severe_psi, output_severe_severity : outside the band with PSI ≥ this value
        (0.25) → this severity (ALERT by default; set PAGE to page on severe output drift).
    outcome_auc_drop_severity : "AUC dropped by more than the tolerance" confirmed (PAGE).
    outcome_auc_inconclusive_severity : inconclusive with the point estimate beyond the
        tolerance (WATCH: wait for labels).
    outcome_oe_low, outcome_oe_high : calibration band for the O/E ratio (0.8 – 1.25,
        symmetric on the log scale).
    outcome_calibration_severity : the O/E interval lies entirely outside the band (ALERT:
        a recalibration is a next-business-day fix, not a page).
    """

    service_owner: str = "ml-platform on-call"
    service_runbook: str = (
        "Check the scoring service dashboard (latency, errors, pods). If the new model "
        "version was deployed in the last 24 h, roll back to the archived Production "
        "version in the registry; otherwise escalate to the platform on-call."
    )
    service_window: str = "1h"
    latency_p99_watch_ms: float = 200.0
    latency_p99_page_ms: float = 500.0
    error_rate_watch: float = 0.005
    error_rate_page: float = 0.02
    throughput_drop_page: float = 0.5
    input_owner: str = "fraud data science"
    input_runbook: str = (
        "Non-paging. Next business day: open the PSI table, check the top bins of each "
        "flagged feature, rule out a pipeline change (missing bin, new categories, units), "
        "then decide with the outcome layer whether retraining is needed."
    )
    input_moderate_severity: str = "WATCH"
    input_significant_severity: str = "ALERT"
    output_owner: str = "fraud data science"
    output_runbook: str = (
        "Compare the score histogram with the reference band; check input drift for the "
        "cause and the flag rate for operational impact. If severe and the model changed "
        "recently, revert to the previous version; file a follow-up for the next business day."
    )
    output_out_of_band_severity: str = "WATCH"
    output_moderate_severity: str = "ALERT"
    output_severe_psi: float = 0.25
    output_severe_severity: str = "ALERT"
    outcome_owner: str = "fraud data science (model owner)"
    outcome_runbook: str = (
        "Confirm the drop on matured labels only; compare with the challenger or the archived "
        "version on the same window; if the regression is confirmed, revert or retrain once "
        "enough post-drift labels have matured (mlopskit.labels)."
    )
    outcome_auc_drop_severity: str = "PAGE"
    outcome_auc_inconclusive_severity: str = "WATCH"
    outcome_oe_low: float = 0.8
    outcome_oe_high: float = 1.25
    outcome_calibration_severity: str = "ALERT"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name.endswith("_severity"):
                v = getattr(self, f.name)
                if v not in _SEVERITIES:
                    raise ValueError(
                        f"policy monitoring: `{f.name}` must be one of {list(_SEVERITIES)}; "
                        f"got {v!r}."
                    )
        for name in ("input_moderate_severity", "input_significant_severity"):
            if getattr(self, name) == "PAGE":
                raise ValueError(
                    f"policy monitoring: `{name}` must not be PAGE; input drift is non-paging "
                    "by design (investigate next business day)."
                )
        if not 0 < self.outcome_oe_low < 1 < self.outcome_oe_high:
            raise ValueError(
                "policy monitoring: need 0 < `outcome_oe_low` < 1 < `outcome_oe_high`; got "
                f"{self.outcome_oe_low!r} and {self.outcome_oe_high!r}."
            )


SECTIONS["monitoring"] = MonitoringPolicy
# ---- end monitoring ----------------------------------------------------------------


# ---- registry / gates (issue 8) ----------------------------------------------------
@dataclass(frozen=True)
class RegistryPolicy:
    """Gates of the model registry and the CI helpers of ``mlopskit.gates``.

    Attributes
    ----------
    gate_alpha : one-sided level of every CI-aware comparison in the model-quality gate
        (bounds are ``estimate ∓ z_{1−α}·SE``). 0.05: a CI gate runs on every model PR, and
        a 5% one-sided error is the usual engineering trade-off between false alarms and
        missed regressions (tighter than the canary's 0.025 is not needed: the canary and
        the report still stand between a PR and Production).
    auc_margin : non-inferiority margin (AUC points) of a candidate vs the Production model
        on the frozen test set: pass iff ``ΔAUC − z·SE > −auc_margin``. 0.01: a drop under one
        AUC point is below what the canary can detect; the monitoring trigger is 0.02.
    min_positives : a quality gate on fewer labelled positives than this fails as
        "cannot judge" (AUC's SE is dominated by the positives; 100 positives at AUC 0.9
        give SE ≈ 0.02 by Hanley–McNeil, already twice the margin).
    parity_atol : absolute tolerance of the feature-parity gate (|recomputed − training| ≤
        atol + rtol·|training|); 1e-9 allows float32/float64 round-off only.
    parity_rtol : relative tolerance of the feature-parity gate (1e-6: float round-off of
        recomputed aggregates, not a real difference).
    smoke_sample_size : recorded requests the staging smoke test scores one by one (200:
        enough for a p99 latency from ~2 observations above it, fast in CI).
    smoke_max_error_rate : share of smoke requests allowed to error (0: any error on a fixed
        recorded sample is a bug, not noise).
    smoke_latency_p99_ms : p99 per-request scoring latency budget (ms) of the smoke test,
        in-process, without network (50 ms: a fraud decision budget is ~100 ms end to end).
    smoke_parity_atol : largest |online score − recorded offline score| on the smoke sample
        (1e-9: the same artifact on the same features must reproduce its offline scores).
    """

    gate_alpha: float = 0.05
    auc_margin: float = 0.01
    min_positives: int = 100
    parity_atol: float = 1e-9
    parity_rtol: float = 1e-6
    smoke_sample_size: int = 200
    smoke_max_error_rate: float = 0.0
    smoke_latency_p99_ms: float = 50.0
    smoke_parity_atol: float = 1e-9

    def __post_init__(self) -> None:
        if not 0 < self.gate_alpha < 0.5:
            raise ValueError(f"registry.gate_alpha must be in (0, 0.5); got {self.gate_alpha!r}.")
        for name in (
            "auc_margin",
            "parity_atol",
            "parity_rtol",
            "smoke_latency_p99_ms",
            "smoke_parity_atol",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"registry.{name} must be ≥ 0; got {getattr(self, name)!r}.")
        if not 0 <= self.smoke_max_error_rate <= 1:
            raise ValueError(
                f"registry.smoke_max_error_rate must be in [0, 1]; got {self.smoke_max_error_rate!r}."
            )
        for name in ("min_positives", "smoke_sample_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"registry.{name} must be ≥ 1; got {getattr(self, name)!r}.")


SECTIONS["registry"] = RegistryPolicy


# ---- end registry ------------------------------------------------------------------
