"""Aggregations for drift: reference summaries (order statistics, category counts) and PSI bin counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from mlopskit.frames.inputs import (
    WINDOW_COL,
    _float,
    _missing,
    _window_expr,
    collect,
    is_numeric_dtype,
    schema,
)
from mlopskit.stats.psi import order_statistic_index

# ---- drift (issue 3) -----------------------------------------------------------------
# Reductions for mlopskit.drift and mlopskit.monitoring: bin counts per feature (and per time
# window) in ONE lazy pass, reference quantiles, category counts, matured (score, label)
# pairs for outcome drift, and service-health numbers. Bin layout of every feature:
#   numeric:     value bins (-inf, e1], (e1, e2], …, (ek, inf), then __missing__
#   categorical: one bin per category, then __other__, then __missing__
MISSING_BIN = "__missing__"


OTHER_BIN = "__other__"


def _order_statistics(lf: nw.LazyFrame, expr: Any, ranks: Sequence[int]) -> dict[int, float]:
    """Values of the given 0-based order statistics of ``expr`` (nulls dropped), by an
    ordinal rank and a filter: the fallback for engines without ``lower`` quantiles."""
    sub = lf.select(expr.alias("__v")).filter(~nw.col("__v").is_null())
    sub = sub.with_columns(nw.col("__v").rank(method="ordinal").alias("__r"))
    got = collect(sub.filter(nw.col("__r").is_in([k + 1 for k in set(ranks)])))
    return {int(r) - 1: float(v) for v, r in zip(got["__v"], got["__r"], strict=True)}


def numeric_summary(
    lf: nw.LazyFrame, features: Sequence[str], bins: int
) -> dict[str, dict[str, Any]]:
    """Per numeric feature: the order statistics ``x_(⌊b(n−1)/B⌋)`` (NaN and nulls ignored),
    min, max, valid and missing counts, in two lazy selects.

    Engines disagree on ``q·(n−1)`` when it is within rounding of an integer, so the ranks
    are computed exactly from the first pass's counts and requested as the ``lower``
    quantile at ``(rank + ½)/(n − 1)``, which every engine floors to the same rank.
    """
    if not features:
        return {}

    def valid(f: str) -> Any:
        c = _float(f)
        return nw.when(~c.is_nan()).then(c)

    aggs: list[Any] = [nw.len().alias("__n")]
    for j, f in enumerate(features):
        aggs += [
            valid(f).min().alias(f"__min{j}"),
            valid(f).max().alias(f"__max{j}"),
            valid(f).count().alias(f"__cnt{j}"),
        ]
    row = collect(lf.select(aggs)).iloc[0]
    n = int(row["__n"])
    counts = {
        f: int(row[f"__cnt{j}"]) if not pd.isna(row[f"__cnt{j}"]) else 0
        for j, f in enumerate(features)
    }
    qaggs: list[Any] = []
    for j, f in enumerate(features):
        m = counts[f]
        if m < 2:
            continue
        qaggs += [
            valid(f).quantile((k + 0.5) / (m - 1), interpolation="lower").alias(f"__q{j}_{i}")
            for i, k in enumerate(order_statistic_index(m, bins))
        ]
    qrow: Any = {}
    if qaggs:
        try:
            qrow = collect(lf.select(qaggs)).iloc[0]
        except NotImplementedError:  # e.g. DuckDB: only linear quantiles; rank instead
            for j, f in enumerate(features):
                if counts[f] >= 2:
                    ks = order_statistic_index(counts[f], bins)
                    vals = _order_statistics(lf, valid(f), ks)
                    qrow.update({f"__q{j}_{i}": vals[k] for i, k in enumerate(ks)})
    out: dict[str, dict[str, Any]] = {}
    for j, f in enumerate(features):
        m = counts[f]
        mn = float(row[f"__min{j}"]) if m else float("nan")
        if m >= 2:
            q = np.array([qrow[f"__q{j}_{i}"] for i in range(bins - 1)], dtype=float)
        else:
            q = np.full(bins - 1, mn)
        out[f] = {
            "quantiles": q,
            "min": mn,
            "max": float(row[f"__max{j}"]) if m else float("nan"),
            "n_valid": m,
            "n_missing": n - m,
        }
    return out


def category_counts(lf: nw.LazyFrame, feature: str) -> tuple[list[str], list[int], int]:
    """Value counts of one categorical feature (as strings), most frequent first, and the
    number of missing rows. One lazy group-by; the result has one row per category."""
    c = nw.col(feature).cast(nw.String)
    df = collect(lf.select(c.alias("__v")).group_by("__v").agg(nw.len().alias("__n")))
    miss = df["__v"].isna()
    n_missing = int(df.loc[miss, "__n"].sum())
    df = df.loc[~miss].sort_values(["__n", "__v"], ascending=[False, True], kind="mergesort")
    return [str(v) for v in df["__v"]], [int(v) for v in df["__n"]], n_missing


@dataclass(frozen=True, slots=True)
class BinSpec:
    """How one column is binned: ``kind`` ``"numeric"`` (``edges``) or ``"categorical"``
    (``categories``); see the bin layout above."""

    feature: str
    kind: Literal["numeric", "categorical"]
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def n_bins(self) -> int:
        if self.kind == "numeric":
            return len(self.edges) + 2
        return len(self.categories) + 2


def _bin_indicators(spec: BinSpec, j: int) -> list[tuple[str, Any]]:
    """(column name, boolean expression) per bin except those derived by subtraction."""
    f = spec.feature
    out: list[tuple[str, Any]] = []
    if spec.kind == "numeric":
        c = _float(f)
        miss = _missing(f, True)
        lows = (-np.inf, *spec.edges)
        highs = (*spec.edges, np.inf)
        for i, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
            cond = ~miss
            if np.isfinite(lo):
                cond = cond & (c > float(lo))
            if np.isfinite(hi):
                cond = cond & (c <= float(hi))
            out.append((f"__b{j}_{i}", cond.fill_null(False)))
        out.append((f"__b{j}_m", miss))
    else:
        c = nw.col(f).cast(nw.String)
        for i, cat in enumerate(spec.categories):
            out.append((f"__b{j}_{i}", (c == cat).fill_null(False)))
        out.append((f"__b{j}_m", c.is_null()))
    return out


def check_binnable(lf: nw.LazyFrame, specs: Sequence[BinSpec], *, frame: str) -> None:
    """A numeric spec needs a numeric column (not strings); every column must be present."""
    sch = schema(lf)
    for s in specs:
        if s.feature not in sch:
            raise ValueError(
                f"{frame}: feature `{s.feature}` is missing (it is in the reference profile). "
                f"Columns found: {sorted(sch)[:20]}."
            )
        if s.kind == "numeric" and not is_numeric_dtype(sch[s.feature]):
            raise ValueError(
                f"{frame}: feature `{s.feature}` is numeric in the reference profile and must "
                f"have a numeric dtype; found dtype {sch[s.feature]} (numbers stored as "
                f"strings? cast them first)."
            )


def bin_counts(
    lf: nw.LazyFrame,
    specs: Sequence[BinSpec],
    *,
    ts: str | None = None,
    every: str | None = None,
    anchor: Any = None,
) -> tuple[list[pd.Timestamp | None], np.ndarray, dict[str, np.ndarray]]:
    """Counts per bin of every spec, optionally per time window, in ONE lazy aggregation.

    Returns ``(windows, n, counts)``: window starts (``[None]`` without windows), the row
    count per window, and per feature an array ``(n_windows, n_bins)`` in the bin layout
    above. Only windows that contain rows appear. Windows start at ``anchor`` (and its
    multiples of the window length) when given, else at ``ts`` truncated to ``every``.
    """
    cols: list[tuple[str, Any]] = []
    for j, s in enumerate(specs):
        cols += _bin_indicators(s, j)
    names = [n for n, _ in cols]
    if every is not None:
        if ts is None:
            raise ValueError("`ts` is required when counting per window.")
        key, to_start = _window_expr(lf, ts, every, anchor)
        lf = lf.with_columns(key.alias(WINDOW_COL))
        agg = (
            lf.with_columns([e.alias(n) for n, e in cols])
            .group_by(WINDOW_COL)
            .agg(nw.len().alias("__n"), *[nw.col(n).sum() for n in names])
            .sort(WINDOW_COL)
        )
        df = collect(agg)
        windows: list[pd.Timestamp | None] = [to_start(w) for w in df[WINDOW_COL]]
    else:
        df = collect(lf.select(nw.len().alias("__n"), *[e.sum().alias(n) for n, e in cols]))
        windows = [None]
    n = df["__n"].to_numpy(dtype=float)
    counts: dict[str, np.ndarray] = {}
    for j, s in enumerate(specs):
        k = len(s.edges) + 1 if s.kind == "numeric" else len(s.categories)
        vals = np.column_stack([df[f"__b{j}_{i}"].to_numpy(dtype=float) for i in range(k)])
        miss = df[f"__b{j}_m"].to_numpy(dtype=float)
        if s.kind == "numeric":
            counts[s.feature] = np.column_stack([vals, miss])
        else:
            other = n - vals.sum(axis=1) - miss  # not a known category, not missing
            counts[s.feature] = np.column_stack([vals, other, miss])
    return windows, n, counts
