"""The canary's one read of the log: contract checks, daily sums, label arrivals and the
unit-id check (issue 15: one pass over the log). Split from :mod:`mlopskit.frames.canary`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals.stable.v2 as nw
import pandas as pd
import polars as pl

from mlopskit.frames.canary import (
    CanaryDaily,
    CanaryMetricSpec,
    _canary_plan,
    _check_units,
    _daily_query,
    _daily_result,
    _fill_derived,
    _flag_columns,
)
from mlopskit.frames.canary_labels import CanaryArrivals, arrival_parts, arrivals_result
from mlopskit.frames.contracts import ValidationPlan
from mlopskit.frames.inputs import _collect_many, _n_unique_query, collect, schema


def canary_scan(
    data: Any,
    specs: Sequence[CanaryMetricSpec],
    *,
    columns: Mapping[str, str] | None,
    needed: Sequence[str],
    as_of: Any,
    maturity_days: float,
    covariate: str | None = None,
    frame: str = "canary log",
    label_specs: Sequence[CanaryMetricSpec] = (),
    horizon_days: int | None = None,
) -> tuple[nw.LazyFrame, CanaryDaily, dict[str, CanaryArrivals]]:
    """:func:`~mlopskit.frames.canary.canary_validate`,
    :func:`~mlopskit.frames.canary.canary_daily_sums` and (with ``label_specs`` and
    ``horizon_days``) :func:`~mlopskit.frames.canary_labels.canary_label_arrivals` in one
    read of the log.

    One group-by carries the daily sums, the label-arrival sums (the whole-day label delay
    is one more group key; sums that do not depend on the label window are summed once) and
    the contract checks on the columns it reads (one 0/1 column: any check violated); a
    small select beside it (polars: one ``collect_all``) counts the rows, the checks on the
    other columns and the unit ids. Units after ``as_of`` stay in the query as their own
    groups (counted in ``CanaryDaily.late``, left out of every sum). When a check fails the
    checks run on their own (:meth:`ValidationPlan.run`) for the error with its count and
    examples, the same error as :func:`canary_validate`'s; likewise if the engine fails on
    data that breaks the contract (a cast of a bad value).
    """
    plan = _canary_plan(data, columns, needed, frame)
    lf = plan.lf
    sch = schema(lf)
    parts = None
    if label_specs and horizon_days is not None:
        shared = {s: f"__m{i}_" for i, s in enumerate(specs)}
        parts = arrival_parts(
            lf, label_specs, as_of=as_of, horizon_days=horizon_days, shared=shared
        )
    used = {"ts", "arm", *([covariate] if covariate else [])}
    for s in [*specs, *(parts.specs if parts else ())]:
        used |= set(s.columns) | ({"label_ts"} if s.label_based else set())
    in_scan = {k: e for k, (c, e, _) in plan.flags.items() if c in used}
    side = {k: e for k, (c, e, _) in plan.flags.items() if c not in used}
    query, as_of_ts, any_label, derived = _daily_query(
        lf,
        specs,
        as_of=as_of,
        maturity_days=maturity_days,
        covariate=covariate,
        indicators={"__v_scan": _any(in_scan)} if in_scan else None,
        flags=_flag_columns(sch, True),
        more_keys=parts.keys if parts else None,
        more_cols=parts.cols if parts else None,
    )
    side_query, fast = _side_query(lf, side)
    try:
        g, row = _collect_many([query, side_query])
    except Exception:
        plan.run()  # raises the contract error that made the engine fail, if any
        raise
    _check_contract(plan, g, row, bool(in_scan), bool(side))
    _check_units(plan, int(row["n"].iloc[0]), _n_unique(lf, row, fast))
    g = _fill_derived(g, derived)
    daily = _daily_result(g, specs, as_of_ts, any_label, frame)
    arrivals: dict[str, CanaryArrivals] = {}
    if parts is not None:
        on_time = ~g["__late"].to_numpy(bool)
        arrivals = arrivals_result(g.loc[on_time].reset_index(drop=True), parts)
    return lf, daily, arrivals


def _any(checks: Mapping[str, Any]) -> Any:
    """1 where any of the row-level ``checks`` is violated."""
    exprs = [e.fill_null(False) for e in checks.values()]
    bad = exprs[0]
    for b in exprs[1:]:
        bad = bad | b
    return bad.cast(nw.Int64)


def _side_query(lf: nw.LazyFrame, checks: Mapping[str, Any]) -> tuple[Any, bool]:
    """Rows ``n``, the violations of ``checks`` (``__v_side``) and the unit ids: polars with
    an integer ``unit_id``: its nulls and the rows whose id is above the previous row's
    (``increasing``: ``n − 1`` = strictly increasing, so all distinct, the common case of a
    log written in id order; otherwise :func:`_n_unique` counts them sorted); other engines
    ``n_unique``. Returns the query and whether it is the polars form."""
    if checks:
        lf = lf.with_columns(__v_side=_any(checks))
    side = [nw.col("__v_side").sum().alias("__v_side")] if checks else []
    native = lf.to_native()
    if isinstance(native, pl.LazyFrame) and schema(lf)["unit_id"].is_integer():
        c = pl.col("unit_id")
        q = native.select(
            pl.len().alias("n"),
            c.null_count().alias("nulls"),
            (c > c.shift(1)).sum().alias("increasing"),
            *([pl.col("__v_side").sum()] if checks else []),
        )
        return q, True
    uniq = nw.col("unit_id").n_unique().alias("n_unique")
    return lf.select(nw.len().alias("n"), uniq, *side), False


def _n_unique(lf: nw.LazyFrame, row: pd.DataFrame, fast: bool) -> int:
    """Distinct unit ids from the side query's row (one more query for unsorted ids)."""
    if not fast:
        return int(row["n_unique"].iloc[0])
    n = int(row["n"].iloc[0])
    if n and int(row["nulls"].iloc[0]) == 0 and int(row["increasing"].iloc[0]) == n - 1:
        return n
    return int(collect(_n_unique_query(lf, "unit_id", "u"))["u"].iloc[0])


def _check_contract(
    plan: ValidationPlan, g: pd.DataFrame, row: pd.DataFrame, in_scan: bool, side: bool
) -> None:
    """Raise the contract error the scan found, as :meth:`ValidationPlan.check` would."""
    bad = int(g["__v_scan"].sum()) if in_scan and len(g) else 0
    bad += int(row["__v_side"].iloc[0]) if side else 0
    if bad:
        plan.run()  # the first violation, its count and examples
        raise RuntimeError(f"{plan.frame}: {bad:,} contract violations counted, none found.")
    counts = {f"__v_{k}": 0 for k in plan.flags}
    plan.check({"__v___n": int(row["n"].iloc[0]), **counts}, "__v_")
