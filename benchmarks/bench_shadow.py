"""Shadow profile of a large shadow log, scanned lazily from parquet.

    python -m benchmarks.bench_shadow --rows 10000000

The log is generated with numpy in 1M-row chunks (not by the demo) and written to one
parquet file; ``shadow_profile`` then reads it with a polars lazy scan: contract
validation, a bounds pass over ``ts``/``label_ts``, and one ``collect_all`` of the
aggregates (2×2 counts, score and latency histograms, per-segment counts, flip sample and
the 200k-row hash sample for rank statistics) on polars' streaming engine. Peak memory
stays far below the size of the log in memory.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks._util import peak_rss_mb, timed, write_chunked
from mlopskit.shadow import shadow_profile

CHANNELS = np.array(["pos", "web", "app"])
COUNTRIES = np.array(["US", "GB", "DE", "FR", "CA", "IN", "BR", "NG"])
START = np.datetime64("2026-06-01T00:00:00", "s")


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _chunk(rng: np.random.Generator, start: int, n: int) -> dict[str, Any]:
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000_000)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(1)
    z = rng.normal(-5.0, 1.4, 200_000)
    offline = pd.DataFrame(
        {"score_champion": _expit(z), "score_challenger": _expit(z + rng.normal(0, 0.3, z.size))}
    )
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "shadow_log.parquet"
        with timed(f"write {args.rows:,} rows"):
            write_chunked(path, args.rows, _chunk)
        size_mb = path.stat().st_size / 2**20
        before = peak_rss_mb()
        with timed("shadow_profile (lazy polars scan)"):
            prof = shadow_profile(
                path, threshold=0.1, offline=offline, segments=("channel", "country")
            )
        after = peak_rss_mb()
        in_memory_mb = args.rows * (8 * 7 + 3 + 2 * 8 + 2 * 4) / 2**20
        print(
            f"rows={prof.n_requests:,} file={size_mb:.0f} MiB (≈{in_memory_mb:.0f} MiB as "
            f"numpy columns) peak RSS before={before:.0f} MiB after={after:.0f} MiB"
        )
        print(
            f"verdict={prof.verdict} kappa={prof.decisions.kappa.kappa:.4f} "
            f"spearman={prof.spearman.estimate:.4f} on {prof.sample_n:,} sampled pairs "
            f"({prof.sample_method})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
