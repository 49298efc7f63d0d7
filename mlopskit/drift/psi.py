"""PSI tables that know their own noise: psi_table() and psi()."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from mlopskit import _display, frames
from mlopskit.drift.reference import FeatureProfile, ReferenceProfile, drift_policy, profile
from mlopskit.policy import DriftPolicy, Policy
from mlopskit.rows import RowCounts
from mlopskit.stats.multiple import benjamini_hochberg
from mlopskit.stats.psi import (
    bin_index,
    critical_value,
    merge_sparse_bins,
    psi_contributions,
    psi_p_value,
    quantile_edges,
)

STATUSES = ("stable", "moderate", "significant", "insufficient_data")


# --------------------------------------------------------------------------------------
# PSI per feature
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeaturePSI:
    """PSI of one feature (in one window).

    Attributes
    ----------
    feature, kind : the feature and how it was binned.
    psi : population stability index over the (merged) bins, smoothed shares.
    n_reference, n_current : rows in each sample (missing values included, in their bin).
    bins : bins after merging sparse ones (the χ² degrees of freedom are ``bins − 1``).
    critical_value : ``c_α(N, M, bins)`` (``N = ∞`` for a known reference).
    p_value : ``chi2.sf(PSI/(1/N + 1/M), bins − 1)``.
    p_value_bh : Benjamini–Hochberg adjusted across the features of the table (window).
    status : ``stable | moderate | significant | insufficient_data``.
    bin_labels, reference_counts, current_counts, contributions : the merged bins.
    window : window start for tables over time (``None`` otherwise).
    warnings : data problems of a single :func:`psi` call (tables keep theirs on the table).
    """

    feature: str
    kind: str
    psi: float
    n_reference: int
    n_current: int
    bins: int
    critical_value: float
    p_value: float
    p_value_bh: float = math.nan
    status: str = "insufficient_data"
    bin_labels: tuple[str, ...] = ()
    reference_counts: tuple[float, ...] = ()
    current_counts: tuple[float, ...] = ()
    contributions: tuple[float, ...] = ()
    window: pd.Timestamp | None = None
    warnings: tuple[str, ...] = ()

    def top_bins(self, k: int = 3) -> str:
        """The ``k`` bins contributing most to the PSI, ``"label: contribution"``."""
        if not self.contributions:
            return ""
        order = np.argsort(self.contributions)[::-1][:k]
        return "; ".join(f"{self.bin_labels[i]}: {self.contributions[i]:.4f}" for i in order)

    def to_frame(self) -> pd.DataFrame:
        """One row, the columns of :meth:`PSITable.to_frame`."""
        return _rows_frame([self], 3, self.window is not None)

    def bins_frame(self) -> pd.DataFrame:
        """One row per merged bin: counts, shares and PSI contribution."""
        return _bins_frame([self], self.window is not None)

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        return (
            f"PSI of `{self.feature}`: {self.psi:.4f} ({self.status}); critical value "
            f"{self.critical_value:.4g}, p = {self.p_value:.3g}, {self.bins} bins, "
            f"n_reference = {self.n_reference:,}, n_current = {self.n_current:,}"
        ) + "".join(f"\nwarning: {w}" for w in self.warnings)

    def _repr_html_(self) -> str:
        return (
            f"<div><strong>{_display.escape(self.summary())}</strong>"
            f"{_display.table_html(self.bins_frame())}</div>"
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.plot_psi_bins(self, ax=ax)


def _merged_label(labels: Sequence[str], group: Sequence[int], numeric: bool) -> str:
    if len(group) == 1:
        return labels[group[0]]
    if numeric:
        lo = labels[group[0]].split(",")[0]
        hi = labels[group[-1]].split(",")[1]
        return f"{lo},{hi}"
    names = [labels[i] for i in group]
    return "|".join(names) if len(names) <= 4 else f"{len(names)} categories"


def _feature_psi(
    fp: FeatureProfile,
    current: np.ndarray,
    pol: DriftPolicy,
    *,
    known_reference: bool,
    window: pd.Timestamp | None,
    warn: list[str],
) -> FeaturePSI:
    ref = np.asarray(fp.counts, dtype=float)
    cur = np.asarray(current, dtype=float)
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    where = f" (window {window})" if window is not None else ""
    nan_row = FeaturePSI(
        fp.feature, fp.kind, math.nan, n_ref, n_cur, 0, math.nan, math.nan, window=window
    )
    if n_cur == 0:
        warn.append(f"feature `{fp.feature}`{where}: the current window has no rows; PSI is NaN.")
        return nan_row
    if fp.n_distinct_at_most_one:
        return nan_row  # warned once, at profiling time
    if n_cur == cur[-1] and ref[-1] < n_ref:
        warn.append(f"feature `{fp.feature}`{where}: all current values are missing.")
    n_small = n_cur if known_reference else min(n_ref, n_cur)
    merged = merge_sparse_bins(
        ref,
        cur,
        min_count=pol.min_expected_per_bin,
        n_small=n_small,
        ordered=fp.kind == "numeric",
        sentinel=fp.sentinel,
    )
    bin_labels = fp.labels  # a computed property: once, not once per merged bin
    labels = tuple(_merged_label(bin_labels, g, fp.kind == "numeric") for g in merged.groups)
    n_big = math.inf if known_reference else n_ref
    if merged.bins < 2:
        warn.append(
            f"feature `{fp.feature}`{where}: fewer than 2 bins with ≥ "
            f"{pol.min_expected_per_bin:g} expected rows (n_current={n_cur:,}); PSI is NaN."
        )
        return nan_row
    contrib = psi_contributions(
        merged.reference_counts, merged.current_counts, smoothing=pol.smoothing
    )
    value = float(contrib.sum())
    return FeaturePSI(
        feature=fp.feature,
        kind=fp.kind,
        psi=value,
        n_reference=n_ref,
        n_current=n_cur,
        bins=merged.bins,
        critical_value=float(critical_value(n_big, n_cur, merged.bins, alpha=pol.alpha)),
        p_value=float(psi_p_value(value, n_big, n_cur, merged.bins)),
        bin_labels=labels,
        reference_counts=tuple(float(v) for v in merged.reference_counts),
        current_counts=tuple(float(v) for v in merged.current_counts),
        contributions=tuple(float(v) for v in contrib),
        window=window,
    )


def _status(row: FeaturePSI, p_bh: float, pol: DriftPolicy) -> str:
    if math.isnan(row.psi) or math.isnan(p_bh):
        return "insufficient_data"
    if p_bh < pol.alpha and row.psi > pol.tau_significant:
        return "significant"
    if p_bh < pol.alpha and row.psi > pol.tau_moderate:
        return "moderate"
    if row.critical_value >= pol.tau_moderate:
        return "insufficient_data"
    return "stable"


def _finish(rows: list[FeaturePSI], pol: DriftPolicy) -> list[FeaturePSI]:
    """BH across the rows (one table or one window) and the status of each."""
    q = benjamini_hochberg([r.p_value for r in rows]) if rows else np.array([])
    return [
        replace(r, p_value_bh=float(qi), status=_status(r, float(qi), pol))
        for r, qi in zip(rows, q, strict=True)
    ]


_TABLE_COLUMNS = [
    "feature",
    "kind",
    "psi",
    "n_reference",
    "n_current",
    "bins",
    "critical_value",
    "p_value",
    "p_value_bh",
    "status",
    "top_bins",
]


def _rows_frame(rows: Sequence[FeaturePSI], k: int, with_window: bool) -> pd.DataFrame:
    data = [
        [
            *([r.window] if with_window else []),
            r.feature,
            r.kind,
            r.psi,
            r.n_reference,
            r.n_current,
            r.bins,
            r.critical_value,
            r.p_value,
            r.p_value_bh,
            r.status,
            r.top_bins(k),
        ]
        for r in rows
    ]
    return pd.DataFrame(data, columns=[*(["window_start"] if with_window else []), *_TABLE_COLUMNS])


def _bins_frame(rows: Sequence[FeaturePSI], with_window: bool) -> pd.DataFrame:
    out = []
    for r in rows:
        n_r, n_c = sum(r.reference_counts), sum(r.current_counts)
        for lab, a, c, contrib in zip(
            r.bin_labels, r.reference_counts, r.current_counts, r.contributions, strict=True
        ):
            out.append(
                [
                    *([r.window] if with_window else []),
                    r.feature,
                    lab,
                    a,
                    c,
                    a / n_r,
                    c / n_c,
                    contrib,
                ]
            )
    cols = [
        "feature",
        "bin",
        "reference_count",
        "current_count",
        "reference_share",
        "current_share",
        "contribution",
    ]
    return pd.DataFrame(out, columns=[*(["window_start"] if with_window else []), *cols])


@dataclass(frozen=True, slots=True)
class PSITable:
    """PSI of every feature between the reference and one current sample.

    Attributes
    ----------
    rows : one :class:`FeaturePSI` per feature.
    alpha, tau_moderate, tau_significant, smoothing, min_expected_per_bin : the policy
        values used (STATISTICS.md §1).
    known_reference : critical values used ``1/M`` (reference treated as the population).
    multiplicity : correction across features (``"benjamini_hochberg"``).
    top_bins : how many contributing bins ``to_frame`` lists.
    warnings : data problems that did not invalidate the table.
    row_counts : rows of ``current`` read and used (a missing value is counted in its own
        bin, never dropped).
    """

    rows: tuple[FeaturePSI, ...]
    alpha: float
    tau_moderate: float
    tau_significant: float
    smoothing: float
    min_expected_per_bin: float
    known_reference: bool = False
    multiplicity: str = "benjamini_hochberg"
    top_bins: int = 3
    warnings: tuple[str, ...] = ()
    row_counts: RowCounts | None = None

    @property
    def flagged(self) -> tuple[str, ...]:
        """Features whose status is ``moderate`` or ``significant``."""
        return tuple(r.feature for r in self.rows if r.status in ("moderate", "significant"))

    def row(self, feature: str) -> FeaturePSI:
        for r in self.rows:
            if r.feature == feature:
                return r
        raise ValueError(f"PSI table has no feature `{feature}`.")

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: ``feature, kind, psi, n_reference, n_current, bins,
        critical_value, p_value, p_value_bh, status, top_bins``."""
        return _rows_frame(self.rows, self.top_bins, False)

    def bins_frame(self) -> pd.DataFrame:
        """One row per feature and merged bin with counts, shares and PSI contribution."""
        return _bins_frame(self.rows, False)

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        df = self.to_frame().drop(columns=["top_bins"])
        head = (
            f"PSI table: {len(self.rows)} features, {len(self.flagged)} flagged "
            f"(τ = {self.tau_moderate:g}/{self.tau_significant:g}, α = {self.alpha:g}, BH)"
        )
        rows = [f"rows: {self.row_counts.summary()}"] if self.row_counts is not None else []
        return "\n".join(
            [head, *rows, _display.text_table(df), *(f"warning: {w}" for w in self.warnings)]
        )

    def _repr_html_(self) -> str:
        head = self.summary().splitlines()[0]
        return (
            f"<div><strong>{_display.escape(head)}</strong>"
            f"{_display.table_html(self.to_frame())}{_display.warnings_html(self.warnings)}</div>"
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.plot_psi_table(self, ax=ax)


def _as_profile(
    reference: ReferenceProfile | frames.FrameLike,
    features: Sequence[str] | None,
    categorical: Sequence[str] | None,
    bins: int | None,
    policy: Policy | str | Path | None,
) -> ReferenceProfile:
    if isinstance(reference, ReferenceProfile):
        return reference
    return profile(reference, features=features, categorical=categorical, bins=bins, policy=policy)


def _select(prof: ReferenceProfile, features: Sequence[str] | None) -> list[FeatureProfile]:
    if features is None:
        return list(prof.features)
    return [prof.feature(f) for f in features]


def psi_table(
    reference: ReferenceProfile | frames.FrameLike,
    current: frames.FrameLike,
    *,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    bins: int | None = None,
    known_reference: bool = False,
    columns: Mapping[str, str] | None = None,
    policy: Policy | str | Path | None = None,
) -> PSITable:
    """PSI of each feature between a reference (frame or stored profile) and ``current``.

    Parameters
    ----------
    reference : a :class:`ReferenceProfile` or a frame (profiled on the fly with
        ``features``, ``categorical``, ``bins``).
    current : the current frame (pandas, polars eager/lazy, …); counted in one lazy pass.
    features : subset of the profile's features (default: all).
    known_reference : treat the reference as the population (``c_α`` uses ``1/M``); use it
        only when the reference sample is far larger than any current window.
    columns : mapping feature name → your column name, applied to both frames (a stored
        profile's names are already canonical); keys must be among ``features`` if given,
        else among a stored profile's features. A mapped column the frame lacks is an error.
    policy : policy (``drift`` section: τ, α, smoothing, minimum expected per bin).

    Raises
    ------
    ValueError
        When ``current`` has no rows, lacks a profiled feature, or holds a numeric feature
        with a non-numeric dtype (e.g. numbers as strings).
    """
    pol = drift_policy(policy)
    profiled = (
        [f.feature for f in reference.features] if isinstance(reference, ReferenceProfile) else None
    )
    keys = frames.feature_keys(features, columns, profiled)
    frames.check_columns(columns, keys, frame="current")
    if not isinstance(reference, ReferenceProfile):
        reference = frames.rename_columns(reference, columns, keys, frame="reference")
    prof = _as_profile(reference, features, categorical, bins, policy)
    fps = _select(prof, features)
    current = frames.rename_columns(current, columns, keys, frame="current")
    lf = frames.lazy(current, frame="current")
    specs = [fp.spec for fp in fps]
    frames.check_binnable(lf, specs, frame="current", finite=False)
    _, n, counts = frames.bin_counts(lf, specs, finite_check="current")  # ±inf: same pass
    if n[0] == 0:
        raise ValueError("current: the frame has no rows; there is nothing to compare.")
    warn = list(prof.warnings)
    rows = [
        _feature_psi(
            fp, counts[fp.feature][0], pol, known_reference=known_reference, window=None, warn=warn
        )
        for fp in fps
    ]
    return PSITable(
        rows=tuple(_finish(rows, pol)),
        alpha=pol.alpha,
        tau_moderate=pol.tau_moderate,
        tau_significant=pol.tau_significant,
        smoothing=pol.smoothing,
        min_expected_per_bin=pol.min_expected_per_bin,
        known_reference=known_reference,
        top_bins=pol.top_bins,
        warnings=tuple(warn),
        row_counts=RowCounts.of(int(n[0])),
    )


def psi(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    bins: int | None = None,
    categorical: bool | None = None,
    known_reference: bool = False,
    policy: Policy | str | Path | None = None,
) -> FeaturePSI:
    """PSI of one pair of samples (arrays), with the same rules as :func:`psi_table`.

    ``categorical`` defaults to ``True`` for string/object arrays. Missing values (NaN /
    None) get their own bin. ``status`` is decided on the single p-value (no BH).
    """
    pol = drift_policy(policy)
    b = pol.bins if bins is None else int(bins)
    for arg, values in (("reference", reference), ("current", current)):
        if np.ndim(values) != 1:
            raise ValueError(f"`{arg}` must be one-dimensional; got shape {np.shape(values)}.")
        if np.size(values) == 0:
            raise ValueError(f"`{arg}` must not be empty (no values to compare).")
    ref = pd.Series(np.asarray(reference, dtype=object) if categorical else reference, name="x")
    cur = pd.Series(np.asarray(current, dtype=object) if categorical else current, name="x")
    is_cat = categorical if categorical is not None else not pd.api.types.is_numeric_dtype(ref)
    if is_cat and categorical is None and pd.api.types.is_numeric_dtype(cur):
        raise ValueError(
            f"`reference` is text (dtype {ref.dtype}) but `current` is numeric: numbers stored "
            "as text? Cast `reference` to numbers, or pass categorical=True if both are codes."
        )
    if cur.isna().all():
        raise ValueError("`current` holds only missing values (NaN/None): nothing to compare.")
    if not is_cat:
        for arg, ser in (("reference", ref), ("current", cur)):
            vals = pd.to_numeric(ser, errors="coerce").to_numpy(dtype=float)
            n_inf = int(np.isinf(vals).sum())
            if n_inf:
                raise ValueError(
                    f"`{arg}` holds {n_inf} ±inf values; PSI bins need finite values: drop or "
                    "cap them first."
                )
    if is_cat:
        vc = ref.dropna().astype(str).value_counts(sort=False)
        vc = vc.sort_index().sort_values(ascending=False, kind="mergesort")
        cats = tuple(vc.index[: pol.max_categories])
        ref_counts = (
            *vc.iloc[: pol.max_categories],
            int(vc.iloc[pol.max_categories :].sum()),
            int(ref.isna().sum()),
        )
        fp = FeatureProfile(
            "x",
            "categorical",
            tuple(int(v) for v in ref_counts),
            categories=cats,
            n_distinct_at_most_one=vc.size <= 1,
        )
        cs = cur.dropna().astype(str)
        known = [int((cs == c).sum()) for c in cats]
        cur_counts = np.array([*known, cs.size - sum(known), int(cur.isna().sum())], dtype=float)
    else:
        if not pd.api.types.is_numeric_dtype(cur):
            raise ValueError(
                f"`current` must be numeric like `reference`; got dtype {cur.dtype} "
                "(numbers stored as strings? cast them first)."
            )
        r = ref.to_numpy(dtype=float)
        edges = quantile_edges(r, b)
        valid = r[~np.isnan(r)]
        fp = FeatureProfile(
            "x",
            "numeric",
            tuple(int(v) for v in _np_counts(r, edges)),
            edges=tuple(float(e) for e in edges),
            n_distinct_at_most_one=valid.size == 0 or valid.min() == valid.max(),
        )
        cur_counts = _np_counts(cur.to_numpy(dtype=float), edges)
    warn: list[str] = []
    if fp.n == 0:
        raise ValueError("`reference` must not be empty.")
    row = _feature_psi(fp, cur_counts, pol, known_reference=known_reference, window=None, warn=warn)
    return dataclasses.replace(_finish([row], pol)[0], warnings=tuple(warn))


def _np_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.bincount(bin_index(x, edges), minlength=edges.size + 2).astype(float)
