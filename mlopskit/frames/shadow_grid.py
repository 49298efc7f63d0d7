"""The agreement grid of the shadow aggregation: each scored pair's position on the two
models' logit scales relative to each model's own threshold (``shadow.hotspots``)."""

from __future__ import annotations

import math
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

AGREEMENT_GRID = (0.1, 30)
"""``(bin width in logit, bins on each side of a model's threshold)``; the outer bins are
open."""


def clipped_logit(score: Any, clip: float) -> Any:
    """``log s − log(1 − s)`` of a score expression clipped to ``[clip, 1 − clip]`` (the one
    expression of every logit bin: the score grid's and the agreement grid's)."""
    s = score.clip(clip, 1 - clip)
    return s.log() - (1 - s).log()


def grid_bin(
    col: str,
    flag: str,
    threshold: float,
    clip: float,
    grid: tuple[float, int],
    logit: str | None = None,
) -> Any:
    """``half + floor((logit s − logit t) / width)`` clipped to ``[0, 2·half − 1]``; the bin
    is at or above ``half`` exactly when the model flags (``flag`` = 1), so the grid's halves
    are the decisions, whatever the engine's rounding of the logit. ``logit``: a column
    holding :func:`clipped_logit` of ``col`` already."""
    width, half = grid
    t = min(max(threshold, clip), 1 - clip)
    lg = clipped_logit(nw.col(col), clip) if logit is None else nw.col(logit)
    pos = (lg - (math.log(t) - math.log(1 - t))) * (1 / width)
    b = pos.floor().clip(-half, half - 1).cast(nw.Int64)
    return nw.when(nw.col(flag) == 1).then(b.clip(0, half - 1)).otherwise(b.clip(-half, -1)) + half


def grid_frame(df: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    """A collected grid query as ``<keys' values>, gc, gh, count`` (segment values as
    strings, null as ``__missing__``), sorted by keys and cells."""
    df = df.rename(columns={**keys, "__gc": "gc", "__gh": "gh"})
    for v in keys.values():
        df[v] = df[v].astype(object).where(df[v].notna(), "__missing__").astype(str)
    for c in ("gc", "gh", "count"):
        df[c] = df[c].to_numpy(dtype=np.int64)
    # group order is the engine's: sorted, so every engine and path gives the same frame
    order = [*keys.values(), "gc", "gh"]
    return df.sort_values(order, kind="stable").reset_index(drop=True)
