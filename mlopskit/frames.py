"""Input adaptation: the only module that touches a dataframe engine.

Every public analysis accepts pandas, polars (eager or lazy), a DuckDB relation, a PySpark
DataFrame, or a path to a parquet/CSV file. This module turns any of them into a narwhals
``LazyFrame``, validates the data contract of ARCHITECTURE.md §4, and reduces the data to
small, engine-free sufficient statistics (numpy arrays, plain dicts, small pandas frames)
that ``mlopskit.stats`` consumes.

Rules kept here:

* Nothing is materialized whole: validation is one lazy aggregation pass plus, only when a
  violation is found, a ``head()`` of the offending rows for the error message.
* A contract violation is a ``ValueError`` naming the frame, the column, what was expected
  and what was found (with a few offending values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import polars as pl

FrameLike = Any
"""pandas/polars DataFrame, polars LazyFrame, DuckDB relation, PySpark DataFrame, or a path."""

Kind = Literal["numeric", "integer", "string", "datetime", "flag", "arm", "any"]

ARMS = ("control", "canary")


# --------------------------------------------------------------------------------------
# Engine adaptation
# --------------------------------------------------------------------------------------
def lazy(data: FrameLike, *, frame: str = "data") -> nw.LazyFrame:
    """Return ``data`` as a narwhals LazyFrame without materializing it.

    Paths ending in ``.parquet`` (or a directory of parquet files) and ``.csv`` are scanned
    lazily with polars.
    """
    if isinstance(data, nw.LazyFrame):
        return data
    if isinstance(data, nw.DataFrame):
        return data.lazy()
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise ValueError(f"{frame}: file `{path}` does not exist.")
        if path.is_dir() or path.suffix == ".parquet":
            pattern = str(path / "*.parquet") if path.is_dir() else str(path)
            return nw.from_native(pl.scan_parquet(pattern))
        if path.suffix == ".csv":
            return nw.from_native(pl.scan_csv(str(path), try_parse_dates=True))
        raise ValueError(
            f"{frame}: path `{path}` must be a .parquet file, a directory of parquet files "
            f"or a .csv file; got suffix {path.suffix!r}."
        )
    try:
        obj = nw.from_native(data)
    except TypeError as exc:
        raise ValueError(
            f"{frame}: expected a pandas/polars DataFrame, polars LazyFrame, DuckDB relation, "
            f"PySpark DataFrame or a file path; got {type(data).__name__}."
        ) from exc
    if isinstance(obj, nw.DataFrame):
        return obj.lazy()
    if isinstance(obj, nw.LazyFrame):
        return obj
    raise ValueError(f"{frame}: expected a dataframe, got a {type(obj).__name__}.")


def schema(lf: nw.LazyFrame) -> dict[str, Any]:
    """Column name → narwhals dtype, without collecting data."""
    return dict(lf.collect_schema())


def collect_native(lf: nw.LazyFrame) -> nw.DataFrame:
    """Collect a lazy query; polars runs on its streaming engine (bounded memory)."""
    if lf.implementation.is_polars():
        return lf.collect(engine="streaming")
    return lf.collect()


def collect(lf: nw.LazyFrame) -> pd.DataFrame:
    """Collect a *small* (already aggregated) lazy result to pandas (streaming for polars)."""
    return collect_native(lf).to_pandas()


def n_rows(lf: nw.LazyFrame) -> int:
    """Row count computed where the data lives."""
    return int(collect(lf.select(nw.len().alias("n")))["n"].iloc[0])


def column_values(lf: nw.LazyFrame, column: str) -> np.ndarray:
    """Materialize ONE column as a numpy array (only for columns known to be small)."""
    return collect_native(lf.select(nw.col(column))).get_column(column).to_numpy()


def _kind_ok(dtype: Any, kind: Kind) -> bool:
    if kind == "any":
        return True
    if kind == "numeric":
        return bool(dtype.is_numeric()) or dtype == nw.Boolean
    if kind == "integer":
        return bool(dtype.is_integer())
    if kind in ("string", "arm"):
        return dtype == nw.String or dtype == nw.Categorical or dtype == nw.Enum
    if kind == "datetime":
        return dtype == nw.Datetime or dtype == nw.Date
    if kind == "flag":
        return dtype == nw.Boolean or bool(dtype.is_integer())
    raise ValueError(f"unknown column kind {kind!r}")


_KIND_WORDS = {
    "numeric": "a numeric dtype",
    "integer": "an integer dtype",
    "string": "a string dtype",
    "arm": "a string dtype with values 'control'/'canary'",
    "datetime": "a datetime dtype",
    "flag": "a boolean (or 0/1 integer) dtype",
    "any": "any dtype",
}


# --------------------------------------------------------------------------------------
# Data contracts
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Column:
    """One column of a data contract.

    Parameters
    ----------
    name : canonical name (the analysis functions accept a mapping to the user's name).
    kind : expected dtype family.
    required : a missing optional column is allowed; a present one is still checked.
    nullable : whether nulls are allowed.
    unit_interval : values must lie in [0, 1] and not be NaN (scores).
    nonnegative : values must be ≥ 0 (amounts, latencies).
    """

    name: str
    kind: Kind = "any"
    required: bool = True
    nullable: bool = True
    unit_interval: bool = False
    nonnegative: bool = False


@dataclass(frozen=True, slots=True)
class Contract:
    """The data contract of one kind of frame (ARCHITECTURE.md §4)."""

    frame: str
    columns: tuple[Column, ...]
    unique: str | None = None
    """Column whose values must be unique (a duplicated id is an error)."""
    ordered: tuple[tuple[str, str], ...] = ()
    """Pairs ``(earlier, later)``: ``later`` must not precede ``earlier`` where both are set."""
    extra: tuple[str, ...] = field(default=())
    """Further columns the caller needs (segments, features), checked for presence only."""

    def with_extra(self, *names: str) -> Contract:
        return Contract(self.frame, self.columns, self.unique, self.ordered, (*self.extra, *names))

    def without(self, *names: str) -> Contract:
        """The same contract with some optional-in-this-use columns dropped."""
        cols = tuple(c for c in self.columns if c.name not in names)
        ordered = tuple(p for p in self.ordered if p[0] not in names and p[1] not in names)
        unique = None if self.unique in names else self.unique
        return Contract(self.frame, cols, unique, ordered, self.extra)


SHADOW_LOG = Contract(
    frame="shadow log",
    columns=(
        Column("request_id", "any", nullable=False),
        Column("ts", "datetime", nullable=False),
        Column("score_champion", "numeric", nullable=True, unit_interval=True),
        Column("score_challenger", "numeric", nullable=True, unit_interval=True),
        Column("latency_ms_champion", "numeric", nonnegative=True),
        Column("latency_ms_challenger", "numeric", nonnegative=True),
        Column("error_champion", "flag"),
        Column("error_challenger", "flag"),
        Column("label", "flag", required=False),
        Column("label_ts", "datetime", required=False),
    ),
    unique="request_id",
    ordered=(("ts", "label_ts"),),
)
"""Shadow log. A missing score (null or NaN) is allowed: it is a lost shadow call, which the
shadow profile counts (never drops). A score outside [0, 1] is an error."""

CANARY_LOG = Contract(
    frame="canary log",
    columns=(
        Column("unit_id", "any", nullable=False),
        Column("ts", "datetime", nullable=False),
        Column("arm", "arm", nullable=False),
        Column("score", "numeric", required=False, nullable=False, unit_interval=True),
        Column("flagged", "flag", required=False),
        Column("label", "flag", required=False),
        Column("label_ts", "datetime", required=False),
        Column("amount", "numeric", required=False, nonnegative=True),
        Column("loss", "numeric", required=False, nonnegative=True),
        Column("latency_ms", "numeric", required=False, nonnegative=True),
        Column("error", "flag", required=False),
    ),
    unique="unit_id",
    ordered=(("ts", "label_ts"),),
)

SCORED_EVENTS = Contract(
    frame="scored events",
    columns=(
        Column("ts", "datetime", nullable=False),
        Column("score", "numeric", nullable=False, unit_interval=True),
        Column("label", "flag", required=False),
        Column("label_ts", "datetime", required=False),
    ),
    ordered=(("ts", "label_ts"),),
)

FEATURES = Contract(frame="feature frame", columns=())
"""Feature frames: the feature columns are given by the caller through ``extra``."""


def _sample(lf: nw.LazyFrame, predicate: Any, cols: Sequence[str], k: int = 5) -> list[Any]:
    rows = collect_native(lf.filter(predicate).select([nw.col(c) for c in cols]).head(k)).rows()
    return [r[0] if len(cols) == 1 else tuple(r) for r in rows]


def validate(
    data: FrameLike,
    contract: Contract,
    *,
    columns: Mapping[str, str] | None = None,
    frame: str | None = None,
) -> nw.LazyFrame:
    """Check ``data`` against ``contract`` and return it lazily with canonical column names.

    Parameters
    ----------
    data : any supported frame or a path.
    contract : one of ``SHADOW_LOG``, ``CANARY_LOG``, ``SCORED_EVENTS``, ``FEATURES`` (or a
        derived contract).
    columns : mapping canonical name → the user's column name, for logs that use other names.
    frame : name used in error messages (defaults to the contract's).

    Raises
    ------
    ValueError
        On a missing column, a wrong dtype, a duplicated id, ``label_ts`` before ``ts``, an
        arm other than control/canary, a score outside [0, 1] or NaN, a negative amount, or
        nulls where none are allowed. The message names the frame, the column, the rule and
        up to five offending values.
    """
    name = frame or contract.frame
    lf = lazy(data, frame=name)
    mapping = dict(columns or {})
    sch = schema(lf)
    rename: dict[str, str] = {}
    present: list[Column] = []
    for col in contract.columns:
        actual = mapping.get(col.name, col.name)
        if actual not in sch:
            if col.required:
                raise ValueError(
                    f"{name}: required column `{actual}` is missing; expected "
                    f"{_KIND_WORDS[col.kind]}. Columns found: {sorted(sch)[:20]}."
                )
            continue
        if not _kind_ok(sch[actual], col.kind):
            raise ValueError(
                f"{name}: column `{actual}` must have {_KIND_WORDS[col.kind]}; "
                f"found dtype {sch[actual]}."
            )
        if actual != col.name:
            rename[actual] = col.name
        present.append(col)
    for extra in contract.extra:
        actual = mapping.get(extra, extra)
        if actual not in sch:
            raise ValueError(
                f"{name}: column `{actual}` is missing; it was requested as a segment or "
                f"feature. Columns found: {sorted(sch)[:20]}."
            )
        if actual != extra:
            rename[actual] = extra
    if rename:
        lf = lf.rename(rename)

    # One lazy pass computing every violation count.
    checks: dict[str, tuple[str, Any, str, str]] = {}
    for col in present:
        c = nw.col(col.name)
        if not col.nullable:
            checks[f"null__{col.name}"] = (col.name, c.is_null(), "must not be null", "null")
        if col.unit_interval:
            bad = (c < 0) | (c > 1)
            rule = "must lie in [0, 1]"
            if not col.nullable and sch[mapping.get(col.name, col.name)].is_float():
                bad = bad | c.is_nan()
                rule = "must lie in [0, 1] and not be NaN"
            checks[f"range__{col.name}"] = (col.name, bad, rule, "")
        if col.nonnegative:
            checks[f"neg__{col.name}"] = (col.name, c < 0, "must be ≥ 0", "")
        if col.kind == "arm":
            bad = ~c.is_in(list(ARMS)) & ~c.is_null()
            checks[f"arm__{col.name}"] = (col.name, bad, "must be 'control' or 'canary'", "")
        if col.kind == "flag" and sch[mapping.get(col.name, col.name)].is_integer():
            bad = ~c.is_in([0, 1]) & ~c.is_null()
            checks[f"flag__{col.name}"] = (col.name, bad, "must be 0/1 (or boolean)", "")
    present_names = {c.name for c in present}
    for earlier, later in contract.ordered:
        if earlier in present_names and later in present_names:
            bad = nw.col(later) < nw.col(earlier)
            checks[f"order__{later}"] = (later, bad, f"must not be earlier than `{earlier}`", "")
    aggs = [nw.len().alias("__n")]
    for key, (_, expr, _, _) in checks.items():
        aggs.append(expr.fill_null(False).cast(nw.Int64).sum().alias(key))
    if contract.unique and contract.unique in present_names:
        aggs.append(nw.col(contract.unique).n_unique().alias("__n_unique"))
    counts = collect(lf.select(aggs)).iloc[0].to_dict()
    n = int(counts["__n"])
    for key, (colname, expr, rule, _) in checks.items():
        k = int(counts[key])
        if k:
            shown_cols = [colname] if not key.startswith("order__") else ["ts", colname]
            sample = _sample(lf, expr.fill_null(False), shown_cols)
            user = mapping.get(colname, colname)
            raise ValueError(
                f"{name}: column `{user}` {rule}; found {k:,} of {n:,} rows violating it, "
                f"e.g. {sample}."
            )
    if "__n_unique" in counts and int(counts["__n_unique"]) < n:
        uid = str(contract.unique)
        dup = collect(
            lf.group_by(uid).agg(nw.len().alias("count")).filter(nw.col("count") > 1).head(5)
        )
        user = mapping.get(uid, uid)
        raise ValueError(
            f"{name}: column `{user}` must be unique; found {n - int(counts['__n_unique']):,} "
            f"duplicated rows, e.g. {dup[uid].tolist()}."
        )
    return lf


# ======================================================================================
# Aggregations by analysis. Each section reduces a validated LazyFrame to small numbers.
# ======================================================================================


# ---- overview (demo / report) --------------------------------------------------------
def _require(lf: nw.LazyFrame, frame: str, cols: Sequence[str], kind: Kind) -> None:
    sch = schema(lf)
    for c in cols:
        if c not in sch:
            raise ValueError(
                f"{frame}: column `{c}` is missing; expected {_KIND_WORDS[kind]}. "
                f"Columns found: {sorted(sch)[:20]}."
            )
        if not _kind_ok(sch[c], kind):
            raise ValueError(
                f"{frame}: column `{c}` must have {_KIND_WORDS[kind]}; found dtype {sch[c]}."
            )


def _as_of_filter(lf: nw.LazyFrame, ts: str, as_of: pd.Timestamp | None) -> nw.LazyFrame:
    if as_of is None:
        return lf
    return lf.filter(nw.col(ts) <= pd.Timestamp(as_of).to_pydatetime())


def daily_counts(
    data: FrameLike,
    *,
    ts: str = "ts",
    by: str | None = None,
    as_of: pd.Timestamp | None = None,
    frame: str = "data",
) -> pd.DataFrame:
    """Rows per calendar day (and per ``by`` value), computed where the data lives.

    Returns a small frame with columns ``day`` (midnight timestamps), ``by`` (when given)
    and ``n`` (int64), sorted by day. Rows after ``as_of`` are not counted.
    """
    lf = _as_of_filter(lazy(data, frame=frame), ts, as_of)
    _require(lf, frame, [ts], "datetime")
    keys = ["day"] if by is None else ["day", by]
    if by is not None:
        _require(lf, frame, [by], "any")
    out = collect(
        lf.with_columns(nw.col(ts).dt.truncate("1d").alias("day"))
        .group_by(*keys)
        .agg(nw.len().alias("n"))
        .sort(*keys)
    )
    out["n"] = out["n"].astype("int64")
    out["day"] = pd.to_datetime(out["day"])
    return out.reset_index(drop=True)


def label_arrivals(
    data: FrameLike,
    *,
    as_of: pd.Timestamp,
    ts: str = "ts",
    label: str = "label",
    label_ts: str = "label_ts",
    frame: str = "scored events",
) -> pd.DataFrame:
    """Per event day: events and positive labels that had arrived by ``as_of``.

    A label counts as arrived when ``label == 1`` and ``label_ts <= as_of``; events after
    ``as_of`` are not counted. Columns: ``day``, ``n`` (events), ``n_positive`` (arrived
    positive labels), both int64.
    """
    lf = lazy(data, frame=frame)
    _require(lf, frame, [ts, label_ts], "datetime")
    _require(lf, frame, [label], "flag")
    cutoff = pd.Timestamp(as_of).to_pydatetime()
    arrived = (nw.col(label).cast(nw.Int64) == 1) & (nw.col(label_ts) <= cutoff)
    out = collect(
        lf.filter(nw.col(ts) <= cutoff)
        .with_columns(
            nw.col(ts).dt.truncate("1d").alias("day"),
            arrived.fill_null(False).cast(nw.Int64).alias("__arrived"),
        )
        .group_by("day")
        .agg(nw.len().alias("n"), nw.col("__arrived").sum().alias("n_positive"))
        .sort("day")
    )
    out["n"] = out["n"].astype("int64")
    out["n_positive"] = out["n_positive"].astype("int64")
    out["day"] = pd.to_datetime(out["day"])
    return out.reset_index(drop=True)


def score_histogram(
    data: FrameLike,
    columns: Sequence[str],
    edges: Sequence[float] | np.ndarray,
    *,
    ts: str | None = None,
    as_of: pd.Timestamp | None = None,
    frame: str = "data",
) -> pd.DataFrame:
    """Counts of each score column per bin ``[edges[k], edges[k+1])`` (last bin closed).

    Scores must lie in ``[edges[0], edges[-1]]``; nulls/NaN are counted in ``n_missing``.
    Returns one row per (column, bin): ``column, bin, lower, upper, n`` plus, repeated
    per column, ``n_missing``, ``total`` (non-missing rows) and ``score_sum`` (for means).
    """
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0):
        raise ValueError(f"`edges` must be a strictly increasing 1-d sequence; got {edges!r}.")
    lf = lazy(data, frame=frame)
    if ts is not None:
        lf = _as_of_filter(lf, ts, as_of)
    _require(lf, frame, columns, "numeric")
    sch = schema(lf)
    exprs = []
    aggs = [nw.len().alias("__rows")]
    for j, c in enumerate(columns):
        col = nw.col(c).cast(nw.Float64)
        missing = col.is_null() | col.is_nan() if sch[c].is_float() else col.is_null()
        idx = sum((col >= float(x)).cast(nw.Int64) for x in e[1:-1])
        exprs += [
            missing.fill_null(True).cast(nw.Int64).alias(f"__miss{j}"),
            nw.when(~missing.fill_null(True)).then(col).otherwise(None).alias(f"__val{j}"),
            nw.when(~missing.fill_null(True)).then(idx).otherwise(None).alias(f"__bin{j}"),
        ]
        aggs += [
            nw.col(f"__miss{j}").sum().alias(f"__nmiss{j}"),
            nw.col(f"__val{j}").sum().alias(f"__sum{j}"),
            nw.col(f"__val{j}").min().alias(f"__min{j}"),
            nw.col(f"__val{j}").max().alias(f"__max{j}"),
        ]
    lf = lf.with_columns(*exprs)
    totals = collect(lf.select(aggs)).iloc[0]
    frames = []
    for j, c in enumerate(columns):
        lo, hi = totals[f"__min{j}"], totals[f"__max{j}"]
        if pd.notna(lo) and (lo < e[0] or hi > e[-1]):
            raise ValueError(
                f"{frame}: column `{c}` must lie in [{e[0]:g}, {e[-1]:g}] to be binned; "
                f"found values from {lo:g} to {hi:g}."
            )
        counts = collect(
            lf.filter(~nw.col(f"__bin{j}").is_null()).group_by(f"__bin{j}").agg(nw.len().alias("n"))
        )
        n = np.zeros(e.size - 1, dtype=np.int64)
        n[counts[f"__bin{j}"].to_numpy(dtype=np.int64)] = counts["n"].to_numpy(dtype=np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "column": c,
                    "bin": np.arange(e.size - 1),
                    "lower": e[:-1],
                    "upper": e[1:],
                    "n": n,
                    "n_missing": int(totals[f"__nmiss{j}"]),
                    "total": int(n.sum()),
                    "score_sum": float(totals[f"__sum{j}"] or 0.0),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# ---- end overview --------------------------------------------------------------------


# ---- drift (issue 3) -----------------------------------------------------------------


# ---- end drift -----------------------------------------------------------------------


# ---- labels (issue 4) ----------------------------------------------------------------


# ---- end labels ----------------------------------------------------------------------


# ---- shadow (issue 5) ----------------------------------------------------------------


# ---- end shadow ----------------------------------------------------------------------


# ---- canary (issue 6) ----------------------------------------------------------------


# ---- end canary ----------------------------------------------------------------------
