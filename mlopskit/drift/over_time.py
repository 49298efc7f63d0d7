"""PSI per time window against one reference: psi_over_time()."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from mlopskit.policy import Policy


# --------------------------------------------------------------------------------------
# PSI over time
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PSIOverTime:
    """PSI per feature and time window against one reference profile (tidy).

    Attributes
    ----------
    rows : one :class:`FeaturePSI` per (window, feature); BH is applied within each window.
    window : the window length (e.g. ``"1D"``).
    alpha, tau_moderate, tau_significant, smoothing, known_reference : as in :class:`PSITable`.
    warnings : data problems (empty or tiny windows, constant features, …).
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

    @property
    def windows(self) -> tuple[pd.Timestamp, ...]:
        return tuple(sorted({r.window for r in self.rows if r.window is not None}))

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per window and feature (``window_start`` first)."""
        return _rows_frame(self.rows, self.top_bins, True)

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

    def summary(self) -> str:
        m = self.matrix("status")
        flagged = (m.isin(["moderate", "significant"])).sum(axis=1)
        lines = [f"PSI over time: {m.shape[0]} features × {m.shape[1]} windows of {self.window}"]
        lines += [f"  {f}: flagged in {int(k)} windows" for f, k in flagged.items() if k]
        return "\n".join([*lines, *(f"warning: {w}" for w in self.warnings)])

    def _repr_html_(self) -> str:
        m = self.matrix("psi").reset_index()
        m.columns = [str(c.date()) if isinstance(c, pd.Timestamp) else str(c) for c in m.columns]
        head = self.summary().splitlines()[0]
        return (
            f"<div><strong>{_display.escape(head)}</strong>{_display.table_html(m)}"
            f"{_display.warnings_html(self.warnings)}</div>"
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.plot_psi_heat(self, ax=ax)


def psi_over_time(
    reference: ReferenceProfile | frames.FrameLike,
    current: frames.FrameLike,
    *,
    ts: str = "ts",
    window: str | None = None,
    features: Sequence[str] | None = None,
    known_reference: bool = False,
    columns: Mapping[str, str] | None = None,
    anchor: Any = None,
    policy: Policy | str | Path | None = None,
) -> PSIOverTime:
    """:func:`psi_table` per time window of ``current`` (one lazy group-by for all windows).

    Windows are ``ts`` truncated to ``window`` (policy ``drift.window``, ``"1D"``), or start
    at ``anchor`` and its multiples of the window length when given; only windows with rows
    appear. BH is applied across features within each window. ``columns`` maps feature
    names and ``ts`` to your column names (both frames; see :func:`psi_table`).
    """
    pol = drift_policy(policy)
    every, _ = frames.parse_window(window or pol.window)
    keys = frames.feature_keys(features, columns) | {"ts"}
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
    specs = [fp.spec for fp in fps]
    frames.check_binnable(lf, specs, frame="current")
    wins, _, counts = frames.bin_counts(lf, specs, ts=ts, every=every, anchor=anchor)
    if not wins:
        raise ValueError("current: the frame has no rows; there is nothing to compare.")
    warn = list(prof.warnings)
    rows: list[FeaturePSI] = []
    for i, w in enumerate(wins):
        per = [
            _feature_psi(
                fp, counts[fp.feature][i], pol, known_reference=known_reference, window=w, warn=warn
            )
            for fp in fps
        ]
        rows += _finish(per, pol)
    return PSIOverTime(
        rows=tuple(rows),
        window=window or pol.window,
        alpha=pol.alpha,
        tau_moderate=pol.tau_moderate,
        tau_significant=pol.tau_significant,
        smoothing=pol.smoothing,
        known_reference=known_reference,
        top_bins=pol.top_bins,
        warnings=tuple(warn),
    )
