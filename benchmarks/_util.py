"""Helpers for benchmarks: synthetic parquet logs written in chunks, timing, peak memory."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(label: str) -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    yield out
    out["seconds"] = time.perf_counter() - t0
    print(f"{label:<40s} {out['seconds']:8.2f} s   peak RSS {peak_rss_mb():8.0f} MiB", flush=True)


def write_chunked(
    path: Path,
    rows: int,
    make_chunk: Callable[[np.random.Generator, int, int], dict[str, Any]],
    *,
    chunk: int = 1_000_000,
    seed: int = 0,
) -> Path:
    """Write ``rows`` rows to one parquet file, ``chunk`` rows at a time (bounded memory)."""
    writer: pq.ParquetWriter | None = None
    rng = np.random.default_rng(seed)
    try:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            table = pa.table(make_chunk(rng, start, n))
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return path
