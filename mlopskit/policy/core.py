"""The policy file: :class:`Policy`, :func:`load_policy`, :func:`parse_policy`,
:func:`as_policy` and the section registry :data:`SECTIONS` the per-phase modules fill.

A policy is validated when it is loaded: an unknown (misspelled) section or key, a value of
the wrong type (text for a number, NaN), or a value a section rejects is a ``ValueError``
naming the file, the section and the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
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
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(
                f"policy {self.path or '<defaults>'}: section `{name}` has unknown keys "
                f"{unknown}; known keys are {sorted(fields)}."
            )
        for key, value in values.items():
            _check_type(self.path, name, key, value, fields[key].default)
        try:
            return cls(**values)
        except TypeError as exc:  # a comparison in __post_init__ on a value of the wrong type
            raise ValueError(
                f"policy {self.path or '<defaults>'}: section `{name}`: {exc}"
            ) from None

    def validate(self) -> Policy:
        """Build every section (raises ``ValueError`` naming the first problem); returns self."""
        unknown = sorted(set(self.raw) - set(SECTIONS))
        if unknown:
            raise ValueError(
                f"policy {self.path or '<defaults>'}: unknown sections {unknown}; known "
                f"sections are {sorted(SECTIONS)} (a misspelled section would be ignored)."
            )
        for name, cls in SECTIONS.items():
            self.section(name, cls)
        return self


def _check_type(path: str | None, section: str, key: str, value: Any, default: Any) -> None:
    """A YAML value must have its default's type (numbers: finite; no text for numbers)."""
    where = f"policy {path or '<defaults>'}: `{section}.{key}`"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false; got {value!r}.")
    elif isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} must be a number; got {value!r} ({type(value).__name__}).")
        if not math.isfinite(value):
            raise ValueError(f"{where} must be finite; got {value!r}.")
        if isinstance(default, int) and not isinstance(default, bool) and value != int(value):
            raise ValueError(f"{where} must be an integer; got {value!r}.")
    elif isinstance(default, str) and not isinstance(value, str):
        raise ValueError(f"{where} must be text; got {value!r} ({type(value).__name__}).")


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
    if not p.is_file():
        raise ValueError(f"policy `{p}` is not a file (a directory?); give a policy YAML file.")
    return parse_policy(p.read_bytes(), source=str(p))


def parse_policy(data: bytes | str, *, source: str) -> Policy:
    """A policy from YAML text (a file's bytes, or a registered policy's content), validated.

    ``sha256`` is the hash of the UTF-8 bytes, as for a file.
    """
    raw_bytes = data.encode("utf-8") if isinstance(data, str) else data
    try:
        raw = yaml.safe_load(raw_bytes) or {}
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ValueError(f"policy file `{source}` is not valid YAML: {detail}") from None
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"policy file `{source}` must contain a mapping (section: keys) at top level; got "
            f"{type(raw).__name__}."
        )
    return Policy(raw=raw, path=source, sha256=hashlib.sha256(raw_bytes).hexdigest()).validate()


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
