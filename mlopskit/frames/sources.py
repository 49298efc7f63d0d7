"""Reading a model config's sources: parquet paths/globs/directories, CSV, DuckDB tables or
queries and Spark tables or paths, lazily, and mapping the data's columns to the contract's.

``log_frame`` returns a narwhals LazyFrame whose columns carry the canonical names
(``ts``, ``score``, ``label``, …) next to the untouched other columns, with string
timestamps parsed, the label turned into 0/1 by the config's positive value and, when
labels are final, ``label_ts`` set to the event time of each positive. Nothing is collected.
"""

from __future__ import annotations

import glob as _glob
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw
import polars as pl

if TYPE_CHECKING:  # frames is the bottom layer: the config types are only annotations here
    from mlopskit.modelconfig.schema import Log, ModelConfig, Source

TIMESTAMP_COLUMNS = ("ts", "label_ts")


def read_source(source: Source, *, base: Path | None = None, spark: Any = None) -> Any:
    """The native lazy frame of a source (polars LazyFrame, DuckDB relation, Spark DataFrame).

    Relative paths are resolved against ``base`` (the config file's directory). ``spark``
    is a SparkSession; ``None`` uses the active one.
    """

    def where(p: str) -> str:
        if base is None or Path(p).is_absolute() or "://" in p:
            return p
        return str(base / p)

    if source.kind == "path":
        p = where(str(source.path))
        if Path(p).is_dir():
            p = str(Path(p) / "*.parquet")
        if not _glob.glob(p) and "://" not in p:
            raise ValueError(f"source `{source.path}`: no parquet file matches `{p}`.")
        return pl.scan_parquet(p)
    if source.kind == "csv":
        p = where(str(source.path))
        if not _glob.glob(p):
            raise ValueError(f"source `{source.path}`: no CSV file matches `{p}`.")
        # strings stay strings: timestamps are parsed from the config (format or ISO 8601)
        return pl.scan_csv(p, try_parse_dates=False, infer_schema_length=10_000)
    if source.kind == "duckdb":
        try:
            import duckdb
        except ImportError as exc:
            raise ImportError(
                "a duckdb source needs DuckDB: pip install 'mlopskit[duckdb]'."
            ) from exc
        db = where(str(source.database))
        if not Path(db).is_file():
            raise ValueError(f"source `{source.describe()}`: database file `{db}` does not exist.")
        con = duckdb.connect(db, read_only=True)
        return con.table(source.table) if source.table else con.sql(str(source.sql))
    if source.kind == "spark":
        if spark is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:
                raise ImportError(
                    "a spark source needs PySpark: pip install 'mlopskit[spark]'."
                ) from exc
            spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        if source.table:
            return spark.table(source.table)
        return spark.read.format(source.format).load(where(str(source.path)))
    raise ValueError(f"unknown source kind {source.kind!r}")


#: strptime formats tried, in order, on string timestamps when no format is configured.
ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
               "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d")  # fmt: skip


def infer_timestamp_format(lf: nw.LazyFrame, column: str, *, frame: str) -> str:
    """The first of :data:`ISO_FORMATS` that parses every one of the first 1,000 non-null
    strings of ``column`` (one format for every engine, so every engine parses alike)."""
    import datetime as dt

    head = lf.select(nw.col(column)).filter(~nw.col(column).is_null()).head(1_000).collect()
    values = [str(v) for v in head.get_column(column).to_list()]
    for fmt in ISO_FORMATS:
        try:
            for v in values:
                dt.datetime.strptime(v, fmt)
        except ValueError:
            continue
        return fmt
    raise ValueError(
        f"{frame}: string timestamps in `{column}` (e.g. {values[:2]}) match none of "
        f"{list(ISO_FORMATS)}; set `timestamp_format` on the log's source."
    )


def _parse_ts(expr: Any, dtype: Any, fmt: str | None) -> Any:
    if dtype == nw.String:
        return expr.str.to_datetime(format=fmt)
    if dtype == nw.Date:
        return expr.cast(nw.Datetime("us"))
    return expr


def map_columns(
    lf: nw.LazyFrame,
    columns: Mapping[str, str],
    *,
    frame: str,
    timestamp_format: str | None = None,
    positive: Any = 1,
    labels_final: bool = False,
) -> nw.LazyFrame:
    """Expose the data's columns under their contract names (lazily; other columns kept).

    ``columns`` maps canonical → data name. String/date ``ts``/``label_ts`` become datetimes;
    ``label`` becomes 0/1 (Int64) by ``positive`` (nulls stay null); with ``labels_final``
    and no ``label_ts`` mapped, ``label_ts`` is the event time for a positive label.
    """
    sch = dict(lf.collect_schema())
    missing = {k: v for k, v in columns.items() if v not in sch}
    if missing:
        k, v = next(iter(missing.items()))
        raise ValueError(
            f"{frame}: column `{v}` (mapped to `{k}`) is not in the data; it has {sorted(sch)}."
        )
    exprs = []
    taken = set(columns.values())
    for canonical, name in columns.items():
        expr = nw.col(name)
        if canonical in TIMESTAMP_COLUMNS:
            fmt = timestamp_format
            if sch[name] == nw.String and fmt is None:
                fmt = infer_timestamp_format(lf, name, frame=frame)
            expr = _parse_ts(expr, sch[name], fmt)
        if canonical == "label":
            expr = _label01(expr, sch[name], positive, frame=frame, column=name)
        exprs.append(expr.alias(canonical))
    keep = [nw.col(c) for c in sch if c not in columns.keys() and (c not in taken or c in columns)]
    out = lf.select(*keep, *exprs)
    if labels_final and "label" in columns and "label_ts" not in columns and "ts" in columns:
        out = out.with_columns(
            nw.when(nw.col("label") == 1).then(nw.col("ts")).otherwise(None).alias("label_ts")
        )
    return out


def _label01(expr: Any, dtype: Any, positive: Any, *, frame: str, column: str) -> Any:
    if dtype == nw.Boolean:
        pos = bool(positive) if not isinstance(positive, str) else positive.lower() == "true"
        return (expr == pos).cast(nw.Int64)
    if dtype.is_numeric():
        if isinstance(positive, str):
            raise ValueError(
                f"{frame}: `labels.positive` is {positive!r} but label column `{column}` is "
                f"numeric ({dtype}); use the numeric value of a positive (e.g. 1)."
            )
        return (expr == positive).cast(nw.Int64)
    if dtype == nw.String or dtype == nw.Categorical:
        return (expr == str(positive)).cast(nw.Int64)
    raise ValueError(
        f"{frame}: label column `{column}` must be boolean, numeric or string; found {dtype}."
    )


def log_frame(cfg: ModelConfig, log: str | Log, *, spark: Any = None) -> nw.LazyFrame:
    """A config log as a lazy frame with canonical column names (see :func:`map_columns`)."""
    lg = cfg.logs[log] if isinstance(log, str) else log
    base = cfg.path.parent if cfg.path is not None else None
    native = read_source(lg.source, base=base, spark=spark)
    return map_columns(
        nw.from_native(native).lazy() if not isinstance(native, nw.LazyFrame) else native,
        lg.columns,
        frame=f"{cfg.model} {lg.name} ({lg.source.describe()})",
        timestamp_format=lg.source.timestamp_format,
        positive=cfg.labels.positive,
        labels_final=cfg.labels.final,
    )


# --------------------------------------------------------------------------------------
# A sample, summarized per column, for `mlopskit init`'s guesses
# --------------------------------------------------------------------------------------
_ISO_FORMATS = (None, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def _datetime_share(s: pl.Series) -> float:
    """Share of the strings that parse as ISO datetimes (best of a few ISO formats)."""
    if not len(s):
        return 0.0
    best = 0.0
    for fmt in _ISO_FORMATS:
        try:
            parsed = s.str.to_datetime(format=fmt, strict=False)
        except pl.exceptions.PolarsError:  # no format inferred: not a timestamp column
            continue
        best = max(best, float(parsed.is_not_null().mean()))  # type: ignore[arg-type]
    return best


def sample_columns(
    source: Source, *, n: int = 5_000, base: Path | None = None
) -> dict[str, dict[str, Any]]:
    """Per column of the first ``n`` rows: ``dtype`` (kind word), ``n``, ``n_null``,
    ``n_unique``, ``numeric_values`` (distinct values when ≤ 3, else None), ``min``, ``max``,
    ``datetime_share`` (share of non-null strings that parse as ISO datetimes)."""
    native = read_source(source, base=base)
    df = nw.from_native(native).lazy().head(n).collect().to_polars()
    out: dict[str, dict[str, Any]] = {}
    for name in df.columns:
        s = df.get_column(name)
        nn = s.drop_nulls()
        info: dict[str, Any] = {
            "n": len(s),
            "n_null": s.null_count(),
            "n_unique": nn.n_unique(),
            "min": None,
            "max": None,
            "values": None,
            "datetime_share": 0.0,
        }
        dt = s.dtype
        if dt == pl.Boolean:
            info["dtype"] = "bool"
            info["values"] = sorted({bool(v) for v in nn.to_list()})
        elif dt.is_numeric():
            info["dtype"] = "int" if dt.is_integer() else "float"
            nn = nn.filter(nn.is_not_nan()) if dt.is_float() else nn
            if len(nn):
                info["min"], info["max"] = float(nn.min()), float(nn.max())  # type: ignore[arg-type]
                info["mean"] = float(nn.cast(pl.Float64).mean())  # type: ignore[arg-type]
                info["percentiles"] = [
                    float(nn.cast(pl.Float64).quantile(q / 100, "lower"))  # type: ignore[arg-type]
                    for q in range(101)
                ]
            if nn.n_unique() <= 3:
                info["values"] = sorted(float(v) for v in nn.unique().to_list())
        elif dt.is_temporal():
            info["dtype"] = "datetime"
            info["datetime_share"] = 1.0
        elif dt == pl.String:
            info["dtype"] = "string"
            info["datetime_share"] = _datetime_share(nn)
            if nn.n_unique() <= 3:
                info["values"] = sorted(nn.unique().to_list())
        else:
            info["dtype"] = str(dt)
        out[name] = info
    return out
