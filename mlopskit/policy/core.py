"""The policy file: :class:`Policy`, :func:`load_policy`, :func:`as_policy` and the section
registry :data:`SECTIONS` the per-phase modules fill.
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

#: ``<repo>/policies/default.yml`` (this file is ``<repo>/mlopskit/policy/core.py``).
DEFAULT_POLICY_PATH = Path(__file__).resolve().parents[2] / "policies" / "default.yml"


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


# Section dataclasses live beside this module, one per phase (drift.py, labels.py, ...); each
# registers itself here. Defaults must equal policies/default.yml (tests/test_policy.py checks
# this for every registered section).

#: section name → dataclass, filled by the section modules (imported by the package).
SECTIONS: dict[str, type] = {}
