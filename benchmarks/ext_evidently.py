"""Evidently's data-drift preset on the benchmark files (runs in its own venv: pandas < 3).

``python benchmarks/ext_evidently.py psi_cold DIR``: reads reference and current parquet
with pandas (the 25 features), runs ``Report([DataDriftPreset(method="psi")])`` and prints
one JSON line with the compute time. Does not import mlopskit.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def _read(path: Path) -> pd.DataFrame:
    df = pd.read_parquet(path)
    return df.drop(columns=[c for c in ("ts",) if c in df.columns])


def main(argv: list[str]) -> int:
    task, d = argv[0], Path(argv[1])
    if task != "psi_cold":
        raise SystemExit(f"evidently: task {task!r} not benchmarked")
    t = time.perf_counter()
    ref, cur = _read(d / "reference.parquet"), _read(d / "current.parquet")
    num = [c for c in ref.columns if c.startswith("f")]
    cat = [c for c in ref.columns if c.startswith("c")]
    for df in (ref, cur):
        df[cat] = df[cat].astype(str)
    definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
    report = Report([DataDriftPreset(method="psi")])
    snap = report.run(Dataset.from_pandas(cur, definition), Dataset.from_pandas(ref, definition))
    snap.dict()
    print(json.dumps({"compute_s": time.perf_counter() - t}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
