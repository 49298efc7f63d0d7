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


# ---- end drift ---------------------------------------------------------------------


# ---- labels / retraining (issue 4) -------------------------------------------------


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


# ---- end canary --------------------------------------------------------------------


# ---- monitoring (four layers) -------------------------------------------------------


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
    n_boot : bootstrap replicates for AUC standard errors (2000: Monte-Carlo error of the
        SE about 1.6%).
    boot_seed : seed of the bootstrap, so a CI run is reproducible bit for bit.
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
    n_boot: int = 2000
    boot_seed: int = 20260601
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
        if self.n_boot < 50:
            raise ValueError(f"registry.n_boot must be ≥ 50; got {self.n_boot!r}.")


SECTIONS["registry"] = RegistryPolicy


# ---- end registry ------------------------------------------------------------------
