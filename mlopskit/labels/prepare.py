"""Label data preparation: validation, cohorts and the score bands used for maturity."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import frames
from mlopskit.labels.triggers import _DAY, timestamp
from mlopskit.policy import LabelsPolicy, Policy, as_policy

_COHORTS = {"1D": 1, "7D": 7}


# ======================================================================================
# Shared preparation
# ======================================================================================
@dataclass(frozen=True, slots=True)
class _Prepared:
    lf: Any
    as_of: pd.Timestamp
    origin: pd.Timestamp
    cohort: str
    cohort_days: int
    horizon_days: int
    has_label: bool
    has_score: bool
    policy: LabelsPolicy
    warnings: tuple[str, ...]
    n_read: int = 0
    n_after: int = 0


def _policy(policy: Policy | str | Any | None) -> LabelsPolicy:
    if isinstance(policy, LabelsPolicy):
        return policy
    return as_policy(policy).section("labels", LabelsPolicy)


def _prepare(
    events: Any,
    *,
    ts: str,
    label_ts: str,
    label: str | None,
    score: str | None,
    as_of: Any,
    horizon_days: int | None,
    cohort: str | None,
    policy: Any,
    columns: Mapping[str, str] | None = None,
) -> _Prepared:
    pol = _policy(policy)
    horizon = pol.horizon_days if horizon_days is None else horizon_days
    if not (isinstance(horizon, int | np.integer) and horizon >= 2):
        raise ValueError(f"`horizon_days` must be an integer ≥ 2; got {horizon!r}.")
    coh = pol.cohort if cohort is None else cohort
    if coh not in _COHORTS:
        raise ValueError(f"`cohort` must be '1D' or '7D'; got {coh!r}.")
    as_of_ts = timestamp(as_of, "as_of")
    mapping = frames.resolve_columns(
        columns, frame="events", ts=ts, label_ts=label_ts, label=label, score=score
    )
    ts = mapping["ts"]
    drop = [canon for canon in ("label", "score") if canon not in mapping]
    contract = frames.LABELED_EVENTS.without(*drop) if drop else frames.LABELED_EVENTS
    lf = frames.validate(events, contract, columns=mapping, frame="events")
    rng = frames.label_time_range(lf, as_of=as_of_ts)
    if rng["n"] == 0:
        raise ValueError("events: the frame has no rows.")
    if as_of_ts <= rng["ts_min"]:
        raise ValueError(
            f"events: `as_of` ({as_of_ts}) must be after the first event (column `{ts}` "
            f"starts at {rng['ts_min']}); nothing is observable before the data."
        )
    warns = []
    if rng["n_after"]:
        warns.append(
            f"after_as_of: {rng['n_after']:,} of {rng['n']:,} events have `{ts}` at or after "
            f"as_of ({as_of_ts}); they are ignored, and labels arriving after as_of count as "
            f"not yet known."
        )
    origin = rng["ts_min"].floor("D")
    return _Prepared(
        lf=lf,
        as_of=as_of_ts,
        origin=origin,
        cohort=coh,
        cohort_days=_COHORTS[coh],
        horizon_days=int(horizon),
        has_label="label" in mapping,
        has_score="score" in mapping,
        policy=pol,
        warnings=tuple(warns),
        n_read=int(rng["n"]),
        n_after=int(rng["n_after"]),
    )


def _cohort_arrays(
    prep: _Prepared, counts: pd.DataFrame
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray]:
    """Cohort starts, events, positives by (cohort, delay day 0..H) and latest ages."""
    w = pd.Timedelta(days=prep.cohort_days)
    m = math.ceil((prep.as_of - prep.origin) / w)
    starts = pd.DatetimeIndex([prep.origin + i * w for i in range(m)])
    n_events = np.bincount(counts["cohort"], weights=counts["n"], minlength=m)[:m].astype(np.int64)
    pos_rows = counts[counts["delay_day"] >= 0]
    pos = np.zeros((m, prep.horizon_days + 1))
    np.add.at(
        pos,
        (pos_rows["cohort"].to_numpy(), pos_rows["delay_day"].to_numpy()),
        pos_rows["n"].to_numpy(),
    )
    latest = np.floor(np.asarray((prep.as_of - (starts + w)) / _DAY, dtype=float)).astype(np.int64)
    return starts, n_events, pos, np.clip(latest, 0, prep.horizon_days)


def _score_edges(prep: _Prepared) -> np.ndarray | None:
    if not prep.has_score:
        return None
    g = prep.policy.arrival_groups
    probs = [i / g for i in range(1, g)]
    edges = frames.label_positive_score_quantiles(
        prep.lf, as_of=prep.as_of, probs=probs, has_label=prep.has_label
    )
    return np.unique(edges[np.isfinite(edges)])
