"""mlopskit side of the benchmark suite: ``python -m benchmarks.mk TASK DIR``.

One task per process (the suite measures the whole process: import, read, compute); prints
one JSON line with the compute time (after ``import mlopskit``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import mlopskit as mk

AS_OF_CANARY = "2026-06-29"
AS_OF_EVENTS = "2026-09-15"


def _p(d: Path, name: str) -> Path:
    return d / name


def task_psi_cold(d: Path) -> object:
    return mk.psi_table(_p(d, "reference.parquet"), _p(d, "current.parquet"), features=None)


def task_profile(d: Path) -> object:
    prof = mk.profile(_p(d, "reference.parquet"))
    prof.to_json(d / "profile.json")
    return prof


def task_psi_profile(d: Path) -> object:
    prof = mk.ReferenceProfile.from_json(d / "profile.json")
    return mk.psi_table(prof, _p(d, "current.parquet"))


def task_shadow(d: Path) -> object:
    return mk.shadow_profile(
        _p(d, "shadow.parquet"), threshold=0.1, segments=("channel", "country")
    )


def task_canary(d: Path) -> object:
    return mk.canary_test(_p(d, "canary.parquet"), as_of=AS_OF_CANARY)


def task_label_maturity(d: Path) -> object:
    return mk.label_maturity(_p(d, "events.parquet"), as_of=AS_OF_EVENTS)


TASKS = {
    "psi_cold": task_psi_cold,
    "profile": task_profile,
    "psi_profile": task_psi_profile,
    "shadow": task_shadow,
    "canary": task_canary,
    "label_maturity": task_label_maturity,
}


def main(argv: list[str]) -> int:
    task, d = argv[0], Path(argv[1])
    t = time.perf_counter()
    TASKS[task](d)
    print(json.dumps({"compute_s": time.perf_counter() - t}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
