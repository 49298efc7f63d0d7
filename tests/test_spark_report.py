"""Both reports rendered from a model config whose sources are Spark paths equal the reports
rendered from the same data read by polars (issue 16: "every analysis and both reports run
on PySpark DataFrames").

One small world (tests/_loans.py, fewer rows): the events with TYPED timestamps (Spark
``TIMESTAMP_NTZ``), the canary log with STRING timestamps (parsed by the config on Spark).
``mlopskit init`` writes the polars config; the Spark config is the same file with every
source a ``{kind: spark, path: …}``. Each report is rendered once per engine; the report
kernel starts its own ``local[2]`` session (UTC) from ``PYSPARK_SUBMIT_ARGS``.

Skipped only when pyspark is not installed (``make setup`` installs the ``spark`` extra, so
this runs in CI); with pyspark and no Java it fails.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from _loans import loans, loans_canary

from mlopskit import cli
from mlopskit.report import report_model

HAS_SPARK = importlib.util.find_spec("pyspark") is not None
pytestmark = pytest.mark.skipif(
    not HAS_SPARK, reason="pyspark (the `spark` extra) is not installed"
)

#: the report kernel's Spark session: as tests/test_engines.py's (local[2], UTC).
SUBMIT_ARGS = (
    "--master local[2] --driver-memory 1g --conf spark.sql.session.timeZone=UTC "
    "--conf spark.sql.shuffle.partitions=4 --conf spark.ui.enabled=false pyspark-shell"
)


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("spark_report")
    data = root / "data"
    data.mkdir()
    ev = loans(per_day=120)
    ev["applied_at"] = pd.to_datetime(ev["applied_at"]).astype("datetime64[us]")
    ev.to_parquet(data / "applications.parquet", index=False)
    loans_canary(per_day=200).to_parquet(data / "canary_applications.parquet", index=False)
    files = [str(data / "applications.parquet"), str(data / "canary_applications.parquet")]
    assert cli.main(["init", "loans", "--data", *files, "--out", str(root / "polars")]) == 0
    raw = yaml.safe_load((root / "polars" / "loans.yml").read_text())
    for log in raw["logs"].values():
        path = (root / "polars" / log["source"]["path"]).resolve()
        log["source"] = {"kind": "spark", "path": str(path)}
    (root / "spark").mkdir()
    (root / "spark" / "loans.yml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return {"polars": root / "polars", "spark": root / "spark"}


def _same(a: Any, b: Any, where: str = "key_numbers") -> None:
    """Equal JSON values; floats to 1e-9 relative (Spark may sum in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: {a} vs {b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (
            math.isnan(a) and math.isnan(b)
        ), f"{where}: polars {a!r}, spark {b!r}"
    else:
        assert a == b, f"{where}: polars {a!r}, spark {b!r}"


@pytest.mark.parametrize("kind", ["monitoring", "rollout"])
def test_spark_sourced_report_equals_the_polars_sourced_one(
    configs: dict[str, Path], kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPSKIT_REGISTRY", str(tmp_path / "no-registry.sqlite"))
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", SUBMIT_ARGS)
    decisions = {}
    for engine in ("polars", "spark"):
        monkeypatch.setenv("MLOPSKIT_MODELS", str(configs[engine]))
        res = report_model("loans", kind=kind, out=tmp_path / engine, cell_timeout=900)
        decision = json.loads(res.decision_path.read_text())
        assert res.ok, (engine, decision.get("failure"))
        decisions[engine] = decision
    pol, spk = decisions["polars"], decisions["spark"]
    assert spk["verdict"] == pol["verdict"]
    assert spk["headline"] == pol["headline"]
    _same(pol["key_numbers"], spk["key_numbers"])
    kn = spk["key_numbers"]
    if kind == "monitoring":  # the analyses ran: the income/region shift is seen
        assert kn["monitoring"]["input_drift"] == "ALERT", kn["monitoring"]
    else:
        assert kn["shadow"]["requests"] > 0 and kn["canary"]["units_canary"] > 0, kn
    # the provenance says where the data came from: Spark paths, not hashed files
    spark_inputs = [f for f in spk["provenance"]["inputs"] if f["name"] == "events"]
    assert spark_inputs and spark_inputs[0]["path"].startswith("spark:parquet:"), spark_inputs
