"""Synthetic parquet inputs for the benchmark suite, written in 1M-row chunks (bounded memory).

``python -m benchmarks.datasets --rows 1000000 --out data/bench`` writes, under
``<out>/n<rows>/``:

* ``reference.parquet`` / ``current.parquet``: 25 features (20 numeric of several shapes —
  normal, heavy-tailed amounts, integer counts with ties, a point mass at 0, nulls, float32
  — and 5 dictionary-encoded string features of 3 to 80 categories, one with nulls);
  ``current`` has a ``ts`` column and drift in ``f00``, ``f13`` and ``c1``.
* ``shadow.parquet``: a shadow log (SHADOW_LOG contract, segments ``channel``, ``country``).
* ``canary.parquet``: a canary log (CANARY_LOG contract, 95/5 split).
* ``events.parquet``: scored events with late labels (label maturity).

Above 2·10⁷ rows the feature frames and the shadow log are made (the 10⁸ run covers the
drift work and the shadow log read in pieces), as directories of parquet files of 10⁷ rows
each. The feature frames are hard links to the 10⁷-row files (so 10⁸ rows are the 10⁷-row
frame ten times: no extra disk, no hour of writing on the shared machine; the algorithms do
not exploit the repetition — exact counts are 10× the 10⁷ counts, and the sample is drawn by
hashed row index over all 10⁸ rows). The shadow log is written in full (its request ids
must be unique): ~2.5 GB and ~2 minutes at 10⁸ rows.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1_000_000
FILE_ROWS = 10_000_000
START = np.datetime64("2026-06-01T00:00:00", "s")
N_NUMERIC = 20
CATEGORICAL = {"c0": 3, "c1": 8, "c2": 20, "c3": 40, "c4": 80}
CHANNELS = np.array(["pos", "web", "app"])
COUNTRIES = np.array(["US", "GB", "DE", "FR", "CA", "IN", "BR", "NG"])


def _dict_column(codes: np.ndarray, k: int, prefix: str, mask: np.ndarray | None) -> pa.Array:
    dictionary = pa.array([f"{prefix}_{i:02d}" for i in range(k)])
    idx = pa.array(codes.astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, dictionary)


def _zipf_codes(rng: np.random.Generator, k: int, n: int, tilt: float = 0.0) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** (1.1 - tilt)
    return rng.choice(k, size=n, p=w / w.sum())


def features_chunk(rng: np.random.Generator, start: int, n: int, *, drift: bool) -> dict[str, Any]:
    """One chunk of the feature frame (``drift`` shifts f00, f13 and c1 and adds ``ts``)."""
    cols: dict[str, Any] = {}
    shift = 0.1 if drift else 0.0
    for j in range(6):  # normal
        cols[f"f{j:02d}"] = rng.normal(j + (shift if j == 0 else 0.0), 1.0 + j / 4, n)
    for j in range(6, 10):  # heavy-tailed amounts, cents
        cols[f"f{j:02d}"] = np.round(rng.lognormal(3.0 + (j - 6) / 2, 1.1, n), 2)
    for j in range(10, 13):  # integer counts: many ties
        cols[f"f{j:02d}"] = rng.poisson(1.0 + 2 * (j - 10), n).astype(np.int64)
    for j in range(13, 15):  # point mass at 0 (70%; 60% at f13 in current) + exponential
        p0 = 0.6 if (drift and j == 13) else 0.7
        cols[f"f{j:02d}"] = np.where(rng.random(n) < p0, 0.0, rng.exponential(10.0, n))
    for j in range(15, 17):  # 5% nulls
        cols[f"f{j:02d}"] = pa.array(rng.normal(0.0, 1.0, n), mask=rng.random(n) < 0.05)
    for j in range(17, 20):  # float32
        cols[f"f{j:02d}"] = rng.random(n, dtype=np.float32) * (j - 16)
    for name, k in CATEGORICAL.items():
        tilt = 0.3 if (drift and name == "c1") else 0.0
        mask = rng.random(n) < 0.02 if name == "c4" else None
        cols[name] = _dict_column(_zipf_codes(rng, k, n, tilt), k, name, mask)
    if drift:
        cols["ts"] = START + rng.integers(0, 7 * 86400, n).astype("timedelta64[s]")
    return cols


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def shadow_chunk(rng: np.random.Generator, start: int, n: int) -> dict[str, Any]:
    z = rng.normal(-5.0, 1.4, n)
    channel = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    err_h = rng.random(n) < 0.001
    champ = _expit(z)
    chall = _expit(z + rng.normal(0.0, np.where(channel == 2, 0.8, 0.25)))
    ts = START + rng.integers(0, 14 * 86400, n).astype("timedelta64[s]")
    label = rng.random(n) < champ
    label_ts = ts + rng.integers(86400, 40 * 86400, n).astype("timedelta64[s]")
    return {
        "request_id": np.arange(start, start + n, dtype=np.int64),
        "ts": ts,
        "score_champion": champ,
        "score_challenger": pa.array(chall, mask=err_h),
        "latency_ms_champion": np.round(rng.lognormal(np.log(18.0), 0.35, n), 2),
        "latency_ms_challenger": np.where(
            err_h, 250.0, np.round(rng.lognormal(np.log(21.0), 0.35, n), 2)
        ),
        "error_champion": np.zeros(n, dtype=bool),
        "error_challenger": err_h,
        "label": label.astype(np.int64),
        "label_ts": pa.array(label_ts, mask=~label),
        "channel": CHANNELS[channel],
        "country": COUNTRIES[rng.integers(0, COUNTRIES.size, n)],
    }


def canary_chunk(rng: np.random.Generator, start: int, n: int) -> dict[str, Any]:
    ts = START + rng.integers(0, 28 * 86400, n).astype("timedelta64[s]")
    canary = rng.random(n) < 0.05
    score = _expit(rng.normal(-5.0, 1.4, n))
    label = rng.random(n) < score
    amount = np.round(rng.lognormal(3.4, 1.1, n), 2)
    flagged = score >= 0.1
    return {
        "unit_id": np.arange(start, start + n, dtype=np.int64),
        "ts": ts,
        "arm": np.where(canary, "canary", "control"),
        "score": score,
        "flagged": flagged,
        "label": label.astype(np.int64),
        "label_ts": pa.array(
            ts + rng.integers(86400, 30 * 86400, n).astype("timedelta64[s]"), mask=~label
        ),
        "amount": amount,
        "loss": np.where(label & ~flagged, amount, 0.0),
        "latency_ms": np.round(rng.lognormal(np.log(20.0), 0.35, n), 2),
        "error": rng.random(n) < 0.001,
    }


def events_chunk(rng: np.random.Generator, start: int, n: int) -> dict[str, Any]:
    ts = START + rng.integers(0, 90 * 86400, n).astype("timedelta64[s]")
    score = _expit(rng.normal(-5.0, 1.4, n))
    label = rng.random(n) < score
    delay = rng.lognormal(np.log(14 * 86400), 0.8, n).astype("timedelta64[s]")
    return {
        "ts": ts,
        "score": score,
        "label": label.astype(np.int64),
        "label_ts": pa.array(ts + delay, mask=~label),
    }


def write(
    path: Path,
    rows: int,
    make: Callable[[np.random.Generator, int, int], dict[str, Any]],
    seed: int,
) -> Path:
    """Write ``rows`` rows to ``path`` (a directory of 10⁷-row files above 2·10⁷ rows)."""
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    rng = np.random.default_rng(seed)
    split = rows > 2 * FILE_ROWS
    if split:
        tmp.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    part = -1
    try:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            table = pa.table(make(rng, start, n))
            if writer is None or (split and start // FILE_ROWS != part):
                if writer is not None:
                    writer.close()
                part = start // FILE_ROWS
                target = tmp / f"part-{part:03d}.parquet" if split else tmp
                writer = pq.ParquetWriter(target, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=CHUNK)
    finally:
        if writer is not None:
            writer.close()
    tmp.rename(path)
    return path


def _linked(path: Path, source: Path, copies: int) -> Path:
    """A directory of ``copies`` hard links to ``source`` (a parquet dataset)."""
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for i in range(copies):
        target = tmp / f"part-{i:03d}.parquet"
        if not target.exists():
            os.link(source, target)
    tmp.rename(path)
    return path


def make_all(rows: int, out: Path) -> Path:
    """Write every input for ``rows`` rows under ``out/n<rows>`` (kept between runs)."""
    d = out / f"n{rows}"
    d.mkdir(parents=True, exist_ok=True)
    if rows > 2 * FILE_ROWS and rows % FILE_ROWS == 0:
        base = make_all(FILE_ROWS, out)
        for name in ("reference.parquet", "current.parquet"):
            _linked(d / name, base / name, rows // FILE_ROWS)
        write(d / "shadow.parquet", rows, shadow_chunk, seed=3)
        return d
    write(
        d / "reference.parquet", rows, lambda r, s, n: features_chunk(r, s, n, drift=False), seed=1
    )
    write(d / "current.parquet", rows, lambda r, s, n: features_chunk(r, s, n, drift=True), seed=2)
    if rows <= 2 * FILE_ROWS:
        write(d / "shadow.parquet", rows, shadow_chunk, seed=3)
        write(d / "canary.parquet", rows, canary_chunk, seed=4)
        write(d / "events.parquet", rows, events_chunk, seed=5)
    return d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", type=Path, default=Path("data/bench"))
    args = ap.parse_args(argv)
    print(make_all(args.rows, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
