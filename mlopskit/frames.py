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


# ---- end overview --------------------------------------------------------------------


# ---- drift (issue 3) -----------------------------------------------------------------


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


def _ts_literal(value: Any, dtype: Any, *, name: str, frame: str) -> Any:
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
    lit = _ts_literal(as_of, schema(lf)["ts"], name="as_of", frame=frame)
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
    lit = _ts_literal(as_of, sch["ts"], name="as_of", frame=frame)
    org = _ts_literal(origin, sch["ts"], name="origin", frame=frame)
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
            nw.col("ts") >= _ts_literal(s, sch["ts"], name="split", frame=frame)
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
    lit = _ts_literal(as_of, schema(lf)["ts"], name="as_of", frame=frame)
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
    lit = _ts_literal(as_of, sch["ts"], name="as_of", frame=frame)
    st = _ts_literal(start, sch["ts"], name="start", frame=frame)
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


# ---- end shadow ----------------------------------------------------------------------


# ---- canary (issue 6) ----------------------------------------------------------------


# ---- end canary ----------------------------------------------------------------------
