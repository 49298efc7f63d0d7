"""The ``registry`` section (gates): :class:`RegistryPolicy`."""

from __future__ import annotations

from dataclasses import dataclass

from mlopskit.policy.core import SECTIONS


@dataclass(frozen=True)
class RegistryPolicy:
    """Gates of the model registry and the CI helpers of ``mlopskit.registry.gates``.

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
