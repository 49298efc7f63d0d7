"""What data does this model have? Volumes, label maturity at a glance, score distributions.

The first section of every report: before any test, a reviewer sees how much data each log
holds per day, how many labels have arrived for each weekly cohort, and how the scores are
distributed. Everything is reduced to small counts by :mod:`mlopskit.frames` (lazily, where
the data lives); this module only shapes those counts.

These are descriptive views, not tests: the label view shows *raw* arrived-label rates per
cohort (a proper maturity model is :func:`mlopskit.labels.label_maturity`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import frames
from mlopskit._display import escape, nan_safe_eq, short_repr, table_html, text_table, warnings_html

#: default score bin edges: 0, then log-spaced from 1e-4 to 1 (10 bins per decade). Fraud
#: scores are calibrated probabilities concentrated near 0, so linear bins would put almost
#: every score in the first bin.
DEFAULT_EDGES: tuple[float, ...] = (0.0, *np.round(np.logspace(-4, 0, 41), 12).tolist())

LOW_VOLUME_RATIO = 0.5
"""A day with fewer than this share of the source's median daily rows is flagged."""


def _fmt_day(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------------------
# Volumes
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Volumes:
    """Rows per day of each data source.

    Attributes
    ----------
    counts : long frame ``day, source, n`` (every day between a source's first and last day,
        zero-filled).
    as_of : rows at or after this time were not counted (``None``: all rows).
    low_volume_ratio : a day below this share of the source's median is flagged.
    warnings : gaps and unusually low days.
    """

    counts: pd.DataFrame
    as_of: pd.Timestamp | None
    low_volume_ratio: float = LOW_VOLUME_RATIO
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per source: first/last day, days, rows, mean/min/max rows per day."""
        rows = []
        for source, g in self.counts.groupby("source", sort=False):
            rows.append(
                {
                    "source": source,
                    "first_day": _fmt_day(g["day"].min()),
                    "last_day": _fmt_day(g["day"].max()),
                    "days": len(g),
                    "rows": int(g["n"].sum()),
                    "mean_per_day": round(float(g["n"].mean())),
                    "min_per_day": int(g["n"].min()),
                    "max_per_day": int(g["n"].max()),
                }
            )
        return pd.DataFrame(rows)

    __repr__ = short_repr
    __eq__ = nan_safe_eq

    def summary(self) -> str:
        return "Rows per day\n" + text_table(self.to_frame(), digits=5)

    def _repr_html_(self) -> str:
        return table_html(self.to_frame(), caption="Rows per day by source", digits=5) + (
            warnings_html(self.warnings)
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.volumes(self.counts, ax=ax)


def volumes(
    sources: Mapping[str, frames.FrameLike],
    *,
    ts: str = "ts",
    split: Mapping[str, str] | None = None,
    as_of: pd.Timestamp | str | None = None,
    low_volume_ratio: float = LOW_VOLUME_RATIO,
) -> Volumes:
    """Rows per day of each source (e.g. ``{"production events": events, ...}``).

    Parameters
    ----------
    sources : name → frame or path; each needs a datetime column ``ts``.
    split : name → column whose values become separate series (e.g. the canary log's
        ``arm``: ``"canary log · control"`` and ``"canary log · canary"``).
    as_of : rows at or after this time are not counted.
    low_volume_ratio : flag days below this share of the source's median daily rows.
    """
    if not 0 < low_volume_ratio < 1:
        raise ValueError(f"`low_volume_ratio` must be in (0, 1); got {low_volume_ratio!r}.")
    cutoff = None if as_of is None else pd.Timestamp(as_of)
    split = dict(split or {})
    parts: list[pd.DataFrame] = []
    warnings: list[str] = []
    for name, data in sources.items():
        by = split.get(name)
        df = frames.daily_counts(data, ts=ts, by=by, as_of=cutoff, frame=name)
        groups = (
            [(name, df)]
            if by is None
            else [(f"{name} · {v}", g) for v, g in df.groupby(by, sort=True)]
        )
        for label, g in groups:
            if g.empty:
                warnings.append(f"{label}: no rows.")
                continue
            days = pd.date_range(g["day"].min(), g["day"].max(), freq="D")
            full = g.set_index("day")["n"].reindex(days, fill_value=0)
            gaps = [d for d, n in full.items() if n == 0]
            if gaps:
                shown = ", ".join(_fmt_day(d) for d in gaps[:5])
                warnings.append(f"{label}: {len(gaps)} day(s) without rows ({shown}).")
            med = float(full[full > 0].median())
            low = [d for d, n in full.items() if 0 < n < low_volume_ratio * med]
            if low:
                shown = ", ".join(_fmt_day(d) for d in low[:5])
                warnings.append(
                    f"{label}: {len(low)} day(s) below {low_volume_ratio:.0%} of the median "
                    f"{med:,.0f} rows/day ({shown})."
                )
            parts.append(pd.DataFrame({"day": days, "source": label, "n": full.to_numpy()}))
    counts = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"day": pd.Series(dtype="datetime64[us]"), "source": [], "n": []})
    )
    return Volumes(counts, cutoff, low_volume_ratio, tuple(warnings))


# --------------------------------------------------------------------------------------
# Label maturity at a glance
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LabelGlance:
    """Arrived positive labels per weekly cohort of events, with each cohort's age.

    Attributes
    ----------
    cohorts : ``cohort`` (week start), ``n`` (events), ``n_positive`` (positive labels
        arrived by ``as_of``), ``positive_rate``, ``age_days`` (from the cohort's last day
        to ``as_of``), ``mature`` (age ≥ ``horizon_days``).
    as_of : the cut-off for label arrival.
    horizon_days : label horizon: a cohort at least this old has (nearly) all its labels.
    mature_rate : pooled positive rate of the mature cohorts (``None`` when none is mature).
    immature_share : share of events in cohorts younger than the horizon.
    warnings : e.g. no mature cohort, so every rate is a lower bound.
    """

    cohorts: pd.DataFrame
    as_of: pd.Timestamp
    horizon_days: int
    mature_rate: float | None
    immature_share: float
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        out = self.cohorts.copy()
        out["cohort"] = out["cohort"].map(_fmt_day)
        out["share_of_mature_rate"] = (
            out["positive_rate"] / self.mature_rate if self.mature_rate else np.nan
        )
        return out

    __repr__ = short_repr
    __eq__ = nan_safe_eq

    def summary(self) -> str:
        head = (
            f"Labels as of {_fmt_day(self.as_of)} (horizon {self.horizon_days} days): "
            f"{self.immature_share:.0%} of events are in immature cohorts"
        )
        if self.mature_rate is not None:
            head += f"; mature positive rate {self.mature_rate:.3%}"
        return head + "\n" + text_table(self.to_frame())

    def _repr_html_(self) -> str:
        mature = "—" if self.mature_rate is None else f"{self.mature_rate:.3%}"
        intro = (
            f"<p>Labels arrived by {escape(_fmt_day(self.as_of))}; label horizon "
            f"{self.horizon_days} days. Mature positive rate: <strong>{mature}</strong>. "
            f"{self.immature_share:.0%} of events are in cohorts younger than the horizon, "
            "whose rates are lower bounds.</p>"
        )
        return (
            intro
            + table_html(self.to_frame(), caption="Arrived positive labels per weekly cohort")
            + warnings_html(self.warnings)
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.label_glance(self.cohorts, self.mature_rate, self.horizon_days, ax=ax)


def label_glance(
    events: frames.FrameLike,
    *,
    as_of: pd.Timestamp | str,
    horizon_days: int = 90,
    ts: str = "ts",
    label: str = "label",
    label_ts: str = "label_ts",
    frame: str = "scored events",
) -> LabelGlance:
    """Raw label arrival per weekly cohort (weeks start on Monday) as of ``as_of``."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise ValueError(f"`horizon_days` must be a positive integer; got {horizon_days!r}.")
    cutoff = pd.Timestamp(as_of)
    daily = frames.label_arrivals(
        events, as_of=cutoff, ts=ts, label=label, label_ts=label_ts, frame=frame
    )
    warnings: list[str] = []
    if daily.empty:
        cohorts = pd.DataFrame(
            columns=["cohort", "n", "n_positive", "positive_rate", "age_days", "mature"]
        )
        return LabelGlance(cohorts, cutoff, horizon_days, None, 0.0, (f"{frame}: no events.",))
    week = daily["day"] - pd.to_timedelta(daily["day"].dt.day_of_week, unit="D")
    g = daily.assign(cohort=week).groupby("cohort", sort=True)
    cohorts = g.agg(n=("n", "sum"), n_positive=("n_positive", "sum"), last=("day", "max"))
    cohorts = cohorts.reset_index()
    cohorts["positive_rate"] = cohorts["n_positive"] / cohorts["n"]
    end_of_last_day = cohorts["last"] + pd.Timedelta(days=1)
    cohorts["age_days"] = ((cutoff - end_of_last_day).dt.total_seconds() / 86400).clip(lower=0)
    cohorts["mature"] = cohorts["age_days"] >= horizon_days
    cohorts = cohorts.drop(columns="last")
    mature = cohorts[cohorts["mature"]]
    mature_rate = float(mature["n_positive"].sum() / mature["n"].sum()) if len(mature) else None
    immature_share = float(cohorts.loc[~cohorts["mature"], "n"].sum() / cohorts["n"].sum())
    if mature_rate is None:
        warnings.append(
            f"No cohort is older than the {horizon_days}-day label horizon: every positive "
            "rate shown is a lower bound of the eventual rate."
        )
    return LabelGlance(cohorts, cutoff, horizon_days, mature_rate, immature_share, tuple(warnings))


# --------------------------------------------------------------------------------------
# Score distributions
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ScoreDistributions:
    """Histograms of several score series on common bin edges.

    Attributes
    ----------
    hist : long frame ``series, bin, lower, upper, n``.
    stats : per series ``series, n, n_missing, mean_score`` and, when the series has a
        threshold, ``threshold`` and ``flag_rate`` (share of scores ≥ threshold; exact,
        because thresholds are bin edges).
    edges : the bin edges used (``DEFAULT_EDGES`` plus every threshold).
    thresholds : series → decision threshold.
    warnings : missing scores, empty series.
    """

    hist: pd.DataFrame
    stats: pd.DataFrame
    edges: tuple[float, ...]
    thresholds: Mapping[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.stats.copy()

    __repr__ = short_repr
    __eq__ = nan_safe_eq

    def summary(self) -> str:
        return "Score distributions\n" + text_table(self.to_frame())

    def _repr_html_(self) -> str:
        return table_html(self.to_frame(), caption="Scores by series") + warnings_html(
            self.warnings
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.score_distributions(self.hist, self.thresholds, ax=ax)


def score_distributions(
    series: Mapping[str, tuple[frames.FrameLike, str]],
    *,
    thresholds: Mapping[str, float] | None = None,
    edges: Sequence[float] = DEFAULT_EDGES,
    ts: str = "ts",
    as_of: pd.Timestamp | str | None = None,
) -> ScoreDistributions:
    """Histograms of score columns, e.g. ``{"shadow · challenger": (shadow_log,
    "score_challenger")}``; ``thresholds`` maps a series name to its decision threshold.

    Rows at or after ``as_of`` are not counted (for frames that have a ``ts`` column).
    """
    thresholds = dict(thresholds or {})
    unknown = sorted(set(thresholds) - set(series))
    if unknown:
        raise ValueError(f"`thresholds` names series {unknown} that are not in `series`.")
    for k, t in thresholds.items():
        if not 0 < float(t) < 1:
            raise ValueError(f"`thresholds[{k!r}]` must be in (0, 1); got {t!r}.")
    e = np.unique(np.concatenate([np.asarray(edges, float), list(thresholds.values())]))
    cutoff = None if as_of is None else pd.Timestamp(as_of)
    hists, stats, warnings = [], [], []
    for name, (data, column) in series.items():
        lf = frames.lazy(data, frame=name)
        has_ts = ts in frames.schema(lf)
        h = frames.score_bin_counts(
            lf, [column], e, ts=ts if has_ts else None, as_of=cutoff, frame=name
        )
        total = int(h["total"].iloc[0])
        n_missing = int(h["n_missing"].iloc[0])
        row: dict[str, Any] = {
            "series": name,
            "n": total,
            "n_missing": n_missing,
            "mean_score": float(h["score_sum"].iloc[0]) / total if total else np.nan,
        }
        if name in thresholds:
            t = float(thresholds[name])
            row["threshold"] = t
            row["flag_rate"] = float(h.loc[h["lower"] >= t, "n"].sum()) / total if total else np.nan
        if n_missing:
            warnings.append(
                f"{name}: {n_missing:,} of {total + n_missing:,} rows have no `{column}` "
                "(errors or timeouts); they are not in the histogram."
            )
        if total == 0:
            warnings.append(f"{name}: no scores.")
        stats.append(row)
        hists.append(h[["bin", "lower", "upper", "n"]].assign(series=name))
    hist = pd.concat(hists, ignore_index=True)[["series", "bin", "lower", "upper", "n"]]
    return ScoreDistributions(
        hist, pd.DataFrame(stats), tuple(float(x) for x in e), thresholds, tuple(warnings)
    )


# --------------------------------------------------------------------------------------
# The overview section of a report
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Overview:
    """The three overview views of one model's data, chosen by the model's role."""

    volumes: Volumes
    labels: LabelGlance
    scores: ScoreDistributions

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.volumes.warnings + self.labels.warnings + self.scores.warnings

    def key_numbers(self) -> dict[str, Any]:
        """``rows`` per source, ``mature_positive_rate``, ``flag_rate`` per thresholded series."""
        kn: dict[str, Any] = {
            "rows": {
                str(row["source"]): int(row["rows"])
                for row in self.volumes.to_frame().to_dict("records")
            },
            "mature_positive_rate": self.labels.mature_rate,
            "flag_rate": {},
        }
        for row in self.scores.stats.to_dict("records"):
            rate = row.get("flag_rate")
            if rate is not None and rate == rate:
                kn["flag_rate"][str(row["series"])] = float(rate)
        return kn


def overview(inputs: Any, *, horizon_days: int = 90) -> Overview:
    """Volumes, labels and scores for a report (``inputs``: ``report.ReportInputs``).

    A challenger's overview covers the production events, the shadow log and the canary
    log (by arm) and compares its scores with the champion's in shadow; the champion's
    compares production scores with the reference (training) window.
    """
    p = inputs.path
    as_of = inputs.as_of
    if inputs.role == "challenger":
        logs = {
            "production events": p("events"),
            "shadow log": p("shadow_log"),
            "canary log": p("canary_log"),
        }
        series: dict[str, tuple[Any, str]] = {}
        thresholds: dict[str, float] = {}
        if p("reference") is not None:
            series[f"reference · {inputs.challenger}"] = (p("reference"), "score_challenger")
        if p("shadow_log") is not None:
            for who, col, t in (
                (inputs.champion, "score_champion", inputs.threshold),
                (inputs.challenger, "score_challenger", inputs.challenger_threshold),
            ):
                series[f"shadow · {who}"] = (p("shadow_log"), col)
                if t is not None:
                    thresholds[f"shadow · {who}"] = float(t)
    else:
        logs = {"reference (training)": p("reference"), "production events": p("events")}
        series = {}
        if p("reference") is not None:
            series[f"reference · {inputs.champion}"] = (p("reference"), "score_champion")
        if p("events") is not None:
            series[f"production · {inputs.champion}"] = (p("events"), "score")
            if inputs.threshold is not None:
                thresholds = {f"production · {inputs.champion}": float(inputs.threshold)}
            else:
                thresholds = {}
    present = {k: v for k, v in logs.items() if v is not None}
    if p("events") is None:
        raise ValueError(f"data directory `{inputs.data_dir}` has no events.parquet.")
    return Overview(
        volumes=volumes(present, split={"canary log": "arm"}, as_of=as_of),
        labels=label_glance(p("events"), as_of=as_of, horizon_days=horizon_days),
        scores=score_distributions(series, thresholds=thresholds, as_of=as_of),
    )
