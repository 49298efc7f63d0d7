"""Engine adaptation: any frame-like input as a narwhals LazyFrame, dtype helpers, time windows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import polars as pl

from mlopskit.frames.parquet_counts import register_scan

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
            native = pl.scan_parquet(pattern)
            if not path.is_dir():  # category counts may read its dictionary pages
                register_scan(native, path)
            return nw.from_native(native)
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
        return _session_wall_clock(obj) if is_sparklike(obj) else obj
    raise ValueError(f"{frame}: expected a dataframe, got a {type(obj).__name__}.")


def is_sparklike(lf: nw.LazyFrame) -> bool:
    """A PySpark (classic or Connect) or SQLFrame frame."""
    impl = lf.implementation
    return bool(impl.is_pyspark() or impl.is_pyspark_connect() or impl.is_sqlframe())


def _session_wall_clock(lf: nw.LazyFrame) -> nw.LazyFrame:
    """Spark's ``TIMESTAMP`` columns (instants, shown in ``spark.sql.session.timeZone``) as
    naive wall-clock times in the session time zone (``TIMESTAMP_NTZ``), the way a Spark
    user reads them, so naive ``as_of`` and window bounds compare with them as written."""
    aware = [c for c, d in schema(lf).items() if d == nw.Datetime and d.time_zone is not None]
    if not aware:
        return lf
    return lf.with_columns(*[nw.col(c).cast(nw.Datetime(schema(lf)[c].time_unit)) for c in aware])


def schema(lf: nw.LazyFrame) -> dict[str, Any]:
    """Column name → narwhals dtype, without collecting data."""
    return dict(lf.collect_schema())


def collect_native(lf: nw.LazyFrame) -> nw.DataFrame:
    """Collect a lazy query; polars runs on its streaming engine (bounded memory)."""
    if lf.implementation.is_polars():
        return lf.collect(engine="streaming")
    return lf.collect()


def collect(lf: nw.LazyFrame) -> pd.DataFrame:
    """Collect a *small* (already aggregated) lazy result to pandas (streaming for polars).

    Spark hands some computed timestamps back as instants (``date_trunc`` returns
    ``TIMESTAMP``); they become wall-clock times in their (session) time zone, like every
    Spark timestamp here (see :func:`lazy`)."""
    df = collect_native(lf).to_pandas()
    if is_sparklike(lf):
        for c in df.columns:
            if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                df[c] = df[c].dt.tz_localize(None)
    return df


def n_rows(lf: nw.LazyFrame) -> int:
    """Row count computed where the data lives."""
    return int(collect(lf.select(nw.len().alias("n")))["n"].iloc[0])


def column_values(lf: nw.LazyFrame, column: str) -> np.ndarray:
    """Materialize ONE column as a numpy array (only for columns known to be small)."""
    return collect_native(lf.select(nw.col(column))).get_column(column).to_numpy()


def _as_of_filter(lf: nw.LazyFrame, ts: str, as_of: pd.Timestamp | None) -> nw.LazyFrame:
    if as_of is None:
        return lf
    return time_filter(lf, ts, None, as_of)


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
    "minute": ("m", "min"),
    "minutes": ("m", "min"),
}
_MONTH_UNITS = ("mo", "month", "months")
_ROW_UNITS = ("row", "rows")
_ACCEPTED_UNITS = (
    "D (days), W (weeks), h (hours), min (minutes), mo (calendar months), rows (row-count "
    "chunks; an int means rows too)"
)
_MONTHS_OFFSET = 30_000
"""Months added before integer division so the dividend is never negative (SQL engines
truncate integer division toward zero)."""


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """A parsed ``window=``: a fixed length, calendar months or fixed row-count chunks.

    Attributes
    ----------
    text : the window as given (``"7D"``, ``"1mo"``, ``"100000rows"``, ``100000``).
    kind : ``time`` (fixed length: minutes, hours, days, weeks), ``months`` (calendar months:
        January has 31 days; windows start on the 1st at midnight) or ``rows`` (chunks of
        ``count`` rows in ``ts`` order; the last chunk may be partial).
    count : number of units (minutes, hours, days, weeks, months or rows).
    every : the key spec :func:`bin_counts` takes (``"7d"``, ``"1mo"``, ``"100000rows"``).
    length : the window length for ``time`` windows, else None (months and chunks vary).
    """

    text: str
    kind: Literal["time", "months", "rows"]
    count: int
    every: str
    length: pd.Timedelta | None = None

    def end(self, start: pd.Timestamp) -> pd.Timestamp | None:
        """Exclusive end of the window starting at ``start`` (None for row chunks: a chunk
        ends where the next one starts)."""
        if self.kind == "time" and self.length is not None:
            return start + self.length
        if self.kind == "months":
            return start + pd.DateOffset(months=self.count)
        return None

    def ends(self, starts: Sequence[pd.Timestamp]) -> list[pd.Timestamp | None]:
        """Exclusive end of each window (row chunks: the next chunk's start; None for the
        last chunk)."""
        if self.kind != "rows":
            return [self.end(s) for s in starts]
        return [*starts[1:], None]


def window_spec(window: str | int) -> WindowSpec:
    """Parse ``window=``: ``"1D"``, ``"7D"``, ``"12h"``, ``"1W"``, ``"30min"`` (fixed
    lengths), ``"1mo"``/``"3mo"`` (calendar months) or ``100_000`` / ``"100000rows"``
    (chunks of that many rows in ``ts`` order).

    Fixed lengths start at ``ts`` truncated to multiples of the window since the Unix epoch
    (polars/narwhals ``dt.truncate``: days at midnight, ``1W`` on Mondays) unless the function
    takes an ``anchor``. Calendar months start on the 1st at midnight (``3mo``: quarters from
    January, or from the anchor's month). ``"1M"``/``"1m"`` are refused: month or minute?
    """
    import re

    if isinstance(window, bool) or not isinstance(window, (str, int, np.integer)):
        raise ValueError(
            f"`window` must be a string such as '1D', '1mo', '100000rows' or an int (rows); "
            f"got {window!r}."
        )
    if isinstance(window, (int, np.integer)):
        if int(window) < 1:
            raise ValueError(f"`window` as a row count must be ≥ 1; got {window!r}.")
        k = int(window)
        return WindowSpec(str(window), "rows", k, f"{k}rows")
    m = re.fullmatch(r"\s*(\d[\d_]*)\s*([A-Za-z]+)\s*", window)
    unit = m.group(2) if m else ""
    if unit in ("M", "m"):  # "1M" used to mean one minute (pandas)
        raise ValueError(
            f"`window` {window!r}: 'M'/'m' is ambiguous (month or minute); write 'mo' for "
            f"calendar months or 'min' for minutes; accepted units: {_ACCEPTED_UNITS}."
        )
    unit = unit.lower()
    known = unit in _WINDOW_UNITS or unit in _MONTH_UNITS or unit in _ROW_UNITS
    k = int(m.group(1).replace("_", "")) if m else 0
    if not m or not known or k < 1:
        raise ValueError(
            f"`window` must be a positive count and a unit (e.g. '1D', '7D', '12h', '1mo', "
            f"'100000rows'); got {window!r}. accepted units: {_ACCEPTED_UNITS}."
        )
    if unit in _MONTH_UNITS:
        return WindowSpec(window, "months", k, f"{k}mo")
    if unit in _ROW_UNITS:
        return WindowSpec(window, "rows", k, f"{k}rows")
    nw_unit, pd_unit = _WINDOW_UNITS[unit]
    length = pd.Timedelta(weeks=k) if nw_unit == "w" else pd.Timedelta(f"{k}{pd_unit}")
    return WindowSpec(window, "time", k, f"{k}{nw_unit}", length)


def parse_window(window: str) -> tuple[str, pd.Timedelta]:
    """A fixed-length window (``"1D"``, ``"7D"``, ``"12h"``, ``"1W"``, ``"30min"``) →
    (narwhals truncate spec, length), for analyses that need one length (service health,
    estimated performance). Calendar months and row chunks (see :func:`window_spec`) are
    refused with the reason."""
    spec = window_spec(window)
    if spec.length is None:
        raise ValueError(
            f"`window` {window!r}: this analysis needs a fixed-length window (D, W, h, min); "
            f"{'calendar months vary in length' if spec.kind == 'months' else 'row-count chunks have no fixed length'}."
        )
    return spec.every, spec.length


def window_complete(
    spec: WindowSpec,
    starts: Sequence[Any],
    n: Any,
    *,
    as_of: Any = None,
    typical_rows: float | None = None,
    first: bool = False,
) -> np.ndarray:
    """Which windows are complete (a partial window is shown, never judged on its own).

    Row chunks: complete when they hold ``count`` rows (only the last can be short). Time
    windows and months: with ``as_of``, a window ending after ``as_of`` is partial; without
    it, the last window is partial when it holds fewer than half of ``typical_rows``
    (default: the median rows of the windows). With ``first``, the same size rule marks a
    first window the data starts inside of (an epoch-aligned ``7D`` window holding one day).
    """
    rows = np.asarray(n, dtype=float)
    if spec.kind == "rows":
        return np.asarray(rows >= spec.count)
    done = np.ones(len(starts), dtype=bool)
    if as_of is not None:
        cut = pd.Timestamp(as_of)
        for i, s in enumerate(starts):
            e = spec.end(s)
            if cut.tzinfo is None and e is not None and e.tzinfo is not None:
                cut = cut.tz_localize(e.tzinfo)
            done[i] = e is not None and e <= cut
    if len(rows) < 2:
        return done
    typical = float(np.median(rows)) if typical_rows is None else float(typical_rows)
    edges = ([] if as_of is not None else [len(rows) - 1]) + ([0] if first else [])
    for i in edges:
        if rows[i] < 0.5 * typical:
            done[i] = False
    return done


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
    """Window key expression and a function mapping collected keys to window starts (None
    for row chunks: their start is the first ``ts`` of the chunk, aggregated by the caller).

    Calendar months (``"3mo"``): see :func:`_month_expr`. Row chunks (``"1000rows"``):
    ``(rank − 1) // k`` with the ordinal rank of ``ts`` (rows with equal ``ts`` at a chunk
    boundary fall on either side, in the engine's order).

    Without ``anchor``: ``dt.truncate(every)`` for a single unit (``1d``, ``1h``), windows
    aligned on the Unix epoch for multiples (``7d``). With ``anchor``: windows of the given length
    starting at ``anchor`` (and every multiple before/after it), key
    ``(ts − origin) // length`` in whole seconds, where ``origin`` is ``anchor`` moved back by
    whole windows to before 1900 so the division never sees a negative number (SQL engines
    truncate integer division toward zero).
    """
    if every.endswith("rows"):  # chunks of k rows in ts order (ordinal rank: nulls stay null)
        k = int(every[: -len("rows")])
        rank = nw.col(ts).rank(method="ordinal").cast(nw.Int64)
        return (rank - 1) // k, None
    if every.endswith("mo"):
        return _month_expr(lf, ts, int(every[:-2]), anchor)
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
    expr = seconds_between(nw.col(ts), _ts_literal(origin, dtype), lf) // sec
    return expr, lambda k: origin + int(k) * length


def _month_expr(lf: nw.LazyFrame, ts: str, k: int, anchor: Any) -> tuple[Any, Any]:
    """Calendar-month window key: months since year 0 (``12·year + month − 1``) divided by
    ``k``; with ``anchor``, counted from the anchor's month (its day is ignored: month
    windows start on the 1st). Integer arithmetic on the wall-clock fields, every engine."""
    month_no = nw.col(ts).dt.year().cast(nw.Int64) * 12 + nw.col(ts).dt.month().cast(nw.Int64) - 1
    tz = getattr(schema(lf)[ts], "time_zone", None)

    def month_start(m: int) -> pd.Timestamp:
        t = pd.Timestamp(year=m // 12, month=m % 12 + 1, day=1)
        return t.tz_localize(tz) if tz else t

    if anchor is None:
        return month_no // k, lambda key: month_start(int(key) * k)
    a = pd.Timestamp(anchor)
    if tz and a.tzinfo is not None:
        a = a.tz_convert(tz)
    a_no = a.year * 12 + a.month - 1
    shift = -(-_MONTHS_OFFSET // k)  # whole windows added so the dividend stays ≥ 0
    expr = (month_no - a_no + shift * k) // k
    return expr, lambda key: month_start(a_no + (int(key) - shift) * k)


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


_DAY_SECONDS = 86400.0


def _days_between(later: Any, earlier: Any, lf: nw.LazyFrame) -> Any:
    return seconds_between(later, earlier, lf) / _DAY_SECONDS


def _epoch_seconds(expr: Any) -> Any:
    """Seconds since 1970-01-01 of a datetime expression, from its calendar fields.

    Days from year/month/day by the proleptic-Gregorian day count of the March-based year
    ``y`` (``365y + ⌊y/4⌋ − ⌊y/100⌋ + ⌊y/400⌋ + ⌊(153m + 2)/5⌋ + d − 719469``, H. Hinnant,
    "chrono-Compatible Low-Level Date Algorithms", for years ≥ 0), integer arithmetic only,
    so it runs on engines without a duration type narwhals reads (Spark). Fields are wall
    clock (Spark: session time zone, see :func:`lazy`). Written so ``expr`` appears few
    times (14, was 24): Spark inlines every copy of a mapped column's expression.
    """
    month = expr.dt.month().cast(nw.Int64)
    y = expr.dt.year().cast(nw.Int64) - (month <= 2).cast(nw.Int64)
    mp = (month + 9) % 12  # March = 0
    days = (
        y * 365 + y // 4 - y // 100 + y // 400 + (mp * 153 + 2) // 5 + expr.dt.day().cast(nw.Int64)
    ) - 719469
    return (
        days * 86400
        + expr.dt.hour().cast(nw.Int64) * 3600
        + expr.dt.minute().cast(nw.Int64) * 60
        + expr.dt.second().cast(nw.Int64)
        + expr.dt.microsecond().cast(nw.Float64) / 1e6
    )


def seconds_between(later: Any, earlier: Any, lf: nw.LazyFrame) -> Any:
    """``later − earlier`` in whole seconds, truncated toward zero, as polars'
    ``dt.total_seconds()`` gives it; on Spark (no ``total_seconds``) from calendar fields.
    ``earlier`` may be a datetime literal."""
    if not is_sparklike(lf):
        return (later - earlier).dt.total_seconds()
    if isinstance(earlier, (pd.Timestamp, dt.datetime)):
        e = pd.Timestamp(earlier)
        e_sec: Any = (e.tz_localize(None) - pd.Timestamp("1970-01-01")).total_seconds()
    else:
        e_sec = _epoch_seconds(earlier)
    # Spark casts a double to BIGINT by truncating toward zero (as total_seconds does):
    # one reference to the difference, not three
    return (_epoch_seconds(later) - e_sec).cast(nw.Int64)


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


def _n_unique_query(lf: nw.LazyFrame, col: str, name: str, *, rows: str | None = None) -> Any:
    """``lf.select(n_unique(col) as name)`` (and ``len() as rows``) — distinct values, a
    null counting as one. On a polars integer column it is counted on the sorted column
    (values that differ from their predecessor, plus one for any value and one for any
    null): the same number, 30–40% less CPU than polars' hash-based ``n_unique`` at 10⁷
    rows."""
    native = lf.to_native()
    if not (isinstance(native, pl.LazyFrame) and schema(lf)[col].is_integer()):
        aggs = [nw.col(col).n_unique().alias(name)]
        return lf.select(*([nw.len().alias(rows)] if rows else []), *aggs)
    c = pl.col(col)
    s = c.sort()
    distinct = (
        s.ne(s.shift(1)).sum().cast(pl.Int64)
        + (c.count() > 0).cast(pl.Int64)
        + (c.null_count() > 0).cast(pl.Int64)
    )
    q = native.select(*([pl.len().alias(rows)] if rows else []), distinct.alias(name))
    return nw.from_native(q)


def _polars_if_mixed(a: nw.LazyFrame, b: nw.LazyFrame) -> tuple[nw.LazyFrame, nw.LazyFrame]:
    """Two frames on one engine so they can be joined (the non-polars side is collected)."""
    if a.implementation == b.implementation:
        return a, b

    def to_polars(lf: nw.LazyFrame) -> nw.LazyFrame:
        if lf.implementation is nw.Implementation.POLARS:
            return lf
        return lf.collect().lazy(backend="polars")

    return to_polars(a), to_polars(b)
