"""NannyML's univariate drift on the benchmark files (runs in its own venv: pandas < 3).

``python benchmarks/ext_nannyml.py TASK DIR`` with TASK ``profile`` (fit on the reference,
pickle the fitted calculator), ``psi_profile`` (load it, calculate on current) or
``psi_cold`` (fit + calculate). Jensen–Shannon distance (NannyML's binned method, the
closest to PSI) for numeric and categorical features, current as one chunk. Prints one JSON
line with the compute time. Does not import mlopskit.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no telemetry (no network here)

import nannyml as nml
import pandas as pd


def _read(path: Path) -> pd.DataFrame:
    df = pd.read_parquet(path)
    return df.drop(columns=[c for c in ("ts",) if c in df.columns])


def _fit(d: Path) -> nml.UnivariateDriftCalculator:
    ref = _read(d / "reference.parquet")
    calc = nml.UnivariateDriftCalculator(
        column_names=list(ref.columns),
        treat_as_categorical=[c for c in ref.columns if c.startswith("c")],
        continuous_methods=["jensen_shannon"],
        categorical_methods=["jensen_shannon"],
        chunk_number=1,
    )
    return calc.fit(ref)


def main(argv: list[str]) -> int:
    task, d = argv[0], Path(argv[1])
    t = time.perf_counter()
    if task == "profile":
        calc = _fit(d)
        (d / "nannyml_calculator.pkl").write_bytes(pickle.dumps(calc))
    elif task == "psi_profile":
        calc = pickle.loads((d / "nannyml_calculator.pkl").read_bytes())
        calc.calculate(_read(d / "current.parquet")).to_df()
    elif task == "psi_cold":
        _fit(d).calculate(_read(d / "current.parquet")).to_df()
    else:
        raise SystemExit(f"nannyml: task {task!r} not benchmarked")
    print(json.dumps({"compute_s": time.perf_counter() - t}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
