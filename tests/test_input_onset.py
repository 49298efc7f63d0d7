"""Drift onset per feature in psi_over_time (CUSUM on each feature's window PSI).

Error control is measured on seeded worlds simulated as sufficient statistics: per window
the bin counts of each feature are drawn Multinomial(M_t, p(μ_t)), with the reference
profile's own sampling noise (a fresh reference sample per world), weekday volume, an
AR(1) day effect on the feature's location (overdispersion beyond sampling noise, 3%
missing values, a partial 82-row last window shifted by half an SD (must never alarm), and
in one feature a step shift of δ SDs at a known window. The windows go through the
library's own per-window PSI (``_feature_psi``) and onset code (``_onsets``), the path
:func:`mlopskit.psi_over_time` runs after its one group-by; an end-to-end run on rows
checks the same path through the public function.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mlopskit as mk
from mlopskit.drift.over_time import _onsets
from mlopskit.drift.psi import FeaturePSI
from mlopskit.drift.reference import FeatureProfile, drift_policy
from mlopskit.policy import DriftPolicy
from mlopskit.stats.psi import merge_sparse_bins, psi_contributions

N_REF_ROWS = 14_000  # training sample behind the profile
N_BASE = 30  # reference windows of `current` (the onset's baseline)
N_MON = 90  # monitored windows (the policy horizon)
DRIFT_AT = 40  # monitored window where the drifted feature shifts
MISSING = 0.03
POLICY = drift_policy(None)


def _base_profile() -> mk.drift.ReferenceProfile:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (N_REF_ROWS, 3))
    x[rng.random(x.shape) < MISSING] = np.nan
    return mk.profile(pd.DataFrame(x, columns=["a", "b", "c"]))


def _probs(edges: tuple[float, ...], mu: np.ndarray) -> np.ndarray:
    """Bin probabilities of N(μ, 1) with 3% missing, per μ (rows) in the profile layout."""
    cdf = stats.norm.cdf(np.asarray(edges)[None, :] - mu[:, None])
    inner = np.diff(np.column_stack([np.zeros(len(mu)), cdf, np.ones(len(mu))]), axis=1)
    return np.column_stack([(1 - MISSING) * inner, np.full(len(mu), MISSING)])


def _window_psis(
    fp: FeatureProfile, cnt: np.ndarray, pol: DriftPolicy, wins: list[pd.Timestamp]
) -> list[FeaturePSI]:
    """Each window's PSI as ``_feature_psi`` computes it (same merge rule, same smoothed
    PSI), without its critical value and p-value (unused by the onset). Windows where the
    merge rule keeps every bin (each reference share ≥ min_count/n_small, missing bin
    occupied) are computed in one batched call; the others go through merge_sparse_bins."""
    ref = np.asarray(fp.counts, dtype=float)
    n_cur = cnt.sum(axis=1)
    n_small = np.minimum(ref.sum(), n_cur)
    keep_all = (ref[:-1] / ref[:-1].sum()).min() >= pol.min_expected_per_bin / n_small
    keep_all &= (ref[-1] > 0) & np.all(ref[:-1] > 0)
    psi = np.full(len(wins), np.nan)
    bins = np.zeros(len(wins), dtype=int)
    if keep_all.any():
        c = psi_contributions(ref[None, :], cnt[keep_all], smoothing=pol.smoothing)
        psi[keep_all], bins[keep_all] = c.sum(axis=1), ref.size
    for i in np.flatnonzero(~keep_all):
        merged = merge_sparse_bins(
            ref,
            cnt[i],
            min_count=pol.min_expected_per_bin,
            n_small=n_small[i],
            ordered=True,
            sentinel=fp.sentinel,
        )
        bins[i] = merged.bins
        if merged.bins >= 2:
            psi[i] = psi_contributions(
                merged.reference_counts, merged.current_counts, smoothing=pol.smoothing
            ).sum()
    return [
        FeaturePSI(
            fp.feature, fp.kind, psi[i], fp.n, int(n_cur[i]), int(bins[i]), np.nan, np.nan, window=w
        )
        for i, w in enumerate(wins)
    ]


def _world(seed: int, prof: mk.drift.ReferenceProfile, delta: float) -> dict[str, object]:
    """One world: per-feature onsets (feature `a` drifts by `delta` at DRIFT_AT)."""
    rng = np.random.default_rng(seed)
    n_win = N_BASE + N_MON + 1
    wins = list(pd.date_range("2026-01-01", periods=n_win, freq="D"))
    weekday = np.array([1.2 if w.day_of_week < 5 else 0.5 for w in wins])
    m = np.round(500 * weekday * rng.lognormal(0, 0.1, n_win)).astype(int)
    m[-1] = 82  # today's stub
    per_feature = []
    for j, fp in enumerate(prof.features):
        p_ref = _probs(fp.edges, np.zeros(1))[0]
        fp_w = dataclasses.replace(
            fp, counts=tuple(int(v) for v in rng.multinomial(N_REF_ROWS, p_ref))
        )
        e = rng.normal(0, 0.03, n_win)  # AR(1) day effect, ρ = 0.4, sd 0.03 SD
        mu = np.empty(n_win)
        mu[0] = e[0]
        for t in range(1, n_win):
            mu[t] = 0.4 * mu[t - 1] + np.sqrt(1 - 0.16) * e[t]
        if j == 0:
            mu[N_BASE + DRIFT_AT :] += delta
        mu[-1] += 0.5  # the stub is shifted: it must not alarm on its own
        cnt = rng.multinomial(m, _probs(fp.edges, mu)).astype(float)
        per_feature.append(_window_psis(fp_w, cnt, POLICY, wins))
    rows = [per_feature[j][i] for i in range(n_win) for j in range(len(per_feature))]
    in_ref = np.arange(n_win) < N_BASE
    complete = np.arange(n_win) < n_win - 1
    names = [fp.feature for fp in prof.features]
    ons = _onsets(rows, names, n_win, wins, in_ref, complete, False, POLICY)
    return {o.feature: o for o in ons} | {"wins": wins}


@pytest.mark.slow
def test_feature_onset_false_rate_and_detection() -> None:
    """200 worlds (seeds 0–199): 2 no-drift features each (400 feature-horizons of 90 daily
    looks) and one feature shifted by 0.15 SD (PSI ≈ 0.02, about one reference SD of the
    window statistic at ~500 rows/day) at monitored window 40."""
    prof = _base_profile()
    alpha = POLICY.onset_alpha
    false, tested, fired, found, covered, total = 0, 0, 0, 0, 0, 0
    for seed in range(200):
        w = _world(seed, prof, delta=0.15)
        truth = w["wins"][N_BASE + DRIFT_AT]
        for f in ("b", "c"):
            tested += 1
            false += w[f].fired
        o = w["a"]
        total += 1
        fired += o.fired
        if o.fired and abs((o.onset - truth).days) <= 7:
            found += 1
        if o.fired and o.onset_low <= truth <= o.onset_high:
            covered += 1
    # measured (seeds 0–199): false 4/400 (1.0%), fired 200/200, onset within 7 windows
    # 187/200 (93.5%), interval covers 187/200 (93.5%)
    # α = 0.02 over the horizon → expect ≈ 8 of 400; more than the Binomial(400, 0.02) 99th
    # percentile (15) means the control is broken
    assert false <= stats.binom.ppf(0.99, tested, alpha), (false, tested)
    assert found / total >= 0.9, (found, total)
    assert covered / total >= 0.9, (covered, total)


@pytest.mark.slow
def test_no_drift_worlds_have_no_onset_in_any_feature_often() -> None:
    """δ = 0: all three features of 150 worlds (450 feature-horizons)."""
    prof = _base_profile()
    onsets = [o.fired for seed in range(1000, 1150) for o in _onsets_of(_world(seed, prof, 0.0))]
    # measured: 5/450 (1.1%)
    assert sum(onsets) <= stats.binom.ppf(0.99, len(onsets), POLICY.onset_alpha), sum(onsets)


def _onsets_of(w: dict[str, object]) -> list:
    return [w[f] for f in ("a", "b", "c")]


def _rows_world(seed: int, drift_day: int = 50) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows: 30 reference days then 60 monitored days (~400 rows/day, AR(1) day effect),
    `amount` shifts by 0.4 SD on ``drift_day``, plus an 82-row stub day shifted by 0.5 SD in
    every feature; and a separate training sample."""
    rng = np.random.default_rng(seed)
    days = 91
    m = rng.poisson(400, days)
    m[-1] = 82
    day = np.repeat(np.arange(days), m)
    n = len(day)
    eff = np.zeros((days, 3))
    for t in range(1, days):
        eff[t] = 0.4 * eff[t - 1] + rng.normal(0, 0.03, 3)
    x = rng.normal(0, 1, (n, 3)) + eff[day]
    x[:, 0] += 0.4 * (day >= drift_day)
    x[day == days - 1] += 0.5
    x[rng.random(x.shape) < MISSING] = np.nan
    ts = (
        pd.Timestamp("2026-01-05")
        + pd.to_timedelta(day, "D")
        + pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    )
    cur = pd.DataFrame(x, columns=["amount", "tenure", "visits"]).assign(ts=ts)
    t = rng.normal(0, 1, (12_000, 3))
    t[rng.random(t.shape) < MISSING] = np.nan
    train = pd.DataFrame(t, columns=["amount", "tenure", "visits"])
    return cur, train


def test_psi_over_time_onset_end_to_end() -> None:
    cur, train = _rows_world(3)
    start = pd.Timestamp("2026-01-05")
    as_of = cur["ts"].max() + pd.Timedelta(seconds=1)  # mid-day: the last day is partial
    r = mk.psi_over_time(
        mk.profile(train),
        cur,
        window="1D",
        as_of=as_of,
        reference_period=(start, start + pd.Timedelta(days=30)),
    )
    assert r.complete[-1] is False and all(r.complete[:-1])
    assert r.latest_complete == start + pd.Timedelta(days=89)
    assert r.latest_table().rows[0].window == r.latest_complete
    assert sum(r.in_reference) == 30
    truth = start + pd.Timedelta(days=50)
    a = r.onset("amount")
    assert a is not None and a.fired
    assert abs((a.onset - truth).days) <= 7 and a.onset_low <= truth <= a.onset_high
    assert "drift onset" in a.describe()
    assert not r.onset("tenure").fired and not r.onset("visits").fired
    # the shifted stub is flagged in its own table but never judged
    assert r.table(r.windows[-1]).rows[1].status != "stable"
    assert r.latest_table().rows[1].status == "stable"
    df = r.to_frame()
    assert df.loc[df["window_start"] == r.windows[-1], "complete"].eq(False).all()
    assert "shown, not judged" in r.summary()
    # without as_of the 82-row day is partial by the size rule (< ½ the median rows)
    r2 = mk.psi_over_time(
        mk.profile(train), cur, window="1D", reference_period=(start, start + pd.Timedelta(days=30))
    )
    assert r2.complete == r.complete


def test_input_layer_judges_latest_complete_window_and_states_onsets() -> None:
    cur, train = _rows_world(3)
    start = pd.Timestamp("2026-01-05")
    r = mk.psi_over_time(
        mk.profile(train), cur, window="1D", reference_period=(start, start + pd.Timedelta(days=30))
    )
    res = mk.monitor(input_drift=r)
    layer = next(x for x in res.layers if x.layer == "input_drift")
    codes = {x.code: x for x in layer.reasons}
    assert "partial_window" in codes and "shown, not judged" in codes["partial_window"].message
    assert str(r.latest_complete.date()) in codes["psi_window"].message
    assert "psi:tenure" not in codes and "psi:visits" not in codes  # the stub flags nobody
    assert codes["psi:amount"].passed is False
    assert codes["onset:amount"].passed is False
    assert "drift onset 2026-02" in codes["onset:amount"].message


def test_stub_only_drift_is_not_flagged() -> None:
    """A feature that does not drift, shifted only in an 82-row stub day: layer OK."""
    cur, train = _rows_world(5, drift_day=10_000)
    r = mk.psi_over_time(mk.profile(train), cur, window="1D")
    assert r.table(r.windows[-1]).rows[0].status != "stable"  # the stub alone would flag
    res = mk.monitor(input_drift=r)
    layer = next(x for x in res.layers if x.layer == "input_drift")
    assert str(layer.severity) == "OK", layer.reasons
    assert any("drift onset not dated" in w for w in r.warnings)
