"""Drift onset as a change point, with the false-onset probability controlled over a horizon.

A daily statistic ``x_t`` (the score's daily PSI against the reference, a daily mean logit
score, a feature's daily PSI) is standardized with the reference period's own day-to-day
mean and standard deviation, ``z_t = (x_t − μ̂₀)/σ̂₀`` (STATISTICS.md §7.1). Over the windows
after the reference period a CUSUM runs,

    upper: S_t = max(0, S_{t−1} + z_t − k)      lower: S_t = max(0, S_{t−1} − z_t − k),

and an onset is declared at the first ``t`` with ``S_t > h``. The threshold ``h`` is chosen
by simulation so that ``P(any alarm within H windows | no change) ≤ α`` *including* the
estimation of ``μ̂₀, σ̂₀`` from ``n₀`` reference windows and the reference's lag-1
autocorrelation (an AR(1) null), because with 30–60 reference days the plug-in
standardization alone adds false alarms. Because the CUSUM is sequential, looking every day
and looking once at the end give the same first alarm: the error rate holds for daily looks.

After an alarm the onset is estimated by maximum likelihood for a step change in the mean of
``z`` (pre-change mean 0, unit variance, post-change mean free) over every window seen so far
(not only up to the alarm: noise can push the CUSUM over a few windows early). Its interval comes from a parametric bootstrap
of that estimator (Hinkley 1970): series are simulated with a change at the estimate and the
fitted post-change mean (AR(1) noise with the reference's persistence, widened after the
change when the post-change spread is larger, plus the offset left by estimating the
reference mean from a few persistent windows), the estimator is re-run, and the interval is the estimate minus the
``(1 − level)/4`` and ``1 − (1 − level)/4`` quantiles of the simulated errors (half the
stated miss rate: the fitted shift is inflated by the selection of the alarm, and the plain
quantiles under-cover by 1–4 points, measured in tests/test_changepoint.py). The late end of
the interval is the conservative onset: counting new-world labels from it keeps pre-drift
labels out.

Siegmund's approximation to the in-control average run length,
``ARL₀ ≈ (e^{2k(h+1.166)} − 2k(h+1.166) − 1)/(2k²)`` (one-sided, known parameters), is
returned as a check, not used to set ``h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

SIDES = ("upper", "lower", "two-sided")


def _check_prob(name: str, v: float) -> None:
    if not (isinstance(v, int | float) and 0 < v < 1):
        raise ValueError(f"`{name}` must be a float in (0, 1); got {v!r}.")


def siegmund_arl0(k: float, h: float) -> float:
    """Siegmund's in-control ARL of a one-sided CUSUM on N(0, 1) (known parameters).

    ``ARL₀ ≈ (e^{2kb} − 2kb − 1)/(2k²)``, ``b = h + 1.166``; for ``k = 0`` it is ``b²``.
    Reference value: k = 0.5, h = 4 gives ≈ 336 (Montgomery, *Statistical Quality Control*,
    Table 9.3 lists 336 for the same k, h).
    """
    b = h + 1.166
    if k == 0:
        return b * b
    return (math.exp(2 * k * b) - 2 * k * b - 1) / (2 * k * k)


def cusum_paths(z: ArrayLike, k: float, side: str = "upper") -> NDArray[np.float64]:
    """CUSUM path(s) along the last axis of ``z`` (``side`` = ``upper`` or ``lower``)."""
    a = np.asarray(z, dtype=float)
    if side == "lower":
        a = -a
    elif side != "upper":
        raise ValueError(f"`side` must be 'upper' or 'lower'; got {side!r}.")
    out = np.empty_like(a)
    s = np.zeros(a.shape[:-1])
    for t in range(a.shape[-1]):
        s = np.maximum(0.0, s + a[..., t] - k)
        out[..., t] = s
    return out


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float) -> NDArray[np.float64]:
    """Stationary AR(1) series with unit variance along the last axis."""
    e = rng.standard_normal(shape)
    if phi == 0:
        return e
    out = np.empty(shape)
    out[:, 0] = e[:, 0]
    c = math.sqrt(1 - phi * phi)
    for t in range(1, shape[1]):
        out[:, t] = phi * out[:, t - 1] + c * e[:, t]
    return out


@lru_cache(maxsize=256)
def _threshold(
    k: float, alpha: float, horizon: int, n_reference: int, side: str, phi: float, n_sim: int
) -> float:
    rng = np.random.default_rng(20261130 + horizon + 1000 * n_reference + int(100 * phi))
    sims = _ar1(rng, (n_sim, n_reference + horizon), phi)
    ref, post = sims[:, :n_reference], sims[:, n_reference:]
    mu = ref.mean(axis=1, keepdims=True)
    sd = ref.std(axis=1, ddof=1, keepdims=True)
    z = (post - mu) / sd
    sides = ("upper", "lower") if side == "two-sided" else (side,)
    peak = np.max([cusum_paths(z, k, s).max(axis=1) for s in sides], axis=0)
    return float(np.quantile(peak, 1 - alpha))


def cusum_threshold(
    *,
    k: float = 0.5,
    alpha: float = 0.05,
    horizon: int = 90,
    n_reference: int = 30,
    side: str = "upper",
    autocorrelation: float = 0.0,
    n_sim: int = 20000,
) -> float:
    """The CUSUM threshold ``h`` with ``P(alarm within horizon | no change) = alpha``.

    Simulated (seeded, cached) from an AR(1) null with lag-1 ``autocorrelation`` (rounded to
    0.05), standardized by the mean and SD of ``n_reference`` simulated reference windows,
    so the estimation error of the reference's mean and SD is included. ``two-sided`` takes
    the larger of the upper and lower CUSUM (one threshold, family-wise ``alpha``).
    """
    _check_prob("alpha", alpha)
    if side not in SIDES:
        raise ValueError(f"`side` must be one of {SIDES}; got {side!r}.")
    if not (isinstance(horizon, int | np.integer) and horizon >= 1):
        raise ValueError(f"`horizon` must be a positive integer; got {horizon!r}.")
    if not (isinstance(n_reference, int | np.integer) and n_reference >= 3):
        raise ValueError(f"`n_reference` must be an integer ≥ 3; got {n_reference!r}.")
    if not k >= 0:
        raise ValueError(f"`k` must be ≥ 0; got {k!r}.")
    phi = round(min(max(float(autocorrelation), 0.0), 0.9) * 20) / 20
    return _threshold(float(k), float(alpha), int(horizon), int(n_reference), side, phi, n_sim)


def _step_mle(z: NDArray[np.float64], last: NDArray[np.int64], sign: float) -> NDArray[np.int64]:
    """MLE of a step change (pre-mean 0, unit variance) along the last axis of ``z``.

    Candidate onsets ``τ ∈ [0, last]`` (per row); the log-likelihood gain of a change at τ
    with a free post-change mean is ``T_τ²/(2(n − τ))``, ``T_τ = Σ_{t≥τ} z_t``, counted only
    when the post-change mean has the alarm's sign.
    """
    n = z.shape[-1]
    tail = np.cumsum(z[..., ::-1], axis=-1)[..., ::-1]  # T_τ
    m = n - np.arange(n)
    gain = np.where(sign * tail > 0, tail * tail / m, 0.0)
    idx = np.arange(n)
    gain = np.where(idx[None, :] <= np.atleast_1d(last)[:, None], gain, -1.0)
    return np.asarray(np.argmax(gain, axis=-1), dtype=np.int64)


@dataclass(frozen=True, slots=True)
class ChangePoint:
    """CUSUM alarm and step-change onset on a standardized daily series.

    Indices count windows after the reference period (0 = first monitored window).

    Attributes
    ----------
    detected : an alarm was raised (``S_t > h`` for some t).
    alarm : index of the first alarm (None without one).
    onset : maximum-likelihood onset (None without an alarm).
    onset_low, onset_high : the bootstrap interval (``level``) for the onset; ``onset_high``
        is the conservative (late) end.
    side : which CUSUM alarmed (``upper``/``lower``), or the configured side.
    z : the standardized series (after the reference).
    cusum : the CUSUM path of the alarming side (upper when none alarmed and two-sided).
    shift : fitted post-change mean of ``z`` (in reference SDs; NaN without an alarm).
    mu0, sigma0 : reference mean and SD used to standardize.
    autocorrelation : lag-1 autocorrelation of the reference windows used in the null.
    k, h : CUSUM allowance and threshold; ``alpha``, ``horizon``: the error control,
        P(false onset within ``horizon`` windows) ≤ ``alpha``.
    n_reference : reference windows used.
    arl0_siegmund : Siegmund's in-control ARL for (k, h), a check.
    level : interval coverage level.
    """

    detected: bool
    alarm: int | None
    onset: int | None
    onset_low: int | None
    onset_high: int | None
    side: str
    z: tuple[float, ...]
    cusum: tuple[float, ...]
    shift: float
    mu0: float
    sigma0: float
    autocorrelation: float
    k: float
    h: float
    alpha: float
    horizon: int
    n_reference: int
    arl0_siegmund: float
    level: float

    def summary(self) -> str:
        ctl = (
            f"CUSUM k={self.k:g}, h={self.h:.2f}: P(false onset within {self.horizon} windows) "
            f"≤ {self.alpha:g}"
        )
        if not self.detected:
            return f"No change point. {ctl}."
        return (
            f"Change point: alarm at window {self.alarm}, onset {self.onset} "
            f"[{self.onset_low}, {self.onset_high}] ({self.level:.0%}), shift "
            f"{self.shift:+.2f} reference SDs. {ctl}."
        )


def _autocorr(x: NDArray[np.float64]) -> float:
    if x.size < 4:
        return 0.0
    d = x - x.mean()
    den = float(np.dot(d, d))
    return float(np.dot(d[1:], d[:-1]) / den) if den > 0 else 0.0


def detect_change(
    reference: ArrayLike,
    monitored: ArrayLike,
    *,
    k: float = 0.5,
    alpha: float = 0.05,
    horizon: int = 90,
    side: str = "upper",
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> ChangePoint:
    """Onset of a change in ``monitored`` relative to the ``reference`` windows.

    Parameters
    ----------
    reference : the statistic on the reference period's windows (in control; ≥ 3, finite).
    monitored : the statistic on every window after the reference, in time order. NaN
        windows (too little data) contribute 0 to the CUSUM (neither evidence nor alarm).
    k : CUSUM allowance in reference SDs (0.5 targets a shift of 1 SD).
    alpha : false-onset probability over ``horizon`` windows; the horizon used is
        ``max(horizon, len(monitored))`` rounded up to a multiple of 30, so the control
        covers every window seen.
    side : ``upper`` (the statistic rises under drift, e.g. PSI), ``lower`` or ``two-sided``.
    level : coverage of the onset interval.
    n_boot, seed : parametric bootstrap draws for the interval, and their seed.
    """
    _check_prob("alpha", alpha)
    _check_prob("level", level)
    if side not in SIDES:
        raise ValueError(f"`side` must be one of {SIDES}; got {side!r}.")
    ref = np.asarray(reference, dtype=float).ravel()
    ref = ref[np.isfinite(ref)]
    if ref.size < 3:
        raise ValueError(f"`reference` must hold at least 3 finite window values; got {ref.size}.")
    mon = np.asarray(monitored, dtype=float).ravel()
    mu0 = float(ref.mean())
    sd0 = float(ref.std(ddof=1))
    if not sd0 > 0:
        sd0 = max(abs(mu0) * 1e-6, 1e-12)
    # lag-1 autocorrelation: the sample value is biased low by ≈ (1 + 3ρ)/n (Kendall 1954)
    # and noisy (SE ≈ 1/√n); the null uses the bias-corrected value plus half an SE so a
    # short reference does not understate persistence (measured: tests/test_changepoint.py)
    r1 = _autocorr(ref)
    rho = min(max(r1 + (1 + 3 * r1) / ref.size + 0.5 / math.sqrt(ref.size), 0.0), 0.9)
    hz = max(int(horizon), mon.size)
    hz = int(math.ceil(hz / 30) * 30)
    h = cusum_threshold(
        k=k, alpha=alpha, horizon=hz, n_reference=int(ref.size), side=side, autocorrelation=rho
    )
    z = np.where(np.isfinite(mon), (mon - mu0) / sd0, 0.0)
    sides = ("upper", "lower") if side == "two-sided" else (side,)
    paths = {s: cusum_paths(z, k, s) for s in sides}
    first = {s: (int(np.argmax(p > h)) if np.any(p > h) else None) for s, p in paths.items()}
    hits = [(a, s) for s, a in first.items() if a is not None]
    base = dict(
        z=tuple(float(v) for v in z),
        mu0=mu0,
        sigma0=sd0,
        autocorrelation=rho,
        k=float(k),
        h=h,
        alpha=float(alpha),
        horizon=hz,
        n_reference=int(ref.size),
        arl0_siegmund=siegmund_arl0(k, h),
        level=float(level),
    )
    if not hits:
        return ChangePoint(
            detected=False,
            alarm=None,
            onset=None,
            onset_low=None,
            onset_high=None,
            side=side,
            cusum=tuple(float(v) for v in paths[sides[0]]),
            shift=math.nan,
            **base,  # type: ignore[arg-type]
        )
    alarm, s_al = min(hits)
    sign = 1.0 if s_al == "upper" else -1.0
    # the MLE looks at every window seen, not only up to the alarm: an alarm pushed over the
    # threshold a few days early by noise must not cap the onset (measured on AR(1) worlds)
    tau = int(_step_mle(z[None, :], np.array([z.size - 1]), sign)[0])
    shift = float(z[tau:].mean())
    # parametric bootstrap of the estimator: change at tau, post-change mean `shift`
    rng = np.random.default_rng(seed)
    n = z.size
    # noise as in the threshold's null (AR(1) with the reference's persistence), scaled
    # after the change by the post-change spread when it is larger (drift often adds noise)
    sim = _ar1(rng, (n_boot, n), rho)
    post_sd = float(np.std(z[tau:], ddof=1)) if n - tau >= 3 else 1.0
    sim[:, tau:] = sim[:, tau:] * max(1.0, post_sd) + shift
    # the reference mean is estimated from n₀ persistent windows: the monitored series
    # carries an offset of SD ≈ √((1 + ρ)/((1 − ρ)·n₀)) in reference-SD units
    sim += rng.normal(0.0, math.sqrt((1 + rho) / ((1 - rho) * ref.size)), (n_boot, 1))
    # ... and the reference SD too: z is scaled by σ/σ̂ with σ̂² ~ σ²·χ²_{n₀−1}/(n₀ − 1)
    sim *= np.sqrt((ref.size - 1) / rng.chisquare(ref.size - 1, (n_boot, 1)))
    # the simulated alarm index: first crossing of the same CUSUM, else the series end
    tau_sim = _step_mle(sim, np.full(n_boot, n - 1), sign)
    err = tau_sim - tau
    # plugging in the fitted shift (inflated by the selection of the alarm) makes the plain
    # bootstrap interval under-cover by 1–4 points at moderate shifts (measured); its tails
    # are therefore taken at half the stated miss rate
    miss = (1 - level) / 2
    q_lo, q_hi = np.quantile(err, [miss / 2, 1 - miss / 2])
    lo = max(0, math.floor(tau - q_hi))
    hi = min(n - 1, math.ceil(tau - q_lo))
    hi = max(hi, tau)
    lo = min(lo, tau)
    return ChangePoint(
        detected=True,
        alarm=int(alarm),
        onset=tau,
        onset_low=lo,
        onset_high=hi,
        side=s_al,
        cusum=tuple(float(v) for v in paths[s_al]),
        shift=shift,
        **base,  # type: ignore[arg-type]
    )


def psi_statistic(
    psi: ArrayLike, n_reference: ArrayLike, n_current: ArrayLike, bins: ArrayLike
) -> NDArray[np.float64]:
    """A window's PSI on a scale fit for the CUSUM: ``(PSI/((1/N + 1/M)(B − 1)))^{1/3}``.

    Under no drift ``PSI/(1/N + 1/M) ≈ φ·χ²_{B−1}`` (STATISTICS.md §1, ``φ`` the
    overdispersion), so dividing by ``B − 1`` removes the dependence on the window's size and
    bin count, and the cube root (Wilson–Hilferty) makes it close to normal, which is what
    :func:`detect_change` standardizes and assumes. NaN where the PSI is NaN or ``B < 2``.
    """
    v = np.asarray(psi, dtype=float)
    n = np.asarray(n_reference, dtype=float)
    m = np.asarray(n_current, dtype=float)
    b = np.asarray(bins, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = v / ((1 / n + 1 / m) * (b - 1))
        return np.asarray(np.where((b >= 2) & (m > 0) & (n > 0), np.cbrt(r), np.nan))


def window_change(
    psi: ArrayLike,
    n_window: ArrayLike,
    n_compared: ArrayLike,
    bins: ArrayLike,
    in_reference: ArrayLike,
    complete: ArrayLike,
    **kwargs: float | int | str,
) -> ChangePoint | None:
    """:func:`detect_change` on per-window PSIs against a reference period.

    ``in_reference`` marks the reference windows (their PSI is leave-one-out: against the
    rest of the reference); the monitored series is every complete window after the last
    reference window, in order (``complete`` False for a partial window, such as today's:
    it never alarms on its own and is left out). ``n_compared`` is the reference rows each
    window was compared with. Returns None with fewer than 3 usable reference windows.
    The returned indices count monitored windows; map them back with
    :func:`monitored_positions`.
    """
    stat = psi_statistic(psi, n_compared, n_window, bins)
    ref = np.asarray(in_reference, dtype=bool)
    ok = np.asarray(complete, dtype=bool)
    ref_vals = stat[ref & ok]
    if np.isfinite(ref_vals).sum() < 3:
        return None
    mon = monitored_positions(ref, ok)
    if mon.size == 0:
        return None
    return detect_change(ref_vals, stat[mon], **kwargs)  # type: ignore[arg-type]


def monitored_positions(in_reference: ArrayLike, complete: ArrayLike) -> NDArray[np.int64]:
    """Positions of the monitored windows: complete windows after the last reference one."""
    ref = np.asarray(in_reference, dtype=bool)
    ok = np.asarray(complete, dtype=bool)
    last = int(np.flatnonzero(ref).max()) if ref.any() else -1
    idx = np.arange(ref.size)
    return np.asarray(idx[(idx > last) & ok], dtype=np.int64)
