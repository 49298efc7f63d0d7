"""Checks before binning a frame against a reference profile: the columns are there with
a dtype that fits their kind, and the float columns hold no ±inf (counted in their own pass
by :func:`check_binnable`, or inside the counting pass by ``bin_counts(finite_check=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw

from mlopskit.frames.inputs import collect, is_numeric_dtype, schema

if TYPE_CHECKING:
    from mlopskit.frames.drift import BinSpec


def check_binnable(
    lf: nw.LazyFrame, specs: Sequence[BinSpec], *, frame: str, finite: bool = True
) -> None:
    """A numeric spec needs a numeric column (not strings); every column must be present.

    ``finite``: also count ±inf values of the float columns (one pass over them) and raise
    when there are any; ``False`` leaves that to :func:`bin_counts` (``finite_check=``),
    which counts them in its own pass instead of reading the columns twice.
    """
    sch = schema(lf)
    for s in specs:
        if s.feature not in sch:
            raise ValueError(
                f"{frame}: feature `{s.feature}` is missing (it is in the reference profile). "
                f"Columns found: {sorted(sch)[:20]}."
            )
        dtype = sch[s.feature]
        if s.kind == "numeric" and (not is_numeric_dtype(dtype) or dtype == nw.Boolean):
            raise ValueError(
                f"{frame}: feature `{s.feature}` is numeric in the reference profile and must "
                f"have a numeric dtype; found dtype {dtype} (numbers stored as "
                f"strings? booleans? cast them first)."
            )
        if s.kind == "categorical" and is_numeric_dtype(dtype) and dtype != nw.Boolean:
            raise ValueError(
                f"{frame}: feature `{s.feature}` is categorical (text) in the reference profile "
                f"but numeric here (dtype {dtype}); were the reference's numbers stored as text? "
                "Cast the reference column to a number and profile it again."
            )
    if not finite:
        return
    inf_exprs = _inf_exprs(specs, sch)
    if inf_exprs:
        row = collect(lf.select([e for _, e in inf_exprs])).iloc[0]
        _raise_on_inf(frame, {f: int(row[name]) for f, name in _inf_names(specs, sch)})


def _inf_names(specs: Sequence[BinSpec], sch: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (s.feature, f"__inf{j}")
        for j, s in enumerate(specs)
        if s.kind == "numeric" and sch[s.feature].is_float()
    ]


def _inf_exprs(specs: Sequence[BinSpec], sch: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(name, count of ±inf) per float numeric spec."""
    return [
        (
            name,
            (~nw.col(f).is_finite() & ~nw.col(f).is_nan())
            .fill_null(False)
            .cast(nw.Int64)
            .sum()
            .alias(name),
        )
        for f, name in _inf_names(specs, sch)
    ]


def _raise_on_inf(frame: str, counts: Mapping[str, int]) -> None:
    bad = {f: n for f, n in counts.items() if n}
    if bad:
        raise ValueError(
            f"{frame}: features {sorted(bad)} hold ±inf values ({bad} rows); PSI bins need "
            "finite values (an infinite amount is a logging bug, not the largest bin): "
            "drop or cap them first."
        )
