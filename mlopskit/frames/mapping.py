"""The ``columns=`` argument of every public function that reads a frame: a mapping
canonical name → the user's column name, checked once here (one wording everywhere).

Two uses, one rule:

* functions with a data contract pass the mapping to :func:`~mlopskit.frames.validate`
  (shadow, canary, labels, drift of scores), which renames the user's columns to the
  canonical names; :func:`resolve_columns` merges ``columns=`` with the function's
  per-column keywords (``ts=``, ``score=``, …) first;
* feature functions (profile, PSI, parity gate) have no fixed contract: :func:`rename_columns`
  exposes the user's columns under the canonical names (features, ``ts``, ``score``, keys).

An unknown key is an error naming the accepted keys; so is a column named twice
(``ts="when"`` and ``columns={"ts": "at"}``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlopskit.frames.inputs import FrameLike, lazy, schema


def check_columns(
    columns: Mapping[str, str] | None, accepted: Iterable[str], *, frame: str
) -> dict[str, str]:
    """``columns`` as a dict, after checking its keys are among ``accepted`` and its values
    are column names (non-empty strings)."""
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise ValueError(
            f"{frame}: `columns` must be a mapping canonical name → your column name; "
            f"got {type(columns).__name__}."
        )
    ok = sorted(set(accepted))
    unknown = sorted(str(k) for k in columns if k not in ok)
    if unknown:
        raise ValueError(
            f"{frame}: `columns` has unknown key(s) {unknown}; the accepted keys (canonical "
            f"names this function reads) are {ok}."
        )
    for k, v in columns.items():
        if not isinstance(v, str) or not v:
            raise ValueError(
                f"{frame}: `columns[{k!r}]` must be a column name (non-empty string); got {v!r}."
            )
    return dict(columns)


def resolve_columns(
    columns: Mapping[str, str] | None, *, frame: str, **named: str | None
) -> dict[str, str]:
    """Canonical name → user column for a function with per-column keywords.

    ``named`` are the keywords as given (``ts=ts, score=score``; ``None``: no such column).
    A ``columns`` entry fills a keyword left at its canonical default or ``None``; a keyword
    set to another name AND a different ``columns`` entry is an error. Keys of the result
    are the canonical names that have a column (``None`` keywords without a ``columns``
    entry are left out).
    """
    mapping = check_columns(columns, named, frame=frame)
    out: dict[str, str] = {}
    for canon, given in named.items():
        if canon in mapping:
            if given not in (None, canon, mapping[canon]):
                raise ValueError(
                    f"{frame}: column `{canon}` is named twice: `{canon}={given!r}` and "
                    f"`columns[{canon!r}]={mapping[canon]!r}`; give one."
                )
            out[canon] = mapping[canon]
        elif given is not None:
            out[canon] = given
    return out


def rename_columns(
    data: FrameLike,
    columns: Mapping[str, str] | None,
    accepted: Iterable[str],
    *,
    frame: str,
    optional: Iterable[str] = (),
) -> Any:
    """``data`` with the user's columns renamed to their canonical names (lazily; other
    columns kept). Without ``columns`` (or with identity mappings only) the data is returned
    unchanged (not even wrapped). A mapped column missing from the data is an error naming
    the frame, the key and the columns found, unless its key is in ``optional``."""
    mapping = check_columns(columns, accepted, frame=frame)
    if not mapping:
        return data
    lf = lazy(data, frame=frame)
    sch = schema(lf)
    # every mapped column must exist, identity mappings included: without a feature list
    # any key is accepted (the renamed columns become the features), so a mapping to a
    # column the frame lacks is the only sign of a typo and must not pass silently
    mapping = {k: v for k, v in mapping.items() if v in sch or k not in set(optional)}
    for canon, user in mapping.items():
        if user not in sch:
            raise ValueError(
                f"{frame}: column `{user}` (given as `columns[{canon!r}]`) is missing. "
                f"Columns found: {sorted(sch)[:20]}."
            )
    mapping = {k: v for k, v in mapping.items() if k != v}
    if not mapping:
        return data
        if canon in sch and canon not in mapping.values():
            raise ValueError(
                f"{frame}: `columns[{canon!r}]={user!r}` would rename `{user}` to `{canon}`, "
                f"which the frame already has; drop or rename that column first."
            )
    return lf.rename({user: canon for canon, user in mapping.items()})


def keyword_column(
    given: str | None, canon: str, mapping: Mapping[str, str], *, frame: str
) -> str | None:
    """The column a per-column keyword names once :func:`rename_columns` applied
    ``mapping``: ``canon`` when the mapping has it (the keyword then must be its default,
    ``None``, or the same user column), else the keyword as given."""
    if canon not in mapping:
        return given
    if given not in (None, canon, mapping[canon]):
        raise ValueError(
            f"{frame}: column `{canon}` is named twice: `{canon}={given!r}` and "
            f"`columns[{canon!r}]={mapping[canon]!r}`; give one."
        )
    return canon


def feature_keys(
    features: Iterable[str] | None,
    columns: Mapping[str, str] | None,
    profiled: Iterable[str] | None = None,
) -> set[str]:
    """Accepted ``columns`` keys of a feature function: the listed features; without a list,
    the features of a stored reference profile (``profiled``), else every key, since then
    the renamed columns become the features (:func:`rename_columns` still refuses a mapping
    to a column the frame lacks)."""
    if features is not None:
        return set(features)
    if profiled is not None:
        return set(profiled)
    return set(columns or {})


__all__ = [
    "check_columns",
    "feature_keys",
    "keyword_column",
    "rename_columns",
    "resolve_columns",
]
