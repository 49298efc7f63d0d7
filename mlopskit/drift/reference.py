"""Reference profiles: a reference sample frozen into bins, categories and counts.

:func:`profile` reduces a reference (training / baseline) frame to a
:class:`ReferenceProfile` that round-trips through JSON exactly, so a monitoring job compares
a current window with the stored profile without the training data (STATISTICS.md §1: edges
are reference quantiles with ties collapsed, never pooled reference + current data).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlopskit import _display, frames
from mlopskit.policy import DriftPolicy, Policy, as_policy
from mlopskit.rows import RowCounts

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
    edges_from : how the numeric edges were found: ``"exact"`` (order statistics of every
        valid value) or the sample they came from (counts are always exact).
    dropped : ``(reason, rows)`` read but left out before profiling (outside the declared
        ``window``, or no ``ts`` to place them); see :attr:`row_counts`.
    """

    features: tuple[FeatureProfile, ...]
    n: int
    bins: int
    max_categories: int
    score: FeatureProfile | None = None
    period: tuple[str, str] | None = None
    version: int = PROFILE_VERSION
    warnings: tuple[str, ...] = ()
    edges_from: str = "exact"
    dropped: tuple[tuple[str, int], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features)

    @property
    def row_counts(self) -> RowCounts:
        """Rows read, used (profiled: ``n``) and dropped by reason, with per feature in
        ``by`` the rows holding a value and the null/NaN ones, which are counted in the
        ``__missing__`` bin (never dropped from the PSI; ±inf is refused, never binned)."""
        per = {
            f"`{f.feature}` values": RowCounts.of(
                self.n, {"null/NaN (counted in the __missing__ bin)": f.n_missing}
            )
            for f in (*self.features, *([self.score] if self.score else []))
        }
        return RowCounts.of(
            self.n + sum(k for _, k in self.dropped), self.dropped, by=per, unit="rows"
        )

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
            "edges_from": self.edges_from,
            **({"dropped": [list(d) for d in self.dropped]} if self.dropped else {}),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """JSON text (floats written with ``repr``, so they read back bit for bit)."""
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> ReferenceProfile:
        """Read a profile written by :meth:`to_json` (JSON text or a file path); anything
        else (a missing path, a directory, another file, a malformed profile) is a
        ``ValueError`` naming the source and what is wrong."""
        text, source = str(text_or_path), "JSON text"
        if not text.lstrip().startswith("{"):
            path = Path(text_or_path)
            source = f"`{path}`"
            if not path.is_file():
                raise ValueError(
                    f"reference profile: {source} is not a file (missing, or a directory); give "
                    "the path or the text ReferenceProfile.to_json wrote."
                )
            text = path.read_text(encoding="utf-8", errors="replace")
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"reference profile {source}: not JSON ({exc}); give the path or the text "
                "ReferenceProfile.to_json wrote."
            ) from exc
        if not isinstance(d, dict) or d.get("version") != PROFILE_VERSION:
            got = d.get("version") if isinstance(d, dict) else type(d).__name__
            raise ValueError(
                f"reference profile {source}: `version` must be {PROFILE_VERSION}; got {got!r}."
            )
        try:
            return cls(
                features=tuple(FeatureProfile.from_dict(f) for f in d["features"]),
                n=int(d["n"]),
                bins=int(d["bins"]),
                max_categories=int(d["max_categories"]),
                score=FeatureProfile.from_dict(d["score"]) if d.get("score") else None,
                period=(str(d["period"][0]), str(d["period"][1])) if d.get("period") else None,
                warnings=tuple(str(w) for w in d.get("warnings", ())),
                edges_from=str(d.get("edges_from", "exact")),
                dropped=tuple((str(r), int(k)) for r, k in d.get("dropped", ())),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(
                f"reference profile {source}: malformed ({type(exc).__name__}: {exc}); write it "
                "with ReferenceProfile.to_json."
            ) from exc

    def to_frame(self) -> pd.DataFrame:
        """One row per feature and bin: ``feature, kind, bin, count, share``."""
        rows = []
        for f in (*self.features, *([self.score] if self.score else [])):
            for lab, c in zip(f.labels, f.counts, strict=True):
                rows.append((f.feature, f.kind, lab, c, c / f.n if f.n else math.nan))
        return pd.DataFrame(rows, columns=["feature", "kind", "bin", "count", "share"])

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        kinds = pd.Series([f.kind for f in self.features]).value_counts().to_dict()
        lines = [
            f"Reference profile: {self.n:,} rows, {len(self.features)} features {kinds}, "
            f"{self.bins} bins"
            + (f", period {self.period[0]} – {self.period[1]}" if self.period else ""),
        ]
        lines.append(f"rows: {self.row_counts.summary()}")
        if self.edges_from != "exact":
            lines.append(f"numeric edges from a {self.edges_from}")
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
            f"<div>rows: {_display.escape(self.row_counts.summary())}</div>"
            f"{_display.table_html(df)}{_display.warnings_html(self.warnings)}</div>"
        )

    def plot(self, feature: str | None = None, ax: Any = None) -> Any:
        """Reference shares per bin of one feature (default: the first)."""
        from mlopskit import plots

        fp = self.feature(feature) if feature is not None else self.features[0]
        return plots.plot_profile_feature(fp, ax=ax)


#: Columns never taken as features by default (``features=None``): contract columns and
#: names that say id, timestamp, label or score. Listing one in ``features=`` includes it.
NOT_FEATURE_NAMES = frozenset(
    {"id", "ts", "label", "label_ts", "score", "prediction", "arm", "flagged", "unit_id",
     "request_id", "target", "y", "timestamp"}
)  # fmt: skip
_NOT_FEATURE_RE = re.compile(
    r"(^|_)(id|ts|timestamp|time|date|at)$|^(score|label|prediction)_|_(score|label|prediction)$",
    re.IGNORECASE,
)


def default_excluded(columns: Sequence[str]) -> list[str]:
    """The columns :data:`NOT_FEATURE_NAMES` / the name rule keep out of the default features."""
    return [c for c in columns if c.lower() in NOT_FEATURE_NAMES or _NOT_FEATURE_RE.search(c)]


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


def _numeric_profile(
    name: str, r: frames.NumericReference, dtype: Any
) -> tuple[FeatureProfile, list[str]]:
    warns = []
    if r.n_valid and not (math.isfinite(r.min) and math.isfinite(r.max)):
        raise ValueError(
            f"reference: feature `{name}` holds ±inf values (min {r.min}, max {r.max}); "
            "PSI bins need finite values (an infinite amount is a logging bug, not the "
            "largest bin): drop or cap them first."
        )
    if r.n_valid == 0:
        warns.append(f"feature `{name}`: all values are missing in the reference; PSI is NaN.")
    elif r.min == r.max:
        warns.append(
            f"feature `{name}`: constant in the reference (every value {r.min:g}); PSI is NaN."
        )
    fp = FeatureProfile(
        feature=name,
        kind="numeric",
        counts=r.counts,
        edges=r.edges,
        dtype=str(dtype),
        n_distinct_at_most_one=r.n_valid == 0 or r.min == r.max,
    )
    return fp, warns


def _refuse_numbers_as_text(name: str, categories: Sequence[str]) -> None:
    """A text feature whose every value is a number was meant to be numeric."""
    try:
        [float(c) for c in categories]
    except (TypeError, ValueError):
        return
    raise ValueError(
        f"reference: feature `{name}` is text but every value is a number (e.g. "
        f"{list(categories[:3])}): numbers stored as text would be compared as categories, "
        "so a shift in magnitude reads as stable. Cast the column to a numeric dtype, or list "
        "it in `categorical=` if the numbers are codes."
    )


def _categorical_profile(
    name: str, value_counts: tuple[list[str], list[int], int], max_categories: int, dtype: Any
) -> tuple[FeatureProfile, list[str]]:
    cats, counts, n_missing = value_counts
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
    quantile_sample: int | None = None,
    seed: int = 0,
    window: tuple[Any, Any] | None = None,
    columns: Mapping[str, str] | None = None,
    policy: Policy | str | Path | None = None,
) -> ReferenceProfile:
    """Freeze the reference sample's bins, categories and counts.

    Parameters
    ----------
    reference : the reference (training / baseline) frame: pandas, polars (eager/lazy), …
    features : feature columns (default: every numeric or string column except ``score``,
        ``ts`` and the columns :func:`default_excluded` names — ids, timestamps, labels,
        scores — which the result's warnings list).
    categorical : features to bin by category (default: string-typed features). Numeric
        columns listed here are compared as strings.
    bins : quantile bins per numeric feature (policy ``drift.bins``, 10). Edges are the
        reference quantiles ``k/B`` with ties collapsed (STATISTICS.md §1).
    score : optional score column, profiled with the same rules.
    ts : optional timestamp column; the reference period is stored.
    max_categories : categories kept per categorical feature (policy, 50).
    quantile_sample : how the numeric edges are found. ``None`` (default): exactly (the
        order statistics of every valid value) up to ``frames.EXACT_MAX_ROWS`` (2·10⁷)
        rows, above that from a seeded uniform sample of ``frames.DEFAULT_QUANTILE_SAMPLE``
        (2·10⁶) rows, so memory stays flat in rows; ``0``: always exact; ``k``: from a
        sample of ``k`` rows whenever the reference has more. Counts are always exact;
        with a sample the edges are the same order statistics of the sample, each edge's
        quantile level off by at most ``0.5/√k`` (one standard error), and the profile
        records it (``edges_from``). Sampling needs polars (a path or a polars frame);
        other engines compute exact edges.
    seed : seed of the sample (the hash of the row index).
    window : ``(start, end)``: profile only the rows with ``start ≤ ts < end`` (``ts``
        defaults to ``"ts"``); the rows before, at or after the end and without ``ts`` are
        counted in :attr:`ReferenceProfile.row_counts` as dropped (one extra select on ``ts``).
    columns : mapping canonical name (a feature, ``score``, ``ts``) → your column name; the
        profile records the canonical names. Keys must be among ``features`` (if given),
        ``score`` and ``ts``.

    Aggregation: one pass (polars: per numeric column one expression sorts the valid
    values, gathers the order statistics and counts the values at or below each; one
    group-by per categorical column); with a sample, one pass for the sample and one for
    the exact counts. Nothing is materialized whole beyond one group of columns.
    """
    pol = drift_policy(policy)
    b = pol.bins if bins is None else int(bins)
    if b < 2:
        raise ValueError(f"`bins` must be ≥ 2; got {bins!r}.")
    kmax = pol.max_categories if max_categories is None else int(max_categories)
    keys = frames.feature_keys(features, columns) | {"score", "ts"}
    cmap = frames.check_columns(columns, keys, frame="reference")
    score = frames.keyword_column(score, "score", cmap, frame="reference")
    ts = frames.keyword_column(ts, "ts", cmap, frame="reference")
    reference = frames.rename_columns(reference, cmap, keys, frame="reference")
    lf = frames.lazy(reference, frame="reference")
    sch = frames.schema(lf)
    dropped: dict[str, int] = {}
    if window is not None:
        ts = ts or "ts"
        lf, dropped = _window_rows(lf, sch, ts, window)
    exclude = [c for c in (score, ts) if c is not None]
    skipped: list[str] = []
    if features is None:  # ids, timestamps, labels and scores are not features by default
        skipped = [c for c in default_excluded(list(sch)) if c not in exclude]
        exclude += skipped
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
    if quantile_sample is not None and int(quantile_sample) < 0:
        raise ValueError(f"`quantile_sample` must be None or ≥ 0; got {quantile_sample!r}.")
    num_names = [*numeric, *([score] if score else [])]
    rc = frames.reference_counts(lf, num_names, cats, b, sample=quantile_sample, seed=seed)
    n = rc.n
    if n == 0:
        raise ValueError("reference: the frame has no rows.")
    by_name: dict[str, FeatureProfile] = {}
    warns: list[str] = []
    if n < b:
        warns.append(
            f"reference: only {n:,} rows for {b} bins per numeric feature; quantile bins "
            "collapse and a PSI against this reference has little power (profile a larger "
            "reference sample)."
        )
    for c in num_names:
        by_name[c], w = _numeric_profile(c, rc.numeric[c], sch[c])
        warns += w
    for c in cats:
        by_name[c], w = _categorical_profile(c, rc.categorical[c], kmax, sch[c])
        if c not in set(categorical or ()) and by_name[c].categories:
            _refuse_numbers_as_text(c, by_name[c].categories)
        warns += w
    edges_from = "exact"
    if rc.method == "sample":
        edges_from = (
            f"sample of {rc.sample_size:,} rows (hashed row index, seed {rc.sample_seed}); "
            f"edge quantile levels within ±{0.5 / math.sqrt(rc.sample_size or 1):.2g} (1 s.e.)"
        )
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
        warnings=tuple(
            warns
            + (
                [
                    f"features not given: left out id, timestamp, label and score columns "
                    f"{skipped}; pass `features=` to profile any of them."
                ]
                if skipped
                else []
            )
        ),
        edges_from=edges_from,
        dropped=tuple((r, k) for r, k in dropped.items() if k),
    )


def _window_rows(
    lf: Any, sch: Mapping[str, Any], ts: str, window: tuple[Any, Any]
) -> tuple[Any, dict[str, int]]:
    """The rows with ``start ≤ ts < end`` and the counts of the others, by reason."""
    if ts not in sch or sch[ts] != frames.nw.Datetime:
        found = sch[ts] if ts in sch else "no such column"
        raise ValueError(
            f"reference: `window` needs a datetime `ts` column to place rows; `{ts}`: {found}. "
            "Name it with `ts=`."
        )
    if len(window) != 2 or any(w is None for w in window):
        raise ValueError(f"`window` must be (start, end); got {window!r}.")
    try:
        start, end = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"`window` must be two dates (start, end); got {window!r}.") from exc
    if not start < end:
        raise ValueError(f"`window` must have start < end; got {start} – {end}.")
    (inside,), c = frames.range_counts(lf, ts, [(start, end)], window=(start, end))
    if inside == 0:
        raise ValueError(
            f"reference: no rows with {start} ≤ `{ts}` < {end} (`window`); of {c['read']:,} "
            f"rows read, {c['before']:,} are before it and {c['after']:,} at or after its end."
        )
    dropped = {
        f"before the window ({start})": c["before"],
        f"at or after the window end ({end})": c["after"],
        "`ts` missing": c["read"] - inside - c["before"] - c["after"],
    }
    return frames.time_filter(lf, ts, start, end), dropped
