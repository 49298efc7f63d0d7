"""Shadow disagreement profile: is the challenger safe to put in front of real decisions?

During shadow both models score every request and the champion decides. ``shadow_profile``
answers, from one batch of lazy aggregations over the shadow log (STATISTICS.md §6;
polars: one streaming ``collect_all``, the log is never materialized):

1. coverage: requests, join completeness, errors and lost calls (counted, never dropped);
2. offline vs live: PSI and KS of the challenger's live scores against its offline holdout;
3. decisions at the threshold: the 2×2 table, flag rates (Wilson), exact McNemar, κ,
   positive agreement, Jaccard and both conditional overlaps;
4. the capacity-matched view: the challenger threshold with the champion's flag count;
5. ranks: Spearman (CI), Kendall τ_b, top-k overlap vs ``k²/n`` on a seeded row sample;
6. segments: disagreement per segment value, lift, BH across values, ranked;
7. operations: latency p50/p95/p99 per model and error/missing rates against budgets;
8. a flip sample for manual review; 9. precision/recall on matured labels;
10. the verdict ``READY_FOR_CANARY | FIX | CONTINUE_SHADOW`` from a checklist of policy checks.

Scores are histogrammed on a fixed logit grid (``ScoreGrid``: 4000 bins, 0.8% in odds per
bin) and latencies on a log grid (1600 bins over 0.01 ms–10⁶ ms, 1.16% per bin); quantiles,
the capacity-matched threshold, PSI and KS are read off those grids, exact to one bin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _display, frames
from mlopskit import _shadow_tables as tables
from mlopskit._shadow_tables import LATENCY_GRID
from mlopskit.policy import Policy, ShadowPolicy, as_policy
from mlopskit.stats.agreement import (
    DecisionAgreement,
    RankCorrelation,
    ScoreGrid,
    TopKOverlap,
    decision_agreement,
    kendall_tau_b,
    paired_rate_ratio,
    spearman,
    top_k_overlap,
)
from mlopskit.stats.proportions import wilson_ci
from mlopskit.verdict import Reason, ShadowVerdict

__all__ = ["LATENCY_GRID", "ShadowCheck", "ShadowProfile", "shadow_profile"]


PARTS = (
    "checks",
    "coverage",
    "offline_live",
    "decisions",
    "capacity",
    "ranks",
    "segments",
    "operations",
    "flips",
    "labels",
)


@dataclass(frozen=True, slots=True)
class ShadowCheck:
    """One policy check of the shadow verdict.

    Attributes
    ----------
    code : stable name (``error_rate``, ``p99_latency_ratio``, ``offline_live_psi`` …).
    kind : ``operational`` / ``parity`` (critical: a failure means FIX), ``evidence``
        (a failure means CONTINUE_SHADOW) or ``advisory`` (a failure only warns).
    value : the measured value.
    lower, upper : the tolerance (``value ≥ lower`` and/or ``value ≤ upper``).
    status : ``pass``, ``fail``, ``insufficient`` (too little data to tell) or ``skipped``
        (input not given).
    message : one sentence with the numbers.
    """

    code: str
    kind: str
    value: float
    lower: float | None
    upper: float | None
    status: str
    message: str

    @property
    def critical(self) -> bool:
        return self.kind in ("operational", "parity")

    @property
    def direction(self) -> str:
        if self.lower is not None and self.upper is not None:
            return "within"
        return ">=" if self.lower is not None else "<="

    def reason(self) -> Reason:
        passed = {"pass": True, "fail": False}.get(self.status)
        bound = self.upper if self.upper is not None else self.lower
        value = None if not np.isfinite(self.value) else float(self.value)
        return Reason(self.code, self.message, passed, value, bound, self.critical)


@dataclass(frozen=True, slots=True, eq=False)
class ShadowProfile:
    """Shadow disagreement profile of a challenger against the champion.

    Attributes
    ----------
    verdict, reasons, checks : the decision, one ``Reason`` per check, and the checks with
        direction, tolerance and status.
    threshold : the shared decision threshold (flag when ``score ≥ threshold``).
    capacity_threshold : the challenger threshold (a grid edge) whose flag count is closest
        to the champion's at ``threshold``.
    decisions, capacity : the 2×2 agreement at ``threshold`` and at the capacity-matched
        challenger threshold (complete pairs only; lost calls are in ``coverage``).
    spearman, kendall, top_k : rank agreement on ``sample_n`` pairs (``sample_method``).
    coverage, offline_live, segments, operations, flips, labels : tidy tables (``labels`` is
        empty when there are no matured labels).
    n_requests, duration_days, ts_min, ts_max, as_of : the window (duration in calendar days).
    alpha, min_n, review_k, grid, label_maturity_days, policy : the choices made.
    hist_* : grid histograms kept for the plots.
    warnings : data problems that did not stop the analysis.
    """

    verdict: ShadowVerdict
    reasons: tuple[Reason, ...]
    checks: tuple[ShadowCheck, ...]
    threshold: float
    capacity_threshold: float
    decisions: DecisionAgreement
    capacity: DecisionAgreement
    spearman: RankCorrelation
    kendall: RankCorrelation
    top_k: TopKOverlap
    coverage: pd.DataFrame
    offline_live: pd.DataFrame
    segments: pd.DataFrame
    operations: pd.DataFrame
    flips: pd.DataFrame
    labels: pd.DataFrame
    n_requests: int
    duration_days: int
    ts_min: pd.Timestamp
    ts_max: pd.Timestamp
    as_of: pd.Timestamp
    sample_n: int
    sample_method: str
    alpha: float
    min_n: int
    review_k: int
    grid: ScoreGrid
    label_maturity_days: int
    policy: ShadowPolicy
    hist_champion: np.ndarray = field(repr=False)
    hist_challenger: np.ndarray = field(repr=False)
    hist_offline: np.ndarray | None = field(repr=False)
    latency_champion: np.ndarray = field(repr=False)
    latency_challenger: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()

    # ---- tables ------------------------------------------------------------------
    def to_frame(self, part: str = "checks") -> pd.DataFrame:
        """One part of the profile as a tidy table; ``part`` is one of ``PARTS``."""
        if part not in PARTS:
            raise ValueError(f"`part` must be one of {PARTS}; got {part!r}.")
        if part == "checks":
            return pd.DataFrame(
                [
                    {
                        "check": c.code,
                        "kind": c.kind,
                        "critical": c.critical,
                        "direction": c.direction,
                        "value": c.value,
                        "lower": np.nan if c.lower is None else c.lower,
                        "upper": np.nan if c.upper is None else c.upper,
                        "status": c.status,
                        "message": c.message,
                    }
                    for c in self.checks
                ]
            )
        if part in ("decisions", "capacity"):
            rows = [("threshold", self.threshold, self.decisions)]
            rows.append(("capacity_matched", self.capacity_threshold, self.capacity))
            df = pd.DataFrame([tables.agreement_row(v, t, a, self.alpha) for v, t, a in rows])
            return df if part == "decisions" else df.iloc[[1]].reset_index(drop=True)
        if part == "ranks":
            stats_rows: list[dict[str, Any]] = []
            for r in (self.spearman, self.kendall):
                stats_rows.append(
                    {
                        "statistic": r.method,
                        "estimate": r.estimate,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "p_value": r.p_value,
                        "n": r.n,
                        "method": r.se_method or "scipy.stats.kendalltau(variant='b')",
                    }
                )
            t = self.top_k
            stats_rows.append(
                {
                    "statistic": "top_k_overlap",
                    "estimate": t.share,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "p_value": t.p_value,
                    "n": t.n,
                    "method": f"k={t.k} of {t.n} sampled pairs (queue {self.review_k}); "
                    f"overlap {t.overlap} vs random k²/n = {t.expected_random:.1f} "
                    f"(lift {t.lift:.1f})",
                }
            )
            df = pd.DataFrame(stats_rows)
            df["sample"] = self.sample_method
            return df
        return getattr(self, part).copy()

    # ---- text and HTML -----------------------------------------------------------
    __repr__ = _display.short_repr

    def summary(self) -> str:
        d, cap = self.decisions, self.capacity
        lines = [
            f"Shadow verdict: {self.verdict}",
            f"window: {self.ts_min} → {self.ts_max} ({self.duration_days} days), "
            f"{self.n_requests:,} requests, {d.n:,} scored by both",
            f"at threshold {self.threshold:g}: flag rate champion {d.flag_rate_champion:.4%} "
            f"challenger {d.flag_rate_challenger:.4%}; κ {d.kappa.kappa:.3f} "
            f"(SE {d.kappa.se:.3f}); Jaccard {d.jaccard:.3f}; McNemar p "
            f"{d.mcnemar.p_value:.3g}",
            f"capacity-matched challenger threshold {self.capacity_threshold:.4g}: Jaccard "
            f"{cap.jaccard:.3f}",
            f"ranks on {self.sample_n:,} sampled pairs: Spearman {self.spearman.estimate:.3f} "
            f"[{self.spearman.ci_low:.3f}, {self.spearman.ci_high:.3f}], Kendall τ_b "
            f"{self.kendall.estimate:.3f}; top-{self.top_k.k} overlap {self.top_k.share:.2f} "
            f"(random {self.top_k.k / self.top_k.n:.3f})",
            "checks:",
        ]
        mark = {"pass": "✔", "fail": "✘", "insufficient": "?", "skipped": "·"}
        lines += [f"  {mark[c.status]} {c.message}" for c in self.checks]
        top = self.segments[self.segments["rank"] == 1]
        if len(top):
            r = top.iloc[0]
            lines.append(
                f"disagreement concentrates in {r['segment']}={r['value']} "
                f"(lift {r['lift']:.2f}, q {r['q_value']:.3g})"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [
            _display.verdict_html(self.verdict, "Shadow", self.reasons),
            _display.warnings_html(self.warnings),
            _display.table_html(self.to_frame("coverage"), caption="1. Coverage"),
            _display.table_html(self.to_frame("offline_live"), caption="2. Offline vs live"),
            _display.table_html(
                self.to_frame("decisions")
                .set_index("view")
                .T.astype(float)
                .rename_axis("statistic")
                .reset_index(),
                caption="3–4. Decisions at the threshold and capacity-matched",
            ),
            _display.table_html(self.to_frame("ranks"), caption="5. Ranks"),
            _display.table_html(self.to_frame("segments"), caption="6. Segments"),
            _display.table_html(self.to_frame("operations"), caption="7. Operations"),
            _display.table_html(self.to_frame("flips"), caption="8. Flip sample"),
            _display.table_html(self.to_frame("labels"), caption="9. Matured labels"),
        ]
        return "<div class='mk-shadow'>" + "".join(parts) + "</div>"

    def plot(self, kind: str = "decisions", ax: Any = None) -> Any:
        """``kind``: ``decisions`` (flag rates), ``scores`` (live vs offline CDFs),
        ``segments`` (disagreement by segment) or ``latency`` (quantiles per model)."""
        from mlopskit import plots

        funcs = {
            "decisions": plots.plot_shadow_decisions,
            "scores": plots.plot_shadow_scores,
            "segments": plots.plot_shadow_segments,
            "latency": plots.plot_shadow_latency,
        }
        if kind not in funcs:
            raise ValueError(f"`kind` must be one of {tuple(funcs)}; got {kind!r}.")
        return funcs[kind](self, ax=ax)


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


def _timestamp(value: Any) -> pd.Timestamp:
    return pd.Timestamp(value)


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
    lf = frames.validate(shadow_log, frames.SHADOW_LOG.with_extra(*segs), columns=columns)
    bounds = frames.shadow_bounds(lf)
    if int(bounds["n"]) == 0:
        raise ValueError("shadow log: the log is empty (0 rows); nothing to profile.")
    ts_min, ts_max = _timestamp(bounds["ts_min"]), _timestamp(bounds["ts_max"])
    if as_of is None:
        label_max = bounds["label_ts_max"]
        as_of_ts = (
            ts_max
            if label_max is None or pd.isna(label_max)
            else max(ts_max, _timestamp(label_max))
        )
    else:
        as_of_ts = _timestamp(as_of)
        if (as_of_ts.tzinfo is None) != (ts_max.tzinfo is None):
            raise ValueError(
                f"`as_of` ({as_of_ts}) and the log's `ts` ({ts_max}) must both be time-zone "
                "aware or both naive."
            )
    matured_before = (as_of_ts - pd.Timedelta(days=pol.label_maturity_days)).to_pydatetime()
    agg = frames.shadow_aggregates(
        lf,
        threshold=thr,
        score_bins=(grid.n_bins, grid.span, grid.clip),
        latency_bins=LATENCY_GRID,
        segments=segs,
        matured_before=matured_before,
        flips_per_segment=pol.flips_per_segment,
        sample_size=sample_size,
        seed=seed,
        n_rows=int(bounds["n"]),
    )
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
    )


def _rate_status(count: int, n: int, budget: float, alpha: float) -> tuple[float, str, float]:
    """pass if the rate ≤ budget; fail if the Wilson lower bound > budget; else insufficient."""
    rate = count / n
    lo, _ = wilson_ci(count, n, alpha=alpha)
    status = "pass" if rate <= budget else ("fail" if float(lo) > budget else "insufficient")
    return rate, status, float(lo)


def _checks(
    pol: ShadowPolicy,
    t: dict[str, int],
    dec: DecisionAgreement,
    duration: int,
    offline_live: pd.DataFrame,
    ops: pd.DataFrame,
    warnings: list[str],
) -> list[ShadowCheck]:
    a = pol.alpha
    out: list[ShadowCheck] = []
    ok = lambda cond: "pass" if cond else "fail"  # noqa: E731
    n = t["n"]
    out.append(ShadowCheck(
        "duration", "evidence", duration, pol.min_duration_days, None,
        ok(duration >= pol.min_duration_days),
        f"shadow covers {duration} calendar day(s); at least {pol.min_duration_days} required.",
    ))  # fmt: skip
    out.append(ShadowCheck(
        "recommended_duration", "advisory", duration, pol.recommended_duration_days, None,
        ok(duration >= pol.recommended_duration_days),
        f"shadow covers {duration} calendar day(s); {pol.recommended_duration_days} recommended "
        "(two weekly cycles).",
    ))  # fmt: skip
    out.append(ShadowCheck(
        "volume", "evidence", dec.n, pol.min_requests, None, ok(dec.n >= pol.min_requests),
        f"{dec.n:,} requests scored by both models; at least {pol.min_requests:,} required.",
    ))  # fmt: skip
    flagged = dec.both + dec.champion_only
    out.append(ShadowCheck(
        "flagged_volume", "evidence", flagged, pol.min_flagged, None,
        ok(flagged >= pol.min_flagged),
        f"the champion flagged {flagged:,} scored pairs; at least {pol.min_flagged:,} required.",
    ))  # fmt: skip
    for code, key, budget, what in (
        ("error_rate", "error_challenger", pol.max_error_rate, "error/timeout rate"),
        ("missing_rate", None, pol.max_missing_rate, "missing-score rate"),
    ):
        count = t[key] if key else n - t["scored_challenger"]
        rate, status, lo = _rate_status(count, n, budget, a)
        out.append(ShadowCheck(
            code, "operational", rate, None, budget, status,
            f"challenger {what} {rate:.3%} ({count:,}/{n:,}, Wilson lower {lo:.3%}); budget "
            f"{budget:.2%}.",
        ))  # fmt: skip
    ratio = float(ops["p99_ratio"].to_numpy(dtype=float)[1])
    p99 = ops["p99_ms"].to_numpy(dtype=float)
    lat_n = int(ops["latency_n"].min())
    status = "insufficient" if lat_n < 1000 else ok(ratio <= pol.p99_latency_ratio_max)
    out.append(ShadowCheck(
        "p99_latency_ratio", "operational", ratio, None, pol.p99_latency_ratio_max, status,
        f"challenger p99 latency {p99[1]:.1f} ms is {ratio:.2f}× the champion's "
        f"{p99[0]:.1f} ms; at most {pol.p99_latency_ratio_max:g}×"
        + (f" (only {lat_n:,} latencies; ≥ 1,000 needed)." if lat_n < 1000 else "."),
    ))  # fmt: skip
    # flag-rate ratio of paired proportions, log-scale Wald CI (stats.paired_rate_ratio)
    ratio, ci_lo, ci_hi = paired_rate_ratio(
        dec.both, dec.champion_only, dec.challenger_only, alpha=a
    )
    lo_r, hi_r = pol.flag_rate_ratio_min, pol.flag_rate_ratio_max
    if not np.isfinite(ratio):
        status = "insufficient"
    elif lo_r <= ratio <= hi_r:
        status = "pass"
    else:  # outside the tolerance: fail only when the whole CI is outside
        status = "fail" if ci_hi < lo_r or ci_lo > hi_r else "insufficient"
    out.append(ShadowCheck(
        "flag_rate_ratio", "parity", ratio, lo_r, hi_r, status,
        f"challenger/champion flag rate at the threshold {ratio:.3f} "
        f"({1 - a:.0%} CI {ci_lo:.3f}–{ci_hi:.3f}); tolerance {lo_r:g}–{hi_r:g}.",
    ))  # fmt: skip
    out.append(ShadowCheck(
        "jaccard", "advisory", dec.jaccard, pol.jaccard_min, None,
        ok(dec.jaccard >= pol.jaccard_min) if np.isfinite(dec.jaccard) else "insufficient",
        f"Jaccard of the flagged sets {dec.jaccard:.3f}; at least {pol.jaccard_min:g} expected "
        "(below: read the flip sample).",
    ))  # fmt: skip
    row = offline_live[offline_live["model"] == "challenger"]
    if len(row) == 0:
        for code, lim in (("offline_live_psi", pol.psi_max), ("offline_live_ks", pol.ks_d_max)):
            out.append(ShadowCheck(
                code, "parity", np.nan, None, lim, "skipped",
                f"{code}: no offline scores given; not checked.",
            ))  # fmt: skip
    else:
        r = row.iloc[0]
        for code, val, crit, lim, name in (
            ("offline_live_psi", r["psi"], r["psi_critical"], pol.psi_max, "PSI"),
            ("offline_live_ks", r["ks_d"], r["ks_critical"], pol.ks_d_max, "KS D"),
        ):
            if not (np.isfinite(val) and np.isfinite(crit)) or crit >= lim:
                # NaN: the offline sample has a single distinct score (one bin) or no rows
                status = "insufficient"
            else:
                status = ok(val <= lim)
            out.append(ShadowCheck(
                code, "parity", float(val), None, lim, status,
                f"challenger live vs offline {name} {val:.4f} (sampling-noise critical value "
                f"{crit:.4f}); at most {lim:g}.",
            ))  # fmt: skip
    for c in out:
        if c.kind == "advisory" and c.status == "fail":
            warnings.append(c.message)
    return out


def _verdict(checks: Sequence[ShadowCheck]) -> ShadowVerdict:
    """FIX if a critical (operational/parity) check fails; CONTINUE_SHADOW if an evidence
    check fails or a critical check lacks data; READY_FOR_CANARY otherwise."""
    if any(c.critical and c.status == "fail" for c in checks):
        return ShadowVerdict.FIX
    if any(
        (c.kind == "evidence" and c.status == "fail") or (c.critical and c.status == "insufficient")
        for c in checks
    ):
        return ShadowVerdict.CONTINUE_SHADOW
    return ShadowVerdict.READY_FOR_CANARY
