"""Input drift: which inputs moved? PSI tables that know their own noise.

* :func:`psi_table` / :func:`psi` / :func:`psi_over_time`: PSI per feature with its sampling
  noise (critical value, p-value, Benjamini–Hochberg across features) and a status
  ``stable | moderate | significant | insufficient_data`` (STATISTICS.md §1), against a
  :class:`ReferenceProfile` from :func:`profile` (or a reference frame profiled on the fly).

The drift API is gathered here: :func:`profile` (:mod:`mlopskit.drift.reference`),
:func:`output_drift` (the score's band, :mod:`mlopskit.drift.score_band`) and :func:`outcome_drift`
(AUC, calibration, lift on matured labels, :mod:`mlopskit.drift.outcome`) are re-exported.

Status rule. With ``c_α`` the critical value and ``p_BH`` the BH-adjusted p-value across the
features of one table: ``significant`` when ``PSI > τ_significant`` and ``p_BH < α``;
``moderate`` when ``PSI > τ_moderate`` and ``p_BH < α``; ``insufficient_data`` when the PSI
could not be computed or when ``c_α ≥ τ_moderate`` and the PSI was not flagged (the window is
too small to call stable); else ``stable``. For one feature ``p < α`` is ``PSI > c_α``, so
this is STATISTICS.md's ``PSI > max(c_α, τ)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlopskit.drift.psi import (
    STATUSES,
    FeaturePSI,
    PSITable,
    psi,
    psi_table,
)
from mlopskit.drift.reference import (
    PROFILE_VERSION,
    FeatureProfile,
    ReferenceProfile,
    drift_policy,
    profile,
)

if TYPE_CHECKING:
    from mlopskit.drift.outcome import (
        DROP_OUTCOMES,
        OutcomeDrift,
        WindowOutcome,
        outcome_drift,
    )
    from mlopskit.drift.over_time import (
        PSIOverTime,
        psi_over_time,
    )
    from mlopskit.drift.score_band import (
        OutputDrift,
        output_drift,
        quantile_edges_from,
    )

# outcome drift (scipy.stats), PSI over time and the score band load on first use: a PSI
# table from a stored profile does not pay for them (issue 15)
_LAZY = {
    "DROP_OUTCOMES": "outcome",
    "OutcomeDrift": "outcome",
    "WindowOutcome": "outcome",
    "outcome_drift": "outcome",
    "PSIOverTime": "over_time",
    "psi_over_time": "over_time",
    "OutputDrift": "score_band",
    "output_drift": "score_band",
    "quantile_edges_from": "score_band",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DROP_OUTCOMES",
    "PROFILE_VERSION",
    "STATUSES",
    "FeaturePSI",
    "FeatureProfile",
    "OutcomeDrift",
    "OutputDrift",
    "PSIOverTime",
    "PSITable",
    "ReferenceProfile",
    "WindowOutcome",
    "drift_policy",
    "outcome_drift",
    "output_drift",
    "profile",
    "psi",
    "psi_over_time",
    "psi_table",
    "quantile_edges_from",
]
