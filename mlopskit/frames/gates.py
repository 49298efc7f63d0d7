"""Column access for the registry gates: parity statistics, recorded requests, prediction files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from mlopskit.frames.inputs import FrameLike, _polars_if_mixed, collect, lazy, n_rows, schema


# ---- registry / gates (issue 8) ------------------------------------------------------
def gate_columns(data: FrameLike, columns: Sequence[str], *, frame: str) -> dict[str, np.ndarray]:
    """Materialize a few named columns of a SMALL frame (a frozen test set) as arrays.

    Raises ``ValueError`` naming the frame and the missing column.
    """
    lf = lazy(data, frame=frame)
    sch = schema(lf)
    missing = [c for c in columns if c not in sch]
    if missing:
        raise ValueError(
            f"{frame}: column(s) {missing} missing; columns found: {sorted(sch)[:20]}."
        )
    df = lf.select([nw.col(c) for c in columns]).collect()
    return {c: df.get_column(c).to_numpy() for c in columns}


def feature_parity_stats(
    recomputed: FrameLike,
    training: FrameLike,
    *,
    key: Sequence[str],
    features: Sequence[str],
    atol: float,
    rtol: float,
    max_examples: int = 5,
) -> dict[str, Any]:
    """Compare features recomputed from raw events with the training features, row by key.

    Numeric features match when ``|r − t| ≤ atol + rtol·|t|`` or both are missing (null or
    NaN); other dtypes match when equal as strings or both null. One lazy join and one
    aggregation; only up to ``max_examples`` mismatching rows per feature are collected.

    Returns a dict: ``n_training, n_recomputed, n_joined``, ``missing_in_recomputed`` and
    ``missing_in_training`` (counts + example keys), ``duplicated_in_training`` and
    ``duplicated_in_recomputed`` (rows beyond the first per key + example keys), ``schema_problems`` (list of str),
    ``features`` (list of dicts: feature, kind, n_mismatch, max_abs_diff) and ``examples``
    (pandas frame: feature, key columns, training, recomputed, abs_diff).
    """
    t = lazy(training, frame="training features")
    r = lazy(recomputed, frame="recomputed features")
    t, r = _polars_if_mixed(t, r)
    keys = list(key)
    problems: list[str] = []
    t_sch, r_sch = schema(t), schema(r)
    for name, sch in (("training features", t_sch), ("recomputed features", r_sch)):
        missing = [c for c in keys if c not in sch]
        if missing:
            raise ValueError(f"{name}: key column(s) {missing} missing; found {sorted(sch)[:20]}.")
    compared: list[tuple[str, bool]] = []
    for f in features:
        if f not in t_sch:
            raise ValueError(f"training features: feature column `{f}` is missing.")
        if f not in r_sch:
            problems.append(f"feature `{f}` is missing from the recomputed features")
            continue
        t_num = bool(t_sch[f].is_numeric()) and t_sch[f] != nw.Boolean
        r_num = bool(r_sch[f].is_numeric()) and r_sch[f] != nw.Boolean
        if t_num != r_num:
            problems.append(
                f"feature `{f}` has dtype {t_sch[f]} in training but {r_sch[f]} recomputed"
            )
            continue
        compared.append((f, t_num))
    cols = [f for f, _ in compared]
    t_sel = t.select([*(nw.col(k) for k in keys), *(nw.col(f).alias(f"{f}__t") for f in cols)])
    r_sel = r.select([*(nw.col(k) for k in keys), *(nw.col(f).alias(f"{f}__r") for f in cols)])
    joined = t_sel.join(r_sel, on=keys, how="inner")

    def missing_expr(c: str, numeric: bool, sch_dtype: Any) -> Any:
        e = nw.col(c).is_null()
        if numeric and sch_dtype.is_float():
            e = e | nw.col(c).is_nan().fill_null(True)
        return e

    mismatch: dict[str, Any] = {}
    absdiff: dict[str, Any] = {}
    for f, numeric in compared:
        a, b = f"{f}__t", f"{f}__r"
        ma, mb = missing_expr(a, numeric, t_sch[f]), missing_expr(b, numeric, r_sch[f])
        if numeric:
            diff = (nw.col(b).cast(nw.Float64) - nw.col(a).cast(nw.Float64)).abs()
            close = diff <= atol + rtol * nw.col(a).cast(nw.Float64).abs()
            bad = (ma != mb) | (~ma & ~mb & ~close.fill_null(False))
            absdiff[f] = nw.when(~ma & ~mb).then(diff).otherwise(None)
        else:
            same = nw.col(a).cast(nw.String) == nw.col(b).cast(nw.String)
            bad = (ma != mb) | (~ma & ~mb & ~same.fill_null(False))
        mismatch[f] = bad
    aggs = [nw.len().alias("__n")]
    for f in cols:
        aggs.append(mismatch[f].cast(nw.Int64).sum().alias(f"{f}__bad"))
        if f in absdiff:
            aggs.append(absdiff[f].max().alias(f"{f}__max"))
    counts = collect(joined.select(aggs)).iloc[0].to_dict()
    rows = []
    examples = []
    for f, numeric in compared:
        n_bad = int(counts[f"{f}__bad"])
        max_abs = counts.get(f"{f}__max") if numeric else None
        rows.append(
            {
                "feature": f,
                "kind": "numeric" if numeric else "categorical",
                "n_mismatch": n_bad,
                "max_abs_diff": None if max_abs is None or pd.isna(max_abs) else float(max_abs),
            }
        )
        if n_bad:
            sel = [
                *(nw.col(k) for k in keys),
                nw.col(f"{f}__t").alias("training"),
                nw.col(f"{f}__r").alias("recomputed"),
            ]
            ex = collect(
                joined.filter(mismatch[f].fill_null(False))
                .select(sel)
                .sort(keys)
                .head(max_examples)
            )
            ex.insert(0, "feature", f)
            for c in ("training", "recomputed"):
                ex[c] = ex[c].astype(object)
            examples.append(ex)

    def anti(left: nw.LazyFrame, right: nw.LazyFrame) -> tuple[int, list[Any]]:
        only = left.select(keys).join(right.select(keys), on=keys, how="anti")
        n = n_rows(only)
        sample = collect(only.sort(keys).head(max_examples))
        vals = sample[keys[0]].tolist() if len(keys) == 1 else list(sample.itertuples(False, None))
        return n, vals

    def duplicated(lf: nw.LazyFrame) -> tuple[int, list[Any]]:
        """Rows beyond the first per key (a duplicate key multiplies the join's rows)."""
        per = lf.group_by(keys).agg(nw.len().alias("__k")).filter(nw.col("__k") > 1)
        got = collect(per.select(nw.col("__k").sum().alias("n"), nw.len().alias("m")))
        n = int(got["n"].fillna(0).iloc[0]) - int(got["m"].iloc[0]) if len(got) else 0
        if n <= 0:
            return 0, []
        sample = collect(per.select(keys).sort(keys).head(max_examples))
        vals = sample[keys[0]].tolist() if len(keys) == 1 else list(sample.itertuples(False, None))
        return n, vals

    n_miss_r, ex_miss_r = anti(t_sel, r_sel)
    n_miss_t, ex_miss_t = anti(r_sel, t_sel)
    return {
        "duplicated_in_training": duplicated(t_sel),
        "duplicated_in_recomputed": duplicated(r_sel),
        "n_training": n_rows(t),
        "n_recomputed": n_rows(r),
        "n_joined": int(counts["__n"]),
        "missing_in_recomputed": (n_miss_r, ex_miss_r),
        "missing_in_training": (n_miss_t, ex_miss_t),
        "schema_problems": problems,
        "features": rows,
        "examples": (
            pd.concat(examples, ignore_index=True)
            if examples
            else pd.DataFrame(columns=["feature", *keys, "training", "recomputed"])
        ),
    }


def first_rows(data: FrameLike, *, key: str, n: int, frame: str) -> pd.DataFrame:
    """The ``n`` rows with the smallest ``key`` (a fixed, reproducible sample) as pandas."""
    lf = lazy(data, frame=frame)
    if key not in schema(lf):
        raise ValueError(
            f"{frame}: key column `{key}` is missing; found {sorted(schema(lf))[:20]}."
        )
    return collect(lf.sort(key).head(n))


def lookup(
    data: FrameLike, *, key: str, keys: Sequence[Any], column: str, frame: str
) -> dict[Any, float]:
    """``{key: column}`` for the given keys only (a filtered lazy scan)."""
    lf = lazy(data, frame=frame)
    sch = schema(lf)
    for c in (key, column):
        if c not in sch:
            raise ValueError(f"{frame}: column `{c}` is missing; found {sorted(sch)[:20]}.")
    df = collect(lf.filter(nw.col(key).is_in(list(keys))).select(key, column))
    return dict(zip(df[key].tolist(), df[column].astype(float).tolist(), strict=True))


def write_columns(columns: Mapping[str, Any], path: str | Path) -> None:
    """Write equal-length arrays as a parquet file (same arrays → same bytes)."""
    pd.DataFrame({k: np.asarray(v) for k, v in columns.items()}).to_parquet(path, index=False)
