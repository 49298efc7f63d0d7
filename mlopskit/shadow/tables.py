"""Tables of the shadow profile (parts 1–9), built from the aggregates of one lazy pass.

Private helpers of :mod:`mlopskit.shadow`: small numpy/pandas work on the sufficient
statistics returned by ``frames.shadow_aggregates`` (no dataframe engine, no I/O).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlopskit import frames
from mlopskit.shadow import hotspots
from mlopskit.stats.agreement import (
    DecisionAgreement,
    KSResult,
    ScoreGrid,
    decision_agreement,
    histogram_quantile,
    ks_from_counts,
    mcnemar_exact,
    quantile_bins,
)
from mlopskit.stats.proportions import wilson_ci
from mlopskit.stats.psi import critical_value, psi_from_counts, psi_p_value

LATENCY_GRID = (-2.0, 6.0, 1600)
"""Latency histogram grid: ``(log10 low, log10 high, n_bins)`` in ms; a bin spans a factor
``10^(8/1600) ≈ 1.0116``, so latency quantiles are exact to 1.2%."""


def agreement_row(
    view: str, threshold: float, challenger_threshold: float, a: DecisionAgreement, alpha: float
) -> dict:
    lo, hi = wilson_ci(
        [a.both + a.champion_only, a.both + a.challenger_only], [a.n, a.n], alpha=alpha
    )
    return {
        "view": view,
        "threshold_champion": threshold,
        "threshold_challenger": challenger_threshold,
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


def coverage_table(t: dict[str, int], warnings: list[str]) -> pd.DataFrame:
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
            warnings.append(
                f"{k:,} rows have no `latency_ms_{model}`; latency quantiles omit them."
            )
    return df


def capacity_matched(
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


def offline_live_table(
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
    mapping = {
        k: v for k, v in (columns or {}).items() if k in ("score_champion", "score_challenger")
    }
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
        if int(ref.sum()) == 0:
            raise ValueError(f"offline scores: column `{col}` has no non-missing value.")
        rows.append(parity_row(model, ref, live[model], alpha))
    return pd.DataFrame(rows, columns=cols), hist_off


def parity_row(model: str, ref: np.ndarray, cur: np.ndarray, alpha: float) -> list[Any]:
    """Offline (``ref``) vs live (``cur``) grid histograms: PSI on ≤ 10 reference-quantile
    bins with its sampling-noise critical value, and KS, as one row of ``offline_live``."""
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    b = int(max(2, min(10, min(n_ref, n_cur) // 5)))
    starts = quantile_bins(ref, b)
    psi = crit = p = float("nan")  # one bin (a point mass) or no live rows: nothing to test
    if starts.size >= 2 and n_cur > 0:
        psi = float(psi_from_counts(np.add.reduceat(ref, starts), np.add.reduceat(cur, starts)))
        crit = float(critical_value(n_ref, n_cur, starts.size, alpha=alpha))
        p = float(psi_p_value(psi, n_ref, n_cur, starts.size))
    ks: KSResult = ks_from_counts(cur, ref, alpha=alpha)
    return [model, n_ref, n_cur, psi, crit, p, starts.size, ks.d, ks.d_upper, ks.critical,
            ks.p_value]  # fmt: skip


def segments_table(
    seg: dict[str, pd.DataFrame],
    grids: dict[str, pd.DataFrame] | None,
    pairs: dict[tuple[str, str], pd.DataFrame] | None,
    min_n: int,
    alpha: float,
    warnings: list[str],
) -> pd.DataFrame:
    """Disagreement per segment value against what requests at the same score positions
    give in the rest of the population (:mod:`mlopskit.shadow.hotspots`):
    ``expected_disagreement_rate`` (the other values' disagreement at this value's mean
    score positions), ``lift`` = observed / expected, the one-sided stratified (CMH) test,
    BH across all values, ``hot_spot`` and ``explained_by``."""
    cols = [
        "segment", "value", "n", "pairs", "flag_rate_champion", "flag_rate_challenger",
        "disagreement_rate", "expected_disagreement_rate", "lift", "excess_disagreements",
        "p_value", "q_value", "p_outside", "hot_spot",
        "explained_by", "suppressed", "rank",
    ]  # fmt: skip
    frames_ = []
    for name, df in seg.items():
        if len(df) == 1:
            warnings.append(
                f"segment `{name}` has a single value ({df['value'].iloc[0]!r}); it cannot "
                "localize disagreement."
            )
        small = df[df["pairs"] < min_n]
        if len(small):
            shown = ", ".join(
                f"{v!r} (n={n})" for v, n in zip(small["value"], small["pairs"], strict=True)
            )
            warnings.append(
                f"segment `{name}`: {len(small)} value(s) with fewer than min_n={min_n} scored "
                f"pairs suppressed: {shown[:300]}."
            )
        out = pd.DataFrame(
            {"segment": name, "value": df["value"], "n": df["n"], "pairs": df["pairs"]}
        )
        pairs_n = df["pairs"].to_numpy(dtype=float)
        dis = (df["champion_only"] + df["challenger_only"]).to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["flag_rate_champion"] = (df["both"] + df["champion_only"]).to_numpy() / pairs_n
            out["flag_rate_challenger"] = (df["both"] + df["challenger_only"]).to_numpy() / pairs_n
            out["disagreement_rate"] = dis / pairs_n
        out["_dis"] = dis
        out["suppressed"] = pairs_n < min_n
        frames_.append(out)
    if not frames_:
        return pd.DataFrame(columns=cols)
    res = pd.concat(frames_, ignore_index=True)
    hs = hotspots.hot_spots(seg, grids or {}, pairs, min_n, alpha)
    exp = hs["expected_discordant"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        res["expected_disagreement_rate"] = exp / res["pairs"].to_numpy(dtype=float)
        res["lift"] = res["_dis"].to_numpy() / exp
    res["excess_disagreements"] = res["_dis"].to_numpy() - exp
    for c in ("p_value", "q_value", "p_outside", "hot_spot", "explained_by"):
        res[c] = hs[c].to_numpy()
    rate_cols = [
        "flag_rate_champion", "flag_rate_challenger", "disagreement_rate",
        "expected_disagreement_rate", "lift", "excess_disagreements",
    ]  # fmt: skip
    res.loc[res["suppressed"], rate_cols] = np.nan
    # ranking: hot spots first (strongest test first), then by lift
    order = res.assign(_h=res["hot_spot"], _p=res["p_value"].fillna(1.0)).sort_values(
        ["_h", "lift"], ascending=[False, False], kind="stable", na_position="last"
    )
    order = order[~order["suppressed"]]
    res["rank"] = np.nan
    res.loc[order.index, "rank"] = np.arange(1, len(order) + 1, dtype=float)
    return res.sort_values(
        ["rank", "segment", "value"], na_position="last", kind="stable"
    ).reset_index(drop=True)[cols]


def _latency_quantile(counts: np.ndarray, edges: np.ndarray, bin_max: Any, q: float) -> float:
    """The grid quantile (upper edge of its bin), never above the largest latency in that bin:
    latencies logged at a cap (a 250 ms timeout) read as the cap, not the bin's edge."""
    val = histogram_quantile(counts, edges, q)
    if bin_max is None or not np.isfinite(val):
        return val
    j = int(np.searchsorted(np.cumsum(counts) / counts.sum(), q, side="left"))
    top = float(np.asarray(bin_max)[min(j, counts.size - 1)])
    return min(val, top) if np.isfinite(top) else val


def operations_table(t: dict[str, int], agg: frames.ShadowAggregates, alpha: float) -> pd.DataFrame:
    """Latency quantiles of the calls without an error flag (an errored call's latency is its
    timeout: the error rate counts it, so one cause is not counted twice) and the error and
    missing-score rates with Wilson CIs."""
    lo, hi, nb = LATENCY_GRID
    edges = 10.0 ** np.linspace(lo, hi, nb + 1)
    n = t["n"]
    rows = []
    for model, lat, top in (
        ("champion", agg.latency_champion, agg.latency_bin_max_champion),
        ("challenger", agg.latency_challenger, agg.latency_bin_max_challenger),
    ):
        errors = t[f"error_{model}"]
        missing = n - t[f"scored_{model}"]
        (e_lo, m_lo), (e_hi, m_hi) = wilson_ci([errors, missing], [n, n], alpha=alpha)
        rows.append(
            {
                "model": model,
                "n": n,
                "latency_n": int(lat.sum()),
                "p50_ms": _latency_quantile(lat, edges, top, 0.50),
                "p95_ms": _latency_quantile(lat, edges, top, 0.95),
                "p99_ms": _latency_quantile(lat, edges, top, 0.99),
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
        vals = df[f"{q}_ms"].to_numpy(dtype=float)
        df.insert(list(df.columns).index(f"{q}_ms") + 1, f"{q}_ratio", vals / vals[0])
    return df


def labels_table(
    t: dict[str, int], thr: float, thr_cl: float, alpha: float, warnings: list[str]
) -> pd.DataFrame:
    """Precision/recall on matured labels, each model at its own threshold (``thr`` the
    champion's, ``thr_cl`` the challenger's), with the paired comparison of recall."""
    cols = [
        "model", "threshold", "n_matured", "positives", "flagged", "true_positives",
        "precision", "precision_ci_low", "precision_ci_high", "recall", "recall_ci_low",
        "recall_ci_high", "p_value", "test",
    ]  # fmt: skip
    g = {(k, y): int(t.get(f"{k}_label{y}", 0)) for k in hotspots.CELLS for y in (0, 1)}
    n_m = sum(g.values())
    pos = sum(g[k, 1] for k in hotspots.CELLS)
    if n_m == 0:
        return pd.DataFrame(columns=cols)
    if pos == 0:
        warnings.append(f"no positive label among {n_m:,} matured pairs; recall undefined.")
        return pd.DataFrame(columns=cols)
    flagged = [
        sum(g["both", y] + g["champion_only", y] for y in (0, 1)),
        sum(g["both", y] + g["challenger_only", y] for y in (0, 1)),
    ]
    tp = [g["both", 1] + g["champion_only", 1], g["both", 1] + g["challenger_only", 1]]
    p_lo, p_hi = wilson_ci(tp, flagged, alpha=alpha)  # nobs 0 gives NaN
    r_lo, r_hi = wilson_ci(tp, [pos, pos], alpha=alpha)
    rows = []
    for i, (model, t_) in enumerate((("champion", thr), ("challenger", thr_cl))):
        rows.append(
            [model, t_, n_m, pos, flagged[i], tp[i],
             tp[i] / flagged[i] if flagged[i] else np.nan, p_lo[i], p_hi[i], tp[i] / pos,
             r_lo[i], r_hi[i], np.nan, ""]
        )  # fmt: skip
    # paired: positives caught by one model only (b: champion only, c: challenger only)
    b, c = g["champion_only", 1], g["challenger_only", 1]
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
