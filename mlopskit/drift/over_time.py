"""PSI per time window against one reference: psi_over_time()."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _display, frames
from mlopskit.drift.psi import (
    FeaturePSI,
    PSITable,
    _as_profile,
    _feature_psi,
    _finish,
    _rows_frame,
    _select,
)
from mlopskit.drift.reference import ReferenceProfile, drift_policy
from mlopskit.policy import DriftPolicy, Policy
from mlopskit.rows import RowCounts
from mlopskit.stats.changepoint import ChangePoint, detect_change, monitored_positions


# --------------------------------------------------------------------------------------
# PSI over time
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeatureOnset:
    """Drift onset of one feature: a CUSUM change point on its window PSI.

    Attributes
    ----------
    feature : the feature.
    change : the :class:`~mlopskit.stats.changepoint.ChangePoint` (None when no onset can
        be dated: fewer than 3 usable reference windows, or no monitored window).
    onset, onset_low, onset_high : window starts of the onset and its interval (earliest,
        latest: the conservative end); None without an alarm.
    """

    feature: str
    change: ChangePoint | None
    onset: pd.Timestamp | None = None
    onset_low: pd.Timestamp | None = None
    onset_high: pd.Timestamp | None = None

    @property
    def fired(self) -> bool:
        return self.change is not None and self.change.detected

    def describe(self) -> str:
        """One line: the onset with its interval and error control, or why there is none."""
        if self.change is None:
            return f"{self.feature}: no onset can be dated (fewer than 3 reference windows)"
        ctl = (
            f"CUSUM on the window PSI; P(false onset within {self.change.horizon} windows) "
            f"≤ {self.change.alpha:g}"
        )
        if not self.fired:
            return f"{self.feature}: no drift onset ({ctl})"
        return (
            f"{self.feature}: drift onset {_day(self.onset)} (between {_day(self.onset_low)} "
            f"and {_day(self.onset_high)}, {self.change.level:.0%}; {ctl})"
        )


def _day(t: pd.Timestamp | None) -> str:
    if t is None:
        return "—"
    return str(t.date()) if t == t.normalize() else str(t)


@dataclass(frozen=True, slots=True)
class PSIOverTime:
    """PSI per feature and time window against one reference profile (tidy).

    Attributes
    ----------
    rows : one :class:`FeaturePSI` per (window, feature); BH is applied within each window.
    window : the window as given (``"1D"``, ``"1mo"``, ``"100000rows"``).
    alpha, tau_moderate, tau_significant, smoothing, known_reference : as in :class:`PSITable`.
    warnings : data problems (empty or tiny windows, constant features, …).
    row_counts : rows of ``current`` read, used (per window in ``by``) and dropped (a null
        ``ts`` falls in no window).
    n : rows per window, in the order of :attr:`windows`.
    complete : per window, False for a partial one (ending after ``as_of``, a short last
        row chunk, or without ``as_of`` an edge window with < ½ the median rows): shown,
        never judged on its own (not in :attr:`latest_complete`, not in the onsets).
    in_reference : per window, True when it is one of the onsets' reference windows.
    onsets : one :class:`FeatureOnset` per feature (empty when no reference windows).
    """

    rows: tuple[FeaturePSI, ...]
    window: str
    alpha: float
    tau_moderate: float
    tau_significant: float
    smoothing: float
    known_reference: bool = False
    top_bins: int = 3
    warnings: tuple[str, ...] = ()
    row_counts: RowCounts | None = None
    n: tuple[int, ...] = ()
    complete: tuple[bool, ...] = ()
    in_reference: tuple[bool, ...] = ()
    onsets: tuple[FeatureOnset, ...] = ()

    @property
    def windows(self) -> tuple[pd.Timestamp, ...]:
        return tuple(sorted({r.window for r in self.rows if r.window is not None}))

    def is_complete(self, window: Any) -> bool:
        """Whether ``window`` (a window start) is complete."""
        ws = self.windows
        w = pd.Timestamp(window)
        if w not in ws:
            raise ValueError(f"`window` {window!r} is not among the windows {list(ws)[:5]}…")
        return self.complete[ws.index(w)] if self.complete else True

    @property
    def latest_complete(self) -> pd.Timestamp | None:
        """Start of the latest complete window: the ONE window a headline, a layer and a
        table quote (None when every window is partial)."""
        ws = self.windows
        done = self.complete or (True,) * len(ws)
        ok = [w for w, c in zip(ws, done, strict=True) if c]
        return ok[-1] if ok else None

    def latest_table(self) -> PSITable:
        """The :class:`PSITable` of :attr:`latest_complete` (one window, one number)."""
        w = self.latest_complete
        if w is None:
            raise ValueError(
                f"every window is partial ({len(self.windows)} windows of {self.window}); "
                "there is no complete window to judge yet."
            )
        return self.table(w)

    @property
    def partial_windows(self) -> tuple[pd.Timestamp, ...]:
        done = self.complete or (True,) * len(self.windows)
        return tuple(w for w, c in zip(self.windows, done, strict=True) if not c)

    def onset(self, feature: str) -> FeatureOnset | None:
        """The onset of ``feature`` (None when onsets were not computed)."""
        for o in self.onsets:
            if o.feature == feature:
                return o
        return None

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per window and feature (``window_start`` first, ``complete``)."""
        df = _rows_frame(self.rows, self.top_bins, True)
        if self.complete:
            flag = dict(zip(self.windows, self.complete, strict=True))
            df["complete"] = [bool(flag.get(pd.Timestamp(w), True)) for w in df["window_start"]]
        return df

    def matrix(self, value: str = "psi") -> pd.DataFrame:
        """Feature × window table of ``value`` (``psi``, ``status``, ``p_value`` …)."""
        df = self.to_frame()
        order = list(dict.fromkeys(df["feature"]))
        return df.pivot(index="feature", columns="window_start", values=value).loc[order]

    def table(self, window: Any) -> PSITable:
        """The :class:`PSITable` of one window."""
        w = pd.Timestamp(window)
        rows = tuple(r for r in self.rows if r.window == w)
        if not rows:
            raise ValueError(
                f"`window` {window!r} is not among the windows {list(self.windows)[:5]}…"
            )
        return PSITable(
            rows,
            self.alpha,
            self.tau_moderate,
            self.tau_significant,
            self.smoothing,
            math.nan,
            self.known_reference,
            top_bins=self.top_bins,
        )

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        m = self.matrix("status")
        done = [w for w in m.columns if w not in set(self.partial_windows)]
        flagged = (m[done].isin(["moderate", "significant"])).sum(axis=1)
        lines = [f"PSI over time: {m.shape[0]} features × {m.shape[1]} windows of {self.window}"]
        if self.row_counts is not None:
            lines.append(f"rows: {self.row_counts.summary()}")
        latest = self.latest_complete
        if latest is not None:
            lines.append(f"  latest complete window: {_day(latest)}")
        lines += [
            f"  partial window {_day(w)} ({self.n[self.windows.index(w)]:,} rows): shown, not "
            "judged"
            for w in self.partial_windows
        ]
        lines += [f"  {f}: flagged in {int(k)} complete windows" for f, k in flagged.items() if k]
        lines += [f"  {o.describe()}" for o in self.onsets if o.fired]
        return "\n".join([*lines, *(f"warning: {w}" for w in self.warnings)])

    def _repr_html_(self) -> str:
        m = self.matrix("psi").reset_index()
        partial = set(self.partial_windows)
        m.columns = [
            (str(c.date()) if c == c.normalize() else str(c))
            + (" (partial)" if c in partial else "")
            if isinstance(c, pd.Timestamp)
            else str(c)
            for c in m.columns
        ]
        head = self.summary().splitlines()[0]
        return (
            f"<div><strong>{_display.escape(head)}</strong>{_display.table_html(m)}"
            f"{_display.warnings_html(self.warnings)}</div>"
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.plot_psi_heat(self, ax=ax)


def _reference_windows(
    spec: frames.WindowSpec, wins: list[pd.Timestamp], period: tuple[Any, Any] | None
) -> np.ndarray:
    """Windows fully inside ``period`` (start ≤ window start, window end ≤ end)."""
    if period is None or not wins:
        return np.zeros(len(wins), dtype=bool)
    tz = wins[0].tz
    s, e = (pd.Timestamp(period[0]), pd.Timestamp(period[1]))
    if tz is not None:
        s = s.tz_localize(tz) if s.tzinfo is None else s.tz_convert(tz)
        e = e.tz_localize(tz) if e.tzinfo is None else e.tz_convert(tz)
    ends = spec.ends(wins)
    return np.array(
        [w >= s and end is not None and end <= e for w, end in zip(wins, ends, strict=True)],
        dtype=bool,
    )


def _onsets(
    rows: list[FeaturePSI],
    names: list[str],
    n_windows: int,
    wins: list[pd.Timestamp],
    in_ref: np.ndarray,
    complete: np.ndarray,
    in_sample: bool,
    pol: DriftPolicy,
) -> tuple[FeatureOnset, ...]:
    """A CUSUM change point per feature on ``(PSI/(scale·(B − 1)))^{1/3}``.

    ``scale = 1/M + 1/N`` (``1/M`` for a known reference); for a reference window whose
    rows are part of the reference profile (``in_sample``) ``1/M − 1/N``: a subsample
    compared with the sample holding it, ``Var(p̂_W − p̂_R) = p(1 − p)(1/M − 1/N)``.
    """
    mon = monitored_positions(in_ref, complete)
    out = []
    for j, name in enumerate(names):
        stat = np.full(n_windows, np.nan)
        for i in range(n_windows):
            r = rows[i * len(names) + j]
            if math.isnan(r.psi) or r.bins < 2 or r.n_current == 0:
                continue
            inv_n = 0.0 if r.n_reference == 0 else 1.0 / r.n_reference
            scale = 1.0 / r.n_current + (-inv_n if in_sample and in_ref[i] else inv_n)
            if scale > 0:
                stat[i] = np.cbrt(r.psi / (scale * (r.bins - 1)))
        ref_vals = stat[in_ref & complete]
        if np.isfinite(ref_vals).sum() < 3 or mon.size == 0:
            out.append(FeatureOnset(name, None))
            continue
        cp = detect_change(
            ref_vals,
            stat[mon],
            alpha=pol.onset_alpha,
            horizon=pol.onset_horizon,
            k=pol.onset_k,
            level=pol.onset_level,
            side="upper",
        )
        if not cp.detected or cp.onset is None:
            out.append(FeatureOnset(name, cp))
            continue
        at = [wins[int(mon[i])] for i in (cp.onset, cp.onset_low, cp.onset_high)]
        out.append(FeatureOnset(name, cp, *at))
    return tuple(out)


def psi_over_time(
    reference: ReferenceProfile | frames.FrameLike,
    current: frames.FrameLike,
    *,
    ts: str = "ts",
    window: str | int | None = None,
    features: Sequence[str] | None = None,
    known_reference: bool = False,
    columns: Mapping[str, str] | None = None,
    anchor: Any = None,
    as_of: Any = None,
    reference_period: tuple[Any, Any] | None = None,
    reference_in_profile: bool | None = None,
    policy: Policy | str | Path | None = None,
) -> PSIOverTime:
    """:func:`psi_table` per time window of ``current`` (one lazy group-by for all windows).

    Parameters
    ----------
    window : policy ``drift.window`` (``"1D"``); any of :func:`mlopskit.frames.window_spec`:
        ``"12h"``, ``"1D"``, ``"1W"``, ``"7D"``, calendar months ``"1mo"``, or row chunks
        ``100_000`` / ``"100000rows"`` (in ``ts`` order; a chunk starts at its first ``ts``).
        Windows are ``ts`` truncated to the window (months: the 1st at midnight), or start
        at ``anchor`` and its multiples when given; only windows with rows appear.
    as_of : end of the data; a window ending after it is partial. Without it, an edge
        window with fewer than half the median rows is partial. Partial windows are shown
        (``complete`` False) and never judged: not :attr:`~PSIOverTime.latest_complete`,
        not in the onsets.
    reference_period : ``(start, end)`` of ``current`` without drift; its complete windows
        are the baseline of each feature's drift onset (a CUSUM on the window PSI, policy
        ``drift.onset_alpha`` over ``onset_horizon`` windows, STATISTICS.md §7.1). Default:
        the reference profile's own period when it was profiled with ``ts`` (its rows are
        then in-sample and their PSI scaled accordingly). Without either, no onsets.
    reference_in_profile : whether the reference windows' rows are the rows the profile
        was made from (their PSI is then smaller: ``1/M − 1/N`` instead of ``1/M + 1/N``,
        and treating them as independent would make every later window look drifted).
        Default: True with the profile's own period, or when the reference windows hold
        exactly the profile's row count; else False.

    BH is applied across features within each window. ``columns`` maps feature names and
    ``ts`` to your column names (both frames; see :func:`psi_table`).
    """
    pol = drift_policy(policy)
    spec_w = frames.window_spec(window if window is not None else pol.window)
    profiled = (
        [f.feature for f in reference.features] if isinstance(reference, ReferenceProfile) else None
    )
    keys = frames.feature_keys(features, columns, profiled) | {"ts"}
    cmap = frames.check_columns(columns, keys, frame="current")
    ts = str(frames.keyword_column(ts, "ts", cmap, frame="current"))
    if not isinstance(reference, ReferenceProfile):  # a reference without `ts` is fine
        reference = frames.rename_columns(reference, cmap, keys, frame="reference", optional=["ts"])
    current = frames.rename_columns(current, cmap, keys, frame="current")
    prof = _as_profile(reference, features, None, None, policy)
    fps = _select(prof, features)
    lf = frames.lazy(current, frame="current")
    sch = frames.schema(lf)
    if ts not in sch:
        raise ValueError(
            f"current: timestamp column `{ts}` is missing. Columns: {sorted(sch)[:20]}."
        )
    if sch[ts] != frames.nw.Datetime and sch[ts] != frames.nw.Date:
        raise ValueError(
            f"current: timestamp column `{ts}` must have a datetime dtype; found {sch[ts]} "
            "(text or epoch numbers? parse them, e.g. pd.to_datetime(..., utc=True))."
        )
    nulls = frames.collect(
        lf.select(
            frames.nw.len().alias("n"),
            frames.nw.col(ts).is_null().cast(frames.nw.Int64).sum().alias("k"),
        )
    ).iloc[0]
    if int(nulls["n"]) == 0:
        raise ValueError("current: the frame has no rows; there is nothing to compare.")
    if int(nulls["k"]) == int(nulls["n"]):
        raise ValueError(f"current: timestamp column `{ts}` is null in every row.")
    warn = list(prof.warnings)
    if int(nulls["k"]):
        warn.append(
            f"current: {int(nulls['k']):,} of {int(nulls['n']):,} rows have a null `{ts}` and "
            "fall in no window."
        )
        lf = lf.filter(~frames.nw.col(ts).is_null())
    specs = [fp.spec for fp in fps]
    frames.check_binnable(lf, specs, frame="current")
    wins, n_win, counts = frames.bin_counts(lf, specs, ts=ts, every=spec_w.every, anchor=anchor)
    if not wins:
        raise ValueError("current: the frame has no rows; there is nothing to compare.")
    starts = [pd.Timestamp(w) for w in wins if w is not None]
    rows: list[FeaturePSI] = []
    for i, w in enumerate(starts):
        per = [
            _feature_psi(
                fp, counts[fp.feature][i], pol, known_reference=known_reference, window=w, warn=warn
            )
            for fp in fps
        ]
        rows += _finish(per, pol)
    complete = frames.window_complete(spec_w, starts, n_win, as_of=as_of, first=True)
    period = reference_period
    in_sample = False
    if period is None and prof.period is not None:
        # first and last ts of the profile, widened to whole days (windows at midnight)
        a, z = pd.Timestamp(prof.period[0]), pd.Timestamp(prof.period[1])
        period, in_sample = (a.floor("D"), (z + pd.Timedelta(microseconds=1)).ceil("D")), True
    in_ref = _reference_windows(spec_w, starts, period)
    if reference_in_profile is not None:
        in_sample = bool(reference_in_profile)
    elif period is not None and not in_sample:
        in_sample = int(np.asarray(n_win)[in_ref].sum()) == prof.n
    onsets: tuple[FeatureOnset, ...] = ()
    if period is not None:
        onsets = _onsets(
            rows,
            [fp.feature for fp in fps],
            len(starts),
            starts,
            in_ref,
            complete,
            in_sample and not known_reference,
            pol,
        )
        if any(o.change is None for o in onsets):
            warn.append(
                f"drift onset: {int((in_ref & complete).sum())} complete reference windows in "
                f"{_day(pd.Timestamp(period[0]))} – {_day(pd.Timestamp(period[1]))} (need ≥ 3 "
                "with a PSI, and a window after them); some features have no onset."
            )
    else:
        warn.append(
            "drift onset not dated: pass `reference_period` (a period of `current` without "
            "drift) or a profile made with `ts`."
        )
    return PSIOverTime(
        rows=tuple(rows),
        window=str(window if window is not None else pol.window),
        alpha=pol.alpha,
        tau_moderate=pol.tau_moderate,
        tau_significant=pol.tau_significant,
        smoothing=pol.smoothing,
        known_reference=known_reference,
        top_bins=pol.top_bins,
        warnings=tuple(warn),
        row_counts=RowCounts.of(
            int(nulls["n"]),
            {f"`{ts}` missing": int(nulls["k"])},
            by={str(w): RowCounts.of(int(k)) for w, k in zip(starts, n_win, strict=True)},
        ),
        n=tuple(int(v) for v in n_win),
        complete=tuple(bool(v) for v in complete),
        in_reference=tuple(bool(v) for v in in_ref),
        onsets=onsets,
    )
