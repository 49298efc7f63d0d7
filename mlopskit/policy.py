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


# ---- end shadow --------------------------------------------------------------------


# ---- canary (issue 6) --------------------------------------------------------------


# ---- end canary --------------------------------------------------------------------


# ---- monitoring (four layers) -------------------------------------------------------


# ---- end monitoring ----------------------------------------------------------------


# ---- registry / gates (issue 8) ----------------------------------------------------


# ---- end registry ------------------------------------------------------------------
