"""Shadow disagreement profile: is the challenger safe to put in front of real decisions?

During shadow both models score every request and the champion decides. ``shadow_profile``
answers, from one lazy pass over the shadow log (STATISTICS.md §6):

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
from scipy import stats

from mlopskit import _display, frames
from mlopskit.policy import Policy, ShadowPolicy, as_policy
from mlopskit.stats.agreement import (
    DecisionAgreement,
    KSResult,
    RankCorrelation,
    ScoreGrid,
    TopKOverlap,
    _psi_from_counts,
    decision_agreement,
    histogram_quantile,
    kendall_tau_b,
    ks_from_counts,
    mcnemar_exact,
    quantile_bins,
    spearman,
    top_k_overlap,
)
from mlopskit.stats.multiple import benjamini_hochberg
from mlopskit.stats.proportions import wilson_ci
from mlopskit.verdict import Reason, ShadowVerdict

__all__ = ["LATENCY_GRID", "ShadowCheck", "ShadowProfile", "shadow_profile"]

LATENCY_GRID = (-2.0, 6.0, 1600)
"""Latency histogram grid: ``(log10 low, log10 high, n_bins)`` in ms; a bin spans a factor
``10^(8/1600) ≈ 1.0116``, so latency quantiles are exact to 1.2%."""

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


@dataclass(frozen=True, eq=False)
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
            df = pd.DataFrame([_agreement_row(v, t, a, self.alpha) for v, t, a in rows])
            return df if part == "decisions" else df.iloc[[1]].reset_index(drop=True)
        if part == "ranks":
            rows = []
            for r in (self.spearman, self.kendall):
                rows.append(
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
            rows.append(
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
            df = pd.DataFrame(rows)
            df["sample"] = self.sample_method
            return df
        return getattr(self, part).copy()

    # ---- text and HTML -----------------------------------------------------------
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
                self.to_frame("decisions").T.reset_index().rename(
                    columns={"index": "statistic", 0: "threshold", 1: "capacity_matched"}
                ),
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


def _agreement_row(view: str, threshold: float, a: DecisionAgreement, alpha: float) -> dict:
    lo, hi = wilson_ci([a.both + a.champion_only, a.both + a.challenger_only], [a.n, a.n], alpha=alpha)
    return {
        "view": view,
        "threshold": threshold,
        "n": a.n,
        "both": a.both,
        "champion_only": a.champion_only,
        "challenger_only": a.challenger_only,
        "neither": a.neither,
        "flag_rate_champion": a.flag_rate_champion,
        "flag_rate_champion_ci_low": lo[0],
        "flag_rate_champion_ci_high": hi[0],
        "flag_rate_challenger": a.flag_rate_challenger,
        "flag_rate_challenger_ci_low": lo[1],
        "flag_rate_challenger_ci_high": hi[1],
        "agreement": a.agreement,
        "kappa": a.kappa.kappa,
        "kappa_se": a.kappa.se,
        "kappa_ci_low": a.kappa.ci_low,
        "kappa_ci_high": a.kappa.ci_high,
        "positive_agreement": a.positive_agreement,
        "jaccard": a.jaccard,
        "champion_flags_in_challenger": a.champion_flags_in_challenger,
        "challenger_flags_in_champion": a.challenger_flags_in_champion,
        "mcnemar_statistic": a.mcnemar.statistic,
        "mcnemar_p_value": a.mcnemar.p_value,
    }


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
        as_of_ts = ts_max if label_max is None or pd.isna(label_max) else max(ts_max, _timestamp(label_max))
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
    coverage = _coverage(t, warnings)
    # 3. decisions at the threshold
    dec = decision_agreement(
        t["both"], t["champion_only"], t["challenger_only"], t["neither"], alpha=a
    )
    # 4. capacity-matched
    cap_thr, cap, cap_idx = _capacity(agg.hist_challenger, dec, grid, a)
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
    if isinstance(k_queue, bool) or not isinstance(k_queue, int | np.integer) or not 1 <= k_queue <= dec.n:
        raise ValueError(
            f"`review_k` must be an integer in [1, {dec.n:,}] (the scored pairs); got {review_k!r}"
            + ("; the champion flagged no request, so give `review_k`." if review_k is None else ".")
        )
    sx, sy = agg.sample_champion, agg.sample_challenger
    k_sample = int(min(sx.size, max(1, round(int(k_queue) * sx.size / dec.n))))
    rho = spearman(sx, sy, alpha=a)
    tau = kendall_tau_b(sx, sy)
    topk = top_k_overlap(sx, sy, k_sample)
    # 2. offline vs live
    offline_live, hist_off = _offline_live(offline, columns, agg, grid, a, warnings)
    # 6. segments
    seg_table = _segments(agg.segments, dec, min_n, a, warnings)
    # 7. operations
    operations = _operations(t, agg, a)
    # 9. labels
    labels = _labels(agg.hist_challenger, cap_idx, cap_thr, thr, a, warnings)
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


def _coverage(t: dict[str, int], warnings: list[str]) -> pd.DataFrame:
    n = t["n"]
    rows = [
        ("requests", n),
        ("scored_by_both", t["pairs"]),
        ("scored_by_champion", t["scored_champion"]),
        ("scored_by_challenger", t["scored_challenger"]),
        ("error_champion", t["error_champion"]),
        ("error_challenger", t["error_challenger"]),
        ("missing_champion_score", n - t["scored_champion"]),
        ("missing_challenger_score", n - t["scored_challenger"]),
        ("missing_challenger_without_error", t["missing_challenger_no_error"]),
        ("champion_flagged_challenger_missing", t["champion_flag_challenger_missing"]),
        ("latency_missing_champion", t["latency_missing_champion"]),
        ("latency_missing_challenger", t["latency_missing_challenger"]),
    ]
    df = pd.DataFrame(rows, columns=["metric", "count"])
    df["share"] = df["count"] / n
    if t["missing_challenger_no_error"]:
        warnings.append(
            f"{t['missing_challenger_no_error']:,} rows have no challenger score and no "
            "error flag (lost shadow calls or join gaps); they are counted as missing, "
            "not dropped."
        )
    if t["missing_champion_no_error"]:
        warnings.append(
            f"{t['missing_champion_no_error']:,} rows have no champion score and no error flag."
        )
    if t["error_challenger_with_score"]:
        warnings.append(
            f"{t['error_challenger_with_score']:,} rows have `error_challenger` set but a "
            "challenger score; the score was used."
        )
    for model in ("champion", "challenger"):
        k = t[f"latency_missing_{model}"]
        if k:
            warnings.append(f"{k:,} rows have no `latency_ms_{model}`; latency quantiles omit them.")
    return df


def _capacity(
    hist: np.ndarray, dec: DecisionAgreement, grid: ScoreGrid, alpha: float
) -> tuple[float, DecisionAgreement, int]:
    """Challenger grid threshold whose flag count is closest to the champion's."""
    h0, h1 = hist[0].sum(axis=0), hist[1].sum(axis=0)  # challenger hist by champion decision
    suffix = lambda h: np.concatenate([np.cumsum(h[::-1])[::-1], [0]])  # noqa: E731
    s0, s1 = suffix(h0), suffix(h1)
    target = dec.both + dec.champion_only
    gap = np.abs(s0 + s1 - target)
    j = int(np.flatnonzero(gap == gap.min())[-1])  # ties: the higher threshold
    a = int(s1[j])
    c = int(s0[j])
    b = target - a
    d = dec.n - a - b - c
    thr = float(grid.edges()[j]) if j <= grid.n_bins else 1.0
    return thr, decision_agreement(a, b, c, d, alpha=alpha), j


def _offline_live(
    offline: Any,
    columns: Mapping[str, str] | None,
    agg: frames.ShadowAggregates,
    grid: ScoreGrid,
    alpha: float,
    warnings: list[str],
) -> tuple[pd.DataFrame, np.ndarray | None]:
    cols = [
        "model", "n_offline", "n_live", "psi", "psi_critical", "psi_p_value", "psi_bins",
        "ks_d", "ks_d_upper", "ks_critical", "ks_p_value",
    ]  # fmt: skip
    if offline is None:
        warnings.append("no `offline` scores given: live-vs-offline parity (PSI, KS) not checked.")
        return pd.DataFrame(columns=cols), None
    mapping = {k: v for k, v in (columns or {}).items() if k in ("score_champion", "score_challenger")}
    olf = frames.validate(offline, frames.OFFLINE_SCORES, columns=mapping)
    live = {
        "challenger": agg.hist_challenger.sum(axis=(0, 1)),
        "champion": agg.hist_champion,
    }
    rows = []
    hist_off = None
    for model in ("challenger", "champion"):
        col = f"score_{model}"
        if col not in frames.schema(olf):
            continue
        ref = frames.score_histogram(olf, col, n_bins=grid.n_bins, span=grid.span, clip=grid.clip)
        if model == "challenger":
            hist_off = ref
        cur = live[model]
        n_ref, n_cur = int(ref.sum()), int(cur.sum())
        if n_ref == 0:
            raise ValueError(f"offline scores: column `{col}` has no non-missing value.")
        b = int(max(2, min(10, min(n_ref, n_cur) // 5)))
        starts = quantile_bins(ref, b)
        psi, crit, p = _psi_from_counts(
            np.add.reduceat(ref, starts), np.add.reduceat(cur, starts), alpha=alpha
        )
        ks: KSResult = ks_from_counts(cur, ref, alpha=alpha)
        rows.append([model, n_ref, n_cur, psi, crit, p, starts.size, ks.d, ks.d_upper, ks.critical, ks.p_value])
    return pd.DataFrame(rows, columns=cols), hist_off


def _segments(
    seg: dict[str, pd.DataFrame],
    dec: DecisionAgreement,
    min_n: int,
    alpha: float,
    warnings: list[str],
) -> pd.DataFrame:
    cols = [
        "segment", "value", "n", "pairs", "flag_rate_champion", "flag_rate_challenger",
        "disagreement_rate", "lift", "excess_disagreements", "p_value", "q_value",
        "suppressed", "rank",
    ]  # fmt: skip
    frames_ = []
    total_dis = dec.champion_only + dec.challenger_only
    overall = total_dis / dec.n
    for name, df in seg.items():
        if len(df) == 1:
            warnings.append(
                f"segment `{name}` has a single value ({df['value'].iloc[0]!r}); it cannot "
                "localize disagreement."
            )
        small = df[df["pairs"] < min_n]
        if len(small):
            shown = ", ".join(f"{v!r} (n={n})" for v, n in zip(small["value"], small["pairs"], strict=True))
            warnings.append(
                f"segment `{name}`: {len(small)} value(s) with fewer than min_n={min_n} scored "
                f"pairs suppressed: {shown[:300]}."
            )
        out = pd.DataFrame({"segment": name, "value": df["value"], "n": df["n"], "pairs": df["pairs"]})
        pairs = df["pairs"].to_numpy(dtype=float)
        dis = (df["champion_only"] + df["challenger_only"]).to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["flag_rate_champion"] = (df["both"] + df["champion_only"]).to_numpy() / pairs
            out["flag_rate_challenger"] = (df["both"] + df["challenger_only"]).to_numpy() / pairs
            out["disagreement_rate"] = dis / pairs
            out["lift"] = out["disagreement_rate"] / overall if overall > 0 else np.nan
        out["excess_disagreements"] = dis - pairs * overall
        p = np.full(len(df), np.nan)
        for i in range(len(df)):
            rest_d, rest_n = total_dis - dis[i], dec.n - pairs[i]
            if pairs[i] >= min_n and rest_n > 0:
                table = [[dis[i], pairs[i] - dis[i]], [rest_d, rest_n - rest_d]]
                p[i] = stats.fisher_exact(np.asarray(table, dtype=np.int64)).pvalue
        out["p_value"] = p
        out["suppressed"] = pairs < min_n
        frames_.append(out)
    if not frames_:
        return pd.DataFrame(columns=cols)
    res = pd.concat(frames_, ignore_index=True)
    rate_cols = ["flag_rate_champion", "flag_rate_challenger", "disagreement_rate", "lift", "excess_disagreements"]
    res.loc[res["suppressed"], rate_cols] = np.nan
    res["q_value"] = benjamini_hochberg(res["p_value"].to_numpy(dtype=float))
    # ranking: BH-significant excess disagreement first, then by lift
    concentrated = (res["q_value"] < alpha) & (res["lift"] > 1)
    order = res.assign(_c=concentrated).sort_values(["_c", "lift"], ascending=[False, False], kind="stable")
    order = order[~order["suppressed"]]
    res["rank"] = np.nan
    res.loc[order.index, "rank"] = np.arange(1, len(order) + 1, dtype=float)
    return res.sort_values(["rank", "segment", "value"], na_position="last", kind="stable").reset_index(drop=True)[cols]


def _operations(t: dict[str, int], agg: frames.ShadowAggregates, alpha: float) -> pd.DataFrame:
    lo, hi, nb = LATENCY_GRID
    edges = 10.0 ** np.linspace(lo, hi, nb + 1)
    n = t["n"]
    rows = []
    for model, lat in (("champion", agg.latency_champion), ("challenger", agg.latency_challenger)):
        errors = t[f"error_{model}"]
        missing = n - t[f"scored_{model}"]
        (e_lo, m_lo), (e_hi, m_hi) = wilson_ci([errors, missing], [n, n], alpha=alpha)
        rows.append(
            {
                "model": model,
                "n": n,
                "latency_n": int(lat.sum()),
                "p50_ms": histogram_quantile(lat, edges, 0.50),
                "p95_ms": histogram_quantile(lat, edges, 0.95),
                "p99_ms": histogram_quantile(lat, edges, 0.99),
                "error_rate": errors / n,
                "error_rate_ci_low": e_lo,
                "error_rate_ci_high": e_hi,
                "missing_rate": missing / n,
                "missing_rate_ci_low": m_lo,
                "missing_rate_ci_high": m_hi,
            }
        )
    df = pd.DataFrame(rows)
    for q in ("p50", "p95", "p99"):  # relative to the champion (1 on its own row)
        df.insert(df.columns.get_loc(f"{q}_ms") + 1, f"{q}_ratio", df[f"{q}_ms"] / df.loc[0, f"{q}_ms"])
    return df


def _labels(
    hist: np.ndarray, j: int, cap_thr: float, thr: float, alpha: float, warnings: list[str]
) -> pd.DataFrame:
    """Precision/recall on matured labels: champion at ``thr``, challenger at the
    capacity-matched threshold (grid edge ``j``), with the paired comparison of recall."""
    cols = [
        "model", "threshold", "n_matured", "positives", "flagged", "true_positives",
        "precision", "precision_ci_low", "precision_ci_high", "recall", "recall_ci_low",
        "recall_ci_high", "p_value", "test",
    ]  # fmt: skip
    h = hist[:2, :2, :]  # complete pairs with a matured label
    n_m = int(h.sum())
    pos = int(h[:, 1].sum())
    if n_m == 0:
        return pd.DataFrame(columns=cols)
    if pos == 0:
        warnings.append(f"no positive label among {n_m:,} matured pairs; recall undefined.")
        return pd.DataFrame(columns=cols)
    flagged = [int(h[1].sum()), int(h[:, :, j:].sum())]
    tp = [int(h[1, 1].sum()), int(h[:, 1, j:].sum())]
    p_lo, p_hi = wilson_ci(tp, flagged, alpha=alpha)  # nobs 0 gives NaN
    r_lo, r_hi = wilson_ci(tp, [pos, pos], alpha=alpha)
    rows = []
    for i, (model, t_) in enumerate((("champion", thr), ("challenger", cap_thr))):
        rows.append(
            [model, t_, n_m, pos, flagged[i], tp[i],
             tp[i] / flagged[i] if flagged[i] else np.nan, p_lo[i], p_hi[i], tp[i] / pos,
             r_lo[i], r_hi[i], np.nan, ""]
        )  # fmt: skip
    # paired: positives caught by one model only (b: champion only, c: challenger only)
    b = int(h[1, 1, :j].sum())
    c = int(h[0, 1, j:].sum())
    mc = mcnemar_exact(b, c)
    diff = (c - b) / pos
    se = np.sqrt(max(b + c - (c - b) ** 2 / pos, 0.0)) / pos
    z = stats.norm.isf(alpha / 2)
    prec = [r[6] for r in rows]
    rows.append(
        ["challenger − champion", np.nan, n_m, pos, flagged[1] - flagged[0], c - b,
         prec[1] - prec[0], np.nan, np.nan, diff, diff - z * se, diff + z * se, mc.p_value,
         f"exact McNemar on positives caught by one model only (champion {b}, challenger {c}); "
         "recall CI: paired Wald"]
    )  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


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
    ratio = float(ops.loc[1, "p99_ratio"])
    lat_n = int(ops["latency_n"].min())
    status = "insufficient" if lat_n < 1000 else ok(ratio <= pol.p99_latency_ratio_max)
    out.append(ShadowCheck(
        "p99_latency_ratio", "operational", ratio, None, pol.p99_latency_ratio_max, status,
        f"challenger p99 latency {ops.loc[1, 'p99_ms']:.1f} ms is {ratio:.2f}× the champion's "
        f"{ops.loc[0, 'p99_ms']:.1f} ms; at most {pol.p99_latency_ratio_max:g}×"
        + (f" (only {lat_n:,} latencies; ≥ 1,000 needed)." if lat_n < 1000 else "."),
    ))  # fmt: skip
    # flag-rate ratio of paired proportions, log-scale Wald CI:
    # Var(ln R) ≈ (b + c)/((a + b)(a + c))
    b_, c_, fa, fh = dec.champion_only, dec.challenger_only, flagged, dec.both + dec.challenger_only
    lo_r, hi_r = pol.flag_rate_ratio_min, pol.flag_rate_ratio_max
    if fa == 0 or fh == 0:
        ratio, status, ci = np.nan, "insufficient", (np.nan, np.nan)
    else:
        ratio = fh / fa
        half = stats.norm.isf(a / 2) * np.sqrt((b_ + c_) / (fa * fh))
        ci = (ratio * np.exp(-half), ratio * np.exp(half))
        status = (
            "pass" if lo_r <= ratio <= hi_r
            else "fail" if ci[1] < lo_r or ci[0] > hi_r
            else "insufficient"
        )  # fmt: skip
    out.append(ShadowCheck(
        "flag_rate_ratio", "parity", ratio, lo_r, hi_r, status,
        f"challenger/champion flag rate at the threshold {ratio:.3f} "
        f"(95% CI {ci[0]:.3f}–{ci[1]:.3f}); tolerance {lo_r:g}–{hi_r:g}.",
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
            if crit >= lim:
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
