"""Data contracts (ARCHITECTURE.md §4) and their one-pass validation with errors that name frame, column, rule and values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals.stable.v2 as nw

from mlopskit.frames.inputs import ARMS, FrameLike, Kind, collect, collect_native, lazy, schema
from mlopskit.frames.mapping import check_columns


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
    if kind == "flag":  # booleans, or 0/1 in any numeric dtype (float labels included)
        return dtype == nw.Boolean or bool(dtype.is_numeric())
    raise ValueError(f"unknown column kind {kind!r}")


_KIND_WORDS = {
    "numeric": "a numeric dtype",
    "integer": "an integer dtype",
    "string": "a string dtype",
    "arm": "a string dtype with values 'control'/'canary'",
    "datetime": "a datetime dtype",
    "flag": "a boolean (or 0/1 numeric) dtype",
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


@dataclass(frozen=True, slots=True)
class ValidationPlan:
    """The contract checks of one frame as lazy expressions, to run inside another query.

    ``validate`` runs them as one aggregation; the shadow and canary scans put ``flags``
    (0/1 per row, summed) and the unique-id count into the same query as their statistics,
    so the log is read once. ``check(counts)`` raises the same errors as ``validate``.

    Attributes
    ----------
    lf : the frame, lazily, with canonical column names.
    frame : the frame's name in error messages.
    flags : check key → (column, row-level violation expression, rule).
    unique : column whose values must be unique, or ``None``.
    mapping : canonical name → the user's column name.
    """

    lf: nw.LazyFrame
    frame: str
    flags: dict[str, tuple[str, Any, str]]
    unique: str | None
    mapping: dict[str, str]

    def aggregations(self, prefix: str = "", *, unique: bool = True) -> list[Any]:
        """``{prefix}__n`` (rows), one violation count per check and (``unique``) the
        unique-id count ``{prefix}__n_unique``."""
        aggs = [nw.len().alias(f"{prefix}__n")]
        for key, (_, expr, _) in self.flags.items():
            aggs.append(expr.fill_null(False).cast(nw.Int64).sum().alias(prefix + key))
        if unique and self.unique is not None:
            aggs.append(nw.col(self.unique).n_unique().alias(f"{prefix}__n_unique"))
        return aggs

    def indicators(self, prefix: str = "") -> dict[str, Any]:
        """Per-row 0/1 violation columns (to be summed inside a group-by)."""
        return {
            prefix + key: expr.fill_null(False).cast(nw.Int64)
            for key, (_, expr, _) in self.flags.items()
        }

    def check(self, counts: Mapping[str, Any], prefix: str = "") -> None:
        """Raise the first violation found in ``counts`` (the sums of ``aggregations``)."""
        name, lf, mapping = self.frame, self.lf, self.mapping
        n = int(counts[f"{prefix}__n"])
        if n == 0:
            what = "log" if name.endswith("log") else "frame"
            raise ValueError(
                f"{name}: the {what} is empty (0 rows), nothing to analyse; check the path or "
                "the filters that produced it."
            )
        for key, (colname, expr, rule) in self.flags.items():
            k = int(counts[prefix + key])
            if k:
                shown_cols = [colname] if not key.startswith("order__") else ["ts", colname]
                sample = _sample(lf, expr.fill_null(False), shown_cols)
                user = mapping.get(colname, colname)
                raise ValueError(
                    f"{name}: column `{user}` {rule}; found {k:,} of {n:,} rows violating it, "
                    f"e.g. {sample}."
                )
        key_u = f"{prefix}__n_unique"
        if self.unique is not None and key_u in counts and int(counts[key_u]) < n:
            uid = self.unique
            dup = collect(
                lf.group_by(uid).agg(nw.len().alias("count")).filter(nw.col("count") > 1).head(5)
            )
            user = mapping.get(uid, uid)
            raise ValueError(
                f"{name}: column `{user}` must be unique; found {n - int(counts[key_u]):,} "
                f"duplicated rows, e.g. {dup[uid].tolist()}."
            )

    def run(self) -> nw.LazyFrame:
        """Run the checks as their own aggregation (one pass) and return ``lf``."""
        row = collect(self.lf.select(self.aggregations())).iloc[0]
        self.check({str(k): v for k, v in row.items()})
        return self.lf


def validation_plan(
    data: FrameLike,
    contract: Contract,
    *,
    columns: Mapping[str, str] | None = None,
    frame: str | None = None,
) -> ValidationPlan:
    """The schema checks of :func:`validate` (no data read) and its value checks, lazily."""
    name = frame or contract.frame
    accepted = [c.name for c in contract.columns] + list(contract.extra)
    mapping = check_columns(columns, accepted, frame=name)
    lf = lazy(data, frame=name)
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
        if col.kind == "numeric" and sch[actual] == nw.Boolean:
            raise ValueError(
                f"{name}: column `{actual}` must have {_KIND_WORDS[col.kind]}; found a boolean "
                "column (true/false is not a measurement; check the column mapping)."
            )
        if actual != col.name:
            rename[actual] = col.name
        present.append(col)
    zones = {
        mapping.get(c.name, c.name): getattr(sch[mapping.get(c.name, c.name)], "time_zone", None)
        for c in present
        if c.kind == "datetime" and sch[mapping.get(c.name, c.name)] == nw.Datetime
    }
    if len({tz is None for tz in zones.values()}) > 1:
        shown = ", ".join(f"`{k}` ({tz or 'naive'})" for k, tz in zones.items())
        raise ValueError(
            f"{name}: timestamp columns {shown} mix timezone-aware and naive values; make them "
            "all naive UTC (e.g. `.dt.tz_convert('UTC').dt.tz_localize(None)`) or all aware."
        )
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

    checks: dict[str, tuple[str, Any, str]] = {}
    for col in present:
        c = nw.col(col.name)
        if not col.nullable:
            checks[f"null__{col.name}"] = (col.name, c.is_null(), "must not be null")
        if col.unit_interval:
            bad = (c < 0) | (c > 1)
            rule = "must lie in [0, 1]"
            if not col.nullable and sch[mapping.get(col.name, col.name)].is_float():
                bad = bad | c.is_nan()
                rule = "must lie in [0, 1] and not be NaN"
            checks[f"range__{col.name}"] = (col.name, bad, rule)
        if col.nonnegative:
            checks[f"neg__{col.name}"] = (col.name, c < 0, "must be ≥ 0")
        if col.kind == "numeric" and sch[mapping.get(col.name, col.name)].is_float():
            inf = ~c.is_finite() & ~c.is_nan()
            checks[f"inf__{col.name}"] = (col.name, inf, "must be finite (no ±inf)")
        if col.kind == "arm":
            bad = ~c.is_in(list(ARMS)) & ~c.is_null()
            checks[f"arm__{col.name}"] = (col.name, bad, "must be 'control' or 'canary'")
        if col.kind == "flag" and sch[mapping.get(col.name, col.name)].is_numeric():
            # polars ≥ 2 refuses `is_in([0, 1])` on a float column (no lossy coercion):
            # two comparisons hold for every numeric dtype (a NaN is neither 0 nor 1)
            bad = ~((c == 0) | (c == 1)) & ~c.is_null()
            checks[f"flag__{col.name}"] = (col.name, bad, "must be 0/1 (or boolean)")
    present_names = {c.name for c in present}
    for earlier, later in contract.ordered:
        if earlier in present_names and later in present_names:
            bad = nw.col(later) < nw.col(earlier)
            checks[f"order__{later}"] = (later, bad, f"must not be earlier than `{earlier}`")
    unique = contract.unique if contract.unique and contract.unique in present_names else None
    return ValidationPlan(lf, name, checks, unique, mapping)


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
    columns : mapping canonical name → the user's column name, for logs that use other names
        (a key that is not a column of the contract nor an ``extra`` is an error).
    frame : name used in error messages (defaults to the contract's).

    Raises
    ------
    ValueError
        On a missing column, a wrong dtype, a duplicated id, ``label_ts`` before ``ts``, an
        arm other than control/canary, a score outside [0, 1] or NaN, a negative amount, or
        nulls where none are allowed. The message names the frame, the column, the rule and
        up to five offending values.
    """
    return validation_plan(data, contract, columns=columns, frame=frame).run()


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


SERVICE_LOG = Contract(
    frame="service log",
    columns=(
        Column("ts", "datetime", nullable=False),
        Column("latency_ms", "numeric", required=False, nonnegative=True),
        Column("error", "flag", required=False),
    ),
)


"""Requests of the scoring service (for monitoring's service-health layer)."""


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


# ---- shadow (issue 5) ----------------------------------------------------------------
OFFLINE_SCORES = Contract(
    frame="offline scores",
    columns=(
        Column("score_challenger", "numeric", nullable=True, unit_interval=True),
        Column("score_champion", "numeric", required=False, nullable=True, unit_interval=True),
    ),
)


"""Offline holdout scores of the models (the distribution they were judged on)."""
