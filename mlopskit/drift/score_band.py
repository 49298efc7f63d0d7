"""Output drift: did the score distribution leave its normal band, and since when?

:func:`output_drift` computes the score's PSI per time window against a reference period and
flags windows above a band built from the reference period's own window-to-window variability
(an overdispersion factor) times the sampling critical value (STATISTICS.md §1). The drift
*onset* is a change point: a CUSUM on the windows' PSI standardized by the reference
windows' own variability, with the false-onset probability controlled over the monitoring
horizon, and an interval (earliest, latest) for the onset (STATISTICS.md §7.1,
:mod:`mlopskit.stats.changepoint`). A single window above the band is not an onset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlopskit import _display, frames
from mlopskit.drift.reference import drift_policy
from mlopskit.policy import Policy
from mlopskit.rows import RowCounts
from mlopskit.stats.changepoint import ChangePoint, monitored_positions, window_change
from mlopskit.stats.psi import (
    critical_value,
    edges_from_quantiles,
    merge_sparse_bins,
    psi_contributions,
    psi_p_value,
)


# --------------------------------------------------------------------------------------
# Output drift: the score's PSI per window with a historical band
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OutputDrift:
    """Score distribution per window against a reference period, with its band.

    Attributes
    ----------
    windows : window starts.
    n : scored rows per window.
    psi : PSI of each window against the reference period (reference windows against the
        reference minus themselves, leave-one-out).
    bins : bins used per window (after merging sparse ones).
    critical_value : sampling critical value ``c_{band_alpha}(N, M_w, B_w)``.
    band_upper : ``overdispersion · c_{band_alpha}(N, M_w, B_w)``, the top of the band.
    p_value : sampling p-value of each window's PSI (before the overdispersion factor).
    in_reference : window lies inside the reference period.
    out_of_band : ``psi > band_upper`` (evaluated for every window).
    status : ``stable | moderate | significant`` by τ among out-of-band windows
        (``stable`` inside the band), ``insufficient_data`` when it could not be computed.
    overdispersion : ``max(1, median_w[r_w / median(χ²_{B_w−1})])`` with
        ``r_w = PSI_w/(1/N_w + 1/M_w)`` over reference windows: how much more the reference
        period's windows vary than sampling noise alone (day-of-week mix, campaigns).
    reference_psi_max : the largest leave-one-out PSI among reference windows.
    reference_period, window, band_alpha, edges, n_reference : the choices behind it.
    complete : the window is complete (a partial window, e.g. today's, never drives the
        onset on its own).
    change : the CUSUM change point over the monitored windows (None when the reference
        has fewer than 3 usable windows); see ``onset``, ``onset_low``, ``onset_high``.
    warnings : data problems.
    row_counts : scores read and used, per window in ``by`` (every validated score falls in
        one window; none is dropped).
    """

    windows: tuple[pd.Timestamp, ...]
    n: tuple[int, ...]
    psi: tuple[float, ...]
    bins: tuple[int, ...]
    critical_value: tuple[float, ...]
    band_upper: tuple[float, ...]
    p_value: tuple[float, ...]
    in_reference: tuple[bool, ...]
    out_of_band: tuple[bool, ...]
    status: tuple[str, ...]
    overdispersion: float
    reference_psi_max: float
    reference_period: tuple[pd.Timestamp, pd.Timestamp]
    window: str
    band_alpha: float
    edges: tuple[float, ...]
    n_reference: int
    tau_moderate: float
    tau_significant: float
    complete: tuple[bool, ...] = ()
    change: ChangePoint | None = None
    warnings: tuple[str, ...] = ()
    row_counts: RowCounts | None = None

    def _monitored(self, i: int | None) -> pd.Timestamp | None:
        if i is None:
            return None
        pos = monitored_positions(self.in_reference, self.complete or [True] * len(self.windows))
        return self.windows[int(pos[i])]

    @property
    def onset(self) -> pd.Timestamp | None:
        """Start of the window where the drift began (maximum likelihood), None without a
        detected change point."""
        return None if self.change is None else self._monitored(self.change.onset)

    @property
    def onset_low(self) -> pd.Timestamp | None:
        """Earliest plausible onset (the interval's early end)."""
        return None if self.change is None else self._monitored(self.change.onset_low)

    @property
    def onset_high(self) -> pd.Timestamp | None:
        """Latest plausible onset: the conservative start of the new world (count new-world
        labels from here)."""
        return None if self.change is None else self._monitored(self.change.onset_high)

    @property
    def fired(self) -> bool:
        """A drift onset was detected (the error-controlled trigger; not any window above
        the band)."""
        return bool(self.change is not None and self.change.detected)

    @property
    def flagged_windows(self) -> tuple[pd.Timestamp, ...]:
        """Windows after the reference period whose PSI is above the band."""
        return tuple(
            w
            for w, o, r in zip(self.windows, self.out_of_band, self.in_reference, strict=True)
            if o and not r
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "window_start": list(self.windows),
                "n": list(self.n),
                "psi": list(self.psi),
                "bins": list(self.bins),
                "critical_value": list(self.critical_value),
                "band_upper": list(self.band_upper),
                "p_value": list(self.p_value),
                "in_reference": list(self.in_reference),
                "complete": list(self.complete) if self.complete else [True] * len(self.windows),
                "out_of_band": list(self.out_of_band),
                "status": list(self.status),
            }
        )

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        fl = self.flagged_windows
        head = (
            f"Output drift: {len(self.windows)} windows of {self.window}; reference "
            f"{self.reference_period[0].date()} – {self.reference_period[1].date()} "
            f"(N = {self.n_reference:,}); overdispersion {self.overdispersion:.2f}; "
            f"{len(fl)} windows above the band" + (f", first {fl[0].date()}" if fl else "")
        )
        if self.change is not None:
            head += (
                "\n"
                + (
                    f"Drift onset {self.onset.date()} (between {self.onset_low.date()} and "  # type: ignore[union-attr]
                    f"{self.onset_high.date()}, {self.change.level:.0%})"  # type: ignore[union-attr]
                    if self.fired
                    else "No drift onset"
                )
                + (
                    f": CUSUM on the window PSI, P(false onset within {self.change.horizon} "
                    f"windows) ≤ {self.change.alpha:g}."
                )
            )
        rows = [f"rows: {self.row_counts.summary()}"] if self.row_counts is not None else []
        return "\n".join([head, *rows, *(f"warning: {w}" for w in self.warnings)])

    def _repr_html_(self) -> str:
        df = self.to_frame()
        df["window_start"] = df["window_start"].astype(str)
        return (
            f"<div><strong>{_display.escape(self.summary().splitlines()[0])}</strong>"
            f"{_display.table_html(df)}{_display.warnings_html(self.warnings)}</div>"
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.plot_output_drift(self, ax=ax)


def output_drift(
    scores: frames.FrameLike,
    *,
    reference_period: tuple[Any, Any],
    score: str = "score",
    ts: str = "ts",
    window: str | None = None,
    bins: int | None = None,
    as_of: Any = None,
    columns: Mapping[str, str] | None = None,
    policy: Policy | str | Path | None = None,
) -> OutputDrift:
    """Score PSI per window against a reference period, flagged when outside its band.

    Parameters
    ----------
    scores : scored events (``ts``, ``score`` in [0, 1]); any supported frame.
    reference_period : ``(start, end)``, end exclusive; the windows fully inside it form the
        reference distribution and its historical variability.
    window : window length (policy ``drift.window``, ``"1D"``); windows start at the
        reference period's start (and every multiple of the length before and after it).
    bins : quantile bins of the reference period's scores (policy, 10).
    as_of : end of the data; a window ending after it is partial. Without it, the last
        window is taken as partial when it holds fewer than half the median rows of the
        reference windows.
    columns : mapping canonical name (``score``, ``ts``) → your column name (instead of, or
        agreeing with, ``score=`` / ``ts=``).

    The onset is a CUSUM change point on the windows' PSI (policy ``onset_alpha`` over
    ``onset_horizon`` windows, ``onset_k``, interval at ``onset_level``); partial windows are
    left out of it.

    The band of window ``w`` is ``φ̂·χ²_{B_w−1, 1−band_alpha}·(1/N + 1/M_w)``: the sampling
    critical value scaled by the reference period's overdispersion ``φ̂ ≥ 1`` (see
    :class:`OutputDrift`). Aggregation: one lazy select for the reference quantiles, one
    lazy group-by for the counts of every window.
    """
    pol = drift_policy(policy)
    b = pol.bins if bins is None else int(bins)
    spec_w = frames.window_spec(window or pol.window)
    every = spec_w.every
    contract = frames.SCORED_EVENTS.without("label", "label_ts")
    mapping = frames.resolve_columns(columns, frame="scores", score=score, ts=ts)
    lf = frames.validate(scores, contract, columns=mapping, frame="scores")
    start, end = (pd.Timestamp(reference_period[0]), pd.Timestamp(reference_period[1]))
    if not start < end:
        raise ValueError(
            f"`reference_period` must be (start, end) with start < end; got {reference_period!r}."
        )
    ref_lf = frames.time_filter(lf, "ts", start, end)
    summ = frames.numeric_summary(ref_lf, ["score"], b)["score"]
    if summ["n_valid"] == 0:
        raise ValueError(f"scores: no rows in `reference_period` {start} – {end}.")
    edges = quantile_edges_from(summ)
    spec = frames.BinSpec("score", "numeric", edges)
    wins, n, counts = frames.bin_counts(lf, [spec], ts="ts", every=every, anchor=start)
    c = counts["score"]
    tz = wins[0].tz if wins and wins[0] is not None else None
    s_cmp = start.tz_localize(tz) if tz and start.tzinfo is None else start
    e_cmp = end.tz_localize(tz) if tz and end.tzinfo is None else end
    ends = spec_w.ends(wins)  # type: ignore[arg-type]
    in_ref = np.array(
        [
            w is not None and e is not None and w >= s_cmp and e <= e_cmp
            for w, e in zip(wins, ends, strict=True)
        ]
    )
    warn: list[str] = []
    if in_ref.sum() == 0:
        raise ValueError(
            f"`reference_period` {start} – {end} contains no complete {window or pol.window} window."
        )
    ref_counts = c[in_ref].sum(axis=0)
    n_ref = int(ref_counts.sum())
    sentinel = [False] * (len(edges) + 1) + [True]
    psis, bins_w, cvs, ps, ratios = [], [], [], [], []
    for i in range(len(wins)):
        r = ref_counts - c[i] if in_ref[i] else ref_counts
        nr, nc = float(r.sum()), float(c[i].sum())
        merged = merge_sparse_bins(
            r,
            c[i],
            min_count=pol.min_expected_per_bin,
            n_small=min(nr, nc),
            ordered=True,
            sentinel=sentinel,
        )
        if merged.bins < 2 or nr == 0:
            psis.append(math.nan)
            bins_w.append(merged.bins)
            cvs.append(math.nan)
            ps.append(math.nan)
            why = (
                "it is the whole reference period (no leave-one-out comparison)"
                if nr == 0
                else f"too few scores ({int(nc)}) for 2 bins"
            )
            warn.append(f"window {wins[i]}: {why}; PSI is NaN.")
            continue
        v = float(
            psi_contributions(
                merged.reference_counts, merged.current_counts, smoothing=pol.smoothing
            ).sum()
        )
        psis.append(v)
        bins_w.append(merged.bins)
        cvs.append(float(critical_value(nr, nc, merged.bins, alpha=pol.band_alpha)))
        ps.append(float(psi_p_value(v, nr, nc, merged.bins)))
        if in_ref[i]:
            ratios.append(v / (1 / nr + 1 / nc) / stats.chi2.median(merged.bins - 1))
    if len(ratios) < 3:
        phi = 1.0
        warn.append(
            f"reference period has {len(ratios)} usable complete windows (< 3); the band uses "
            "sampling noise only (overdispersion set to 1)."
        )
    else:
        phi = max(1.0, float(np.median(ratios)))
    band = [phi * cv for cv in cvs]
    oob = [bool(not math.isnan(v) and v > u) for v, u in zip(psis, band, strict=True)]
    status = []
    for v, o in zip(psis, oob, strict=True):
        if math.isnan(v):
            status.append("insufficient_data")
        elif o and v > pol.tau_significant:
            status.append("significant")
        elif o and v > pol.tau_moderate:
            status.append("moderate")
        else:
            status.append("stable")
    ref_psis = [v for v, r in zip(psis, in_ref, strict=True) if r and not math.isnan(v)]
    n_arr = np.asarray(n, dtype=float)
    data_end = None
    if as_of is not None:
        data_end = pd.Timestamp(as_of)
        if tz and data_end.tzinfo is None:
            data_end = data_end.tz_localize(tz)
    complete = frames.window_complete(
        spec_w, wins, n_arr, as_of=data_end, typical_rows=float(np.median(n_arr[in_ref]))
    )
    compared = np.where(in_ref, n_ref - n_arr, n_ref)
    change = window_change(
        np.asarray(psis, dtype=float),
        n_arr,
        compared,
        np.asarray(bins_w, dtype=float),
        in_ref,
        complete,
        alpha=pol.onset_alpha,
        horizon=pol.onset_horizon,
        k=pol.onset_k,
        level=pol.onset_level,
        side="upper",
    )
    if change is None:
        warn.append("fewer than 3 usable reference windows: no drift onset can be dated.")
    return OutputDrift(
        windows=tuple(w for w in wins if w is not None),
        n=tuple(int(v) for v in n),
        psi=tuple(psis),
        bins=tuple(bins_w),
        critical_value=tuple(cvs),
        band_upper=tuple(band),
        p_value=tuple(ps),
        in_reference=tuple(bool(v) for v in in_ref),
        out_of_band=tuple(oob),
        status=tuple(status),
        overdispersion=phi,
        reference_psi_max=max(ref_psis) if ref_psis else math.nan,
        reference_period=(start, end),
        window=window or pol.window,
        band_alpha=pol.band_alpha,
        edges=tuple(edges),
        n_reference=n_ref,
        tau_moderate=pol.tau_moderate,
        tau_significant=pol.tau_significant,
        complete=tuple(bool(v) for v in complete),
        change=change,
        warnings=tuple(warn),
        row_counts=RowCounts.of(
            sum(int(v) for v in n),
            by={str(w): RowCounts.of(int(v)) for w, v in zip(wins, n, strict=True)},
            unit="scores",
        ),
    )


def quantile_edges_from(summary: Mapping[str, Any]) -> tuple[float, ...]:
    """Edges from a :func:`mlopskit.frames.numeric_summary` entry (ties collapsed)."""
    e = edges_from_quantiles(summary["quantiles"], maximum=summary["max"])
    return tuple(float(v) for v in e)
