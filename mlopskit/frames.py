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

from mlopskit.stats.psi import order_statistic_index

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
    return time_filter(lf, ts, None, as_of)


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
    and ``n`` (int64), sorted by day. Rows at or after ``as_of`` are not counted.
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

    A label counts as arrived when ``label == 1`` and ``label_ts <= as_of``; events at or
    after ``as_of`` are not counted. Columns: ``day``, ``n`` (events), ``n_positive`` (arrived
    positive labels), both int64.
    """
    lf = lazy(data, frame=frame)
    _require(lf, frame, [ts, label_ts], "datetime")
    _require(lf, frame, [label], "flag")
    cutoff = pd.Timestamp(as_of)
    arrived = (nw.col(label).cast(nw.Int64) == 1) & (
        nw.col(label_ts) <= _ts_literal(cutoff, schema(lf)[label_ts])
    )
    out = collect(
        time_filter(lf, ts, None, cutoff)
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


def ts_range(
    data: FrameLike, *, ts: str = "ts", before: Any = None, frame: str = "data"
) -> tuple[pd.Timestamp | None, pd.Timestamp | None, int]:
    """First and last ``ts`` and the row count (rows at or after ``before`` excluded)."""
    lf = lazy(data, frame=frame)
    _require(lf, frame, [ts], "datetime")
    if before is not None:
        lf = time_filter(lf, ts, None, before)
    out = collect(
        lf.select(nw.col(ts).min().alias("lo"), nw.col(ts).max().alias("hi"), nw.len().alias("n"))
    ).iloc[0]
    lo = None if pd.isna(out["lo"]) else pd.Timestamp(out["lo"])
    hi = None if pd.isna(out["hi"]) else pd.Timestamp(out["hi"])
    return lo, hi, int(out["n"])


def score_bin_counts(
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
# Reductions for mlopskit.drift and mlopskit.monitoring: bin counts per feature (and per time
# window) in ONE lazy pass, reference quantiles, category counts, matured (score, label)
# pairs for outcome drift, and service-health numbers. Bin layout of every feature:
#   numeric:     value bins (-inf, e1], (e1, e2], …, (ek, inf), then __missing__
#   categorical: one bin per category, then __other__, then __missing__
MISSING_BIN = "__missing__"
OTHER_BIN = "__other__"
WINDOW_COL = "__window"

_WINDOW_UNITS = {
    "d": ("d", "D"),
    "day": ("d", "D"),
    "days": ("d", "D"),
    "h": ("h", "h"),
    "hour": ("h", "h"),
    "hours": ("h", "h"),
    "w": ("w", "W"),
    "week": ("w", "W"),
    "weeks": ("w", "W"),
    "min": ("m", "min"),
    "m": ("m", "min"),
}


def parse_window(window: str) -> tuple[str, pd.Timedelta]:
    """``"1D"``, ``"7D"``, ``"12h"``, ``"1W"``, ``"30min"`` → (narwhals truncate spec, length).

    Windows start at ``ts`` truncated to multiples of the window since the Unix epoch
    (polars/narwhals ``dt.truncate``): days at midnight, ``1W`` on Mondays.
    """
    import re

    m = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]+)\s*", str(window))
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _WINDOW_UNITS or int(m.group(1)) < 1:
        raise ValueError(
            f"`window` must be a positive count and a unit among D, h, W, min (e.g. '1D', "
            f"'7D', '12h'); got {window!r}."
        )
    k = int(m.group(1))
    nw_unit, pd_unit = _WINDOW_UNITS[unit]
    length = pd.Timedelta(weeks=k) if nw_unit == "w" else pd.Timedelta(f"{k}{pd_unit}")
    return f"{k}{nw_unit}", length


def _ts_literal(value: Any, dtype: Any) -> Any:
    """A timestamp comparable with a column of ``dtype`` (time zone aligned, whole µs)."""
    t = pd.Timestamp(value).floor("us")
    tz = getattr(dtype, "time_zone", None)
    if tz and t.tzinfo is None:
        t = t.tz_localize(tz)
    elif not tz and t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t.to_pydatetime()


def time_filter(lf: nw.LazyFrame, ts: str, start: Any = None, end: Any = None) -> nw.LazyFrame:
    """Rows with ``start ≤ ts < end`` (either bound may be ``None``)."""
    dtype = schema(lf)[ts]
    if start is not None:
        lf = lf.filter(nw.col(ts) >= _ts_literal(start, dtype))
    if end is not None:
        lf = lf.filter(nw.col(ts) < _ts_literal(end, dtype))
    return lf


def _window_expr(lf: nw.LazyFrame, ts: str, every: str, anchor: Any) -> tuple[Any, Any]:
    """Window key expression and a function mapping collected keys to window starts.

    Without ``anchor``: ``dt.truncate(every)`` for a single unit (``1d``, ``1h``), windows
    aligned on the Unix epoch for multiples (``7d``). With ``anchor``: windows of the given length
    starting at ``anchor`` (and every multiple before/after it), key
    ``(ts − origin) // length`` in whole seconds, where ``origin`` is ``anchor`` moved back by
    whole windows to before 1900 so the division never sees a negative number (SQL engines
    truncate integer division toward zero).
    """
    if anchor is None and int(every[:-1]) == 1:
        return nw.col(ts).dt.truncate(every), lambda k: pd.Timestamp(k)
    if anchor is None:  # multiples: epoch-aligned like polars' truncate, on every engine
        anchor = pd.Timestamp("1970-01-01")
    dtype = schema(lf)[ts]
    a = pd.Timestamp(_ts_literal(anchor, dtype))
    tz = getattr(dtype, "time_zone", None)
    if tz and a.tzinfo is None:
        a = a.tz_localize(tz)
    length = parse_window_length(every)
    floor_1900 = pd.Timestamp("1900-01-01", tz=a.tzinfo)
    origin = a - int(np.ceil((a - floor_1900) / length)) * length
    sec = int(length.total_seconds())
    expr = (nw.col(ts) - _ts_literal(origin, dtype)).dt.total_seconds() // sec
    return expr, lambda k: origin + int(k) * length


def parse_window_length(every: str) -> pd.Timedelta:
    """Length of a narwhals truncate spec produced by :func:`parse_window` (``"7d"`` …)."""
    k, unit = int(every[:-1]), every[-1]
    days = {"w": 7.0, "d": 1.0, "h": 1 / 24, "m": 1 / 1440}[unit]
    return pd.Timedelta(days=k * days).round("s")


def is_numeric_dtype(dtype: Any) -> bool:
    return bool(dtype.is_numeric()) or dtype == nw.Boolean


def is_string_dtype(dtype: Any) -> bool:
    return dtype == nw.String or dtype == nw.Categorical or dtype == nw.Enum


def _float(name: str) -> Any:
    return nw.col(name).cast(nw.Float64)


def _missing(name: str, numeric: bool) -> Any:
    if numeric:
        c = _float(name)
        return (c.is_null() | c.is_nan()).fill_null(True)
    return nw.col(name).is_null()


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


def matured_pairs(
    lf: nw.LazyFrame,
    *,
    score: str,
    label: str,
    label_ts: str,
    ts: str,
    as_of: Any,
    age: pd.Timedelta,
    every: str,
    reference_period: tuple[Any, Any],
    anchor: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outcome drift inputs on equal-age labels (windows as in :func:`bin_counts`).

    A positive counts only when ``label == 1`` and ``label_ts ≤ ts + age``; only events with
    ``ts + age ≤ as_of`` are used. Returns ``(windows, pairs)``: per window the event count
    and the matured event count (one lazy group-by), and the row-level ``(window, score,
    label, in_reference)`` of matured events only (``windows`` has the window key and its
    ``window_start``) — AUC needs row-level pairs, so these two
    columns (plus two small keys) are the only ones materialized.
    """
    sch = schema(lf)
    dtype = sch[ts]
    cutoff = _ts_literal(pd.Timestamp(_ts_literal(as_of, dtype)) - age, dtype)
    start = _ts_literal(reference_period[0], dtype)
    end = _ts_literal(reference_period[1], dtype)
    key, to_start = _window_expr(lf, ts, every, anchor)
    base = lf.with_columns(
        key.alias(WINDOW_COL),
        (nw.col(ts) <= cutoff).alias("__matured"),
    )
    windows = collect(
        base.group_by(WINDOW_COL)
        .agg(nw.len().alias("n_events"), nw.col("__matured").sum().alias("n_matured"))
        .sort(WINDOW_COL)
    )
    lab = nw.col(label).cast(nw.Int64) == 1
    in_time = ((nw.col(label_ts) - nw.col(ts)) <= age).fill_null(False)
    pairs = collect(
        base.filter(nw.col("__matured")).select(
            nw.col(WINDOW_COL),
            nw.col(score).cast(nw.Float64).alias("score"),
            (lab & in_time).fill_null(False).alias("label"),
            ((nw.col(ts) >= start) & (nw.col(ts) < end)).alias("in_reference"),
        )
    )
    windows["window_start"] = [to_start(k) for k in windows[WINDOW_COL]]
    return windows, pairs


SERVICE_LOG = Contract(
    frame="service log",
    columns=(
        Column("ts", "datetime", nullable=False),
        Column("latency_ms", "numeric", required=False, nonnegative=True),
        Column("error", "flag", required=False),
    ),
)
"""Requests of the scoring service (for monitoring's service-health layer)."""


def time_range(lf: nw.LazyFrame, ts: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Earliest and latest ``ts`` (one lazy aggregation)."""
    row = collect(lf.select(nw.col(ts).min().alias("a"), nw.col(ts).max().alias("b"))).iloc[0]
    return pd.Timestamp(row["a"]), pd.Timestamp(row["b"])


def range_counts(lf: nw.LazyFrame, ts: str, ranges: Sequence[tuple[Any, Any]]) -> list[int]:
    """Rows with ``start ≤ ts < end`` for each range, in one lazy select."""
    dtype = schema(lf)[ts]
    aggs = [
        ((nw.col(ts) >= _ts_literal(a, dtype)) & (nw.col(ts) < _ts_literal(b, dtype)))
        .fill_null(False)
        .sum()
        .alias(f"r{i}")
        for i, (a, b) in enumerate(ranges)
    ]
    row = collect(lf.select(aggs)).iloc[0]
    return [int(row[f"r{i}"]) for i in range(len(ranges))]


def service_stats(
    lf: nw.LazyFrame, *, latency: str | None, error: str | None, probs: Sequence[float]
) -> dict[str, float]:
    """Row count, error count and latency quantiles of an (already time-filtered) log."""
    aggs: list[Any] = [nw.len().alias("n")]
    if error is not None:
        aggs.append(nw.col(error).cast(nw.Int64).fill_null(0).sum().alias("errors"))
    if latency is not None:
        lat = _float(latency)
        aggs += [
            lat.quantile(float(q), interpolation="linear").alias(f"q{i}")
            for i, q in enumerate(probs)
        ]
    row = collect(lf.select(aggs)).iloc[0].to_dict()
    return {str(k): float(v) if v is not None else float("nan") for k, v in row.items()}


# ---- end drift -----------------------------------------------------------------------


# ---- labels (issue 4) ----------------------------------------------------------------
LABELED_EVENTS = Contract(
    frame="events",
    columns=(
        Column("ts", "datetime", nullable=False),
        Column("label_ts", "datetime"),
        Column("label", "flag", required=False),
        Column("score", "numeric", required=False, nullable=False, unit_interval=True),
    ),
    ordered=(("ts", "label_ts"),),
)
"""Scored events with late labels (label maturity, retraining). ``label_ts`` is the arrival
time of the label; with a ``label`` column a positive is ``label == 1`` (``label_ts`` of
negatives is ignored), without one every row with a ``label_ts`` is a positive."""

_DAY_SECONDS = 86400.0


def _label_ts_literal(value: Any, dtype: Any, *, name: str, frame: str) -> Any:
    """A timestamp as a narwhals literal, checked against the column's time zone."""
    ts = pd.Timestamp(value)
    col_tz = getattr(dtype, "time_zone", None)
    if (ts.tzinfo is None) != (col_tz is None):
        raise ValueError(
            f"{frame}: `{name}` ({ts}) and column `ts` (time zone {col_tz}) must both be "
            f"time-zone aware or both naive."
        )
    return nw.lit(ts.floor("us").to_pydatetime())


def _days_between(later: Any, earlier: Any) -> Any:
    return (later - earlier).dt.total_seconds() / _DAY_SECONDS


def label_time_range(lf: nw.LazyFrame, *, as_of: Any, frame: str = "events") -> dict[str, Any]:
    """Rows, first/last ``ts`` and rows at or after ``as_of`` in one lazy pass."""
    lit = _label_ts_literal(as_of, schema(lf)["ts"], name="as_of", frame=frame)
    out = collect(
        lf.select(
            nw.len().alias("n"),
            nw.col("ts").min().alias("ts_min"),
            nw.col("ts").max().alias("ts_max"),
            (nw.col("ts") >= lit).cast(nw.Int64).sum().alias("n_after"),
        )
    ).iloc[0]
    return {
        "n": int(out["n"]),
        "ts_min": pd.Timestamp(out["ts_min"]) if int(out["n"]) else None,
        "ts_max": pd.Timestamp(out["ts_max"]) if int(out["n"]) else None,
        "n_after": int(out["n_after"] or 0),
    }


def _positive(lf: nw.LazyFrame, has_label: bool, as_of_lit: Any) -> Any:
    """A labelled positive known at ``as_of``: label == 1 and label_ts ≤ as_of."""
    arrived = ~nw.col("label_ts").is_null() & (nw.col("label_ts") <= as_of_lit)
    if has_label:
        return (nw.col("label").cast(nw.Int64) == 1).fill_null(False) & arrived
    return arrived


def label_triangle_counts(
    lf: nw.LazyFrame,
    *,
    as_of: Any,
    origin: Any,
    cohort_days: int,
    horizon_days: int,
    has_label: bool,
    splits: Sequence[Any] = (),
    score_edges: Sequence[float] | None = None,
    frame: str = "events",
) -> pd.DataFrame:
    """Cohort × delay counts in ONE lazy group-by (STATISTICS.md §4 triangle).

    Events with ``ts < as_of`` only. Keys: ``cohort`` = floor((ts − origin)/cohort_days),
    ``delay_day`` = floor(label_ts − ts) in days for positives whose label arrived by
    ``as_of`` (capped at ``horizon_days``: the "at or beyond the horizon" bucket; −1 for
    every other row), ``period`` = number of ``splits`` ≤ ts (0 without splits), and
    ``group`` = number of ``score_edges`` ≤ score (0 without edges). Aggregates: ``n`` rows,
    ``n_pos_no_ts`` (label == 1 with no label_ts) and ``age_sum`` (Σ (as_of − ts) in days).
    The result has at most cohorts × (horizon + 2) × periods × groups rows.
    """
    sch = schema(lf)
    lit = _label_ts_literal(as_of, sch["ts"], name="as_of", frame=frame)
    org = _label_ts_literal(origin, sch["ts"], name="origin", frame=frame)
    pos = _positive(lf, has_label, lit)
    delay = _days_between(nw.col("label_ts"), nw.col("ts")).floor()
    delay = nw.when(pos).then(delay.clip(upper_bound=float(horizon_days))).otherwise(-1.0)
    exprs = [
        (_days_between(nw.col("ts"), org) / float(cohort_days))
        .floor()
        .cast(nw.Int64)
        .alias("cohort"),
        delay.cast(nw.Int64).alias("delay_day"),
        _days_between(lit, nw.col("ts")).alias("_age"),
    ]
    period: Any = nw.lit(0)
    for s in splits:
        period = period + (
            nw.col("ts") >= _label_ts_literal(s, sch["ts"], name="split", frame=frame)
        ).cast(nw.Int64)
    exprs.append(period.cast(nw.Int64).alias("period"))
    group: Any = nw.lit(0)
    for e in score_edges or ():
        group = group + (nw.col("score") >= float(e)).cast(nw.Int64)
    exprs.append(group.cast(nw.Int64).alias("group"))
    if has_label:
        no_ts = (nw.col("label").cast(nw.Int64) == 1).fill_null(False) & nw.col(
            "label_ts"
        ).is_null()
    else:
        no_ts = nw.lit(False)
    exprs.append(no_ts.cast(nw.Int64).alias("_no_ts"))
    out = collect(
        lf.filter(nw.col("ts") < lit)
        .with_columns(exprs)
        .group_by("cohort", "delay_day", "period", "group")
        .agg(
            nw.len().alias("n"),
            nw.col("_no_ts").sum().alias("n_pos_no_ts"),
            nw.col("_age").sum().alias("age_sum"),
        )
    )
    for c in ("cohort", "delay_day", "period", "group", "n", "n_pos_no_ts"):
        out[c] = out[c].astype(np.int64)
    out["age_sum"] = out["age_sum"].astype(float)
    return out.sort_values(["cohort", "delay_day", "period", "group"], ignore_index=True)


def label_positive_score_quantiles(
    lf: nw.LazyFrame, *, as_of: Any, probs: Sequence[float], has_label: bool, frame: str = "events"
) -> np.ndarray:
    """Quantiles of ``score`` among positives labelled by ``as_of`` (score-group edges)."""
    lit = _label_ts_literal(as_of, schema(lf)["ts"], name="as_of", frame=frame)
    sel = lf.filter((nw.col("ts") < lit) & _positive(lf, has_label, lit))
    out = collect(
        sel.select(
            [
                nw.col("score").quantile(float(q), interpolation="linear").alias(f"q{i}")
                for i, q in enumerate(probs)
            ]
        )
    )
    return np.asarray(out.iloc[0].to_numpy(dtype=float))


def label_calibration_counts(
    lf: nw.LazyFrame,
    *,
    as_of: Any,
    start: Any,
    has_label: bool,
    bin_width: float = 0.02,
    eps: float = 1e-6,
    frame: str = "events",
) -> pd.DataFrame:
    """Score × age cells of the events in ``[start, as_of)`` for calibration fits.

    Keys: ``logit_bin`` = floor(logit(clip(score, eps, 1 − eps)) / bin_width) and
    ``age_day`` = floor(as_of − ts) in days. Aggregates: ``n`` rows, ``n_pos`` positives
    labelled by ``as_of`` and ``logit_sum`` (Σ logit score, so each cell's mean logit is exact).
    """
    sch = schema(lf)
    lit = _label_ts_literal(as_of, sch["ts"], name="as_of", frame=frame)
    st = _label_ts_literal(start, sch["ts"], name="start", frame=frame)
    p = nw.col("score").cast(nw.Float64).clip(eps, 1 - eps)
    lg = (p / (1 - p)).log()
    out = collect(
        lf.filter((nw.col("ts") >= st) & (nw.col("ts") < lit))
        .with_columns(
            (lg / bin_width).floor().cast(nw.Int64).alias("logit_bin"),
            _days_between(lit, nw.col("ts")).floor().cast(nw.Int64).alias("age_day"),
            _positive(lf, has_label, lit).cast(nw.Int64).alias("_pos"),
            lg.alias("_lg"),
        )
        .group_by("logit_bin", "age_day")
        .agg(
            nw.len().alias("n"),
            nw.col("_pos").sum().alias("n_pos"),
            nw.col("_lg").sum().alias("logit_sum"),
        )
    )
    for c in ("logit_bin", "age_day", "n", "n_pos"):
        out[c] = out[c].astype(np.int64)
    out["logit_sum"] = out["logit_sum"].astype(float)
    return out.sort_values(["age_day", "logit_bin"], ignore_index=True)


# ---- end labels ----------------------------------------------------------------------


# ---- shadow (issue 5) ----------------------------------------------------------------
OFFLINE_SCORES = Contract(
    frame="offline scores",
    columns=(
        Column("score_challenger", "numeric", nullable=True, unit_interval=True),
        Column("score_champion", "numeric", required=False, nullable=True, unit_interval=True),
    ),
)
"""Offline holdout scores of the models (the distribution they were judged on)."""


@dataclass(frozen=True, slots=True)
class ShadowAggregates:
    """Everything the shadow profile needs, reduced from the log by one batch of lazy
    aggregations (``shadow_aggregates``).

    Grid resolution: scores are binned on a logit grid (``stats.agreement.ScoreGrid``,
    default 4000 bins of 0.008 in logit), so quantiles, the capacity-matched threshold and
    PSI bin edges read off ``hist_*`` are exact to one bin (0.8% in odds); the KS statistic
    is bracketed by ``[d, d_upper]``. Latencies use a log10 grid (default 1600 bins over
    10⁻² … 10⁶ ms), so latency quantiles are exact to a factor 1.0116.

    Attributes
    ----------
    totals : scalar counts (``n``, ``pairs``, 2×2 cells ``both/champion_only/
        challenger_only/neither`` at the threshold, missing and error counts, latency nulls).
    hist_champion : champion score counts on the score grid (rows with a champion score).
    hist_challenger : challenger score counts on the grid, shape ``(3, 3, n_bins)``, indexed
        by the champion's decision at the threshold (0 no flag, 1 flag, 2 champion score
        missing) and the matured label (0, 1, 2 = not matured or no label).
    latency_champion, latency_challenger : latency counts on the latency grid.
    segments : segment column → one row per value with ``n, pairs, both, champion_only,
        challenger_only, neither, missing_challenger, error_challenger``.
    flips : the disagreements with the largest |Δscore| per segment value.
    sample_champion, sample_challenger : a seeded uniform sample of scored pairs.
    sample_method : how the sample was drawn.
    """

    totals: dict[str, int]
    hist_champion: np.ndarray
    hist_challenger: np.ndarray
    latency_champion: np.ndarray
    latency_challenger: np.ndarray
    segments: dict[str, pd.DataFrame]
    flips: pd.DataFrame
    sample_champion: np.ndarray
    sample_challenger: np.ndarray
    sample_method: str


def _collect_many(queries: Sequence[Any]) -> list[pd.DataFrame]:
    """Collect a batch of small lazy aggregations.

    polars: one ``collect_all`` on the streaming engine, the queries running concurrently,
    each reading only its projected columns. Common-subplan elimination is switched off on
    purpose: it caches the shared scan in memory (at 10⁷ rows peak RSS 1.07 GB with it,
    0.51 GB without). Other engines: one query each, executed where the data lives.
    """
    natives = [q.to_native() if isinstance(q, nw.LazyFrame) else q for q in queries]
    if all(isinstance(q, pl.LazyFrame) for q in natives):
        opt = pl.QueryOptFlags(comm_subplan_elim=False)
        return [
            df.to_pandas() for df in pl.collect_all(natives, engine="streaming", optimizations=opt)
        ]
    return [collect(q) for q in queries]


def _count(expr: Any) -> Any:
    return expr.fill_null(False).cast(nw.Int64).sum()


def _score_bin(col: str, n_bins: int, span: float, clip: float) -> Any:
    """Lazy mirror of ``ScoreGrid.index``: floor(n·(logit s + span)/(2 span)), clipped."""
    s = nw.col(col).clip(clip, 1 - clip)
    pos = (s.log() - (1 - s).log()) * (n_bins / (2 * span)) + n_bins / 2
    return pos.floor().clip(0, n_bins - 1).cast(nw.Int64)


def _log_bin(col: str, lo: float, hi: float, n_bins: int) -> Any:
    """floor(n·(log10 x − lo)/(hi − lo)), clipped to [0, n − 1]."""
    x = nw.col(col).cast(nw.Float64).clip(10.0**lo, 10.0**hi)
    pos = (x.log(10.0) - lo) * (n_bins / (hi - lo))
    return pos.floor().clip(0, n_bins - 1).cast(nw.Int64)


def _hist(df: pd.DataFrame, key: str, n_bins: int) -> np.ndarray:
    out = np.zeros(n_bins, dtype=np.int64)
    if len(df):
        np.add.at(out, df[key].to_numpy(dtype=np.int64), df["count"].to_numpy(dtype=np.int64))
    return out


def shadow_bounds(lf: nw.LazyFrame) -> dict[str, Any]:
    """Row count and time span of a validated shadow log (two columns read)."""
    has_label_ts = "label_ts" in schema(lf)
    aggs = [
        nw.len().alias("n"),
        nw.col("ts").min().alias("ts_min"),
        nw.col("ts").max().alias("ts_max"),
    ]
    if has_label_ts:
        aggs.append(nw.col("label_ts").max().alias("label_ts_max"))
    row = {str(k): v for k, v in collect(lf.select(aggs)).iloc[0].to_dict().items()}
    row.setdefault("label_ts_max", None)
    return row


def score_histogram(
    lf: nw.LazyFrame, column: str, *, n_bins: int, span: float, clip: float
) -> np.ndarray:
    """Counts of a score column (nulls and NaN left out) on the score grid."""
    q = (
        lf.select(nw.col(column).cast(nw.Float64).fill_nan(None).alias("__s"))
        .filter(~nw.col("__s").is_null())
        .with_columns(_score_bin("__s", n_bins, span, clip).alias("__b"))
        .group_by("__b")
        .agg(nw.len().alias("count"))
    )
    return _hist(collect(q), "__b", n_bins)


_HASH_OVERSAMPLE = 4.0


def _row_sample(
    lf: nw.LazyFrame, size: int, seed: int, n_rows: int | None
) -> tuple[Any, str, tuple[np.ndarray, np.ndarray] | None]:
    """A seeded uniform sample of ``size`` complete pairs (``__c``, ``__h`` columns).

    polars: the ``size`` pairs with the smallest 64-bit ``hash(request_id, seed)``
    (bottom-k). When the row count ``n_rows`` is known, rows with a hash above
    ``4·size/n_rows`` of the hash range are dropped first (streaming filter; the bottom-k
    is unchanged unless fewer than ``size`` pairs survive, which the caller detects and
    redoes without the filter). DuckDB: the same with DuckDB's ``hash``. pandas and other
    engines: the pairs are collected (two float columns) and sampled with
    ``numpy.random.default_rng(seed)``. Returns (lazy query or None, method, arrays or None).
    """
    pairs = lf.filter(~nw.col("__c").is_null() & ~nw.col("__h").is_null())
    native = pairs.to_native()
    if isinstance(native, pl.LazyFrame):
        q = native.with_columns(pl.col("request_id").hash(seed).alias("__hash"))
        if n_rows and _HASH_OVERSAMPLE * size < n_rows:
            cut = int(_HASH_OVERSAMPLE * size / n_rows * 2.0**64)
            q = q.filter(pl.col("__hash") < cut)
        q = q.bottom_k(size, by="__hash").select("__c", "__h")
        return q, f"polars bottom-{size} of hash(request_id, seed={seed})", None
    if lf.implementation is nw.Implementation.DUCKDB:
        q = (
            native.project(f"__c, __h, hash(request_id, {int(seed)}) AS __hash")
            .order("__hash")
            .limit(size)
        )
        df = q.project("__c, __h").df()
        return (
            None,
            f"DuckDB bottom-{size} of hash(request_id, seed={seed})",
            (
                df["__c"].to_numpy(dtype=float),
                df["__h"].to_numpy(dtype=float),
            ),
        )
    df = collect(pairs.select("__c", "__h"))
    c, h = df["__c"].to_numpy(dtype=float), df["__h"].to_numpy(dtype=float)
    if c.size > size:
        idx = np.sort(np.random.default_rng(seed).choice(c.size, size=size, replace=False))
        c, h = c[idx], h[idx]
    return None, f"numpy default_rng(seed={seed}) sample of {size} pairs", (c, h)


def shadow_aggregates(
    lf: nw.LazyFrame,
    *,
    threshold: float,
    score_bins: tuple[int, float, float],
    latency_bins: tuple[float, float, int],
    segments: Sequence[str] = (),
    matured_before: Any = None,
    flips_per_segment: int = 5,
    sample_size: int = 200_000,
    seed: int = 0,
    n_rows: int | None = None,
) -> ShadowAggregates:
    """Reduce a validated shadow log (``validate(data, SHADOW_LOG)``) to small numbers.

    Parameters
    ----------
    threshold : decision threshold; a request is flagged when ``score ≥ threshold``.
    score_bins : ``(n_bins, span, clip)`` of the logit score grid (``stats.agreement.ScoreGrid``).
    latency_bins : ``(log10 low, log10 high, n_bins)`` of the latency grid.
    segments : segment columns.
    matured_before : rows with ``ts ≤ matured_before`` count as matured for labels
        (``None``: no label analysis).
    flips_per_segment : disagreements kept per segment value for manual review.
    sample_size, seed : the seeded uniform row sample for rank statistics.
    n_rows : the log's row count if known (lets polars pre-filter the hash sample).

    A missing score is null or NaN. All queries go to the engine together: for polars one
    ``collect_all`` (a shared streaming scan), otherwise one query each on the engine.
    """
    n_bins, span, clip = score_bins
    lat_lo, lat_hi, lat_n = latency_bins
    sch = schema(lf)
    has_label = "label" in sch and matured_before is not None
    c, h = nw.col("__c"), nw.col("__h")
    base = lf.with_columns(
        nw.col("score_champion").cast(nw.Float64).fill_nan(None).alias("__c"),
        nw.col("score_challenger").cast(nw.Float64).fill_nan(None).alias("__h"),
        nw.col("error_champion").cast(nw.Int64).fill_null(0).alias("__ec"),
        nw.col("error_challenger").cast(nw.Int64).fill_null(0).alias("__eh"),
    ).with_columns(
        nw.when(c.is_null())
        .then(nw.lit(2))
        .otherwise((c >= threshold).cast(nw.Int64))
        .alias("__fc"),
        nw.when(h.is_null())
        .then(nw.lit(2))
        .otherwise((h >= threshold).cast(nw.Int64))
        .alias("__fh"),
    )
    if has_label:
        matured = (nw.col("ts") <= matured_before) & ~nw.col("label").is_null()
        base = base.with_columns(
            nw.when(matured).then(nw.col("label").cast(nw.Int64)).otherwise(nw.lit(2)).alias("__l")
        )
    else:
        base = base.with_columns(nw.lit(2).alias("__l"))
    fc, fh = nw.col("__fc"), nw.col("__fh")
    cells = {
        "pairs": (fc != 2) & (fh != 2),
        "both": (fc == 1) & (fh == 1),
        "champion_only": (fc == 1) & (fh == 0),
        "challenger_only": (fc == 0) & (fh == 1),
        "neither": (fc == 0) & (fh == 0),
    }
    totals_q = base.select(
        nw.len().alias("n"),
        *[_count(e).alias(k) for k, e in cells.items()],
        _count(fc != 2).alias("scored_champion"),
        _count(fh != 2).alias("scored_challenger"),
        _count((fc == 1) & (fh == 2)).alias("champion_flag_challenger_missing"),
        _count((fc == 0) & (fh == 2)).alias("champion_noflag_challenger_missing"),
        _count((fc == 2) & (fh == 2)).alias("both_missing"),
        nw.col("__ec").sum().alias("error_champion"),
        nw.col("__eh").sum().alias("error_challenger"),
        _count((fc == 2) & (nw.col("__ec") == 0)).alias("missing_champion_no_error"),
        _count((fh == 2) & (nw.col("__eh") == 0)).alias("missing_challenger_no_error"),
        _count((fh != 2) & (nw.col("__eh") == 1)).alias("error_challenger_with_score"),
        _count(nw.col("latency_ms_champion").is_null()).alias("latency_missing_champion"),
        _count(nw.col("latency_ms_challenger").is_null()).alias("latency_missing_challenger"),
        _count(nw.col("__l") != 2).alias("matured_labelled"),
    )
    hist_c_q = (
        base.filter(~c.is_null())
        .with_columns(_score_bin("__c", n_bins, span, clip).alias("__b"))
        .group_by("__b")
        .agg(nw.len().alias("count"))
    )
    hist_h_q = (
        base.filter(~h.is_null())
        .with_columns(_score_bin("__h", n_bins, span, clip).alias("__b"))
        .group_by("__fc", "__l", "__b")
        .agg(nw.len().alias("count"))
    )
    lat_qs = [
        base.filter(~nw.col(col).is_null())
        .with_columns(_log_bin(col, lat_lo, lat_hi, lat_n).alias("__b"))
        .group_by("__b")
        .agg(nw.len().alias("count"))
        for col in ("latency_ms_champion", "latency_ms_challenger")
    ]
    # simple aggregations only (sums of 0/1 columns) so pandas groups efficiently
    cell_cols = {**cells, "missing_challenger": fh == 2}
    seg_base = base.with_columns(
        *[e.fill_null(False).cast(nw.Int64).alias(f"__{k}") for k, e in cell_cols.items()]
    )
    seg_qs = [
        seg_base.group_by(seg).agg(
            nw.len().alias("n"),
            *[nw.col(f"__{k}").sum().alias(k) for k in cell_cols],
            nw.col("__eh").sum().alias("error_challenger"),
        )
        for seg in segments
    ]
    disagree = base.filter(((fc == 1) & (fh == 0)) | ((fc == 0) & (fh == 1))).with_columns(
        (h - c).alias("delta"), (h - c).abs().alias("__abs")
    )
    keep = ["request_id", "ts", "score_champion", "score_challenger", "delta", "__abs"]
    flip_qs = []
    for seg in segments:
        flip_qs.append(
            disagree.with_columns(
                nw.col("__abs").rank("ordinal", descending=True).over(seg).alias("__r")
            )
            .filter(nw.col("__r") <= flips_per_segment)
            .select(
                nw.lit(seg).alias("segment"),
                nw.col(seg).cast(nw.String).alias("value"),
                *[nw.col(k) for k in keep],
            )
        )
    if not segments:
        flip_qs.append(
            disagree.top_k(flips_per_segment, by="__abs").select(
                nw.lit("(all)").alias("segment"),
                nw.lit("(all)").alias("value"),
                *[nw.col(k) for k in keep],
            )
        )
    sample_q, sample_method, sample_arrays = _row_sample(base, sample_size, seed, n_rows)
    queries: list[Any] = [totals_q, hist_c_q, hist_h_q, *lat_qs, *seg_qs, *flip_qs]
    if sample_q is not None:
        queries.append(sample_q)
    res = _collect_many(queries)
    totals = {str(k): int(v) for k, v in res[0].iloc[0].to_dict().items()}
    hist_c = _hist(res[1], "__b", n_bins)
    hist_h = np.zeros((3, 3, n_bins), dtype=np.int64)
    hh = res[2]
    if len(hh):
        np.add.at(
            hist_h,
            (
                hh["__fc"].to_numpy(dtype=np.int64),
                hh["__l"].to_numpy(dtype=np.int64),
                hh["__b"].to_numpy(dtype=np.int64),
            ),
            hh["count"].to_numpy(dtype=np.int64),
        )
    lat_c, lat_h = (_hist(d, "__b", lat_n) for d in res[3:5])
    k = 5
    seg_frames = {}
    for seg, df in zip(segments, res[k : k + len(segments)], strict=True):
        df = df.rename(columns={seg: "value"})
        counts = [c for c in df.columns if c != "value"]
        df[counts] = df[counts].astype(np.int64)
        df["value"] = (
            df["value"].astype(object).where(df["value"].notna(), "__missing__").astype(str)
        )
        seg_frames[seg] = df.sort_values("value", kind="stable").reset_index(drop=True)
    k += len(segments)
    flips = pd.concat(res[k : k + len(flip_qs)], ignore_index=True)
    flips = flips.sort_values(
        ["segment", "value", "__abs"], ascending=[True, True, False], kind="stable"
    )
    flips = flips.drop(columns="__abs").reset_index(drop=True)
    if sample_q is not None:
        smp = res[-1]
        if len(smp) < min(sample_size, totals["pairs"]):  # the hash pre-filter kept too few
            smp = (
                _row_sample(base, sample_size, seed, None)[0]
                .collect(engine="streaming")
                .to_pandas()
            )
        sample_arrays = (smp["__c"].to_numpy(dtype=float), smp["__h"].to_numpy(dtype=float))
    assert_arrays = sample_arrays if sample_arrays is not None else (np.empty(0), np.empty(0))
    return ShadowAggregates(
        totals=totals,
        hist_champion=hist_c,
        hist_challenger=hist_h,
        latency_champion=lat_c,
        latency_challenger=lat_h,
        segments=seg_frames,
        flips=flips,
        sample_champion=assert_arrays[0],
        sample_challenger=assert_arrays[1],
        sample_method=sample_method,
    )


# ---- end shadow ----------------------------------------------------------------------


# ---- canary (issue 6) ----------------------------------------------------------------
#: sufficient-statistic fields per metric and arm (additive over units; see canary.ArmStats)
CANARY_SUM_FIELDS = (
    "n",
    "events",
    "sum",
    "sum_squares",
    "denominator_sum",
    "denominator_sum_squares",
    "sum_products",
    "covariate_sum",
    "covariate_sum_squares",
    "covariate_sum_products",
)

#: columns whose values only exist once the label is known (windowed by maturity)
CANARY_LABEL_COLUMNS = ("label", "loss")


@dataclass(frozen=True, slots=True)
class CanaryMetricSpec:
    """Engine-free description of one canary metric for the lazy aggregation.

    ``numerator`` is a product of columns: ``(column, negated)`` pairs (negation only for
    flag columns, ``1 − value``); ``denominator`` a column for ratio metrics.
    ``label_based`` metrics count only matured units and windowed labels.
    """

    name: str
    numerator: tuple[tuple[str, bool], ...]
    denominator: str | None = None
    label_based: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        cols = [c for c, _ in self.numerator]
        if self.denominator is not None:
            cols.append(self.denominator)
        return tuple(dict.fromkeys(cols))


@dataclass(frozen=True, slots=True)
class CanaryDaily:
    """Per-day sums of a canary log: the output of :func:`canary_daily_sums`.

    Attributes
    ----------
    day_starts : midnight of each calendar day from the first exposure to ``as_of``.
    first_ts, last_ts : first and last exposure at or before ``as_of``.
    as_of : the analysis time.
    units : ``{arm: int array}`` units first exposed on each day.
    units_total : ``{arm: int}`` units exposed by ``as_of``.
    exposure_days : per day, days from ``first_ts`` to the last exposure up to that day's end.
    daily : ``{metric: {arm: {field: float array}}}`` sums by day — by exposure day, or for
        label-based metrics by the day at whose end the unit has matured.
    final : ``{metric: {arm: {field: float}}}`` sums over the units counted at ``as_of``.
    """

    day_starts: np.ndarray
    first_ts: pd.Timestamp
    last_ts: pd.Timestamp
    as_of: pd.Timestamp
    units: dict[str, np.ndarray]
    units_total: dict[str, int]
    exposure_days: np.ndarray
    daily: dict[str, dict[str, dict[str, np.ndarray]]]
    final: dict[str, dict[str, dict[str, float]]]


def _canary_as_of(as_of: Any, dtype: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`as_of` must be a timestamp; got {as_of!r}.") from exc
    if ts is pd.NaT:
        raise ValueError(f"`as_of` must be a timestamp; got {as_of!r}.")
    tz = getattr(dtype, "time_zone", None)
    if tz is not None and ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    elif tz is not None:
        ts = ts.tz_convert(tz)
    elif ts.tzinfo is not None:
        raise ValueError(
            f"`as_of` is timezone-aware ({ts.tzinfo}) but the canary log column `ts` is "
            "timezone-naive; pass a naive `as_of` in the log's clock."
        )
    return ts


def canary_validate(
    data: FrameLike,
    *,
    columns: Mapping[str, str] | None,
    needed: Sequence[str],
    frame: str = "canary log",
) -> nw.LazyFrame:
    """Validate a canary log (one row per randomization unit) and return it lazily.

    Besides the CANARY_LOG contract (arm values, ``label_ts`` not before ``ts``, amounts,
    losses and latencies ≥ 0), a ``unit_id`` present in both arms is an assignment leak and
    a ``unit_id`` repeated within one arm means the log is per event: both are errors (the
    analysis unit must be the randomization unit; aggregate events per unit first).
    """
    known = {c.name for c in CANARY_LOG.columns}
    extra = tuple(c for c in needed if c not in known)
    contract = Contract(CANARY_LOG.frame, CANARY_LOG.columns, None, CANARY_LOG.ordered, extra)
    lf = validate(data, contract, columns=columns, frame=frame)
    mapping = dict(columns or {})
    sch = schema(lf)
    for col in needed:
        if col not in sch:
            user = mapping.get(col, col)
            raise ValueError(
                f"{frame}: column `{user}` is required by the declared metrics but is "
                f"missing. Columns found: {sorted(sch)[:20]}."
            )
    counts = collect(
        lf.select(nw.len().alias("n"), nw.col("unit_id").n_unique().alias("n_unique"))
    ).iloc[0]
    n, n_unique = int(counts["n"]), int(counts["n_unique"])
    if n_unique < n:
        per_unit = lf.group_by("unit_id").agg(
            nw.col("arm").n_unique().alias("n_arms"), nw.len().alias("rows")
        )
        both = per_unit.filter(nw.col("n_arms") > 1)
        n_both = int(collect(both.select(nw.len().alias("k")))["k"].iloc[0])
        user = mapping.get("unit_id", "unit_id")
        if n_both:
            ex = collect(both.select("unit_id").sort("unit_id").head(5))["unit_id"].tolist()
            raise ValueError(
                f"{frame}: {n_both:,} units appear in both arms (column `{user}`), e.g. {ex}; "
                "each unit must be assigned to exactly one arm. An assignment leak "
                "invalidates the comparison: fix the assignment or drop these units."
            )
        rep = collect(per_unit.filter(nw.col("rows") > 1).select("unit_id").sort("unit_id").head(5))
        raise ValueError(
            f"{frame}: column `{user}` must be unique (one row per randomization unit); "
            f"found {n - n_unique:,} repeated rows, e.g. {rep['unit_id'].tolist()}. For a "
            "per-event log, aggregate events per unit first (sums per unit_id) and declare "
            "Ratio metrics: rows of one unit are correlated and would understate the SEs."
        )
    return lf


def _canary_value(name: str, negated: bool, sch: Mapping[str, Any], window: Any | None) -> Any:
    v = nw.col(name).cast(nw.Float64)
    if window is not None and name in CANARY_LABEL_COLUMNS:
        # a label (or loss) arriving after the window is unknown at maturity: count it as 0
        v = nw.when(window).then(v).otherwise(0.0)
    if negated:
        v = 1.0 - v
    return v


def _canary_valid(name: str, sch: Mapping[str, Any]) -> Any:
    c = nw.col(name)
    ok = ~c.is_null()
    if sch[name].is_float():
        ok = ok & ~c.is_nan().fill_null(True)
    return ok


def canary_daily_sums(
    lf: nw.LazyFrame,
    specs: Sequence[CanaryMetricSpec],
    *,
    as_of: Any,
    maturity_days: float,
    covariate: str | None = None,
    frame: str = "canary log",
) -> CanaryDaily:
    """One lazy pass: per arm and day, the sufficient statistics of every metric.

    Units exposed after ``as_of`` are dropped. For label-based metrics a unit counts once its
    label window has elapsed (``ts + maturity_days ≤ as_of``) and its label (and loss) only
    if it arrived within the window (``label_ts ≤ ts + maturity_days``), so the outcome of a
    unit never changes with ``as_of`` and any day's look equals a replay at that day.
    The group keys are arm, exposure day, maturity day and "matured at ``as_of``" — a few
    groups per day — and the result is summed per day in numpy.
    """
    sch = schema(lf)
    as_of_ts = _canary_as_of(as_of, sch["ts"])
    lit_as_of = nw.lit(as_of_ts.to_pydatetime())
    mat = pd.Timedelta(days=float(maturity_days)).to_pytimedelta()
    any_label = any(s.label_based for s in specs)
    has_label_ts = "label_ts" in sch
    lf = lf.filter(nw.col("ts") <= lit_as_of)
    window = None
    if any_label and has_label_ts:
        window = (nw.col("label_ts") <= nw.col("ts") + mat).fill_null(False)
    matured = nw.col("ts") + mat
    mday_trunc = matured.dt.truncate("1d")
    keys = {"arm": nw.col("arm"), "__day": nw.col("ts").dt.truncate("1d")}
    if any_label:
        keys["__mday"] = (
            nw.when(mday_trunc == matured)
            .then(mday_trunc - pd.Timedelta(days=1).to_pytimedelta())
            .otherwise(mday_trunc)
        )
        keys["__ok"] = matured <= lit_as_of
    if covariate is not None:
        z = nw.col(covariate).cast(nw.Float64)
    cols: dict[str, Any] = {}
    for i, s in enumerate(specs):
        valid = _canary_valid(s.columns[0], sch)
        for c in s.columns[1:]:
            valid = valid & _canary_valid(c, sch)
        y = None
        for c, neg in s.numerator:
            v = _canary_value(c, neg, sch, window if s.label_based else None)
            y = v if y is None else y * v
        y = nw.when(valid).then(y).otherwise(0.0)
        p = f"__m{i}_"
        cols[p + "n"] = valid.cast(nw.Float64)
        cols[p + "events"] = (valid & (y != 0)).cast(nw.Float64)
        cols[p + "sum"] = y
        cols[p + "sum_squares"] = y * y
        if s.denominator is not None:
            x = nw.when(valid).then(nw.col(s.denominator).cast(nw.Float64)).otherwise(0.0)
            cols[p + "denominator_sum"] = x
            cols[p + "denominator_sum_squares"] = x * x
            cols[p + "sum_products"] = x * y
        if covariate is not None:
            zv = nw.when(valid).then(z).otherwise(0.0)
            cols[p + "covariate_sum"] = zv
            cols[p + "covariate_sum_squares"] = zv * zv
            cols[p + "covariate_sum_products"] = zv * y
    lf = lf.with_columns(**keys, **cols)
    aggs = [
        nw.len().alias("__units"),
        nw.col("ts").min().alias("__first"),
        nw.col("ts").max().alias("__last"),
    ]
    aggs += [nw.col(k).sum().alias(k) for k in cols]
    g = collect(lf.group_by(*keys).agg(*aggs))
    present = sorted(set(g["arm"].astype(str))) if len(g) else []
    missing = [a for a in ARMS if a not in present]
    if missing:
        raise ValueError(
            f"{frame}: arm {missing[0]!r} has no units exposed up to as_of={as_of_ts}; "
            f"found arms {present}. A canary analysis needs both 'control' and 'canary'."
        )
    first = pd.Timestamp(g["__first"].min())
    last = pd.Timestamp(g["__last"].max())
    tz = first.tzinfo
    day0 = first.normalize()
    end_day = (as_of_ts - pd.Timedelta(microseconds=1)).normalize()
    n_days = int((end_day - day0) / pd.Timedelta(days=1)) + 1
    day_starts = pd.date_range(day0, periods=n_days, freq="D", tz=tz).to_numpy()

    def index(col: str) -> np.ndarray:
        d = pd.to_datetime(g[col])
        if tz is not None and d.dt.tz is None:
            d = d.dt.tz_localize(tz)
        return np.asarray(((d - day0) / pd.Timedelta(days=1)).round().astype(int))

    day_idx = index("__day")
    mday_idx = index("__mday") if any_label else day_idx
    arm = g["arm"].astype(str).to_numpy()

    def by_day(values: np.ndarray, idx: np.ndarray, mask: np.ndarray) -> np.ndarray:
        keep = mask & (idx < n_days)
        return np.bincount(idx[keep], weights=values[keep], minlength=n_days).astype(float)

    units = {a: by_day(g["__units"].to_numpy(float), day_idx, arm == a) for a in ARMS}
    units_total = {a: int(g.loc[arm == a, "__units"].sum()) for a in ARMS}
    last_ts = pd.to_datetime(g["__last"])
    if tz is not None and last_ts.dt.tz is None:
        last_ts = last_ts.dt.tz_localize(tz)
    last_rel = np.asarray((last_ts - first) / pd.Timedelta(days=1), dtype=float)
    day_last = np.full(n_days, np.nan)
    np.fmax.at(day_last, np.minimum(day_idx, n_days - 1), last_rel)
    exposure_days = np.fmax.accumulate(day_last)
    daily: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    final: dict[str, dict[str, dict[str, float]]] = {}
    ok = g["__ok"].to_numpy(bool) if any_label else np.ones(len(g), bool)
    for i, s in enumerate(specs):
        idx = mday_idx if s.label_based else day_idx
        in_final = ok if s.label_based else np.ones(len(g), bool)
        daily[s.name], final[s.name] = {}, {}
        for a in ARMS:
            sel = arm == a
            daily[s.name][a], final[s.name][a] = {}, {}
            for f in CANARY_SUM_FIELDS:
                key = f"__m{i}_{f}"
                vals = g[key].to_numpy(float) if key in g else np.zeros(len(g))
                daily[s.name][a][f] = by_day(vals, idx, sel)
                final[s.name][a][f] = float(vals[sel & in_final].sum())
    return CanaryDaily(
        day_starts=day_starts,
        first_ts=first,
        last_ts=last,
        as_of=as_of_ts,
        units={a: units[a].astype(int) for a in ARMS},
        units_total=units_total,
        exposure_days=exposure_days,
        daily=daily,
        final=final,
    )


# ---- end canary ----------------------------------------------------------------------


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


def _polars_if_mixed(a: nw.LazyFrame, b: nw.LazyFrame) -> tuple[nw.LazyFrame, nw.LazyFrame]:
    """Two frames on one engine so they can be joined (the non-polars side is collected)."""
    if a.implementation == b.implementation:
        return a, b

    def to_polars(lf: nw.LazyFrame) -> nw.LazyFrame:
        if lf.implementation is nw.Implementation.POLARS:
            return lf
        return lf.collect().lazy(backend="polars")

    return to_polars(a), to_polars(b)


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
    ``missing_in_training`` (counts + example keys), ``schema_problems`` (list of str),
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

    n_miss_r, ex_miss_r = anti(t_sel, r_sel)
    n_miss_t, ex_miss_t = anti(r_sel, t_sel)
    return {
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


# ---- end registry / gates ------------------------------------------------------------
