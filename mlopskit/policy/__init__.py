"""Policy: thresholds, budgets, owners and decision rules, loaded from YAML.

``policies/default.yml`` documents every default; a team copies it and overrides what it
needs. Each analysis reads its own section through :meth:`Policy.section`, which builds the
section's frozen dataclass from the defaults below overridden by the YAML keys. An unknown
key is an error (a typo in a threshold must not silently fall back to the default).

Modules: ``core`` (:class:`Policy`, :func:`load_policy`, :func:`as_policy`, the section
registry), then one section dataclass per phase: ``drift``, ``labels``, ``shadow``, ``canary``,
``monitoring``, ``registry``. Everything is re-exported here
(``from mlopskit.policy import CanaryPolicy``).
"""

from __future__ import annotations

from mlopskit.policy.canary import CanaryPolicy
from mlopskit.policy.core import DEFAULT_POLICY_PATH, SECTIONS, Policy, as_policy, load_policy
from mlopskit.policy.drift import DriftPolicy
from mlopskit.policy.labels import LabelsPolicy
from mlopskit.policy.monitoring import MonitoringPolicy
from mlopskit.policy.registry import RegistryPolicy
from mlopskit.policy.shadow import ShadowPolicy

__all__ = [
    "DEFAULT_POLICY_PATH",
    "SECTIONS",
    "CanaryPolicy",
    "DriftPolicy",
    "LabelsPolicy",
    "MonitoringPolicy",
    "Policy",
    "RegistryPolicy",
    "ShadowPolicy",
    "as_policy",
    "load_policy",
]
