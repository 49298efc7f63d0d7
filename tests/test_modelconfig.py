"""Model configs: schema validation naming the key path, sources of every kind, the column
mapping, and `mlopskit init`'s guesses on a dataset that follows none of our names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from _loans import loans, write_loans

from mlopskit.frames.sources import log_frame, map_columns
from mlopskit.modelconfig import ConfigError, load_model_config, parse_config, write_initial_config

BASE: dict[str, Any] = {
    "model": "loans",
    "logs": {
        "events": {
            "source": {"path": "applications.csv"},
            "columns": {"ts": "applied_at", "score": "pd_score", "label": "defaulted"},
        }
    },
    "labels": {"final": True},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """BASE with one key (dotted path) replaced."""
    raw = yaml.safe_load(yaml.safe_dump(BASE))
    *parents, last = path.split(".")
    node = raw
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return raw


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("model", "../x", r"`model`: expected a name of letters"),
        ("logs.events.columns.ts", 3, r"`logs.events.columns.ts`: expected a non-empty string; got 3"),
        ("logs.events.columns.when", "x", r"`logs.events.columns`: unknown key\(s\) \['when'\]"),
        ("logs.events.source", {"kind": "s3", "path": "x"}, r"`logs.events.source.kind`: expected one of"),
        ("logs.events.source", {"database": "x.duckdb"}, r"`logs.events.source`: a duckdb source needs exactly one of `table` or `sql`"),
        ("logs.events.source", {"kind": "spark"}, r"`logs.events.source`: a spark source needs exactly one of `table` or `path`"),
        ("labels.final", "yes", r"`labels.final`: expected true or false; got 'yes'"),
        ("windows.reference", {"first_days": 0}, r"`windows.reference.first_days`: expected an integer ≥ 1; got 0"),
        ("windows.current", {"start": "2026-02-01", "end": "2026-01-01"}, r"`windows.current.end`: expected a date after start"),
        ("features", [{"name": "a", "importance": -1}], r"`features\[0\].importance`: expected a number"),
        ("threshold", 1.5, r"`threshold`: expected a number in \[0.0, 1.0\]; got 1.5"),
        ("logs.shadowlog", {"source": "x"}, r"`logs`: unknown key\(s\) \['shadowlog'\]"),
    ],
)  # fmt: skip
def test_errors_name_the_key_path(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^models/loans.yml: " + message):
        parse_config(_with(key, value), path="models/loans.yml")


def test_label_ts_is_optional_only_when_labels_are_final() -> None:
    raw = _with("labels.final", False)
    with pytest.raises(
        ConfigError, match=r"`labels.final`: the events log maps `label` but no `label_ts`"
    ):
        parse_config(raw)
    cfg = parse_config(BASE)
    assert (
        cfg.labels.final
        and cfg.reference_window.first_days == 28
        and cfg.current_window.last_days == 7
    )


def test_a_missing_config_says_where_it_looked_and_how_to_write_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPSKIT_MODELS", str(tmp_path))
    with pytest.raises(ConfigError, match=r"no model config for 'nope'.*mlopskit init nope --data"):
        load_model_config("nope")
    (tmp_path / "other.yml").write_text(yaml.safe_dump(BASE))
    with pytest.raises(
        ConfigError, match=r"`model`: expected 'other' \(the file's name\); got 'loans'"
    ):
        load_model_config("other")


# ---------------------------------------------------------------------------------------
# sources and the column mapping
# ---------------------------------------------------------------------------------------
def _collect(lf: Any) -> pd.DataFrame:
    return lf.collect().to_pandas()


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return loans(n_days=6, per_day=50)


def test_every_source_kind_reads_the_same_rows(small: pd.DataFrame, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    small.to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "dir").mkdir()
    small.iloc[:100].to_parquet(tmp_path / "dir" / "p1.parquet")
    small.iloc[100:].to_parquet(tmp_path / "dir" / "p2.parquet")
    con = duckdb.connect(str(tmp_path / "lake.duckdb"))
    con.execute("CREATE TABLE apps AS SELECT * FROM small")
    con.close()
    sources = {
        "csv": {"path": "a.csv"},
        "dir": {"path": "dir"},
        "glob": {"path": "dir/p*.parquet"},
        "table": {"database": "lake.duckdb", "table": "apps"},
        "sql": {"database": "lake.duckdb", "sql": "SELECT * FROM apps WHERE age > 0"},
    }
    frames = {}
    for name, src in sources.items():
        raw = _with("logs.events.source", src)
        cfg = parse_config(raw, path=tmp_path / "loans.yml")
        frames[name] = _collect(log_frame(cfg, "events")).sort_values("application_id")
    first = frames.pop("csv")
    assert {"ts", "score", "label", "label_ts"} <= set(first.columns)
    assert first.ts.dtype.kind == "M" and first.label.dtype.kind == "i"
    # the final labels' arrival time is the event time of each positive
    pos = first.label == 1
    assert (first.label_ts[pos] == first.ts[pos]).all() and first.label_ts[~pos].isna().all()
    for name, df in frames.items():
        pd.testing.assert_frame_equal(
            df.reset_index(drop=True), first.reset_index(drop=True), check_dtype=False, obj=name
        )


def test_a_missing_source_or_column_is_a_clear_error(small: pd.DataFrame, tmp_path: Path) -> None:
    cfg = parse_config(BASE, path=tmp_path / "loans.yml")
    with pytest.raises(ValueError, match=r"source `applications.csv`: no CSV file matches"):
        log_frame(cfg, "events")
    small.to_csv(tmp_path / "applications.csv", index=False)
    bad = parse_config(_with("logs.events.columns.score", "pd"), path=tmp_path / "loans.yml")
    with pytest.raises(
        ValueError, match=r"loans events .*: column `pd` \(mapped to `score`\) is not in"
    ):
        log_frame(bad, "events")


@pytest.mark.parametrize(
    ("values", "positive", "expected"),
    [
        ([0.0, 1.0, None], 1, [0, 1, None]),
        ([True, False, None], True, [1, 0, None]),
        (["paid", "default", None], "default", [0, 1, None]),
        ([0, 1, 1], 1, [0, 1, 1]),
    ],
)
def test_labels_become_0_1_by_the_positive_value(
    values: list[Any], positive: Any, expected: list[Any]
) -> None:
    import narwhals.stable.v2 as nw
    import polars as pl

    lf = nw.from_native(pl.LazyFrame({"y": values}))
    out = map_columns(lf, {"label": "y"}, frame="f", positive=positive).collect().to_polars()
    assert out.get_column("label").to_list() == expected


def test_string_label_with_numeric_positive_is_refused() -> None:
    import narwhals.stable.v2 as nw
    import polars as pl

    lf = nw.from_native(pl.LazyFrame({"y": [0.0, 1.0]}))
    with pytest.raises(
        ValueError, match=r"f: `labels.positive` is 'yes' but label column `y` is numeric"
    ):
        map_columns(lf, {"label": "y"}, frame="f", positive="yes")


# ---------------------------------------------------------------------------------------
# mlopskit init
# ---------------------------------------------------------------------------------------
def test_init_guesses_the_loans_columns_and_says_so(tmp_path: Path) -> None:
    data = write_loans(tmp_path / "data", n_days=10, per_day=60)
    path, _ = write_initial_config("loans", [data], tmp_path / "models")
    text = path.read_text()
    cfg = load_model_config(path)
    ev = cfg.logs["events"]
    assert dict(ev.columns) == {
        "id": "application_id",
        "ts": "applied_at",
        "score": "pd_score",
        "label": "defaulted",
    }
    assert ev.source.path == "../data/applications.csv"  # relative to the config file
    assert cfg.labels.final and cfg.labels.positive == 1
    shadow = cfg.logs["shadow_log"].columns
    assert shadow["score_champion"] == "pd_score" and shadow["score_challenger"] == "pd_score_v2"
    assert set(cfg.feature_names()) == {
        "region",
        "income",
        "loan_amount",
        "term_months",
        "age",
        "debt_ratio",
    }
    assert cfg.categorical() == ("region",)
    assert cfg.domain.positive == "default"
    for said in (
        "guessed `ts` ← `applied_at`",
        "guessed `label` ← `defaulted`",
        "labels in the data are taken as final",
    ):
        assert said in text
    with pytest.raises(ValueError, match=r"exists; pass --force"):
        write_initial_config("loans", [data], tmp_path / "models")
