"""shadow_profile: every table against a brute-force pandas/numpy computation or
statsmodels/scipy, the verdict rules, the demo world, and bad input. Frame-taking tests run
once per backend (pandas, polars, polars lazy)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from mlopskit import demo
from mlopskit.policy import Policy
from mlopskit.shadow import LATENCY_GRID, ShadowProfile, shadow_profile
from mlopskit.shadow.checks import _rate_status
from mlopskit.stats.agreement import ScoreGrid, paired_rate_ratio, quantile_bins
from mlopskit.verdict import Reason, ShadowVerdict

Backend = Callable[[pd.DataFrame], Any]
START = pd.Timestamp("2026-03-02")
THR = 0.1
THR_CL = 0.12  # the challenger's own threshold in tests that give one


def _expit(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@functools.lru_cache(maxsize=8)
def _cached_log(n: int, seed: int, days: int, error_rate: float, lost: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    channel = rng.choice(np.array(["pos", "web", "app"]), n, p=[0.5, 0.3, 0.2])
    country = rng.choice(np.array(["US", "GB", "DE"]), n)
    z = rng.normal(-4.5, 1.3, n)
    noise = np.where(channel == "app", 0.9, 0.25)  # the challenger disagrees in app
    champ = _expit(z)
    chall = _expit(z + rng.normal(0.0, noise))
    err_h = rng.random(n) < error_rate
    err_c = rng.random(n) < 0.0005
    ts = START + pd.to_timedelta(np.sort(rng.integers(0, days * 86400, n)), unit="s")
    label = (rng.random(n) < champ).astype(np.int64)
    label_ts = pd.Series(ts + pd.to_timedelta(rng.integers(1, 20 * 86400, n), unit="s"))
    df = pd.DataFrame(
        {
            "request_id": [f"q{i:07d}" for i in range(n)],
            "ts": ts,
            "score_champion": np.where(err_c, np.nan, champ),
            "score_challenger": np.where(err_h, np.nan, chall),
            "latency_ms_champion": np.where(err_c, 250.0, rng.lognormal(np.log(18), 0.35, n)),
            "latency_ms_challenger": np.where(err_h, 250.0, rng.lognormal(np.log(21), 0.35, n)),
            "error_champion": err_c,
            "error_challenger": err_h,
            "label": label,
            "label_ts": label_ts.where(label == 1).to_numpy(),
            "channel": channel,
            "country": country,
        }
    )
    if lost:  # lost shadow calls: no score, no error flag
        idx = rng.choice(np.flatnonzero(~err_h), lost, replace=False)
        df.loc[idx, "score_challenger"] = np.nan
    return df


def _log(
    n: int = 30_000, seed: int = 0, days: int = 14, error_rate: float = 0.002, lost: int = 0
) -> pd.DataFrame:
    return _cached_log(n, seed, days, error_rate, lost).copy()


def _offline(n: int = 20_000, seed: int = 1, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(-4.5 + shift, 1.3, n)
    return pd.DataFrame(
        {
            "score_champion": _expit(z),
            "score_challenger": _expit(z + rng.normal(0.0, 0.25 + 0.2 * (rng.random(n) < 0.2))),
        }
    )


def _pairs(df: pd.DataFrame) -> pd.DataFrame:
    return df[df.score_champion.notna() & df.score_challenger.notna()]


# ---------------------------------------------------------------------------------------
# 3. decisions at the threshold
# ---------------------------------------------------------------------------------------
def test_decisions_match_bruteforce_and_statsmodels(to_backend: Backend) -> None:
    df = _log()
    prof = shadow_profile(to_backend(df), threshold=THR, segments=["channel"])
    p = _pairs(df)
    fc, fh = p.score_champion >= THR, p.score_challenger >= THR
    a, b = int((fc & fh).sum()), int((fc & ~fh).sum())
    c, d = int((~fc & fh).sum()), int((~fc & ~fh).sum())
    dec = prof.decisions
    assert (dec.both, dec.champion_only, dec.challenger_only, dec.neither) == (a, b, c, d)
    # reference: statsmodels cohens_kappa and mcnemar(exact=True) on the same table
    table = np.array([[a, b], [c, d]])
    ref = cohens_kappa(table)
    np.testing.assert_allclose([dec.kappa.kappa, dec.kappa.se], [ref.kappa, ref.std_kappa])
    assert dec.mcnemar.p_value == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-12)
    # flag rates with Wilson CIs: statsmodels proportion_confint(method="wilson")
    row = prof.to_frame("decisions").iloc[0]
    lo, hi = proportion_confint(a + c, len(p), alpha=0.05, method="wilson")
    assert row.flag_rate_challenger == pytest.approx((a + c) / len(p))
    np.testing.assert_allclose(
        [row.flag_rate_challenger_ci_low, row.flag_rate_challenger_ci_high], [lo, hi], rtol=1e-10
    )
    # the flagged-set overlaps, from sets of request ids
    s_c = set(p.request_id[fc])
    s_h = set(p.request_id[fh])
    assert dec.jaccard == pytest.approx(len(s_c & s_h) / len(s_c | s_h))
    assert dec.champion_flags_in_challenger == pytest.approx(len(s_c & s_h) / len(s_h))
    assert dec.challenger_flags_in_champion == pytest.approx(len(s_c & s_h) / len(s_c))
    assert dec.positive_agreement == pytest.approx(2 * a / (2 * a + b + c))


def test_coverage_counts_lost_calls_instead_of_dropping_them(to_backend: Backend) -> None:
    df = _log(lost=120)
    prof = shadow_profile(to_backend(df), threshold=THR)
    cov = prof.to_frame("coverage").set_index("metric")["count"]
    n_err = int(df.error_challenger.sum())
    assert cov["requests"] == len(df)
    assert cov["missing_challenger_score"] == int(df.score_challenger.isna().sum()) == n_err + 120
    assert cov["missing_challenger_without_error"] == 120
    assert cov["scored_by_both"] == len(_pairs(df)) == prof.decisions.n
    champ_flag_lost = int(((df.score_champion >= THR) & df.score_challenger.isna()).sum())
    assert cov["champion_flagged_challenger_missing"] == champ_flag_lost
    assert any("no challenger score and no error flag" in w for w in prof.warnings)
    # the missing-rate check counts the scores lost without an error flag; the errored
    # calls are the error-rate check's (one cause, one check)
    check = prof.to_frame("checks").set_index("check").loc["missing_rate"]
    assert check.value == pytest.approx(120 / len(df))
    assert f"the {n_err:,} errored calls are counted by the error rate only" in check.message


# ---------------------------------------------------------------------------------------
# 4. capacity-matched view
# ---------------------------------------------------------------------------------------
def test_capacity_matched_threshold_matches_numpy_search(to_backend: Backend) -> None:
    df = _log()
    prof = shadow_profile(to_backend(df), threshold=THR)
    p = _pairs(df)
    grid = ScoreGrid()
    edges = grid.edges()
    target = int((p.score_champion >= THR).sum())
    idx = grid.index(p.score_challenger.to_numpy())
    counts = np.array([(idx >= j).sum() for j in range(grid.n_bins + 1)])
    gap = np.abs(counts - target)
    j = int(np.flatnonzero(gap == gap.min())[-1])
    assert prof.capacity_threshold == edges[j]
    cap = prof.capacity
    fc, fh = (p.score_champion >= THR).to_numpy(), idx >= j
    assert (cap.both, cap.champion_only, cap.challenger_only) == (
        int((fc & fh).sum()),
        int((fc & ~fh).sum()),
        int((~fc & fh).sum()),
    )
    # within one grid bin of the champion's flag count
    assert abs(cap.flag_rate_challenger - cap.flag_rate_champion) * cap.n <= gap.min()
    assert prof.to_frame("capacity").view.tolist() == ["capacity_matched"]


# ---------------------------------------------------------------------------------------
# 5. ranks
# ---------------------------------------------------------------------------------------
def test_ranks_on_all_pairs_match_scipy(to_backend: Backend) -> None:
    df = _log(n=8000)
    prof = shadow_profile(to_backend(df), threshold=THR, review_k=200)
    p = _pairs(df)
    x, y = p.score_champion.to_numpy(), p.score_challenger.to_numpy()
    assert prof.sample_n == len(p) and prof.sample_method == "all scored pairs"
    # reference: scipy.stats.spearmanr / kendalltau(variant="b") on every pair
    assert prof.spearman.estimate == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-10)
    assert prof.kendall.estimate == pytest.approx(
        stats.kendalltau(x, y, variant="b").statistic, rel=1e-10
    )
    top = len(set(np.argsort(-x)[:200]) & set(np.argsort(-y)[:200]))
    assert prof.top_k.k == 200 and prof.top_k.overlap == top
    assert prof.top_k.expected_random == pytest.approx(200**2 / len(p))
    ranks = prof.to_frame("ranks").set_index("statistic")
    assert (
        ranks.loc["spearman", "ci_low"] < prof.spearman.estimate < ranks.loc["spearman", "ci_high"]
    )


def test_rank_sample_is_bounded_seeded_and_stated(to_backend: Backend) -> None:
    df = _log()
    kw: dict[str, Any] = {"threshold": THR, "sample_size": 2000}
    first = shadow_profile(to_backend(df), seed=3, **kw)
    again = shadow_profile(to_backend(df), seed=3, **kw)
    other = shadow_profile(to_backend(df), seed=4, **kw)
    assert first.sample_n == 2000 and first.spearman.n == 2000
    assert "2000" in first.sample_method and "seed=3" in first.sample_method
    assert first.spearman.estimate == again.spearman.estimate
    assert first.spearman.estimate != other.spearman.estimate
    # the sample estimate agrees with the full-data value within sampling error
    p = _pairs(df)
    full = stats.spearmanr(p.score_champion, p.score_challenger).statistic
    assert abs(first.spearman.estimate - full) < 0.02
    # the default queue is the champion's flag count, scaled to the sample
    assert first.review_k == first.decisions.both + first.decisions.champion_only
    assert first.top_k.k == round(first.review_k * 2000 / first.decisions.n)
    assert "sample" in first.to_frame("ranks").columns


def test_rank_sample_survives_many_missing_scores(to_backend: Backend) -> None:
    # 90% lost challenger calls: polars' hash pre-filter (sized on the row count) keeps too
    # few pairs, so the sample is redrawn without it; the sample size is still honoured
    df = _log(n=3000)
    df.loc[df.index % 10 != 0, "score_challenger"] = np.nan
    prof = shadow_profile(to_backend(df), threshold=THR, sample_size=100, review_k=10)
    assert prof.sample_n == 100 and prof.decisions.n == len(_pairs(df))


def test_polars_aggregates_are_one_batch_of_small_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the aggregation of a polars lazy log is ONE collect_all whose results are all small
    # (bounded by grid sizes, segment values and the sample size, not by the row count)
    calls: list[list[int]] = []
    real = pl.collect_all

    def spy(lfs: Any, **kw: Any) -> Any:
        out = real(lfs, **kw)
        calls.append([df.height for df in out])
        return out

    monkeypatch.setattr(pl, "collect_all", spy)
    df = _log(n=40_000)
    shadow_profile(pl.from_pandas(df).lazy(), threshold=THR, segments=["channel"], sample_size=500)
    assert len(calls) == 1
    heights = calls[0]
    assert heights[0] == 1  # the totals row
    assert max(heights) <= 3 * 3 * ScoreGrid().n_bins and heights[-1] == 500
    assert sum(heights) < len(df) / 2


# ---------------------------------------------------------------------------------------
# 2. offline vs live
# ---------------------------------------------------------------------------------------
def test_offline_live_psi_and_ks_against_numpy_and_scipy(to_backend: Backend) -> None:
    df, off = _log(), _offline()
    prof = shadow_profile(to_backend(df), threshold=THR, offline=to_backend(off))
    row = prof.to_frame("offline_live").set_index("model").loc["challenger"]
    live = df.score_challenger.dropna().to_numpy()
    ref = off.score_challenger.to_numpy()
    # reference: scipy.stats.ks_2samp on the raw scores lies within the grid bounds
    ks = stats.ks_2samp(live, ref, method="asymp")
    assert row.ks_d - 1e-12 <= ks.statistic <= row.ks_d_upper + 1e-12
    # PSI by hand: deciles of the offline scores rounded up to the grid, +0.5 smoothing
    grid = ScoreGrid()
    ref_hist = np.bincount(grid.index(ref), minlength=grid.n_bins)
    edges = grid.edges()[quantile_bins(ref_hist, 10)][1:]
    e = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=10).astype(float)
    a = np.bincount(np.searchsorted(edges, live, side="right"), minlength=10).astype(float)
    es, as_ = (e + 0.5) / (e.sum() + 5), (a + 0.5) / (a.sum() + 5)
    assert row.psi == pytest.approx(np.sum((as_ - es) * np.log(as_ / es)), rel=1e-6)
    scale = 1 / len(ref) + 1 / len(live)
    assert row.psi_critical == pytest.approx(stats.chi2.isf(0.05, 9) * scale, rel=1e-9)
    assert row.psi_p_value == pytest.approx(stats.chi2.sf(row.psi / scale, 9), rel=1e-9)
    assert row.psi_bins == 10
    assert prof.verdict is ShadowVerdict.READY_FOR_CANARY


def test_offline_live_shift_is_fix_and_missing_offline_is_stated() -> None:
    df = _log()
    shifted = shadow_profile(df, threshold=THR, offline=_offline(shift=0.6))
    checks = shifted.to_frame("checks").set_index("check")
    assert checks.loc["offline_live_psi", "status"] == "fail"
    assert checks.loc["offline_live_ks", "status"] == "fail"
    assert shifted.verdict is ShadowVerdict.FIX
    no_off = shadow_profile(df, threshold=THR)
    assert no_off.to_frame("checks").set_index("check").loc["offline_live_psi", "status"] == (
        "skipped"
    )
    assert any("no `offline` scores given" in w for w in no_off.warnings)
    # a tiny offline holdout cannot support the decision: insufficient, not "stable"
    tiny = shadow_profile(df, threshold=THR, offline=_offline(n=60))
    assert tiny.to_frame("checks").set_index("check").loc["offline_live_ks", "status"] == (
        "insufficient"
    )
    assert tiny.verdict is ShadowVerdict.CONTINUE_SHADOW
    # a constant offline score (a broken offline evaluation) collapses the PSI bins, so PSI
    # cannot see the mismatch; KS does, and the profile says FIX
    flat = shadow_profile(df, threshold=THR, offline=_offline().assign(score_challenger=0.3))
    assert flat.to_frame("checks").set_index("check").loc["offline_live_ks", "status"] == "fail"
    assert flat.verdict is ShadowVerdict.FIX


# ---------------------------------------------------------------------------------------
# 6. segments, 8. flips
# ---------------------------------------------------------------------------------------
def test_segments_match_bruteforce_bh_and_rank(to_backend: Backend) -> None:
    df = _log()
    df["region"] = np.where(np.arange(len(df)) == 7, "tiny", "main")  # a one-row value
    prof = shadow_profile(
        to_backend(df), threshold=THR, challenger_threshold=THR_CL, segments=["channel", "region"]
    )
    seg = prof.to_frame("segments")
    p = _pairs(df)
    fc, fh = (p.score_champion >= THR).to_numpy(), (p.score_challenger >= THR_CL).to_numpy()
    cells = {
        v: np.array([(fc & fh)[m].sum(), (fc & ~fh)[m].sum(), (~fc & fh)[m].sum(),
                     (~fc & ~fh)[m].sum()], dtype=float)
        for v, m in ((v, (p.channel == v).to_numpy()) for v in ("app", "pos", "web"))
    }  # fmt: skip
    shown = seg[~seg.suppressed].set_index("value")
    for v, c in cells.items():
        r = shown.loc[v]
        assert r.pairs == c.sum() and r.disagreement_rate == pytest.approx((c[1] + c[2]) / c.sum())
    # reference: the agreement grid recounted from the rows, the strata and the test
    ref = _reference_segment_tests(p, "channel")
    for v, c in cells.items():
        r = shown.loc[v]
        assert r.pairs == c.sum() and r.disagreement_rate == pytest.approx((c[1] + c[2]) / c.sum())
        assert r.p_value == pytest.approx(ref[v]["p_value"], rel=1e-6, abs=1e-300)
        exp = ref[v]["expected"]
        assert r.expected_disagreement_rate == pytest.approx(exp / c.sum(), rel=1e-9)
        assert r.lift == pytest.approx((c[1] + c[2]) / exp, rel=1e-9)
    # reference: statsmodels multipletests(method="fdr_bh") across the tested values
    tested = seg[seg.p_value.notna()]
    np.testing.assert_allclose(
        tested.q_value, multipletests(tested.p_value, method="fdr_bh")[1], rtol=1e-12
    )
    # the planted hot spot (the challenger's noise is 3.6x larger in app), and only it
    assert set(seg.value[seg.hot_spot.astype(bool)]) == {"app"}
    top = seg[seg["rank"] == 1].iloc[0]
    assert (top.segment, top.value) == ("channel", "app")
    # "main" holds every row but one: the rest of `region` is not informative, no test
    assert np.isnan(seg.set_index("value").loc["main", "p_value"])
    tiny = seg[seg.value == "tiny"].iloc[0]
    assert tiny.suppressed and np.isnan(tiny.disagreement_rate) and np.isnan(tiny["rank"])
    assert any("region" in w and "'tiny' (n=1)" in w and "suppressed" in w for w in prof.warnings)


def _reference_segment_tests(p: pd.DataFrame, col: str) -> dict[str, dict[str, float]]:
    """The hot-spot test written from the rows: each model's logit relative to its own
    threshold in bins of 0.1 (30 a side, the outer bins open); population normal scores
    at mid-ranks; strata of 0.2 in the mean normal score; the one-sided stratified exact
    test of disagreement (hypergeometric counts convolved, scipy's hypergeom pmf)."""
    logit = lambda s: np.log(s) - np.log1p(-s)  # noqa: E731
    gc = np.clip(np.floor((logit(p.score_champion) - logit(THR)) / 0.1), -30, 29) + 30
    gh = np.clip(np.floor((logit(p.score_challenger) - logit(THR_CL)) / 0.1), -30, 29) + 30
    gc, gh = gc.to_numpy(dtype=int), gh.to_numpy(dtype=int)

    def nscore(g: np.ndarray) -> np.ndarray:
        cnt = np.bincount(g, minlength=60) / g.size
        cdf = np.cumsum(cnt)
        return stats.norm.ppf(np.clip(cdf - cnt / 2, 1e-12, 1)) - stats.norm.ppf(cdf[29])

    m = (nscore(gc)[gc] + nscore(gh)[gh]) / 2
    stratum = np.floor(m / 0.2).astype(int)
    dis = (gc >= 30) != (gh >= 30)
    out = {}
    for v in sorted(p[col].unique()):
        inside = (p[col] == v).to_numpy()
        dist, o, expected = np.ones(1), int((dis & inside).sum()), 0.0
        for s_ in np.unique(stratum):
            at = stratum == s_
            n1, n0 = int((at & inside).sum()), int((at & ~inside).sum())
            d1, d0 = int((at & inside & dis).sum()), int((at & ~inside & dis).sum())
            expected += n1 * d0 / n0 if n0 else d1
            x = np.arange(0, min(n1, d1 + d0) + 1)
            dist = np.convolve(dist, stats.hypergeom.pmf(x, n1 + n0, d1 + d0, n1))
        out[v] = {"expected": expected, "p_value": float(dist[o:].sum())}
    return out


def test_single_valued_segment_warns(to_backend: Backend) -> None:
    df = _log().assign(tenant="acme")
    prof = shadow_profile(to_backend(df), threshold=THR, segments=("tenant",))
    assert any("segment `tenant` has a single value" in w for w in prof.warnings)


def test_flip_sample_is_top_abs_delta_per_segment(to_backend: Backend) -> None:
    df = _log()
    prof = shadow_profile(to_backend(df), threshold=THR, segments=["channel"])
    p = _pairs(df).copy()
    p = p[(p.score_champion >= THR) != (p.score_challenger >= THR)]
    p["abs"] = (p.score_challenger - p.score_champion).abs()
    for value, group in prof.flips.groupby("value"):
        expected = p[p.channel == value].nlargest(5, "abs").request_id.tolist()
        assert group.request_id.tolist() == expected
        np.testing.assert_allclose(
            group.delta, group.score_challenger - group.score_champion, rtol=1e-12
        )
    assert set(prof.flips.value) == {"app", "pos", "web"}


# ---------------------------------------------------------------------------------------
# 7. operations, 9. labels
# ---------------------------------------------------------------------------------------
def test_operations_quantiles_within_one_grid_bin(to_backend: Backend) -> None:
    df = _log()
    ops = shadow_profile(to_backend(df), threshold=THR).to_frame("operations").set_index("model")
    step = 10 ** ((LATENCY_GRID[1] - LATENCY_GRID[0]) / LATENCY_GRID[2])
    for model in ("champion", "challenger"):
        # calls without an error flag (an errored call's latency is its 250 ms timeout)
        ok = ~df[f"error_{model}"].to_numpy()
        lat = df[f"latency_ms_{model}"].to_numpy()[ok]
        assert ops.loc[model, "latency_n"] == ok.sum()
        for q in (50, 95, 99):
            exact = np.quantile(lat, q / 100, method="inverted_cdf")
            assert 1 <= ops.loc[model, f"p{q}_ms"] / exact <= step + 1e-12
            assert ops.loc[model, f"p{q}_ms"] <= lat.max()
        n_err = int(df[f"error_{model}"].sum())
        lo, hi = proportion_confint(n_err, len(df), method="wilson")
        assert ops.loc[model, "error_rate"] == n_err / len(df)
        np.testing.assert_allclose(
            ops.loc[model, ["error_rate_ci_low", "error_rate_ci_high"]].to_numpy(dtype=float),
            [lo, hi],
            atol=1e-15,
        )
    assert ops.loc["challenger", "p99_ratio"] == pytest.approx(
        ops.loc["challenger", "p99_ms"] / ops.loc["champion", "p99_ms"]
    )


def test_labels_matured_only_match_bruteforce(to_backend: Backend) -> None:
    df = _log()
    as_of = START + pd.Timedelta(days=70)  # maturity 60 days: rows before day 10 count
    prof = shadow_profile(to_backend(df), threshold=THR, challenger_threshold=THR_CL, as_of=as_of)
    lab = prof.to_frame("labels").set_index("model")
    p = _pairs(df)
    p = p[p.ts <= as_of - pd.Timedelta(days=60)]
    y = p.label.to_numpy() == 1
    # each model at its own threshold (exact, not a grid edge)
    fc = (p.score_champion >= THR).to_numpy()
    fh = (p.score_challenger >= THR_CL).to_numpy()
    assert list(lab["threshold"].iloc[:2]) == [THR, THR_CL]
    assert lab.loc["champion", "n_matured"] == len(p) < len(_pairs(df))
    for model, f in (("champion", fc), ("challenger", fh)):
        assert lab.loc[model, "precision"] == pytest.approx((f & y).sum() / f.sum())
        assert lab.loc[model, "recall"] == pytest.approx((f & y).sum() / y.sum())
    b, c = int((fc & ~fh & y).sum()), int((~fc & fh & y).sum())
    ref = mcnemar(np.array([[0, b], [c, 0]]), exact=True).pvalue
    assert lab.loc["challenger − champion", "p_value"] == pytest.approx(ref)
    assert lab.loc["challenger − champion", "recall"] == pytest.approx((c - b) / y.sum())
    recall = prof.to_frame("checks").set_index("check").loc["recall"]
    assert recall.value == pytest.approx((c - b) / y.sum()) and recall.kind == "performance"
    # without matured labels the part is empty, the recall check is not assessed, and the
    # verdict text says what it could not check
    young = shadow_profile(to_backend(df), threshold=THR, challenger_threshold=THR_CL)
    assert young.to_frame("labels").empty
    assert any("no matured labels" in w for w in young.warnings)
    check = young.to_frame("checks").set_index("check").loc["recall"]
    assert check.status == "skipped" and check.message.startswith("recall: not assessed")
    assert (
        young.summary()
        .splitlines()[0]
        .endswith("(not assessed: offline_live_psi, offline_live_ks, recall)")
    )
    assert any("was reached without" in w and "recall" in w for w in young.warnings)


# ---------------------------------------------------------------------------------------
# 10. verdict rules
# ---------------------------------------------------------------------------------------
def test_verdict_rules_on_synthetic_logs() -> None:
    off = _offline()
    ready = shadow_profile(_log(), threshold=THR, offline=off, segments=["channel"])
    assert ready.verdict is ShadowVerdict.READY_FOR_CANARY
    assert all(isinstance(r, Reason) for r in ready.reasons)
    assert {r.code for r in ready.reasons} >= {
        "duration", "volume", "error_rate", "missing_rate", "p99_latency_ratio",
        "flag_rate_ratio", "jaccard", "offline_live_psi", "offline_live_ks",
    }  # fmt: skip
    # error rate well above the 0.5% budget: FIX, with the failing reason marked critical
    errors = shadow_profile(_log(error_rate=0.03), threshold=THR, offline=off)
    assert errors.verdict is ShadowVerdict.FIX
    bad = {r.code: r for r in errors.reasons if r.passed is False}
    assert bad["error_rate"].critical and bad["error_rate"].threshold == 0.005
    # the timeouts also lack a score and sit at the latency cap: still one failure
    assert {c for c, r in bad.items() if r.critical} == {"error_rate"}
    # slower challenger tail
    slow = _log()
    slow["latency_ms_challenger"] *= 2.0
    res = shadow_profile(slow, threshold=THR, offline=off)
    assert res.verdict is ShadowVerdict.FIX
    assert res.to_frame("checks").set_index("check").loc["p99_latency_ratio", "status"] == "fail"
    # three days of shadow: continue
    short = shadow_profile(_log(days=3), threshold=THR, offline=off)
    assert short.verdict is ShadowVerdict.CONTINUE_SHADOW
    assert short.duration_days == 3
    # a policy override is honoured (stricter latency budget turns READY into FIX)
    strict = Policy(raw={"shadow": {"p99_latency_ratio_max": 1.05}})
    assert shadow_profile(_log(), threshold=THR, offline=off, policy=strict).verdict is (
        ShadowVerdict.FIX
    )


def test_error_rate_above_budget_without_evidence_continues() -> None:
    # 0.6% errors on 12,000 requests: above the 0.5% budget, but the Wilson lower bound is
    # below it, so the evidence is insufficient: continue the shadow rather than FIX
    prof = shadow_profile(_log(n=12_000, error_rate=0.006, seed=5), threshold=THR)
    check = prof.to_frame("checks").set_index("check").loc["error_rate"]
    assert check.value > 0.005 and check.status == "insufficient"
    assert prof.verdict is ShadowVerdict.CONTINUE_SHADOW


# ---------------------------------------------------------------------------------------
# the demo world
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def worlds() -> dict[str, demo.DemoWorld]:
    # a smaller canary period keeps generation quick; the shadow log and the offline
    # holdout do not depend on it (same seed streams)
    return {
        name: demo.generate(name, canary_daily_volume=2000)
        for name in ("default", "worse", "latency", "errors")
    }


def _demo_profile(world: demo.DemoWorld, log: Any = None) -> ShadowProfile:
    return shadow_profile(
        world.shadow_log if log is None else log,
        threshold=world.threshold,
        challenger_threshold=world.truth.challenger_threshold,
        offline=world.offline,
        segments=demo.SEGMENTS,
    )


def test_demo_default_is_ready_and_app_is_the_only_hot_spot(
    worlds: dict[str, demo.DemoWorld], to_backend: Backend
) -> None:
    w = worlds["default"]
    prof = _demo_profile(w, to_backend(w.shadow_log))
    assert str(prof.verdict) == w.truth.expected["shadow"] == "READY_FOR_CANARY"
    seg = prof.segments
    hot = seg[seg["hot_spot"].astype(bool)]
    assert [(r.segment, r.value) for r in hot.itertuples()] == [w.truth.disagreement_segment]
    top = seg[seg["rank"] == 1].iloc[0]
    assert (top.segment, top.value) == ("channel", "app")
    assert top.q_value < 0.05 and top.lift > 1
    # the segments that merely flag more (web, digital goods, NG …) are not hot spots, and
    # a merchant category whose excess comes from its app rows is explained by the app
    assert not seg.set_index("value").loc["web", "hot_spot"]
    explained = seg[seg["explained_by"] != ""]
    assert set(explained["explained_by"]) <= {"channel=app"}
    assert (explained["p_outside"] >= 0.05).all()
    # one challenger threshold everywhere: the decisions, the labels and the checks
    thr = w.truth.challenger_threshold
    assert prof.challenger_threshold == thr and prof.challenger_threshold_source == "given"
    assert prof.to_frame("decisions").threshold_challenger.iloc[0] == thr
    assert prof.to_frame("labels").set_index("model").loc["challenger", "threshold"] == thr
    # labels are matured in the demo (as_of is 76+ days after the shadow window)
    lab = prof.to_frame("labels").set_index("model")
    assert lab.loc["champion", "n_matured"] == prof.decisions.n


@pytest.mark.parametrize("name", ["latency", "errors"])
def test_demo_operational_problems_are_fix(worlds: dict[str, demo.DemoWorld], name: str) -> None:
    w = worlds[name]
    prof = _demo_profile(w)
    assert str(prof.verdict) == w.truth.expected["shadow"] == "FIX"
    failed = {c.code for c in prof.checks if c.status == "fail" and c.critical}
    assert ("p99_latency_ratio" if name == "latency" else "error_rate") in failed


def test_demo_worse_is_fix_for_recall_at_its_own_threshold(
    worlds: dict[str, demo.DemoWorld],
) -> None:
    w = worlds["worse"]
    prof = _demo_profile(w)
    assert prof.verdict is ShadowVerdict.FIX
    failed = [c for c in prof.checks if c.status == "fail" and c.critical]
    assert [c.code for c in failed] == ["recall"]
    msg = failed[0].message
    thr = w.truth.challenger_threshold
    assert f"at its own threshold {thr:.4g}" in msg and "a loss beyond 5 pp is shown" in msg
    assert failed[0].value < -0.1  # about −19 pp
    # at its own threshold the challenger flags like the champion: parity passes
    checks = prof.to_frame("checks").set_index("check")
    assert checks.loc["flag_rate_ratio", "status"] == "pass"
    assert "each at its own threshold" in checks.loc["flag_rate_ratio", "message"]
    # the first failing critical reason the report shows is the recall one
    first = next(r for r in prof.reasons if r.passed is False and r.critical)
    assert first.code == "recall"


def test_demo_errors_are_one_failure_not_three(worlds: dict[str, demo.DemoWorld]) -> None:
    # timeouts: no score, latency at the 250 ms cap, error flag set — one cause
    prof = _demo_profile(worlds["errors"])
    failed = [c.code for c in prof.checks if c.status == "fail" and c.critical]
    assert failed == ["error_rate"]
    ops = prof.to_frame("operations").set_index("model")
    assert ops.loc["challenger", "p99_ms"] < 250


def test_latency_quantile_never_above_the_largest_latency() -> None:
    # 2% of calls hit a 250 ms cap without an error flag: p99 is the cap itself, not the
    # upper edge of the grid bin holding it (251.2 ms)
    df = _log()
    rng = np.random.default_rng(3)
    capped = rng.random(len(df)) < 0.02
    df["latency_ms_challenger"] = np.where(capped, 250.0, df["latency_ms_challenger"])
    ops = shadow_profile(df, threshold=THR).to_frame("operations").set_index("model")
    assert ops.loc["challenger", "p99_ms"] == 250.0
    assert (ops[["p50_ms", "p95_ms", "p99_ms"]].to_numpy() <= 250.0).all()


def test_demo_two_day_shadow_continues(worlds: dict[str, demo.DemoWorld]) -> None:
    w = worlds["default"]
    log = w.shadow_log
    two_days = log[log.ts < log.ts.min().normalize() + pd.Timedelta(days=2)]
    prof = _demo_profile(w, two_days)
    assert prof.verdict is ShadowVerdict.CONTINUE_SHADOW
    assert prof.duration_days == 2
    failed = {c.code for c in prof.checks if c.status == "fail"}
    assert "duration" in failed and not any(c.critical for c in prof.checks if c.status == "fail")


def test_demo_from_parquet_and_duckdb_equal_pandas(
    worlds: dict[str, demo.DemoWorld], tmp_path: Path
) -> None:
    w = worlds["default"]
    path = tmp_path / "shadow_log.parquet"
    w.shadow_log.to_parquet(path)
    ref = _demo_profile(w)
    from_path = _demo_profile(w, path)
    pd.testing.assert_frame_equal(ref.to_frame("decisions"), from_path.to_frame("decisions"))
    pd.testing.assert_frame_equal(ref.to_frame("segments"), from_path.to_frame("segments"))
    assert from_path.verdict is ref.verdict
    duckdb = pytest.importorskip("duckdb")
    rel = duckdb.from_df(w.shadow_log)
    via_duck = _demo_profile(w, rel)
    pd.testing.assert_frame_equal(ref.to_frame("decisions"), via_duck.to_frame("decisions"))
    # fewer pairs than the sample bound: every backend uses all pairs, so ranks agree
    assert via_duck.spearman.estimate == pytest.approx(ref.spearman.estimate, rel=1e-12)


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------
def test_duplicate_request_id_is_an_error(to_backend: Backend) -> None:
    df = _log(n=500)
    df.loc[3, "request_id"] = df.loc[2, "request_id"]
    with pytest.raises(ValueError, match=r"shadow log: column `request_id` must be unique"):
        shadow_profile(to_backend(df), threshold=THR)


def test_score_outside_unit_interval_is_an_error(to_backend: Backend) -> None:
    df = _log(n=500)
    df.loc[4, "score_challenger"] = 1.3
    with pytest.raises(
        ValueError, match=r"`score_challenger` must lie in \[0, 1\]; found 1 of 500"
    ):
        shadow_profile(to_backend(df), threshold=THR)


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, float("nan"), True, "0.5"])
def test_threshold_outside_open_unit_interval(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"`threshold` must be a probability in the open interval"):
        shadow_profile(_log(n=200), threshold=bad)


def test_empty_log_is_an_error(to_backend: Backend) -> None:
    with pytest.raises(ValueError, match=r"shadow log: the log is empty \(0 rows\)"):
        shadow_profile(to_backend(_log(n=200).iloc[:0]), threshold=THR)


def test_no_overlap_between_models_is_an_error(to_backend: Backend) -> None:
    df = _log(n=400)
    all_missing = df.assign(score_challenger=np.nan)
    with pytest.raises(
        ValueError,
        match=r"no request was scored by both models \(column `score_challenger` is missing "
        r"\(null/NaN\) in all 400 rows\)",
    ):
        shadow_profile(to_backend(all_missing), threshold=THR)
    disjoint = df.copy()
    disjoint.loc[:199, "score_challenger"] = np.nan
    disjoint.loc[200:, "score_champion"] = np.nan
    with pytest.raises(ValueError, match=r"but no row has both scores"):
        shadow_profile(to_backend(disjoint), threshold=THR)


def test_other_bad_arguments() -> None:
    df = _log(n=3000)
    with pytest.raises(ValueError, match=r"`review_k` must be an integer in \[1, "):
        shadow_profile(df, threshold=THR, review_k=10**9)
    with pytest.raises(ValueError, match=r"`segments` must be distinct column names"):
        shadow_profile(df, threshold=THR, segments=["channel", "channel"])
    with pytest.raises(
        ValueError, match=r"column `nope` is missing; it was requested as a segment"
    ):
        shadow_profile(df, threshold=THR, segments=["nope"])
    with pytest.raises(ValueError, match=r"`min_n` must be an integer ≥ 1"):
        shadow_profile(df, threshold=THR, min_n=0)
    with pytest.raises(ValueError, match=r"policy section `shadow`: `psi_max` must be in \(0, 1\)"):
        shadow_profile(df, threshold=THR, policy=Policy(raw={"shadow": {"psi_max": 2}}))
    prof = shadow_profile(df, threshold=THR)
    with pytest.raises(ValueError, match=r"`part` must be one of"):
        prof.to_frame("nope")
    with pytest.raises(ValueError, match=r"`kind` must be one of"):
        prof.plot("nope")


def test_column_mapping() -> None:
    df = _log(n=3000).rename(columns={"score_challenger": "s_new", "channel": "chan"})
    off = _offline().rename(columns={"score_challenger": "s_new"})
    prof = shadow_profile(
        df,
        threshold=THR,
        offline=off,
        segments=["channel"],
        columns={"score_challenger": "s_new", "channel": "chan"},
    )
    assert prof.decisions.n > 0 and set(prof.segments.segment) == {"channel"}
    assert len(prof.offline_live) == 2


# ---------------------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------------------
def test_summary_html_escaping_and_plots() -> None:
    df = _log()
    df["channel"] = df["channel"].replace({"app": "<script>x</script>"})
    prof = shadow_profile(df, threshold=THR, offline=_offline(), segments=["channel"])
    html = prof._repr_html_()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "READY_FOR_CANARY" in html
    text = prof.summary()
    assert text.startswith("Shadow verdict: READY_FOR_CANARY")
    assert "disagreement hot spot channel=<script>x</script>" in text
    for kind in ("decisions", "scores", "segments", "latency"):
        ax = prof.plot(kind)
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        plt.close(ax.figure)
    fig, ax = plt.subplots()
    assert prof.plot("latency", ax=ax) is ax
    plt.close(fig)
    checks = prof.to_frame("checks")
    assert list(checks.columns) == [
        "check", "kind", "critical", "direction", "value", "lower", "upper", "status", "message",
    ]  # fmt: skip
    assert set(checks.direction) <= {">=", "<=", "within"}
    assert checks.set_index("check").loc["flag_rate_ratio", "direction"] == "within"


def test_timezone_aware_log() -> None:
    df = _log(n=3000)
    df["ts"] = df["ts"].dt.tz_localize("UTC")
    df["label_ts"] = df["label_ts"].dt.tz_localize("UTC")
    # attach the zone in Polars: pl.from_pandas on a tz-aware column goes through
    # pyarrow < 26's Series.values, which pandas 3.1 deprecates (Pandas4Warning)
    aware = pl.from_pandas(
        df.assign(ts=df["ts"].dt.tz_localize(None), label_ts=df["label_ts"].dt.tz_localize(None))
    ).with_columns(pl.col("ts", "label_ts").dt.replace_time_zone("UTC"))
    prof = shadow_profile(aware.lazy(), threshold=THR)
    assert prof.as_of.tzinfo is not None
    with pytest.raises(ValueError, match="both be time-zone aware or both naive"):
        shadow_profile(df, threshold=THR, as_of="2026-05-01")


# ---------------------------------------------------------------------------------------
# decision-rule calibration (seeded simulations on sufficient statistics)
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("n", [2000, 12_000, 56_000, 500_000])
def test_error_rate_rule_false_fix_rate_at_the_budget(n: int) -> None:
    # FIX needs the Wilson lower bound above the 0.5% budget. With the true rate exactly at
    # the budget the false-FIX probability is computed exactly (binomial tail above the
    # smallest failing count, no simulation noise): 2.6–2.7% against a nominal α/2 = 2.5%
    # (Wilson is slightly liberal in the tail for small p); a rate 3× the budget is caught.
    ks = np.arange(int(n * 0.02))
    fails = np.array([_rate_status(int(k), n, 0.005, 0.05)[1] == "fail" for k in ks])
    k_star = int(ks[fails][0])
    assert fails[k_star:].all()  # monotone rule
    assert stats.binom.sf(k_star - 1, n, 0.005) <= 0.028
    assert stats.binom.sf(k_star - 1, n, 0.015) >= 0.99


@pytest.mark.slow
def test_flag_rate_ratio_interval_coverage_and_boundary() -> None:
    # multinomial 2×2 tables (a, b, c, d) with a true ratio (a + c)/(a + b) of 1.25 exactly,
    # i.e. on the tolerance's upper edge: the paired log-Wald CI covers ~95% and the check
    # fails ("whole CI outside") at most ~2.5% of the time.
    rng = np.random.default_rng(12)
    probs = np.array([0.010, 0.004, 0.0065])  # a, b, c  →  (0.0165)/(0.014) ≈ 1.1786
    probs[2] = 1.25 * (probs[0] + probs[1]) - probs[0]
    full = np.append(probs, 1 - probs.sum())
    true_ratio = (probs[0] + probs[2]) / (probs[0] + probs[1])
    assert true_ratio == pytest.approx(1.25)
    cover = fail = 0
    reps = 6000
    for a, b, c, _ in rng.multinomial(20_000, full, size=reps):
        _, lo, hi = paired_rate_ratio(int(a), int(b), int(c))
        cover += lo <= true_ratio <= hi
        fail += lo > 1.25
    assert 0.94 <= cover / reps <= 0.96, cover / reps
    assert fail / reps <= 0.025 + 0.006, fail / reps


@pytest.mark.slow
def test_kappa_interval_coverage() -> None:
    # the Fleiss–Cohen–Everitt SE (statsmodels' std_kappa) gives ~95% Wald coverage for a
    # fraud-like table with n = 20,000; the true κ from the cell probabilities.
    from mlopskit.stats.agreement import decision_agreement

    rng = np.random.default_rng(13)
    p = np.array([0.010, 0.004, 0.005, 0.981])
    po, pe = p[0] + p[3], (p[0] + p[1]) * (p[0] + p[2]) + (p[2] + p[3]) * (p[1] + p[3])
    kappa = (po - pe) / (1 - pe)
    hits = [
        (r.kappa.ci_low <= kappa <= r.kappa.ci_high)
        for r in (decision_agreement(*map(int, t)) for t in rng.multinomial(20_000, p, size=4000))
    ]
    assert 0.935 <= np.mean(hits) <= 0.965
