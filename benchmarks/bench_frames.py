"""Contract validation of a large canary log, scanned lazily from parquet.

    python -m benchmarks.bench_frames --rows 100000000

The log is written in 1M-row chunks; validation is one lazy aggregation pass, so peak
memory stays far below the size of the log.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._util import peak_rss_mb, timed, write_chunked
from mlopskit import frames


def _chunk(rng: np.random.Generator, start: int, n: int) -> dict[str, Any]:
    ts = np.datetime64("2026-06-01T00:00:00", "s") + rng.integers(0, 28 * 86400, n).astype(
        "timedelta64[s]"
    )
    return {
        "unit_id": np.arange(start, start + n, dtype=np.int64),
        "ts": ts,
        "arm": np.where(rng.random(n) < 0.05, "canary", "control"),
        "score": rng.random(n),
        "flagged": rng.random(n) < 0.015,
        "label": (rng.random(n) < 0.007).astype(np.int64),
        "amount": np.round(rng.lognormal(3.4, 1.1, n), 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000_000)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "canary.parquet"
        with timed(f"write {args.rows:,} rows"):
            write_chunked(path, args.rows, _chunk)
        size_mb = path.stat().st_size / 2**20
        before = peak_rss_mb()
        with timed("validate CANARY_LOG (lazy, polars)"):
            lf = frames.validate(path, frames.CANARY_LOG)
        with timed("count rows (lazy)"):
            n = frames.n_rows(lf)
        print(
            f"rows={n:,} file={size_mb:.0f} MiB peak RSS before={before:.0f} MiB after={peak_rss_mb():.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
