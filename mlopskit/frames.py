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


# ---- end labels ----------------------------------------------------------------------


# ---- shadow (issue 5) ----------------------------------------------------------------


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
