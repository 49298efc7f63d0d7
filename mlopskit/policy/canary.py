"""The ``canary`` section: :class:`CanaryPolicy`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlopskit.policy.core import SECTIONS


@dataclass(frozen=True)
class CanaryPolicy:
    """Decision rules for canary vs control (STATISTICS.md §2–§3).

    Attributes
    ----------
    alpha : one-sided error rate of each decision (non-inferiority, harm), 0.025: a 95%
        two-sided interval read one side at a time, the regulatory convention for
        non-inferiority.
    srm_alpha : sample-ratio-mismatch alarm level, 0.001: strict, because at millions of
        units only a real assignment bug reaches it, and an SRM makes every other number
        meaningless. Decided on the sequential (mixture) test, so checking every day keeps
        the false-alarm probability over all looks ≤ srm_alpha; the same level applies to
        differential missingness of a metric's values.
    burn_in_min_events : events per arm (units with a non-zero outcome) before a metric is
        tested or its confidence sequence starts, 10: below that the normal approximation
        behind every interval here is not trustworthy.
    min_days : days since the first exposure before PROMOTE is allowed, 7: one full weekly
        cycle of traffic (weekday/weekend fraud mix) must be seen. ROLLBACK is never delayed.
    max_duration_days : days after which an inconclusive canary stops waiting and takes
        ``inconclusive_action``, 90; when an undecided gating metric is label-based, counted
        from when the first units' label windows elapsed (``+ W``): a window as long as the
        90-day horizon could otherwise never decide in time.
    planned_days : days at which the team expects to decide; tunes the confidence sequence
        to be tightest there (``N* = planned_days × units per day``), 28. Any value keeps
        the sequence valid; a close guess makes it narrower.
    inconclusive_action : ``"hold"`` (keep the canary, ask a human — what Argo Rollouts
        does) or ``"rollback"`` at the maximum duration.
    margin_not_excluded_action : taxonomy row 5 (statistically worse, margin not excluded):
        ``"rollback"`` (default, the conservative reading) or ``"hold"``.
    power : target power of the projected "days to a decision", 0.8.
    maturity_days : label window W (days) of label metrics that declare none
        (``Metric.window_days``) when ``canary_test`` gets no ``maturity_days``; ``None``
        (default): the labels' horizon, ``labels.horizon_days`` (90) — a window shorter than
        the horizon measures "labels within W days", which is biased when the arms' labels
        arrive at different speeds (missed frauds are reported later than caught ones).
        The result reports ``F̂(W)`` per arm and flags a biased window.
    label_bias_tolerance : a label metric's window is flagged as biased (not decided on,
        CONTINUE) when the bias from differential maturity exceeds this share of the margin
        on the analysis scale and the maturity ratio differs from 1 at ``alpha``, 0.1.
    margin_fraud_missed_rate : non-inferiority margin of the default primary metric, absolute
        (missed frauds per unit), 0.0005 = 5 more missed frauds per 10,000 units.
    margin_false_positive_rate : absolute margin on wrongly flagged units per unit, 0.002.
    margin_loss_per_dollar : relative margin on fraud loss per dollar, 0.10 (+10%).
    margin_latency_ms : absolute margin on mean latency, 5.0 ms.
    margin_error_rate : absolute margin on the error/timeout rate, 0.001.
    skewness_factor : mean and ratio metrics are decided only once the skewness of the
        estimated difference is at most ``1/sqrt(skewness_factor)`` (for a small canary:
        ``n_canary ≥ skewness_factor·γ̂²``, γ̂ the pooled sample skewness), 30. Kohavi et
        al.'s rule of thumb is 355 for a lone fixed-horizon mean; with the confidence
        sequence 30 keeps PROMOTE-at-the-margin and A/A false "superior" below α on
        lognormal σ ≤ 2 and zero-inflated losses at 1–5% canaries (tests/
        test_canary_heavy_tails.py), with 10 it does not.
    latency_timeout_ms : value of a latency missing because the call failed (``error = 1``)
        in the default latency metric, 250: the serving timeout.
    latency_cap_ms : declared cap of the default latency metric (``Mean(..., cap=)``):
        the test decides on ``mean(min(latency, cap))`` and the share above the cap is a
        companion guardrail; ``None`` (default): uncapped. Must be ≥ ``latency_timeout_ms``.
    cap_share_margin : non-inferiority margin of the share of values above a metric's cap
        (companion metric ``<name>_above_cap``) when the metric declares no ``cap_margin``,
        0.01: PROMOTE needs the share above the cap shown not to rise by more than one
        percentage point, so a canary that moves mass beyond the cap — invisible to the
        capped mean — is not promoted on it (tests/test_canary_capped.py measures it).
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
    maturity_days: float | None = None
    margin_fraud_missed_rate: float = 0.0005
    margin_false_positive_rate: float = 0.002
    margin_loss_per_dollar: float = 0.10
    margin_latency_ms: float = 5.0
    margin_error_rate: float = 0.001
    skewness_factor: float = 30.0
    latency_timeout_ms: float = 250.0
    label_bias_tolerance: float = 0.1
    latency_cap_ms: float | None = None
    cap_share_margin: float = 0.01

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
        cap = self.latency_cap_ms
        if cap is not None and (
            isinstance(cap, bool)
            or not isinstance(cap, float | int)
            or not math.isfinite(cap)
            or cap < self.latency_timeout_ms
        ):
            raise ValueError(
                "policy canary.latency_cap_ms must be null or a number ≥ latency_timeout_ms "
                f"({self.latency_timeout_ms!r}); got {cap!r}."
            )
        if not 0 < self.cap_share_margin < 1:
            raise ValueError(
                f"policy canary.cap_share_margin must be in (0, 1); got {self.cap_share_margin!r}."
            )
        for name in ("skewness_factor", "latency_timeout_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"policy canary.{name} must be > 0; got {getattr(self, name)!r}.")
        if self.maturity_days is not None and not (
            isinstance(self.maturity_days, float | int) and self.maturity_days > 0
        ):
            raise ValueError(
                f"policy canary.maturity_days must be > 0 or null (the labels' horizon); "
                f"got {self.maturity_days!r}."
            )
        if not self.label_bias_tolerance >= 0:
            raise ValueError(
                "policy canary.label_bias_tolerance must be ≥ 0; got "
                f"{self.label_bias_tolerance!r}."
            )
        for name in ("min_days", "max_duration_days", "planned_days"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"policy canary.{name} must be ≥ 0; got {getattr(self, name)!r}.")
        if not self.planned_days > 0:
            raise ValueError(f"policy canary.planned_days must be > 0; got {self.planned_days!r}.")
        for name in (
            "margin_fraud_missed_rate",
            "margin_false_positive_rate",
            "margin_loss_per_dollar",
            "margin_latency_ms",
            "margin_error_rate",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(
                    f"policy canary.{name} must be > 0 (a non-inferiority margin); got "
                    f"{getattr(self, name)!r}."
                )


SECTIONS["canary"] = CanaryPolicy
