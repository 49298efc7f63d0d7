"""The model config: one YAML file per model saying where its logs live, what its columns
are called, what its labels mean, which windows to compare and how the report talks.

Every key is validated; an error names the file and the key path
(``models/loans.yml: logs.events.columns.ts: expected a column name (string); got 3.``).
Nothing here touches data: :mod:`mlopskit.frames.sources` reads the sources.

A minimal config::

    model: loans_v1
    logs:
      events:
        source: {path: data/loans/applications.parquet}
        columns: {ts: applied_at, score: pd_score, label: defaulted, id: application_id}

The full schema, with defaults, is :data:`SCHEMA_DOC` (what ``mlopskit init`` writes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlopskit.modelconfig.canary import CanarySection, parse_canary

#: the logs a model may have, with the contract columns each maps (canonical → user's name).
LOG_COLUMNS: dict[str, tuple[str, ...]] = {
    # scored production events: monitoring (drift, outcome drift, label maturity)
    "events": ("id", "ts", "score", "label", "label_ts", "prediction"),
    # the training / baseline frame for input drift (defaults to the events' reference window)
    "reference": ("ts", "score", "label"),
    # offline holdout scores of champion and challenger (shadow calibration check)
    "offline": ("score_champion", "score_challenger", "label"),
    "shadow_log": (
        "request_id",
        "ts",
        "score_champion",
        "score_challenger",
        "latency_ms_champion",
        "latency_ms_challenger",
        "error_champion",
        "error_challenger",
        "label",
        "label_ts",
    ),
    "canary_log": (
        "unit_id",
        "ts",
        "arm",
        "score",
        "flagged",
        "label",
        "label_ts",
        "amount",
        "loss",
        "latency_ms",
        "error",
    ),
    "service_log": ("request_id", "ts", "latency_ms", "error"),
}
SOURCE_KINDS = ("path", "csv", "duckdb", "spark")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class ConfigError(ValueError):
    """A model config that does not follow the schema (the message names the key path)."""


# --------------------------------------------------------------------------------------
# The parsed config
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Source:
    """Where one log lives.

    kind ``path``: a parquet file, a glob of parquet files or a directory of them;
    ``csv``: a CSV file (``path``); ``duckdb``: a DuckDB ``database`` file with a ``table``
    or a ``sql`` query; ``spark``: a Spark ``table`` (metastore name) or a ``path`` read with
    ``format`` (default parquet) by the active SparkSession.
    """

    kind: str
    path: str | None = None
    database: str | None = None
    table: str | None = None
    sql: str | None = None
    format: str = "parquet"
    timestamp_format: str | None = None
    """strptime format for string timestamp columns (``None``: ISO 8601 is inferred)."""

    def describe(self) -> str:
        if self.kind in ("path", "csv"):
            return str(self.path)
        if self.kind == "duckdb":
            return f"duckdb:{self.database}:" + (self.table or f"({self.sql})")
        return f"spark:{self.table or f'{self.format}:{self.path}'}"


@dataclass(frozen=True, slots=True)
class Log:
    """One log: its source and its column mapping (canonical name → the data's name)."""

    name: str
    source: Source
    columns: Mapping[str, str] = field(default_factory=dict)

    def column(self, canonical: str) -> str | None:
        """The data's name for a contract column (``None`` when the log has none)."""
        return self.columns.get(canonical)


@dataclass(frozen=True, slots=True)
class Labels:
    """What the label means.

    positive : the label value that counts as a positive (``1``, ``true`` or a string such as
        ``"default"``); every other non-null value is a negative.
    final : labels present in the data are final (no ``label_ts`` needed): a label's
        arrival time is taken as the event time.
    horizon_days : days after the event by which a label is final (the label window).
    """

    positive: Any = 1
    final: bool = False
    horizon_days: int | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """A time window: explicit ``start``/``end`` dates or ``first_days``/``last_days`` of the
    events."""

    start: dt.date | None = None
    end: dt.date | None = None
    first_days: int | None = None
    last_days: int | None = None

    def describe(self) -> str:
        if self.first_days is not None:
            return f"first {self.first_days} days of the events"
        if self.last_days is not None:
            return f"last {self.last_days} days of the events"
        return f"{self.start} to {self.end} (end exclusive)"


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    importance: float | None = None
    categorical: bool | None = None
    """``None``: categorical when the column is a string column."""


@dataclass(frozen=True, slots=True)
class Domain:
    """Words the report uses for this model (no "chargebacks" for a credit model)."""

    positive: str = "positive"
    """what one positive label is called ("default", "chargeback")."""
    positives: str = "positives"
    event: str = "event"
    events: str = "events"
    team: str = "data science"
    description: str = ""


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """One model's config (see the module docstring and :data:`SCHEMA_DOC`)."""

    model: str
    path: Path | None
    logs: Mapping[str, Log]
    labels: Labels = Labels()
    reference_window: Window = Window(first_days=28)
    current_window: Window = Window(last_days=7)
    features: tuple[Feature, ...] = ()
    not_features: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    threshold: float | None = None
    champion: str | None = None
    challenger: str | None = None
    challenger_threshold: float | None = None
    as_of: dt.datetime | None = None
    training_positives: int | None = None
    last_trained: dt.datetime | None = None
    owners: Mapping[str, str] = field(default_factory=dict)
    domain: Domain = Domain()
    canary: CanarySection | None = None
    """the model's own canary metrics (:mod:`mlopskit.modelconfig.canary`); ``None``: the
    default metrics with the policy's margins."""

    def log(self, name: str) -> Log | None:
        return self.logs.get(name)

    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def categorical(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.categorical)

    def importance(self) -> dict[str, float] | None:
        imp = {f.name: f.importance for f in self.features if f.importance is not None}
        return {k: float(v) for k, v in imp.items()} or None

    def resolve(self, p: str) -> str:
        """A path in the config, relative to the config file's directory."""
        if self.path is None or Path(p).is_absolute() or "://" in p:
            return p
        return str((self.path.parent / p).resolve())


# --------------------------------------------------------------------------------------
# Validation: small typed readers that name the key path
# --------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, expected: str, got: Any) -> ConfigError:
        return ConfigError(f"{self.where}: `{key}`: expected {expected}; got {got!r}.")

    def mapping(self, value: Any, key: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(key, "a mapping", value)
        if allowed is not None:
            unknown = sorted(set(map(str, value)) - set(allowed))
            if unknown:
                raise ConfigError(
                    f"{self.where}: `{key}`: unknown key(s) {unknown}; allowed: {list(allowed)}."
                )
        return {str(k): v for k, v in value.items()}

    def string(self, value: Any, key: str, *, name: bool = False) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, "a non-empty string", value)
        if name and (not _NAME_RE.match(value) or value in {".", ".."}):
            raise self.fail(key, "a name of letters, digits, '_', '.', '-'", value)
        return value

    def opt_string(self, value: Any, key: str) -> str | None:
        return None if value is None else self.string(value, key)

    def number(self, value: Any, key: str, lo: float, hi: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise self.fail(key, f"a number in [{lo}, {hi}]", value)
        return float(value)

    def integer(self, value: Any, key: str, lo: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise self.fail(key, f"an integer ≥ {lo}", value)
        return int(value)

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def date(self, value: Any, key: str) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, "an ISO date or datetime (2026-05-01)", value)

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(key, "a list of column names", value)
        return tuple(self.string(v, f"{key}[{i}]") for i, v in enumerate(value))


def _source(r: _Reader, raw: Any, key: str) -> Source:
    if isinstance(raw, str):  # shorthand: `source: data/x.parquet`
        raw = {"path": raw}
    m = r.mapping(
        raw, key, ("kind", "path", "database", "table", "sql", "format", "timestamp_format")
    )
    path = r.opt_string(m.get("path"), f"{key}.path")
    kind = m.get("kind")
    if kind is None:
        if "database" in m:
            kind = "duckdb"
        elif path is not None and path.lower().endswith(".csv"):
            kind = "csv"
        else:
            kind = "path"
    if kind not in SOURCE_KINDS:
        raise r.fail(f"{key}.kind", f"one of {list(SOURCE_KINDS)}", kind)
    src = Source(
        kind=kind,
        path=path,
        database=r.opt_string(m.get("database"), f"{key}.database"),
        table=r.opt_string(m.get("table"), f"{key}.table"),
        sql=r.opt_string(m.get("sql"), f"{key}.sql"),
        format=r.string(m.get("format", "parquet"), f"{key}.format"),
        timestamp_format=r.opt_string(m.get("timestamp_format"), f"{key}.timestamp_format"),
    )
    if kind in ("path", "csv") and src.path is None:
        raise r.fail(f"{key}.path", f"a file, glob or directory for a `{kind}` source", None)
    if kind == "duckdb":
        if src.database is None:
            raise r.fail(f"{key}.database", "a DuckDB database file", None)
        if (src.table is None) == (src.sql is None):
            raise ConfigError(
                f"{r.where}: `{key}`: a duckdb source needs exactly one of `table` or `sql`; "
                f"got table={src.table!r}, sql={src.sql!r}."
            )
    if kind == "spark" and (src.table is None) == (src.path is None):
        raise ConfigError(
            f"{r.where}: `{key}`: a spark source needs exactly one of `table` or `path`; "
            f"got table={src.table!r}, path={src.path!r}."
        )
    return src


def _window(r: _Reader, raw: Any, key: str, default: Window) -> Window:
    if raw is None:
        return default
    m = r.mapping(raw, key, ("start", "end", "first_days", "last_days"))
    if "first_days" in m or "last_days" in m:
        if len(m) != 1:
            raise ConfigError(
                f"{r.where}: `{key}`: give `first_days`, `last_days`, or `start` and `end`; "
                f"got {sorted(m)}."
            )
        if "first_days" in m:
            return Window(first_days=r.integer(m["first_days"], f"{key}.first_days"))
        return Window(last_days=r.integer(m["last_days"], f"{key}.last_days"))
    if set(m) != {"start", "end"}:
        raise ConfigError(
            f"{r.where}: `{key}`: give `first_days`, `last_days`, or `start` and `end`; "
            f"got {sorted(m)}."
        )
    start, end = r.date(m["start"], f"{key}.start"), r.date(m["end"], f"{key}.end")
    if end <= start:
        raise r.fail(f"{key}.end", f"a date after start {start.date()}", m["end"])
    return Window(start=start, end=end)


def _features(r: _Reader, raw: Any) -> tuple[Feature, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.fail("features", "a list of column names or {name, importance, categorical}", raw)
    out = []
    for i, item in enumerate(raw):
        key = f"features[{i}]"
        if isinstance(item, str):
            out.append(Feature(item))
            continue
        m = r.mapping(item, key, ("name", "importance", "categorical"))
        imp = m.get("importance")
        cat = m.get("categorical")
        out.append(
            Feature(
                r.string(m.get("name"), f"{key}.name"),
                None if imp is None else r.number(imp, f"{key}.importance", 0.0, float("inf")),
                None if cat is None else r.boolean(cat, f"{key}.categorical"),
            )
        )
    names = [f.name for f in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise r.fail("features", "each feature listed once", dup)
    return tuple(out)


TOP_KEYS = (
    "model",
    "logs",
    "labels",
    "windows",
    "features",
    "not_features",
    "segments",
    "threshold",
    "champion",
    "challenger",
    "challenger_threshold",
    "as_of",
    "training",
    "owners",
    "domain",
    "canary",
)


def parse_config(raw: Any, *, path: str | Path | None = None) -> ModelConfig:
    """Validate a loaded YAML document and return the :class:`ModelConfig`."""
    where = str(path) if path is not None else "model config"
    r = _Reader(where)
    top = r.mapping(raw, "<top level>", TOP_KEYS)
    model = r.string(top.get("model"), "model", name=True)
    logs_raw = r.mapping(top.get("logs"), "logs", tuple(LOG_COLUMNS))
    if "events" not in logs_raw:
        raise r.fail("logs.events", "the scored events log (source and columns)", None)
    logs = {}
    for name, raw_log in logs_raw.items():
        m = r.mapping(raw_log, f"logs.{name}", ("source", "columns"))
        if "source" not in m:
            raise r.fail(f"logs.{name}.source", "a source (path, csv, duckdb or spark)", None)
        cols = r.mapping(m.get("columns"), f"logs.{name}.columns", LOG_COLUMNS[name])
        columns = {
            k: r.string(v, f"logs.{name}.columns.{k}") for k, v in cols.items() if v is not None
        }
        logs[name] = Log(name, _source(r, m["source"], f"logs.{name}.source"), columns)
    lab = r.mapping(top.get("labels"), "labels", ("positive", "final", "horizon_days"))
    positive = lab.get("positive", 1)
    if not isinstance(positive, (bool, int, float, str)):
        raise r.fail(
            "labels.positive", "the label value that is a positive (1, true, 'yes')", positive
        )
    final = r.boolean(lab.get("final", False), "labels.final")
    horizon = lab.get("horizon_days")
    labels = Labels(
        positive=positive,
        final=final,
        horizon_days=None if horizon is None else r.integer(horizon, "labels.horizon_days"),
    )
    ev = logs["events"]
    if "label" in ev.columns and "label_ts" not in ev.columns and not final:
        raise ConfigError(
            f"{where}: `labels.final`: the events log maps `label` but no `label_ts`; set "
            "`labels.final: true` when the labels in the data are final, or map "
            "`logs.events.columns.label_ts` to the column holding each label's arrival time."
        )
    win = r.mapping(top.get("windows"), "windows", ("reference", "current"))
    tr = r.mapping(top.get("training"), "training", ("positives", "last_trained"))
    dom = r.mapping(
        top.get("domain"),
        "domain",
        ("positive", "positives", "event", "events", "team", "description"),
    )
    positive_word = r.string(dom.get("positive", "positive"), "domain.positive")
    event_word = r.string(dom.get("event", "event"), "domain.event")
    domain = Domain(
        positive=positive_word,
        positives=r.string(dom.get("positives", positive_word + "s"), "domain.positives"),
        event=event_word,
        events=r.string(dom.get("events", event_word + "s"), "domain.events"),
        team=r.string(dom.get("team", "data science"), "domain.team"),
        description=str(dom.get("description", "")),
    )
    owners_raw = r.mapping(top.get("owners"), "owners", None)
    owners = {k: r.string(v, f"owners.{k}") for k, v in owners_raw.items()}
    features = _features(r, top.get("features"))
    not_features = r.names(top.get("not_features"), "not_features")
    clash = sorted(set(not_features) & {f.name for f in features})
    if clash:
        raise r.fail("not_features", "no column that is also listed in `features`", clash)

    def opt_num(key: str) -> float | None:
        v = top.get(key)
        return None if v is None else r.number(v, key, 0.0, 1.0)

    def opt_name(key: str) -> str | None:
        v = top.get(key)
        return None if v is None else r.string(v, key, name=True)

    return ModelConfig(
        model=model,
        path=Path(path).resolve() if path is not None else None,
        logs=logs,
        labels=labels,
        reference_window=_window(
            r, win.get("reference"), "windows.reference", Window(first_days=28)
        ),
        current_window=_window(r, win.get("current"), "windows.current", Window(last_days=7)),
        features=features,
        not_features=not_features,
        segments=r.names(top.get("segments"), "segments"),
        threshold=opt_num("threshold"),
        champion=opt_name("champion"),
        challenger=opt_name("challenger"),
        challenger_threshold=opt_num("challenger_threshold"),
        as_of=None if top.get("as_of") is None else r.date(top["as_of"], "as_of"),
        training_positives=None
        if tr.get("positives") is None
        else r.integer(tr["positives"], "training.positives", lo=0),
        last_trained=None
        if tr.get("last_trained") is None
        else r.date(tr["last_trained"], "training.last_trained"),
        owners=owners,
        domain=domain,
        canary=parse_canary(
            r,
            top.get("canary"),
            logs["canary_log"].columns if "canary_log" in logs else None,
            ConfigError,
        ),
    )
