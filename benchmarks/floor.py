"""The hand-written polars floor: what a careful data scientist writes without mlopskit.

Each task is the smallest script that computes the same sufficient statistics as mlopskit
(no validation, no error messages, no policy, no result objects): one lazy select per side
with polars, numpy for the arithmetic. Run as ``python -m benchmarks.floor TASK DIR``; it
imports only polars and numpy (not mlopskit) and prints one JSON line with the compute time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

BINS = 10
EPS = 1e-4


def _scan(path: Path) -> pl.LazyFrame:
    return pl.scan_parquet(str(path / "*.parquet") if path.is_dir() else str(path))


def _split(lf: pl.LazyFrame) -> tuple[list[str], list[str]]:
    sch = lf.collect_schema()
    num = [c for c, t in sch.items() if t.is_numeric()]
    cat = [c for c, t in sch.items() if t in (pl.String, pl.Categorical)]
    return num, cat


def reference_profile(path: Path) -> dict[str, object]:
    """Edges = lower quantiles k/B per numeric column (one list-valued quantile each),
    reference counts per bin, category counts: one select on the reference."""
    lf = _scan(path)
    num, cat = _split(lf)
    qs = [k / BINS for k in range(1, BINS)]
    row = lf.select(
        *[pl.col(c).cast(pl.Float64).fill_nan(None).quantile(qs, "lower").alias(c) for c in num],
        *[pl.col(c).cast(pl.Float64).fill_nan(None).max().alias(f"{c}__max") for c in num],
    ).collect()
    edges = {}
    for c in num:
        q = np.unique(np.asarray(row[c][0].to_list(), dtype=float))
        edges[c] = q[q < row[f"{c}__max"][0]]
    return {"edges": edges, "counts": counts(lf, edges, cat), "categorical": cat}


def counts(lf: pl.LazyFrame, edges: dict[str, np.ndarray], cat: list[str]) -> dict[str, dict]:
    """Bin counts of every numeric column (bin index = number of edges below the value,
    null/NaN last) and category counts: one select, value_counts per column."""
    exprs = []
    for c, e in edges.items():
        x = pl.col(c).cast(pl.Float64).fill_nan(None)
        idx = pl.sum_horizontal([(x > float(v)).cast(pl.UInt8) for v in e]) if len(e) else pl.lit(0)
        exprs.append(
            pl.when(x.is_null())
            .then(len(e) + 1)
            .otherwise(idx)
            .alias(c)
            .value_counts()
            .implode()
            .alias(c)
        )
    exprs += [pl.col(c).cast(pl.String).value_counts().implode().alias(c) for c in cat]
    row = lf.select(exprs).collect()
    out: dict[str, dict] = {}
    for c in [*edges, *cat]:
        vc = row[c][0].to_list()
        out[c] = {d[c]: d["count"] for d in vc}
    return out


def psi(ref: dict[str, dict], cur: dict[str, dict]) -> dict[str, float]:
    out = {}
    for c in ref:
        keys = sorted(set(ref[c]) | set(cur[c]), key=str)
        r = np.array([ref[c].get(k, 0) for k in keys], dtype=float)
        q = np.array([cur[c].get(k, 0) for k in keys], dtype=float)
        r = np.maximum(r / r.sum(), EPS)
        q = np.maximum(q / q.sum(), EPS)
        out[c] = float(np.sum((q - r) * np.log(q / r)))
    return out


def task_psi_cold(d: Path) -> object:
    prof = reference_profile(d / "reference.parquet")
    cur = counts(_scan(d / "current.parquet"), prof["edges"], prof["categorical"])  # type: ignore[arg-type]
    return psi(prof["counts"], cur)  # type: ignore[arg-type]


def task_profile(d: Path) -> object:
    prof = reference_profile(d / "reference.parquet")
    (d / "floor_profile.json").write_text(
        json.dumps(
            {
                "edges": {c: list(map(float, e)) for c, e in prof["edges"].items()},  # type: ignore[attr-defined]
                "counts": {
                    c: [[k, v] for k, v in cnt.items()]
                    for c, cnt in prof["counts"].items()  # type: ignore[attr-defined]
                },
                "categorical": prof["categorical"],
            }
        )
    )
    return len(prof["edges"])  # type: ignore[arg-type]


def task_psi_profile(d: Path) -> object:
    p = json.loads((d / "floor_profile.json").read_text())
    edges = {c: np.asarray(e, dtype=float) for c, e in p["edges"].items()}
    ref = {c: {k: v for k, v in kv} for c, kv in p["counts"].items()}
    cur = counts(_scan(d / "current.parquet"), edges, p["categorical"])
    return psi(ref, cur)


def task_shadow(d: Path) -> object:
    """2×2 flag agreement, score and latency histograms, per-segment counts, ts range."""
    lf = _scan(d / "shadow.parquet")
    t = 0.1
    a = pl.col("score_champion") >= t
    b = pl.col("score_challenger") >= t
    base = lf.select(
        pl.len(),
        pl.col("ts").min().alias("t0"),
        pl.col("ts").max().alias("t1"),
        *[
            (x & y).sum().alias(f"n{i}{j}")
            for i, x in enumerate((a, ~a))
            for j, y in enumerate((b, ~b))
        ],
        pl.col("score_challenger").is_null().sum().alias("lost"),
        *[
            (pl.col(c).clip(0, 0.999999) * 50).floor().cast(pl.Int32).value_counts().implode()
            for c in ("score_champion", "score_challenger")
        ],
        *[
            pl.col(c).log().floor().cast(pl.Int32).value_counts().implode()
            for c in ("latency_ms_champion", "latency_ms_challenger")
        ],
        pl.col("error_challenger").sum(),
    )
    seg = lf.group_by("channel", "country").agg(
        pl.len(), a.sum().alias("fa"), b.sum().alias("fb"), (a != b).sum().alias("flip")
    )
    res = pl.collect_all([base, seg])
    return res[0].height + res[1].height


def task_canary(d: Path) -> object:
    """Per arm and day: units, sums and sums of squares of the five fraud metrics."""
    lf = _scan(d / "canary.parquet")
    y = {
        "missed": (pl.col("label") == 1) & ~pl.col("flagged"),
        "fp": pl.col("flagged") & (pl.col("label") == 0),
        "err": pl.col("error"),
    }
    aggs = [pl.len().alias("n")]
    for k, e in y.items():
        aggs.append(e.cast(pl.Int64).sum().alias(k))
    for c in ("loss", "amount", "latency_ms"):
        aggs += [pl.col(c).sum().alias(c), (pl.col(c) ** 2).sum().alias(f"{c}2")]
    aggs.append((pl.col("loss") * pl.col("amount")).sum().alias("la"))
    q = lf.group_by("arm", pl.col("ts").dt.truncate("1d").alias("day")).agg(aggs).sort("day")
    return q.collect().height


def task_label_maturity(d: Path) -> object:
    """Cohort (day of ts) × age (days to label_ts) counts of positives, and cohort sizes."""
    lf = _scan(d / "events.parquet")
    day = pl.col("ts").dt.truncate("1d")
    age = ((pl.col("label_ts") - day).dt.total_days()).alias("age")
    tri = lf.filter(pl.col("label") == 1).group_by(day.alias("cohort"), age).agg(pl.len())
    sizes = lf.group_by(day.alias("cohort")).agg(pl.len())
    res = pl.collect_all([tri, sizes])
    return res[0].height


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
