"""The shadow entry point: shadow_profile()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlopskit import frames
from mlopskit.policy import Policy, ShadowPolicy, as_policy
from mlopskit.shadow import tables
from mlopskit.shadow.checks import _checks, _verdict
from mlopskit.shadow.result import ShadowProfile
from mlopskit.shadow.tables import LATENCY_GRID
from mlopskit.stats.agreement import (
    ScoreGrid,
    decision_agreement,
    kendall_tau_b,
    spearman,
    top_k_overlap,
)


# --------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------
def _check_threshold(threshold: Any) -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float | np.floating)
        or not 0 < float(threshold) < 1
    ):
        raise ValueError(
            f"`threshold` must be a probability in the open interval (0, 1); got {threshold!r}."
        )
    return float(threshold)


def _segments_arg(segments: Any) -> tuple[str, ...]:
    segs = (segments,) if isinstance(segments, str) else tuple(segments)
    if not all(isinstance(s, str) for s in segs) or len(set(segs)) != len(segs):
        raise ValueError(f"`segments` must be distinct column names; got {segments!r}.")
    return segs


def shadow_profile(
    shadow_log: frames.FrameLike,
    *,
    threshold: float,
    offline: frames.FrameLike | None = None,
    segments: Sequence[str] = (),
    review_k: int | None = None,
    min_n: int | None = None,
    columns: Mapping[str, str] | None = None,
    policy: Policy | str | None = None,
    as_of: Any = None,
    sample_size: int = 200_000,
    seed: int = 0,
    grid: ScoreGrid | None = None,
) -> ShadowProfile:
    """Profile a shadow log: coverage, parity, agreement, segments, operations, verdict.

    Parameters
    ----------
    shadow_log : the SHADOW_LOG contract (``frames.SHADOW_LOG``) in any supported engine or
        a parquet/CSV path; one row per request. Missing scores (null/NaN) are lost shadow
        calls: counted in the coverage table and the missing-rate check, kept out of the
        paired statistics.
    threshold : shared decision threshold in (0, 1); a request is flagged when
        ``score ≥ threshold``.
    offline : offline holdout scores (``score_challenger``, optionally ``score_champion``,
        renamed with ``columns`` like the log) for the offline-vs-live PSI and KS. Without
        it the parity checks are skipped (with a warning).
    segments : segment columns of the log to localize disagreement.
    review_k : review-queue size for the top-k overlap (default: the champion's flag count).
    min_n : segment values with fewer scored pairs are suppressed (default: policy
        ``min_segment_n``).
    columns : mapping canonical name → the log's column name.
    policy : a ``Policy``, a YAML path, or ``None`` for ``policies/default.yml``.
    as_of : data extraction time for label maturity (default: the latest ``ts`` or
        ``label_ts`` in the log).
    sample_size, seed : size and seed of the uniform row sample of scored pairs on which
        Spearman, Kendall and the top-k overlap are computed (all pairs when fewer).
    grid : score grid (default ``ScoreGrid()``: 4000 logit bins).

    Raises
    ------
    ValueError
        On a contract violation (duplicate ``request_id``, a score outside [0, 1] …), a
        threshold outside (0, 1), an empty log, or a log without a single request scored
        by both models.
    """
    thr = _check_threshold(threshold)
    segs = _segments_arg(segments)
    pol = as_policy(policy).section("shadow", ShadowPolicy)
    grid = grid or ScoreGrid()
    min_n = pol.min_segment_n if min_n is None else min_n
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1:
        raise ValueError(f"`min_n` must be an integer ≥ 1; got {min_n!r}.")
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 10:
        raise ValueError(f"`sample_size` must be an integer ≥ 10; got {sample_size!r}.")
    agg = frames.shadow_scan(
        shadow_log,
        threshold=thr,
        score_bins=(grid.n_bins, grid.span, grid.clip),
        latency_bins=LATENCY_GRID,
        maturity_days=pol.label_maturity_days,
        segments=segs,
        columns=columns,
        as_of=as_of,
        flips_per_segment=pol.flips_per_segment,
        sample_size=sample_size,
        seed=seed,
    )
    ts_min, ts_max, as_of_ts = agg.bounds["ts_min"], agg.bounds["ts_max"], agg.bounds["as_of"]
    t = agg.totals
    if t["pairs"] == 0:
        if t["scored_challenger"] == 0:
            what = f"column `score_challenger` is missing (null/NaN) in all {t['n']:,} rows"
        elif t["scored_champion"] == 0:
            what = f"column `score_champion` is missing (null/NaN) in all {t['n']:,} rows"
        else:
            what = (
                f"the champion scored {t['scored_champion']:,} rows and the challenger "
                f"{t['scored_challenger']:,}, but no row has both scores"
            )
        raise ValueError(
            f"shadow log: no request was scored by both models ({what}); agreement cannot "
            "be measured. Check the join of the challenger's calls to the request log."
        )
    warnings: list[str] = []
    a = pol.alpha

    # 1. coverage
    coverage = tables.coverage_table(t, warnings)
    # 3. decisions at the threshold
    dec = decision_agreement(
        t["both"], t["champion_only"], t["challenger_only"], t["neither"], alpha=a
    )
    # 4. capacity-matched
    cap_thr, cap, cap_idx = tables.capacity_matched(agg.hist_challenger, dec, grid, a)
    if cap.flag_rate_challenger != dec.flag_rate_champion:
        gap = cap.both + cap.challenger_only - (dec.both + dec.champion_only)
        if abs(gap) > max(1, 0.01 * (dec.both + dec.champion_only)):
            warnings.append(
                f"capacity matching on the score grid is off by {gap:+,} flags (one grid bin "
                f"holds them); the challenger flag count is {cap.both + cap.challenger_only:,} "
                f"vs the champion's {dec.both + dec.champion_only:,}."
            )
    # 5. ranks
    k_queue = dec.both + dec.champion_only if review_k is None else review_k
    if (
        isinstance(k_queue, bool)
        or not isinstance(k_queue, int | np.integer)
        or not 1 <= k_queue <= dec.n
    ):
        raise ValueError(
            f"`review_k` must be an integer in [1, {dec.n:,}] (the scored pairs); got {review_k!r}"
            + (
                "; the champion flagged no request, so give `review_k`."
                if review_k is None
                else "."
            )
        )
    sx, sy = agg.sample_champion, agg.sample_challenger
    k_sample = int(min(sx.size, max(1, round(int(k_queue) * sx.size / dec.n))))
    rho = spearman(sx, sy, alpha=a)
    tau = kendall_tau_b(sx, sy)
    topk = top_k_overlap(sx, sy, k_sample)
    # 2. offline vs live
    offline_live, hist_off = tables.offline_live_table(offline, columns, agg, grid, a, warnings)
    # 6. segments
    seg_table = tables.segments_table(agg.segments, dec, min_n, a, warnings)
    # 7. operations
    operations = tables.operations_table(t, agg, a)
    # 9. labels
    labels = tables.labels_table(agg.hist_challenger, cap_idx, cap_thr, thr, a, warnings)
    if len(labels) == 0:
        warnings.append(
            f"no matured labels (rows older than {pol.label_maturity_days} days before "
            f"as_of {as_of_ts}); precision/recall not computed."
        )
    duration = int((ts_max.normalize() - ts_min.normalize()).days) + 1
    checks = _checks(pol, t, dec, duration, offline_live, operations, warnings)
    verdict = _verdict(checks)
    return ShadowProfile(
        verdict=verdict,
        reasons=tuple(c.reason() for c in checks),
        checks=tuple(checks),
        threshold=thr,
        capacity_threshold=cap_thr,
        decisions=dec,
        capacity=cap,
        spearman=rho,
        kendall=tau,
        top_k=topk,
        coverage=coverage,
        offline_live=offline_live,
        segments=seg_table,
        operations=operations,
        flips=agg.flips,
        labels=labels,
        n_requests=t["n"],
        duration_days=duration,
        ts_min=ts_min,
        ts_max=ts_max,
        as_of=as_of_ts,
        sample_n=int(sx.size),
        sample_method=agg.sample_method if sx.size < dec.n else "all scored pairs",
        alpha=a,
        min_n=min_n,
        review_k=int(k_queue),
        grid=grid,
        label_maturity_days=pol.label_maturity_days,
        policy=pol,
        hist_champion=agg.hist_champion,
        hist_challenger=agg.hist_challenger.sum(axis=(0, 1)),
        hist_offline=hist_off,
        latency_champion=agg.latency_champion,
        latency_challenger=agg.latency_challenger,
        warnings=tuple(warnings),
        row_counts=agg.row_counts,
    )
