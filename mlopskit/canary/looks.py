"""Per-arm sufficient statistics (ArmStats) and the daily looks they form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlopskit import frames
from mlopskit.stats import proportions as _prop

if TYPE_CHECKING:
    pass
from mlopskit.canary.labels import LabelArrivals
from mlopskit.canary.metrics import Metric


# --------------------------------------------------------------------------------------
# Sufficient statistics
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ArmStats:
    """Additive sufficient statistics of one metric in one arm (``a + b`` merges them).

    ``y`` is the per-unit value (numerator), ``x`` the ratio denominator, ``z`` the CUPED
    covariate. Raw logs (``frames.canary_daily_sums``) and SQL aggregates
    (``COUNT(*), SUM(y), SUM(y*y), …``) enter the same way.

    Attributes
    ----------
    n : units.  events : units with ``y ≠ 0`` (burn-in counts these).
    sum, sum_squares : ``Σy``, ``Σy²``.
    denominator_sum, denominator_sum_squares, sum_products : ``Σx``, ``Σx²``, ``Σxy``.
    covariate_sum, covariate_sum_squares, covariate_sum_products : ``Σz``, ``Σz²``, ``Σzy``.
    sum_cubes, denominator_sum_cubes : ``Σy³``, ``Σx³`` — the skewness behind the
        normal-approximation check of mean and ratio metrics (``nan`` when not supplied:
        the check is then reported as not done). For 0/1 values ``Σy³ = Σy``.
    missing : units whose value is missing and was dropped (counted, compared between arms
        like an SRM).  filled : missing values replaced by the metric's declared value.
    above_cap : units whose value was above a capped metric's ``cap`` (``y`` and every sum
        above are then of ``min(y, cap)``).  uncapped_sum, uncapped_sum_squares,
        uncapped_sum_products : ``Σy``, ``Σy²``, ``Σxy`` of the uncapped values (the
        uncapped difference shown beside the capped one). ``nan`` for metrics without a cap.
    sum_squares_products, sum_products_squares : ``Σy²x``, ``Σyx²`` of a ratio metric: with
        ``Σy³`` and ``Σx³`` they give the skewness of the delta-method variable
        ``y − R·x`` behind the normal-approximation check (``nan``: not supplied; the
        check then uses the larger of the numerator's and denominator's skewness).
    """

    n: float = 0.0
    events: float = 0.0
    sum: float = 0.0
    sum_squares: float = 0.0
    denominator_sum: float = 0.0
    denominator_sum_squares: float = 0.0
    sum_products: float = 0.0
    covariate_sum: float = 0.0
    covariate_sum_squares: float = 0.0
    covariate_sum_products: float = 0.0
    sum_cubes: float = float("nan")
    denominator_sum_cubes: float = float("nan")
    missing: float = 0.0
    filled: float = 0.0
    above_cap: float = float("nan")
    uncapped_sum: float = float("nan")
    uncapped_sum_squares: float = float("nan")
    uncapped_sum_products: float = float("nan")
    sum_squares_products: float = float("nan")
    sum_products_squares: float = float("nan")

    def __add__(self, other: ArmStats) -> ArmStats:
        if not isinstance(other, ArmStats):
            return NotImplemented
        return ArmStats(*(getattr(self, f) + getattr(other, f) for f in frames.CANARY_SUM_FIELDS))

    @classmethod
    def from_values(
        cls,
        y: Any,
        denominator: Any | None = None,
        covariate: Any | None = None,
        *,
        cap: float | None = None,
    ) -> ArmStats:
        """Statistics of raw per-unit arrays (tests, small data, notebooks); ``cap`` as in a
        capped metric (``min(y, cap)`` in the sums, the uncapped sums beside)."""
        raw = np.asarray(y, dtype=float)
        xv = np.zeros_like(raw) if denominator is None else np.asarray(denominator, dtype=float)
        zv = np.zeros_like(raw) if covariate is None else np.asarray(covariate, dtype=float)
        yv = raw if cap is None else np.minimum(raw, float(cap))
        nan = float("nan")
        capped = (
            (nan, nan, nan, nan)
            if cap is None
            else (
                float(np.count_nonzero(raw > cap)),
                float(raw.sum()),
                float(np.sum(raw * raw)),
                float(np.sum(xv * raw)),
            )
        )
        return cls(
            float(yv.size),
            float(np.count_nonzero(yv)),
            float(yv.sum()),
            float(np.sum(yv * yv)),
            float(xv.sum()),
            float(np.sum(xv * xv)),
            float(np.sum(xv * yv)),
            float(zv.sum()),
            float(np.sum(zv * zv)),
            float(np.sum(zv * yv)),
            float(np.sum(yv**3)),
            float(np.sum(xv**3)),
            0.0,
            0.0,
            *capped,
            float(np.sum(yv * yv * xv)) if denominator is not None else nan,
            float(np.sum(yv * xv * xv)) if denominator is not None else nan,
        )

    @property
    def mean(self) -> float:
        """``Σy / n`` (the rate, for a proportion)."""
        return self.sum / self.n if self.n else float("nan")


@dataclass(frozen=True, slots=True)
class CanaryLook:
    """Cumulative per-arm statistics as of one moment: the input of every decision.

    Attributes
    ----------
    as_of : when the look is taken.
    days : days since the first exposure (burn-in ``min_days`` and ``max_duration_days``).
    units_control, units_canary : units exposed so far (the SRM check).
    control, canary : metric name → :class:`ArmStats`.
    exposure_days : days during which units were exposed (first to last exposure; defaults
        to ``days``): the traffic per day behind "days to a decision" and the tuning ``N*``.
    labels : label-based metric name → :class:`~mlopskit.canary.labels.LabelArrivals`
        (when each arm's labels arrived, and the all-labels sums), read from the last look:
        per-arm maturity ``F̂(W)``, the differential-maturity rule and the sensitivity row.
    """

    as_of: pd.Timestamp
    days: float
    units_control: int
    units_canary: int
    control: Mapping[str, ArmStats]
    canary: Mapping[str, ArmStats]
    exposure_days: float | None = None
    labels: Mapping[str, LabelArrivals] | None = None


def _looks_from_daily(agg: frames.CanaryDaily, metrics: Sequence[Metric]) -> list[CanaryLook]:
    """Daily looks (end of each day before ``as_of``) and the look at ``as_of``."""
    day = pd.Timedelta(days=1)
    units = {a: np.cumsum(agg.units[a]) for a in frames.ARMS}
    cums = {
        (m.name, a): {f: np.cumsum(v) for f, v in agg.daily[m.name][a].items()}
        for m in metrics
        for a in frames.ARMS
    }

    def arm(a: str, k: int | None) -> dict[str, ArmStats]:
        if k is None:
            return {m.name: ArmStats(**agg.final[m.name][a]) for m in metrics}
        return {
            m.name: ArmStats(**{f: float(v[k]) for f, v in cums[m.name, a].items()})
            for m in metrics
        }

    ends = [pd.Timestamp(d) + day for d in agg.day_starts[:-1]] + [agg.as_of]
    looks = []
    for k, end in enumerate(ends):
        last = k == len(ends) - 1
        looks.append(
            CanaryLook(
                as_of=end,
                days=(end - agg.first_ts) / day,
                units_control=agg.units_total["control"] if last else int(units["control"][k]),
                units_canary=agg.units_total["canary"] if last else int(units["canary"][k]),
                control=arm("control", None if last else k),
                canary=arm("canary", None if last else k),
                exposure_days=(agg.last_ts - agg.first_ts) / day
                if last
                else float(agg.exposure_days[k]),
            )
        )
    return looks


def _stack(looks: Sequence[CanaryLook], arm: str, name: str) -> dict[str, np.ndarray]:
    rows = [getattr(lk, arm)[name] for lk in looks]
    return {
        f: np.array([getattr(r, f) for r in rows], dtype=float) for f in frames.CANARY_SUM_FIELDS
    }


def _arm_moments(
    m: Metric, s: dict[str, np.ndarray], theta: np.ndarray | None, z_pool: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-arm estimate and the variance of that estimate."""
    n = s["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        if m.kind == "ratio":
            my, vy = _prop.moments(n, s["sum"], s["sum_squares"])
            mx, vx = _prop.moments(n, s["denominator_sum"], s["denominator_sum_squares"])
            cxy = _prop.covariance(n, s["denominator_sum"], s["sum"], s["sum_products"])
            return my / mx, _prop.ratio_delta_var(n, my, mx, vy, vx, cxy)
        if theta is not None and z_pool is not None:
            my, vy = _prop.moments(n, s["sum"], s["sum_squares"])
            mz, vz = _prop.moments(n, s["covariate_sum"], s["covariate_sum_squares"])
            cyz = _prop.covariance(n, s["covariate_sum"], s["sum"], s["covariate_sum_products"])
            var = np.maximum(vy - 2 * theta * cyz + theta**2 * vz, 0.0)
            return my - theta * (mz - z_pool), var / n
        if m.kind == "proportion":
            p = s["sum"] / n
            return p, p * (1 - p) / n
        my, vy = _prop.moments(n, s["sum"], s["sum_squares"])
        return my, vy / n


def _check_stats(m: Metric, c: dict[str, np.ndarray], t: dict[str, np.ndarray]) -> None:
    for arm, s in (("control", c), ("canary", t)):
        if np.any(s["n"] < 0) or np.any(s["events"] > s["n"]):
            raise ValueError(
                f"metric `{m.name}`, arm {arm}: statistics must satisfy 0 ≤ events ≤ n; got "
                f"n={s['n'][-1]!r}, events={s['events'][-1]!r}."
            )
        if m.kind == "proportion" and (
            np.any(s["sum"] > s["n"])
            or np.any(np.abs(s["sum_squares"] - s["sum"]) > 1e-6 * (1 + s["sum"]))
        ):
            raise ValueError(
                f"metric `{m.name}`, arm {arm}: a proportion needs 0/1 values (Σy² = Σy ≤ n); "
                f"got n={s['n'][-1]!r}, Σy={s['sum'][-1]!r}, Σy²={s['sum_squares'][-1]!r}."
            )


def _with_cap_guards(
    looks: Sequence[CanaryLook], metrics: Sequence[Metric], default_margin: float
) -> tuple[list[CanaryLook], tuple[Metric, ...]]:
    """Each capped metric followed by its companion ``<name>_above_cap`` (a proportion whose
    statistics are the capped metric's ``above_cap`` count over its ``n``), in every look."""
    capped = [m for m in metrics if m.cap is not None]
    if not capped:
        return list(looks), tuple(metrics)
    out: list[Metric] = []
    for m in metrics:
        out.append(m)
        if m.cap is not None:
            out.append(m.above_cap_metric(default_margin))
    names = [m.name for m in out]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(
            f"`metrics`: the above-cap companion of a capped metric is named like another "
            f"metric ({clash}); rename that metric."
        )

    def guard(stats: Mapping[str, ArmStats], m: Metric, arm: str, lk: CanaryLook) -> ArmStats:
        s = stats[m.name]
        k = s.above_cap
        if not (np.isfinite(k) and 0 <= k <= s.n):
            raise ValueError(
                f"CanaryLook at {lk.as_of}, metric `{m.name}` ({arm}): a capped metric needs "
                f"`above_cap`, the count of units above the cap, 0 ≤ above_cap ≤ n; got "
                f"above_cap={k!r}, n={s.n!r}."
            )
        return ArmStats(n=s.n, events=k, sum=k, sum_squares=k, sum_cubes=k, missing=s.missing)

    new = []
    for lk in looks:
        arms = {}
        for arm in ("control", "canary"):
            stats = dict(getattr(lk, arm))
            for m in capped:
                stats[m.above_cap_name] = guard(stats, m, arm, lk)
            arms[arm] = stats
        new.append(replace(lk, control=arms["control"], canary=arms["canary"]))
    return new, tuple(out)
