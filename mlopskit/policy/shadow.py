"""The ``shadow`` section: :class:`ShadowPolicy`."""

from __future__ import annotations

from dataclasses import dataclass

from mlopskit.policy.core import SECTIONS


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
        the champion's, each at its own threshold (critical). Passes only when the whole 95%
        CI of the paired ratio lies inside, fails when it lies wholly outside (a straddling
        CI: CONTINUE_SHADOW). 0.8–1.25 (the bioequivalence band): a larger change moves the
        review team's workload by more than a quarter.
    recall_drop_max : recall loss (challenger − champion, each at its own threshold, on
        matured labels; absolute) that sends the verdict to FIX when the whole 95% paired CI
        lies beyond it (critical). 0.05 (5 pp): shadow screens for a clear loss; the canary
        tests non-inferiority with its own margins.
    jaccard_min : minimum overlap of the two flagged sets at the threshold (not critical: a
        better model is expected to flag different requests; below it a human should read
        the flip sample). 0.5.
    psi_max : challenger live-vs-offline PSI above which production does not look like the
        offline evaluation (critical; training–serving skew). 0.10 = "moderate shift"
        (STATISTICS.md §1).
    ks_d_max : challenger live-vs-offline KS statistic D above which the score distribution
        moved (critical). 0.05, the effect size STATISTICS.md §6 names.
    p99_latency_ratio_max : maximum challenger/champion p99 latency ratio, calls without an
        error flag (critical; timeouts count in the error rate). 1.5:
        half again the champion's tail latency eats the request budget.
    max_error_rate : budget for the challenger's error/timeout rate (critical; fails when
        the Wilson lower bound exceeds it). 0.005 (0.5%).
    max_missing_rate : budget for challenger scores missing without an error flag (lost
        calls, join gaps) (critical). Errored calls are counted by ``max_error_rate`` only:
        one cause, one failed check. 0.01.
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
    recall_drop_max: float = 0.05
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
            "recall_drop_max",
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
