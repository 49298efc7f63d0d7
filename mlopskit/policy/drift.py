"""The ``drift`` section: :class:`DriftPolicy`."""

from __future__ import annotations

from dataclasses import dataclass

from mlopskit.policy.core import SECTIONS


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
    onset_alpha : probability of a false drift onset over ``onset_horizon`` windows (the
        CUSUM on the score's window PSI, STATISTICS.md §7.1). 0.02 so that false onsets and
        the retraining actions they trigger stay below 5% of no-drift worlds (measured).
    onset_horizon : windows the onset's error control covers (90 daily looks); longer
        series use their own length.
    onset_k : CUSUM allowance in reference SDs (0.5: tuned to a shift of one SD).
    onset_level : coverage of the onset interval (earliest, latest).
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
    onset_alpha: float = 0.02
    onset_horizon: int = 90
    onset_k: float = 0.5
    onset_level: float = 0.95
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
        for name in (
            "alpha",
            "band_alpha",
            "onset_alpha",
            "onset_level",
            "auc_drop_alpha",
            "ci_alpha",
            "top_k",
        ):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise ValueError(f"policy drift: `{name}` must be in (0, 1); got {v!r}.")
        if not 0 < self.tau_moderate < self.tau_significant:
            raise ValueError(
                "policy drift: need 0 < `tau_moderate` < `tau_significant`; got "
                f"{self.tau_moderate!r} and {self.tau_significant!r}."
            )
        if self.onset_horizon < 1 or self.onset_k < 0:
            raise ValueError(
                "policy drift: `onset_horizon` must be ≥ 1 and `onset_k` ≥ 0; got "
                f"{self.onset_horizon!r} and {self.onset_k!r}."
            )
        if self.bins < 2:
            raise ValueError(f"policy drift: `bins` must be ≥ 2; got {self.bins!r}.")


SECTIONS["drift"] = DriftPolicy
