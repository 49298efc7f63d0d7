"""Input and output drift: which inputs moved, and did the score leave its normal band?

* :func:`profile` freezes a reference sample into a :class:`ReferenceProfile` (bin edges,
  categories, counts) that round-trips through JSON exactly, so a monitoring job compares a
  current window with the stored profile without the training data.
* :func:`psi_table` / :func:`psi` / :func:`psi_over_time`: PSI per feature with its sampling
  noise (critical value, p-value, Benjamini–Hochberg across features) and a status
  ``stable | moderate | significant | insufficient_data`` (STATISTICS.md §1).
* :func:`output_drift`: the score's PSI per window against a reference period, with a band
  from the reference period's own window-to-window variability and the sampling noise.

Outcome drift (AUC, calibration, lift on matured labels) is :func:`mlopskit.outcome.outcome_drift`,
re-exported here.

Status rule. With ``c_α`` the critical value and ``p_BH`` the BH-adjusted p-value across the
features of one table: ``significant`` when ``PSI > τ_significant`` and ``p_BH < α``;
``moderate`` when ``PSI > τ_moderate`` and ``p_BH < α``; ``insufficient_data`` when the PSI
could not be computed or when ``c_α ≥ τ_moderate`` and the PSI was not flagged (the window is
too small to call stable); else ``stable``. For one feature ``p < α`` is ``PSI > c_α``, so
this is STATISTICS.md's ``PSI > max(c_α, τ)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from mlopskit import _display, frames
from mlopskit.outcome import OutcomeDrift, WindowOutcome, outcome_drift
from mlopskit.policy import DriftPolicy, Policy, as_policy
from mlopskit.stats.multiple import benjamini_hochberg
from mlopskit.stats.psi import (
    critical_value,
    edges_from_quantiles,
    merge_sparse_bins,
    psi_contributions,
    psi_p_value,
    quantile_edges,
)

__all__ = [
    "FeaturePSI",
    "FeatureProfile",
    "OutcomeDrift",
    "OutputDrift",
    "PSIOverTime",
    "PSITable",
    "ReferenceProfile",
    "WindowOutcome",
    "outcome_drift",
    "output_drift",
    "profile",
    "psi",
    "psi_over_time",
    "psi_table",
]

STATUSES = ("stable", "moderate", "significant", "insufficient_data")
PROFILE_VERSION = 1


def drift_policy(policy: Policy | str | Path | None) -> DriftPolicy:
    """The ``drift`` section of a policy (defaults when ``None``)."""
    return as_policy(policy).section("drift", DriftPolicy)


# --------------------------------------------------------------------------------------
# Reference profile
# --------------------------------------------------------------------------------------
def _fmt_edge(v: float) -> str:
    return f"{v:.4g}"


@dataclass(frozen=True, slots=True)
class FeatureProfile:
    """Frozen bins of one feature in the reference.

    Attributes
    ----------
    feature : column name.
    kind : ``"numeric"`` (quantile bins) or ``"categorical"``.
    counts : reference rows per bin in the layout of ``labels`` (value bins, then
        ``__other__`` for categorical features, then ``__missing__``).
    edges : interior edges of the right-closed numeric bins (ties collapsed).
    categories : reference categories kept (most frequent first).
    dtype : the reference column's dtype (for error messages).
    n_distinct_at_most_one : the feature is constant (or all missing) in the reference.
    """

    feature: str
    kind: str
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    dtype: str = ""
    n_distinct_at_most_one: bool = False

    @property
    def n(self) -> int:
        return int(sum(self.counts))

    @property
    def n_missing(self) -> int:
        return int(self.counts[-1])

    @property
    def labels(self) -> tuple[str, ...]:
        if self.kind == "numeric":
            lows = ("-inf", *(_fmt_edge(e) for e in self.edges))
            highs = (*(_fmt_edge(e) for e in self.edges), "inf")
            vals = tuple(
                f"({lo}, {hi}]" if hi != "inf" else f"({lo}, inf)"
                for lo, hi in zip(lows, highs, strict=True)
            )
            return (*vals, frames.MISSING_BIN)
        return (*self.categories, frames.OTHER_BIN, frames.MISSING_BIN)

    @property
    def sentinel(self) -> tuple[bool, ...]:
        """Bins never merged: ``__missing__`` (and ``__other__`` for categorical)."""
        k = len(self.counts)
        extra = 1 if self.kind == "numeric" else 2
        return tuple(i >= k - extra for i in range(k))

    @property
    def spec(self) -> frames.BinSpec:
        if self.kind == "numeric":
            return frames.BinSpec(self.feature, "numeric", self.edges)
        return frames.BinSpec(self.feature, "categorical", categories=self.categories)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "counts": list(self.counts),
            "edges": list(self.edges),
            "categories": list(self.categories),
            "dtype": self.dtype,
            "n_distinct_at_most_one": self.n_distinct_at_most_one,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureProfile:
        return cls(
            feature=str(d["feature"]),
            kind=str(d["kind"]),
            counts=tuple(int(v) for v in d["counts"]),
            edges=tuple(float(v) for v in d.get("edges", ())),
            categories=tuple(str(v) for v in d.get("categories", ())),
            dtype=str(d.get("dtype", "")),
            n_distinct_at_most_one=bool(d.get("n_distinct_at_most_one", False)),
        )


@dataclass(frozen=True, slots=True)
class ReferenceProfile:
    """What monitoring needs to know about the reference sample (JSON round trip exact).

    Attributes
    ----------
    features : one :class:`FeatureProfile` per feature.
    n : reference rows.
    bins : requested bins per numeric feature (fewer after ties collapse).
    max_categories : categories kept per categorical feature.
    score : the score's profile when a score column was given (same bin rules).
    period : ISO start and end of the reference ``ts`` when ``ts`` was given.
    version : profile format version.
    warnings : data problems found while profiling (constant or all-missing features).
    """

    features: tuple[FeatureProfile, ...]
    n: int
    bins: int
    max_categories: int
    score: FeatureProfile | None = None
    period: tuple[str, str] | None = None
    version: int = PROFILE_VERSION
    warnings: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features)

    def feature(self, name: str) -> FeatureProfile:
        for f in self.features:
            if f.feature == name:
                return f
        if self.score is not None and self.score.feature == name:
            return self.score
        raise ValueError(f"reference profile has no feature `{name}`; it has {list(self.names)}.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "n": self.n,
            "bins": self.bins,
            "max_categories": self.max_categories,
            "period": list(self.period) if self.period else None,
            "features": [f.to_dict() for f in self.features],
            "score": self.score.to_dict() if self.score else None,
            "warnings": list(self.warnings),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """JSON text (floats written with ``repr``, so they read back bit for bit)."""
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> ReferenceProfile:
        """Read a profile written by :meth:`to_json` (JSON text or a file path)."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        d = json.loads(text)
        if d.get("version") != PROFILE_VERSION:
            raise ValueError(
                f"reference profile: `version` must be {PROFILE_VERSION}; got {d.get('version')!r}."
            )
        return cls(
            features=tuple(FeatureProfile.from_dict(f) for f in d["features"]),
            n=int(d["n"]),
            bins=int(d["bins"]),
            max_categories=int(d["max_categories"]),
            score=FeatureProfile.from_dict(d["score"]) if d.get("score") else None,
            period=(str(d["period"][0]), str(d["period"][1])) if d.get("period") else None,
            warnings=tuple(str(w) for w in d.get("warnings", ())),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per feature and bin: ``feature, kind, bin, count, share``."""
        rows = []
        for f in (*self.features, *([self.score] if self.score else [])):
            for lab, c in zip(f.labels, f.counts, strict=True):
                rows.append((f.feature, f.kind, lab, c, c / f.n if f.n else math.nan))
        return pd.DataFrame(rows, columns=["feature", "kind", "bin", "count", "share"])

    def summary(self) -> str:
        kinds = pd.Series([f.kind for f in self.features]).value_counts().to_dict()
        lines = [
            f"Reference profile: {self.n:,} rows, {len(self.features)} features {kinds}, "
            f"{self.bins} bins"
            + (f", period {self.period[0]} – {self.period[1]}" if self.period else ""),
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        df = pd.DataFrame(
            [
                (f.feature, f.kind, len(f.counts), f.n_missing, f.n)
                for f in (*self.features, *([self.score] if self.score else []))
            ],
            columns=["feature", "kind", "bins", "n_missing", "n"],
        )
        return (
            f"<div><strong>{_display.escape(self.summary().splitlines()[0])}</strong>"
            f"{_display.table_html(df)}{_display.warnings_html(self.warnings)}</div>"
        )


def _resolve_features(
    sch: Mapping[str, Any],
    features: Sequence[str] | None,
    categorical: Sequence[str] | None,
    exclude: Sequence[str],
    frame: str,
) -> tuple[list[str], list[str]]:
    """Split features into numeric and categorical from dtypes (and explicit choices)."""
    cat_set = set(categorical or ())
    if features is None:
        chosen = [
            c
            for c in sch
            if c not in exclude
            and (frames.is_numeric_dtype(sch[c]) or frames.is_string_dtype(sch[c]) or c in cat_set)
        ]
    else:
        chosen = list(features)
        for c in chosen:
            if c not in sch:
                raise ValueError(
                    f"{frame}: feature `{c}` is missing. Columns found: {sorted(sch)[:20]}."
                )
    missing_cat = sorted(cat_set - set(chosen))
    if missing_cat:
        raise ValueError(f"`categorical` lists {missing_cat}, which are not among the features.")
    numeric, cats = [], []
    for c in chosen:
        if c in cat_set or frames.is_string_dtype(sch[c]):
            cats.append(c)
        elif frames.is_numeric_dtype(sch[c]):
            numeric.append(c)
        else:
            raise ValueError(
                f"{frame}: feature `{c}` must be numeric or string (categorical); found dtype "
                f"{sch[c]}. Drop it from `features` or list it in `categorical`."
            )
    return numeric, cats


def _numeric_profiles(
    lf: Any, names: Sequence[str], bins: int, sch: Mapping[str, Any]
) -> tuple[list[FeatureProfile], list[str]]:
    probs = [k / bins for k in range(1, bins)]
    summ = frames.numeric_summary(lf, names, probs)
    specs, warns = [], []
    for f in names:
        s = summ[f]
        edges = edges_from_quantiles(s["quantiles"], maximum=s["max"])
        specs.append(frames.BinSpec(f, "numeric", tuple(float(e) for e in edges)))
        if s["n_valid"] == 0:
            warns.append(f"feature `{f}`: all values are missing in the reference; PSI is NaN.")
        elif s["min"] == s["max"]:
            warns.append(
                f"feature `{f}`: constant in the reference (every value {s['min']:g}); PSI is NaN."
            )
    _, _, counts = frames.bin_counts(lf, specs) if specs else (None, None, {})
    out = [
        FeatureProfile(
            feature=sp.feature,
            kind="numeric",
            counts=tuple(int(v) for v in counts[sp.feature][0]),
            edges=sp.edges,
            dtype=str(sch[sp.feature]),
            n_distinct_at_most_one=summ[sp.feature]["n_valid"] == 0
            or summ[sp.feature]["min"] == summ[sp.feature]["max"],
        )
        for sp in specs
    ]
    return out, warns


def _categorical_profile(
    lf: Any, name: str, max_categories: int, dtype: Any
) -> tuple[FeatureProfile, list[str]]:
    cats, counts, n_missing = frames.category_counts(lf, name)
    kept, rest = cats[:max_categories], counts[max_categories:]
    warns = []
    if len(cats) <= 1:
        what = "all values are missing" if not cats else f"constant (every value {cats[0]!r})"
        warns.append(f"feature `{name}`: {what} in the reference; PSI is NaN.")
    if rest:
        warns.append(
            f"feature `{name}`: {len(cats)} categories; the {len(rest)} rarest "
            f"({sum(rest):,} rows) count in {frames.OTHER_BIN}."
        )
    fp = FeatureProfile(
        feature=name,
        kind="categorical",
        counts=(*counts[:max_categories], int(sum(rest)), int(n_missing)),
        categories=tuple(kept),
        dtype=str(dtype),
        n_distinct_at_most_one=len(cats) <= 1,
    )
    return fp, warns


def profile(
    reference: frames.FrameLike,
    *,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    bins: int | None = None,
    score: str | None = None,
    ts: str | None = None,
    max_categories: int | None = None,
    policy: Policy | str | Path | None = None,
) -> ReferenceProfile:
    """Freeze the reference sample's bins, categories and counts.

    Parameters
    ----------
    reference : the reference (training / baseline) frame: pandas, polars (eager/lazy), …
    features : feature columns (default: every numeric or string column except ``score``
        and ``ts``).
    categorical : features to bin by category (default: string-typed features). Numeric
        columns listed here are compared as strings.
    bins : quantile bins per numeric feature (policy ``drift.bins``, 10). Edges are the
        reference quantiles ``k/B`` with ties collapsed (STATISTICS.md §1).
    score : optional score column, profiled with the same rules.
    ts : optional timestamp column; the reference period is stored.
    max_categories : categories kept per categorical feature (policy, 50).

    Aggregation: one lazy select for the quantiles, one for the bin counts, one group-by
    per categorical feature; nothing is materialized whole.
    """
    pol = drift_policy(policy)
    b = pol.bins if bins is None else int(bins)
    if b < 2:
        raise ValueError(f"`bins` must be ≥ 2; got {bins!r}.")
    kmax = pol.max_categories if max_categories is None else int(max_categories)
    lf = frames.lazy(reference, frame="reference")
    sch = frames.schema(lf)
    exclude = [c for c in (score, ts) if c is not None]
    numeric, cats = _resolve_features(sch, features, categorical, exclude, "reference")
    if not numeric and not cats:
        raise ValueError("reference: no feature to profile (no numeric or string column).")
    for c in exclude:
        if c not in sch:
            raise ValueError(
                f"reference: column `{c}` is missing. Columns found: {sorted(sch)[:20]}."
            )
    if score is not None and not frames.is_numeric_dtype(sch[score]):
        raise ValueError(f"reference: score column `{score}` must be numeric; found {sch[score]}.")
    num_profiles, warns = _numeric_profiles(lf, [*numeric, *([score] if score else [])], b, sch)
    by_name = {p.feature: p for p in num_profiles}
    for c in cats:
        by_name[c], w = _categorical_profile(lf, c, kmax, sch[c])
        warns += w
    n = frames.n_rows(lf)
    if n == 0:
        raise ValueError("reference: the frame has no rows.")
    period = None
    if ts is not None:
        r = frames.collect(
            lf.select(frames.nw.col(ts).min().alias("a"), frames.nw.col(ts).max().alias("b"))
        )
        period = (
            pd.Timestamp(r["a"].iloc[0]).isoformat(),
            pd.Timestamp(r["b"].iloc[0]).isoformat(),
        )
    order = [c for c in (features or [*numeric, *cats]) if c != score]
    return ReferenceProfile(
        features=tuple(by_name[c] for c in order),
        n=n,
        bins=b,
        max_categories=kmax,
        score=by_name[score] if score else None,
        period=period,
        warnings=tuple(warns),
    )


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

    def top_bins(self, k: int = 3) -> str:
        """The ``k`` bins contributing most to the PSI, ``"label: contribution"``."""
        if not self.contributions:
            return ""
        order = np.argsort(self.contributions)[::-1][:k]
        return "; ".join(f"{self.bin_labels[i]}: {self.contributions[i]:.4f}" for i in order)


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
    labels = tuple(_merged_label(fp.labels, g, fp.kind == "numeric") for g in merged.groups)
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
    cols = ["feature", "bin", "reference_count", "current_count", "reference_share",
            "current_share", "contribution"]  # fmt: skip
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

    def summary(self) -> str:
        df = self.to_frame().drop(columns=["top_bins"])
        head = (
            f"PSI table: {len(self.rows)} features, {len(self.flagged)} flagged "
            f"(τ = {self.tau_moderate:g}/{self.tau_significant:g}, α = {self.alpha:g}, BH)"
        )
        return "\n".join([head, _display.text_table(df), *(f"warning: {w}" for w in self.warnings)])

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
    policy : policy (``drift`` section: τ, α, smoothing, minimum expected per bin).

    Raises
    ------
    ValueError
        When ``current`` has no rows, lacks a profiled feature, or holds a numeric feature
        with a non-numeric dtype (e.g. numbers as strings).
    """
    pol = drift_policy(policy)
    prof = _as_profile(reference, features, categorical, bins, policy)
    fps = _select(prof, features)
    lf = frames.lazy(current, frame="current")
    specs = [fp.spec for fp in fps]
    frames.check_binnable(lf, specs, frame="current")
    _, n, counts = frames.bin_counts(lf, specs)
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
    ref = pd.Series(np.asarray(reference, dtype=object) if categorical else reference, name="x")
    cur = pd.Series(np.asarray(current, dtype=object) if categorical else current, name="x")
    is_cat = categorical if categorical is not None else not pd.api.types.is_numeric_dtype(ref)
    if is_cat:
        vc = ref.dropna().astype(str).value_counts(sort=False)
        vc = vc.sort_index().sort_values(ascending=False, kind="mergesort")
        cats = tuple(vc.index[: pol.max_categories])
        ref_counts = (
            *vc.iloc[: pol.max_categories],
            int(vc.iloc[pol.max_categories :].sum()),
            int(ref.isna().sum()),
        )
        fp = FeatureProfile("x", "categorical", tuple(int(v) for v in ref_counts), categories=cats,
                            n_distinct_at_most_one=vc.size <= 1)  # fmt: skip
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
        fp = FeatureProfile("x", "numeric", tuple(int(v) for v in _np_counts(r, edges)),
                            edges=tuple(float(e) for e in edges),
                            n_distinct_at_most_one=valid.size == 0 or valid.min() == valid.max())  # fmt: skip
        cur_counts = _np_counts(cur.to_numpy(dtype=float), edges)
    warn: list[str] = []
    if fp.n == 0:
        raise ValueError("`reference` must not be empty.")
    row = _feature_psi(fp, cur_counts, pol, known_reference=known_reference, window=None, warn=warn)
    return _finish([row], pol)[0]


def _np_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    from mlopskit.stats.psi import bin_index

    return np.bincount(bin_index(x, edges), minlength=edges.size + 2).astype(float)


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
        return PSITable(rows, self.alpha, self.tau_moderate, self.tau_significant, self.smoothing,
                        math.nan, self.known_reference, top_bins=self.top_bins)  # fmt: skip

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
    anchor: Any = None,
    policy: Policy | str | Path | None = None,
) -> PSIOverTime:
    """:func:`psi_table` per time window of ``current`` (one lazy group-by for all windows).

    Windows are ``ts`` truncated to ``window`` (policy ``drift.window``, ``"1D"``), or start
    at ``anchor`` and its multiples of the window length when given; only windows with rows
    appear. BH is applied across features within each window.
    """
    pol = drift_policy(policy)
    every, _ = frames.parse_window(window or pol.window)
    prof = _as_profile(reference, features, None, None, policy)
    fps = _select(prof, features)
    lf = frames.lazy(current, frame="current")
    sch = frames.schema(lf)
    if ts not in sch:
        raise ValueError(
            f"current: timestamp column `{ts}` is missing. Columns: {sorted(sch)[:20]}."
        )
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
    warnings : data problems.
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
    warnings: tuple[str, ...] = ()

    @property
    def flagged_windows(self) -> tuple[pd.Timestamp, ...]:
        """Windows after the reference period whose PSI is above the band."""
        return tuple(
            w for w, o, r in zip(self.windows, self.out_of_band, self.in_reference, strict=True)
            if o and not r
        )  # fmt: skip

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
                "out_of_band": list(self.out_of_band),
                "status": list(self.status),
            }
        )

    def summary(self) -> str:
        fl = self.flagged_windows
        head = (
            f"Output drift: {len(self.windows)} windows of {self.window}; reference "
            f"{self.reference_period[0].date()} – {self.reference_period[1].date()} "
            f"(N = {self.n_reference:,}); overdispersion {self.overdispersion:.2f}; "
            f"{len(fl)} windows above the band" + (f", first {fl[0].date()}" if fl else "")
        )
        return "\n".join([head, *(f"warning: {w}" for w in self.warnings)])

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

    The band of window ``w`` is ``φ̂·χ²_{B_w−1, 1−band_alpha}·(1/N + 1/M_w)``: the sampling
    critical value scaled by the reference period's overdispersion ``φ̂ ≥ 1`` (see
    :class:`OutputDrift`). Aggregation: one lazy select for the reference quantiles, one
    lazy group-by for the counts of every window.
    """
    pol = drift_policy(policy)
    b = pol.bins if bins is None else int(bins)
    every, length = frames.parse_window(window or pol.window)
    contract = frames.SCORED_EVENTS.without("label", "label_ts")
    lf = frames.validate(scores, contract, columns={"score": score, "ts": ts}, frame="scores")
    start, end = (pd.Timestamp(reference_period[0]), pd.Timestamp(reference_period[1]))
    if not start < end:
        raise ValueError(
            f"`reference_period` must be (start, end) with start < end; got {reference_period!r}."
        )
    ref_lf = frames.time_filter(lf, "ts", start, end)
    summ = frames.numeric_summary(ref_lf, ["score"], [k / b for k in range(1, b)])["score"]
    if summ["n_valid"] == 0:
        raise ValueError(f"scores: no rows in `reference_period` {start} – {end}.")
    edges = quantile_edges_from(summ)
    spec = frames.BinSpec("score", "numeric", edges)
    wins, n, counts = frames.bin_counts(lf, [spec], ts="ts", every=every, anchor=start)
    c = counts["score"]
    tz = wins[0].tz if wins and wins[0] is not None else None
    s_cmp = start.tz_localize(tz) if tz and start.tzinfo is None else start
    e_cmp = end.tz_localize(tz) if tz and end.tzinfo is None else end
    in_ref = np.array([w is not None and w >= s_cmp and w + length <= e_cmp for w in wins])
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
        merged = merge_sparse_bins(r, c[i], min_count=pol.min_expected_per_bin,
                                   n_small=min(nr, nc), ordered=True, sentinel=sentinel)  # fmt: skip
        if merged.bins < 2 or nr == 0:
            psis.append(math.nan)
            bins_w.append(merged.bins)
            cvs.append(math.nan)
            ps.append(math.nan)
            warn.append(f"window {wins[i]}: too few scores ({int(nc)}) for 2 bins; PSI is NaN.")
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
            f"reference period has {len(ratios)} complete windows; the band uses sampling noise "
            "only (overdispersion set to 1)."
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
        warnings=tuple(warn),
    )


def quantile_edges_from(summary: Mapping[str, Any]) -> tuple[float, ...]:
    """Edges from a :func:`mlopskit.frames.numeric_summary` entry (ties collapsed)."""
    e = edges_from_quantiles(summary["quantiles"], maximum=summary["max"])
    return tuple(float(v) for v in e)
