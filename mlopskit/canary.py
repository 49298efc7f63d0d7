"""Canary vs control: outcome tests with power, non-inferiority, safe daily peeking, a verdict.

The challenger ("canary" arm) makes real decisions for a share κ of randomized units; the
champion serves the rest ("control"). Every day the question is PROMOTE, ROLLBACK or
CONTINUE — and INVALID when the split itself is broken (sample-ratio mismatch).
The statistics follow STATISTICS.md §2–§3:

* metrics are declared with a direction and a non-inferiority margin Δ (absolute, or
  relative to control): :func:`Proportion`, :func:`Mean`, :func:`Ratio`;
* each arm reduces to additive sufficient statistics (:class:`ArmStats`), computed lazily
  where the data lives (``frames.canary_daily_sums``) or entered from SQL;
* intervals: unpooled Wald (Newcombe below 10 events/non-events) for proportions, Welch for
  means, the delta method for ratios and relative effects, CUPED with a pre-exposure
  covariate; with ``sequential=True`` decisions use the one-sided asymptotic confidence
  sequences (running intersection over daily looks), so looking every day is safe;
* the decision taxonomy (rows 0–7) per metric, Holm across metrics for "shows harm", the
  intersection–union rule for "all non-inferior", design power and days to a decision.

Units: the canary log has one row per randomization unit (``unit_id`` unique). A unit in
both arms is an assignment leak and an error; a per-event log (repeated ``unit_id``) is an
error too — aggregate per unit and declare :func:`Ratio` metrics (the delta method then
accounts for the correlation of events within a unit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from mlopskit import _display, frames
from mlopskit.policy import CanaryPolicy, Policy, as_policy
from mlopskit.stats import power as _power
from mlopskit.stats import proportions as _prop
from mlopskit.stats import sequential as _seq
from mlopskit.stats.multiple import holm
from mlopskit.verdict import CanaryVerdict, Reason

if TYPE_CHECKING:
    from pathlib import Path

Kind = Literal["proportion", "mean", "ratio"]
Direction = Literal["lower", "higher"]
Role = Literal["primary", "guardrail", "secondary"]
ROLES = ("primary", "guardrail", "secondary")

#: taxonomy row → label (STATISTICS.md §2)
TAXONOMY: dict[int, str] = {
    0: "invalid",
    1: "insufficient_data",
    2: "superior",
    3: "non_inferior",
    4: "inferior",
    5: "worse_margin_not_excluded",
    6: "inconclusive",
    7: "inconclusive",
}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------------------
# Metric declarations
# --------------------------------------------------------------------------------------
def _parse_events(expr: str, what: str) -> tuple[tuple[str, bool], ...]:
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError(f"`{what}` must be a column name or 'a & ~b'; got {expr!r}.")
    terms: list[tuple[str, bool]] = []
    for raw in expr.split("&"):
        t = raw.strip()
        neg = t.startswith("~")
        name = t[1:].strip() if neg else t
        if not _NAME.match(name):
            raise ValueError(
                f"`{what}` must be flag columns joined by '&', each optionally negated with "
                f"'~' (e.g. 'label & ~flagged'); could not read {t!r} in {expr!r}."
            )
        terms.append((name, neg))
    return tuple(terms)


@dataclass(frozen=True, slots=True)
class Metric:
    """One declared canary metric. Build it with :func:`Proportion`, :func:`Mean`, :func:`Ratio`.

    Attributes
    ----------
    name : identifier used in results (``to_frame()`` column ``metric``).
    kind : ``"proportion"`` (0/1 per unit), ``"mean"`` (a number per unit) or ``"ratio"``
        (``Σ numerator / Σ denominator``, delta method).
    numerator : column, or for proportions flag columns joined by ``&`` with optional ``~``
        (``"label & ~flagged"`` = missed fraud).
    denominator : ratio metrics only.
    direction : ``"lower"`` or ``"higher"`` is better.
    margin : non-inferiority margin Δ on ``d = canary − control`` — the largest tolerated
        harm: ``> 0`` for lower-is-better, ``< 0`` for higher-is-better metrics.
    relative : the effect is ``canary/control − 1`` and Δ a fraction of control.
    role : ``"primary"`` or ``"guardrail"`` — must be shown non-inferior for PROMOTE —
        or ``"secondary"`` — reported, and stops the canary when it shows harm, but not
        required to be non-inferior (for metrics too noisy to prove it at the planned
        volume, like dollar-weighted loss). Each role is its own Holm family for harm.
    label_based : counts only matured units (``ts + maturity_days ≤ as_of``) with labels
        inside the window. Defaults to "uses ``label`` or ``loss``".
    """

    name: str
    kind: Kind
    numerator: str
    margin: float
    denominator: str | None = None
    direction: Direction = "lower"
    relative: bool = False
    role: Role = "guardrail"
    label_based: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"metric `name` must be an identifier; got {self.name!r}.")
        where = f"metric `{self.name}`"
        if self.kind not in ("proportion", "mean", "ratio"):
            raise ValueError(f"{where}: `kind` must be proportion/mean/ratio; got {self.kind!r}.")
        if self.direction not in ("lower", "higher"):
            raise ValueError(
                f"{where}: `direction` must be 'lower' or 'higher' (is better); "
                f"got {self.direction!r}."
            )
        if self.role not in ROLES:
            raise ValueError(f"{where}: `role` must be one of {ROLES}; got {self.role!r}.")
        if (self.kind == "ratio") != (self.denominator is not None):
            raise ValueError(
                f"{where}: a denominator is required for ratio metrics and only for them; "
                f"got kind={self.kind!r}, denominator={self.denominator!r}."
            )
        terms = _parse_events(self.numerator, f"{where} numerator")
        if self.kind != "proportion" and (len(terms) > 1 or terms[0][1]):
            raise ValueError(
                f"{where}: a {self.kind} metric takes one column; got {self.numerator!r}."
            )
        if self.denominator is not None:
            _parse_events(self.denominator, f"{where} denominator")
        m = self.margin
        if not (isinstance(m, float | int) and np.isfinite(m) and m != 0):
            raise ValueError(f"{where}: `margin` must be a finite non-zero number; got {m!r}.")
        if self.direction == "lower" and m < 0:
            raise ValueError(
                f"{where}: for a lower-is-better metric the margin is the largest tolerated "
                f"increase and must be > 0; got margin={m!r}."
            )
        if self.direction == "higher" and m > 0:
            raise ValueError(
                f"{where}: for a higher-is-better metric the margin is the largest tolerated "
                f"decrease and must be < 0; got margin={m!r}."
            )
        if self.relative and m <= -1:
            raise ValueError(f"{where}: a relative margin must be > −1; got {m!r}.")

    @property
    def sign(self) -> float:
        """+1 when higher values are harm (lower is better), −1 otherwise."""
        return 1.0 if self.direction == "lower" else -1.0

    @property
    def columns(self) -> tuple[str, ...]:
        return self.spec().columns

    def spec(self) -> frames.CanaryMetricSpec:
        den = self.denominator.strip() if self.denominator else None
        return frames.CanaryMetricSpec(
            self.name, _parse_events(self.numerator, "numerator"), den, self.label_based
        )


def _label_based(cols: Sequence[str], given: bool | None) -> bool:
    if given is not None:
        return bool(given)
    return any(c in frames.CANARY_LABEL_COLUMNS for c in cols)


def Proportion(
    name: str,
    events: str,
    *,
    margin: float,
    direction: Direction = "lower",
    relative: bool = False,
    role: Role = "guardrail",
    label_based: bool | None = None,
) -> Metric:
    """A per-unit 0/1 outcome, e.g. ``Proportion("fraud_missed_rate", "label & ~flagged",
    margin=0.0005)``. ``events`` is flag columns joined by ``&`` (``~`` negates)."""
    cols = [c for c, _ in _parse_events(events, f"metric `{name}` events")]
    return Metric(
        name,
        "proportion",
        events,
        margin,
        None,
        direction,
        relative,
        role,
        _label_based(cols, label_based),
    )


def Mean(
    name: str,
    column: str,
    *,
    margin: float,
    direction: Direction = "lower",
    relative: bool = False,
    role: Role = "guardrail",
    label_based: bool | None = None,
) -> Metric:
    """A per-unit number averaged over units (loss per unit, latency), Welch's t."""
    return Metric(
        name,
        "mean",
        column,
        margin,
        None,
        direction,
        relative,
        role,
        _label_based([column], label_based),
    )


def Ratio(
    name: str,
    numerator: str,
    denominator: str,
    *,
    margin: float,
    direction: Direction = "lower",
    relative: bool = False,
    role: Role = "guardrail",
    label_based: bool | None = None,
) -> Metric:
    """``Σ numerator / Σ denominator`` over units (loss per dollar), delta-method variance."""
    return Metric(
        name,
        "ratio",
        numerator,
        margin,
        denominator,
        direction,
        relative,
        role,
        _label_based([numerator, denominator], label_based),
    )


def default_metrics(policy: Policy | CanaryPolicy | str | Path | None = None) -> tuple[Metric, ...]:
    """The fraud metrics of the demo world, margins from the policy's ``canary`` section.

    * ``fraud_missed_rate`` (primary): ``label & ~flagged`` per unit, lower is better.
    * ``false_positive_rate``: ``flagged & ~label`` per unit (customer friction).
    * ``loss_per_dollar`` (secondary): ``Σ loss / Σ amount``, relative margin. Dollar
      losses are few and heavy-tailed: at 5% of 40,000 units a day for 28 days its relative
      SE is ~13%, so a 10% margin cannot be shown; it still triggers ROLLBACK on harm.
    * ``latency_ms``: mean latency per unit. ``error_rate``: errors/timeouts per unit.
    """
    cfg = _policy(policy)
    return (
        Proportion(
            "fraud_missed_rate",
            "label & ~flagged",
            margin=cfg.margin_fraud_missed_rate,
            role="primary",
        ),
        Proportion(
            "false_positive_rate", "flagged & ~label", margin=cfg.margin_false_positive_rate
        ),
        Ratio(
            "loss_per_dollar",
            "loss",
            "amount",
            margin=cfg.margin_loss_per_dollar,
            relative=True,
            role="secondary",
        ),
        Mean("latency_ms", "latency_ms", margin=cfg.margin_latency_ms),
        Proportion("error_rate", "error", margin=cfg.margin_error_rate),
    )


def _policy(policy: Policy | CanaryPolicy | str | Path | None) -> CanaryPolicy:
    if isinstance(policy, CanaryPolicy):
        return policy
    return as_policy(policy).section("canary", CanaryPolicy)


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

    def __add__(self, other: ArmStats) -> ArmStats:
        if not isinstance(other, ArmStats):
            return NotImplemented
        return ArmStats(*(getattr(self, f) + getattr(other, f) for f in frames.CANARY_SUM_FIELDS))

    @classmethod
    def from_values(
        cls, y: Any, denominator: Any | None = None, covariate: Any | None = None
    ) -> ArmStats:
        """Statistics of raw per-unit arrays (tests, small data, notebooks)."""
        yv = np.asarray(y, dtype=float)
        xv = np.zeros_like(yv) if denominator is None else np.asarray(denominator, dtype=float)
        zv = np.zeros_like(yv) if covariate is None else np.asarray(covariate, dtype=float)
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
    """

    as_of: pd.Timestamp
    days: float
    units_control: int
    units_canary: int
    control: Mapping[str, ArmStats]
    canary: Mapping[str, ArmStats]
    exposure_days: float | None = None


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


# --------------------------------------------------------------------------------------
# The per-metric path over looks (vectorized over looks)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Settings:
    alpha1: float  # one-sided error of each decision
    sequential: bool
    planned_days: float
    min_events: float
    power: float
    cuped: bool


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


def classify(
    effect: Any, low: Any, high: Any, margin: float, *, direction: Direction = "lower"
) -> np.ndarray:
    """Decision taxonomy rows 2–7 of STATISTICS.md §2 for the interval ``[low, high]``.

    On the harm-oriented scale (``d`` for lower-is-better, ``−d`` otherwise; Δ > 0):
    2 ``U < 0`` superior; 3 ``U < Δ`` non-inferior; 4 ``L > Δ`` inferior;
    5 ``0 < L ≤ Δ ≤ U`` worse, margin not excluded; 6/7 ``L ≤ 0`` and ``U ≥ Δ``
    inconclusive (6 when the estimate favours the canary, 7 otherwise). Rows 0 (invalid)
    and 1 (insufficient data) are decided before, on the data. NaN bounds give row 1.
    """
    sg = 1.0 if direction == "lower" else -1.0
    e, lo, hi = (np.asarray(v, dtype=float) for v in (effect, low, high))
    lh, uh = (lo, hi) if sg > 0 else (-hi, -lo)
    h, mh = sg * e, sg * margin
    with np.errstate(invalid="ignore"):
        return np.select(
            [np.isnan(lh) | np.isnan(uh), uh < 0, uh < mh, lh > mh, lh > 0, h <= 0],
            [1, 2, 3, 4, 5, 6],
            default=7,
        ).astype(int)


def _fixed_interval(
    m: Metric,
    c: dict[str, np.ndarray],
    t: dict[str, np.ndarray],
    mc: np.ndarray,
    vc: np.ndarray,
    mt: np.ndarray,
    vt: np.ndarray,
    cuped: bool,
    alpha1: float,
) -> dict[str, Any]:
    """Effect on the analysis scale, its SE, the fixed CI and the test of no difference.

    Absolute effects: ``d = m_t − m_c``. Relative effects are analysed on the log scale,
    ``λ = ln(m_t/m_c)`` with ``SE² = v_t/m_t² + v_c/m_c²`` (delta method), and reported as
    ``exp(λ) − 1``: the delta method on ``m_t/m_c − 1`` itself ties the SE to the estimate
    and undercovers badly at small counts.
    """
    nc, nt = c["n"], t["n"]
    z = stats.norm.isf(alpha1)
    out: dict[str, Any] = {"df": np.full(nc.shape, np.inf)}
    with np.errstate(invalid="ignore", divide="ignore"):
        if m.relative:
            ea, se = np.log(mt / mc), np.sqrt(vt / mt**2 + vc / mc**2)
            method: Any = "log ratio (delta)"
        else:
            ea, se = mt - mc, np.sqrt(vt + vc)
            method = {"proportion": "wald", "mean": "normal", "ratio": "delta"}[m.kind]
        lo, hi = ea - z * se, ea + z * se
        p_value = 2 * stats.norm.sf(np.abs(ea / se))
        if m.kind == "mean" and not m.relative and not cuped:
            w = _prop.welch_ttest(mt, vt * nt, nt, mc, vc * nc, nc, alpha=2 * alpha1)
            out["df"], lo, hi, p_value, method = w.df, w.ci_low, w.ci_high, w.p_value, "welch"
        if m.kind == "proportion" and not cuped:
            p_value = _prop.ztest_proportions_pooled(t["sum"], nt, c["sum"], nc)[1]
            if not m.relative:
                counts = [c["sum"], nc - c["sum"], t["sum"], nt - t["sum"]]
                small = np.minimum.reduce(counts) < 10
                nlo, nhi = _prop.newcombe_ci(t["sum"], nt, c["sum"], nc, alpha=2 * alpha1)
                lo, hi = np.where(small, nlo, lo), np.where(small, nhi, hi)
                method = np.where(small, "newcombe", "wald")
    if cuped:
        method = "cuped, " + ("log ratio (delta)" if m.relative else "normal")
    out.update(ea=ea, se=se, lo=lo, hi=hi, p_value=p_value, method=method)
    return out


def _metric_path(
    m: Metric, looks: Sequence[CanaryLook], rate: np.ndarray, cfg: _Settings
) -> dict[str, np.ndarray]:
    """Every number of one metric at every look (arrays over looks).

    Decisions work on the harm-oriented analysis scale: ``h = sign·effect`` (``sign = +1``
    when lower is better), margin ``sign·Δ > 0``; relative metrics on the log scale.
    """
    c, t = _stack(looks, "control", m.name), _stack(looks, "canary", m.name)
    _check_stats(m, c, t)
    nc, nt = c["n"], t["n"]
    theta = z_pool = None
    cuped = cfg.cuped and m.kind != "ratio"
    if cuped:
        b = {f: c[f] + t[f] for f in c}
        theta = _prop.cuped_theta(
            b["n"],
            b["sum"],
            b["covariate_sum"],
            b["covariate_sum_squares"],
            b["covariate_sum_products"],
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            z_pool = b["covariate_sum"] / b["n"]
    mc, vc = _arm_moments(m, c, theta, z_pool)
    mt, vt = _arm_moments(m, t, theta, z_pool)
    fx = _fixed_interval(m, c, t, mc, vc, mt, vt, cuped, cfg.alpha1)
    ea, se = fx["ea"], fx["se"]
    back = np.expm1 if m.relative else (lambda x: x)
    margin_a = float(np.log1p(m.margin)) if m.relative else m.margin
    sg = m.sign
    h, mh = sg * ea, sg * margin_a
    ok = (c["events"] >= cfg.min_events) & (t["events"] >= cfg.min_events)
    ok &= np.isfinite(se) & (se > 0)
    n = nc + nt
    n_star = np.maximum(cfg.planned_days * rate, 1.0)
    rho2 = _seq.rho_squared(cfg.alpha1, n_star, one_sided=True)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        hw = _seq.half_width(n, n * se**2, rho2, cfg.alpha1, one_sided=True)
        cs_lo, cs_hi = _seq.running_intersection(
            np.where(ok, ea - hw, np.nan), np.where(ok, ea + hw, np.nan)
        )
        if cfg.sequential:
            p_harm = np.fmin.accumulate(
                np.where(ok, _seq.always_valid_p(h, se, n, rho2=rho2), np.nan)
            )
            dlo, dhi = cs_lo, cs_hi
        else:
            p_harm = np.where(ok, stats.t.sf(h / se, fx["df"]), np.nan)
            dlo, dhi = fx["lo"], fx["hi"]
        row = np.where(ok, classify(ea, dlo, dhi, margin_a, direction=m.direction), 1)
        z1 = stats.norm.isf(cfg.alpha1)
        design_power = stats.norm.sf(z1 - mh / se)
        if cfg.sequential:
            n_needed = _seq.sample_size_for_margin(
                mh, n * se**2, n_star=n_star, alpha=cfg.alpha1, power=cfg.power
            )
        else:
            n_needed = n * (se * (z1 + stats.norm.ppf(cfg.power)) / mh) ** 2
        days_needed = np.maximum(n_needed - n, 0.0) / rate
    days_needed = np.where(np.isin(row, (2, 3, 4, 5)), 0.0, days_needed)
    days_needed = np.where(np.isfinite(se) & (se > 0), days_needed, np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        return {
            "n_control": nc,
            "n_canary": nt,
            "events_control": c["events"],
            "events_canary": t["events"],
            "mean_control": mc,
            "mean_canary": mt,
            "effect": back(ea),
            "se": se,
            "df": fx["df"],
            "ci_low": back(fx["lo"]),
            "ci_high": back(fx["hi"]),
            "p_value": fx["p_value"],
            "cs_low": back(cs_lo),
            "cs_high": back(cs_hi),
            "p_harm": p_harm,
            "decision_low": back(dlo),
            "decision_high": back(dhi),
            "row": row.astype(int),
            "design_power": design_power,
            "n_needed": n_needed,
            "days_to_decision": days_needed,
            "theta": theta if theta is not None else np.full(nc.shape, np.nan),
            "ci_method": np.broadcast_to(np.asarray(fx["method"], dtype=object), nc.shape),
        }


def _srm(units_c: np.ndarray, units_t: np.ndarray, split: tuple[float, float]) -> np.ndarray:
    """Chi-square goodness-of-fit p-value of (control, canary) units against ``split``.

    Equals ``scipy.stats.chisquare([u_c, u_t], f_exp=total·split).pvalue``.
    """
    total = units_c + units_t
    with np.errstate(invalid="ignore", divide="ignore"):
        ec, et = total * split[0], total * split[1]
        chi2 = (units_c - ec) ** 2 / ec + (units_t - et) ** 2 / et
    return np.where(total > 0, stats.chi2.sf(chi2, 1), np.nan)


def _check_split(split: Any) -> tuple[float, float]:
    try:
        c, t = (float(v) for v in split)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"`expected_split` must be two shares (control, canary); got {split!r}."
        ) from exc
    if not (c > 0 and t > 0 and abs(c + t - 1) < 1e-9):
        raise ValueError(
            f"`expected_split` must be two positive shares (control, canary) summing to 1; "
            f"got {split!r}."
        )
    return c, t


@dataclass(frozen=True, slots=True)
class _Evaluation:
    looks: list[CanaryLook]
    paths: dict[str, dict[str, np.ndarray]]
    srm_p: np.ndarray
    rate: np.ndarray


def _evaluate(
    looks: list[CanaryLook],
    metrics: Sequence[Metric],
    split: tuple[float, float],
    st: _Settings,
) -> _Evaluation:
    uc = np.array([lk.units_control for lk in looks], dtype=float)
    ut = np.array([lk.units_canary for lk in looks], dtype=float)
    days = np.array(
        [lk.days if lk.exposure_days is None else lk.exposure_days for lk in looks], dtype=float
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (uc + ut) / np.maximum(days, 1.0 / 24)  # units per day while exposed
    paths = {m.name: _metric_path(m, looks, rate, st) for m in metrics}
    return _Evaluation(looks, paths, _srm(uc, ut, split), rate)


def _fmt(v: float) -> str:
    return _display._fmt(float(v), 4)


def _decide(
    ev: _Evaluation,
    k: int,
    metrics: Sequence[Metric],
    cfg: CanaryPolicy,
    st: _Settings,
    maturity_days: float,
) -> tuple[CanaryVerdict, tuple[Reason, ...], tuple[str, ...], float, bool]:
    """Verdict at look ``k``: (verdict, reasons, warnings, days_to_decision, lower_bound)."""
    look = ev.looks[k]
    reasons: list[Reason] = []
    warns: list[str] = []
    srm_p = float(ev.srm_p[k])
    srm_ok = bool(srm_p >= cfg.srm_alpha)
    reasons.append(
        Reason(
            "srm",
            f"Sample-ratio check: {look.units_control:,} control vs {look.units_canary:,} canary "
            f"units, chi-square p = {_fmt(srm_p)} (alarm below {cfg.srm_alpha}).",
            srm_ok,
            srm_p,
            cfg.srm_alpha,
            critical=not srm_ok,
        )
    )
    if not srm_ok:
        return CanaryVerdict.INVALID, tuple(reasons), (), float("nan"), False
    at = {m.name: {key: v[k] for key, v in ev.paths[m.name].items()} for m in metrics}
    harm_p = np.full(len(metrics), np.nan)
    for role in ROLES:
        idx = [i for i, m in enumerate(metrics) if m.role == role]
        if idx:
            harm_p[idx] = holm(np.array([at[metrics[i].name]["p_harm"] for i in idx], float))
    rollback = hold = False
    for i, m in enumerate(metrics):
        a = at[m.name]
        row = int(a["row"])
        lo, hi = a["decision_low"], a["decision_high"]
        shown = f"[{_fmt(lo)}, {_fmt(hi)}]"
        kind = "confidence sequence" if st.sequential else "CI"
        scale = "relative " if m.relative else ""
        harm = bool(harm_p[i] < st.alpha1) and row in (4, 5)
        if row == 1:
            msg = (
                f"{m.name}: insufficient data ({int(a['events_control'])} / "
                f"{int(a['events_canary'])} events in control / canary; need "
                f"{int(st.min_events)} each)."
            )
        else:
            msg = (
                f"{m.name}: {TAXONOMY[row].replace('_', ' ')} — {scale}effect "
                f"{_fmt(a['effect'])}, {kind} {shown}, margin {_fmt(m.margin)} "
                f"({m.direction} is better)."
            )
            if harm:
                msg += f" Harm shown (Holm-adjusted p = {_fmt(harm_p[i])} < {st.alpha1})."
        passed = None if row == 1 else row in (2, 3)
        reasons.append(Reason(m.name, msg, passed, float(a["effect"]), m.margin, critical=harm))
        if harm:
            if row == 5 and cfg.margin_not_excluded_action == "hold":
                hold = True
            else:
                rollback = True
        sg = m.sign
        lh = sg * lo if sg > 0 else -hi
        if row == 3 and lh > 0:
            warns.append(
                f"{m.name}: statistically worse than control but within the margin "
                f"({scale}effect {_fmt(a['effect'])}, margin {_fmt(m.margin)})."
            )
    gating = [m for m in metrics if m.role != "secondary"]
    rows = [int(at[m.name]["row"]) for m in gating]
    undecided = [m for m, r in zip(gating, rows, strict=True) if r in (1, 6, 7)]
    days_left = [float(at[m.name]["days_to_decision"]) for m in undecided]
    finite = [d for d in days_left if np.isfinite(d)]
    days_to = max(finite) if finite else float("nan")
    lower_bound = False
    for m in undecided:
        if m.label_based and at[m.name]["n_control"] + at[m.name]["n_canary"] == 0:
            wait = max(maturity_days - look.days, 0.0)
            if not np.isfinite(days_to) or wait > days_to:
                days_to = wait
            lower_bound = True
    if rollback:
        return CanaryVerdict.ROLLBACK, tuple(reasons), tuple(warns), 0.0, False
    if hold:
        reasons.append(
            Reason(
                "margin_not_excluded",
                "A metric is statistically worse and its margin is not "
                "excluded; policy margin_not_excluded_action = hold: a human decides.",
                False,
                critical=True,
            )
        )
        return CanaryVerdict.CONTINUE, tuple(reasons), tuple(warns), days_to, lower_bound
    if all(r in (2, 3) for r in rows):
        if look.days >= cfg.min_days:
            reasons.append(
                Reason(
                    "non_inferior_all",
                    "Every metric is non-inferior (intersection–union test, "
                    f"each one-sided at {st.alpha1}).",
                    True,
                )
            )
            return CanaryVerdict.PROMOTE, tuple(reasons), tuple(warns), 0.0, False
        days_to = cfg.min_days - look.days
        reasons.append(
            Reason(
                "min_days",
                f"All metrics non-inferior, but only {_fmt(look.days)} of the "
                f"{cfg.min_days:g} minimum days have passed.",
                False,
                look.days,
                cfg.min_days,
            )
        )
        return CanaryVerdict.CONTINUE, tuple(reasons), tuple(warns), days_to, False
    if look.days >= cfg.max_duration_days:
        action = cfg.inconclusive_action
        reasons.append(
            Reason(
                "max_duration",
                f"Inconclusive after {_fmt(look.days)} days (maximum "
                f"{cfg.max_duration_days:g}); policy inconclusive_action = {action}.",
                False,
                look.days,
                cfg.max_duration_days,
                critical=True,
            )
        )
        verdict = CanaryVerdict.ROLLBACK if action == "rollback" else CanaryVerdict.CONTINUE
        return verdict, tuple(reasons), tuple(warns), float("nan"), False
    if np.isfinite(days_to):
        words = "at least " if lower_bound else "about "
        reasons.append(
            Reason(
                "days_to_decision",
                f"Needs {words}{days_to:.1f} more days at current traffic for "
                f"{cfg.power:.0%} power on the undecided metrics "
                f"({', '.join(m.name for m in undecided)}).",
                None,
                days_to,
            )
        )
    return CanaryVerdict.CONTINUE, tuple(reasons), tuple(warns), days_to, lower_bound


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric at the analysis time.

    Attributes
    ----------
    metric : the declaration (direction, margin, relative, role).
    control, canary : the sufficient statistics behind every number below.
    mean_control, mean_canary : per-arm estimate (rate, mean or ratio; CUPED-adjusted when a
        covariate is used).
    effect : ``canary − control`` (or ``canary/control − 1`` when relative).
    se : its standard error on the analysis scale — the effect itself, or ``ln(canary /
        control)`` for relative metrics (whose intervals are computed on that scale and
        mapped back with ``exp(x) − 1``).
    ci_low, ci_high : fixed-horizon two-sided ``1 − alpha`` CI.
    ci_method : ``wald``, ``newcombe``, ``welch``, ``normal``, ``delta``,
        ``log ratio (delta)`` or ``cuped, …``.  p_value : two-sided test of no difference (pooled z for proportions,
        Welch for means, z otherwise).
    cs_low, cs_high : one-sided confidence sequences at ``alpha/2`` each (running
        intersection over daily looks); ``nan`` before burn-in.
    p_harm : one-sided p-value of "canary harms this metric" (always-valid when sequential).
    decision_low, decision_high : the interval the taxonomy used (CS or fixed CI).
    row : taxonomy row 1–7 (STATISTICS.md §2); ``taxonomy`` its label.
    design_power : ``Φ(|Δ|/SE − z_{1−α/2})`` (Δ as ``ln(1 + Δ)`` when relative), power to
        show non-inferiority if the true effect is 0, at the current SE (never "observed
        power").
    n_needed : total units for ``policy.power`` (sequential-aware when sequential).
    days_to_decision : ``(n_needed − n)/units per day``; 0 once decided.
    matured_share : counted units / exposed units (below 1 for label-based metrics).
    theta : CUPED coefficient (``nan`` without covariate).
    """

    metric: Metric
    control: ArmStats
    canary: ArmStats
    mean_control: float
    mean_canary: float
    effect: float
    se: float
    ci_low: float
    ci_high: float
    ci_method: str
    p_value: float
    cs_low: float
    cs_high: float
    p_harm: float
    decision_low: float
    decision_high: float
    row: int
    design_power: float
    n_needed: float
    days_to_decision: float
    matured_share: float
    theta: float

    @property
    def taxonomy(self) -> str:
        return TAXONOMY[self.row]


#: numbers of a MetricResult read straight from the metric path at one look
_PATH_FIELDS = (
    "mean_control", "mean_canary", "effect", "se", "ci_low", "ci_high", "ci_method",
    "p_value", "cs_low", "cs_high", "p_harm", "decision_low", "decision_high", "row",
    "design_power", "n_needed", "days_to_decision", "theta",
)  # fmt: skip


def _metric_results(ev: _Evaluation, k: int, metrics: Sequence[Metric]) -> tuple[MetricResult, ...]:
    look = ev.looks[k]
    units = look.units_control + look.units_canary
    out = []
    for m in metrics:
        a = {key: v[k] for key, v in ev.paths[m.name].items()}
        vals: dict[str, Any] = {
            f: str(a[f]) if f == "ci_method" else int(a[f]) if f == "row" else float(a[f])
            for f in _PATH_FIELDS
        }
        share = float((a["n_control"] + a["n_canary"]) / units) if units else float("nan")
        out.append(
            MetricResult(
                metric=m,
                control=look.control[m.name],
                canary=look.canary[m.name],
                matured_share=share,
                **vals,
            )
        )
    return tuple(out)


#: to_frame() columns, in order (the metric declaration, then the numbers)
_FRAME_COLUMNS = (
    "metric", "role", "kind", "direction", "relative", "margin", "n_control", "n_canary",
    "mean_control", "mean_canary", "effect", "se", "ci_low", "ci_high", "ci_method",
    "p_value", "cs_low", "cs_high", "p_harm", "decision_low", "decision_high", "row",
    "taxonomy", "design_power", "days_to_decision", "matured_share",
)  # fmt: skip


def _rows(results: Sequence[MetricResult]) -> pd.DataFrame:
    recs = []
    for r in results:
        m = r.metric
        rec: dict[str, Any] = {
            "metric": m.name,
            "n_control": int(r.control.n),
            "n_canary": int(r.canary.n),
        }
        for col in _FRAME_COLUMNS:
            if col not in rec:
                rec[col] = (
                    getattr(m, col)
                    if col in ("role", "kind", "direction", "relative", "margin")
                    else getattr(r, col)
                )
        recs.append(rec)
    return pd.DataFrame(recs, columns=list(_FRAME_COLUMNS))


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """Canary vs control at ``as_of``: the verdict, its reasons and every number behind them.

    Attributes
    ----------
    verdict : PROMOTE | ROLLBACK | CONTINUE | INVALID.
    reasons : the checks behind it, as :class:`~mlopskit.verdict.Reason` data.
    metrics : one :class:`MetricResult` per declared metric.
    as_of, first_exposure, days : analysis time, first exposure, days between them.
    units_control, units_canary : units exposed by ``as_of``; ``srm_p`` the chi-square
        p-value against ``expected_split`` (control, canary).
    alpha : two-sided level of the intervals; each decision is one-sided at ``alpha/2``.
    sequential : decisions on confidence sequences (safe under daily peeking) or fixed CIs.
    planned_days : tuning of the sequences.  maturity_days : label window.
    covariate : CUPED covariate column, if any.
    days_to_decision : projected days until every undecided metric decides (``nan`` once
        decided); ``days_lower_bound`` when it is only a lower bound (labels not matured).
    policy : the canary policy section used.  warnings : data problems kept with the result.
    """

    verdict: CanaryVerdict
    reasons: tuple[Reason, ...]
    metrics: tuple[MetricResult, ...]
    as_of: pd.Timestamp
    first_exposure: pd.Timestamp | None
    days: float
    units_control: int
    units_canary: int
    expected_split: tuple[float, float]
    srm_p: float
    alpha: float
    sequential: bool
    planned_days: float
    maturity_days: float
    covariate: str | None
    days_to_decision: float
    days_lower_bound: bool
    policy: CanaryPolicy
    warnings: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> MetricResult:
        for r in self.metrics:
            if r.metric.name == name:
                return r
        raise KeyError(f"no metric {name!r}; metrics are {[r.metric.name for r in self.metrics]}.")

    def to_frame(self) -> pd.DataFrame:
        """One row per metric (stable snake_case columns)."""
        return _rows(self.metrics)

    __repr__ = _display.short_repr

    def summary(self) -> str:
        head = (
            f"Canary vs control as of {self.as_of} ({self.days:.1f} days, "
            f"{self.units_control:,} control / {self.units_canary:,} canary units): "
            f"{self.verdict}"
        )
        lines = [head]
        lines += [f"  - {r.message}" for r in self.reasons]
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  ! {w}" for w in self.warnings]
        cols = [
            "metric",
            "effect",
            "ci_low",
            "ci_high",
            "decision_low",
            "decision_high",
            "margin",
            "taxonomy",
        ]
        lines.append(_display.text_table(self.to_frame()[cols]))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        kind = "confidence sequences" if self.sequential else "fixed CIs"
        cap = (
            f"Decisions on {kind}; intervals two-sided {1 - self.alpha:.0%}, each decision "
            f"one-sided at {self.alpha / 2:g}."
        )
        return (
            _display.verdict_html(self.verdict, "Canary", self.reasons)
            + _display.warnings_html(self.warnings)
            + _display.table_html(self.to_frame(), caption=cap)
        )

    def plot(self, ax: Any = None) -> Any:
        """Forest plot of effects with CIs, decision intervals, margins and zero."""
        from mlopskit import plots

        return plots.canary_forest(self, ax=ax)


@dataclass(frozen=True, slots=True)
class CanaryHistory:
    """The canary analysis as of the end of every day (and ``as_of``).

    Attributes
    ----------
    looks : per look and metric: ``as_of, days, metric, effect, ci_low, ci_high, cs_low,
        cs_high, decision_low, decision_high, margin, row, taxonomy, p_harm, n_control,
        n_canary, days_to_decision, verdict``.
    verdicts : one row per look: ``as_of, days, units_control, units_canary, srm_p,
        verdict, days_to_decision``.
    crossings : per metric, the first look (``as_of``) at which the decision interval
        crossed each boundary: ``superior`` (upper < 0), ``non_inferior`` (upper < margin),
        ``harm`` (lower > 0), ``inferior`` (lower > margin), on the harm-oriented scale.
    final : the :class:`CanaryResult` at the last look.
    """

    looks: pd.DataFrame
    verdicts: pd.DataFrame
    crossings: pd.DataFrame
    final: CanaryResult

    def to_frame(self) -> pd.DataFrame:
        return self.looks

    __repr__ = _display.short_repr

    def summary(self) -> str:
        return (
            f"Canary history: {len(self.verdicts)} looks, final verdict "
            f"{self.final.verdict}.\n" + _display.text_table(self.crossings)
        )

    def _repr_html_(self) -> str:
        return (
            _display.verdict_html(self.final.verdict, "Canary (final look)", self.final.reasons)
            + _display.table_html(
                self.crossings,
                caption="Boundary crossings (first look at which each was crossed)",
            )
            + _display.table_html(self.verdicts, caption="Verdict by day")
        )

    def plot(self, metric: str | None = None, ax: Any = None) -> Any:
        """Funnel plot: the confidence sequence narrowing over days, with margin and zero."""
        from mlopskit import plots

        return plots.canary_funnel(self, metric=metric, ax=ax)


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------
def _prepare(
    canary_log: Any,
    *,
    metrics: Sequence[Metric] | None,
    as_of: Any,
    maturity_days: float | None,
    expected_split: Any,
    alpha: float | None,
    sequential: bool,
    planned_days: float | None,
    covariate: str | None,
    columns: Mapping[str, str] | None,
    policy: Any,
) -> tuple[_Evaluation, tuple[Metric, ...], CanaryPolicy, _Settings, dict[str, Any]]:
    cfg = _policy(policy)
    mets = tuple(default_metrics(cfg) if metrics is None else metrics)
    if not mets or not all(isinstance(m, Metric) for m in mets):
        raise ValueError(
            "`metrics` must be a non-empty sequence of Metric (Proportion/Mean/Ratio); got "
            f"{metrics!r}."
        )
    names = [m.name for m in mets]
    if len(set(names)) < len(names):
        raise ValueError(f"`metrics` names must be unique; got {names}.")
    split = _check_split(expected_split)
    a = 2 * cfg.alpha if alpha is None else alpha
    _prop._check_alpha(a)
    mat = cfg.maturity_days if maturity_days is None else float(maturity_days)
    if not (np.isfinite(mat) and mat >= 0):
        raise ValueError(f"`maturity_days` must be a number ≥ 0; got {maturity_days!r}.")
    pdays = cfg.planned_days if planned_days is None else float(planned_days)
    if not pdays > 0:
        raise ValueError(f"`planned_days` must be > 0; got {planned_days!r}.")
    st = _Settings(
        a / 2,
        bool(sequential),
        pdays,
        float(cfg.burn_in_min_events),
        cfg.power,
        covariate is not None,
    )
    info: dict[str, Any] = {
        "maturity_days": mat,
        "alpha": a,
        "planned_days": pdays,
        "first_exposure": None,
        "warnings": [],
    }
    if isinstance(canary_log, CanaryLook):
        looks = [canary_log]
    elif (
        isinstance(canary_log, Sequence)
        and canary_log
        and all(isinstance(lk, CanaryLook) for lk in canary_log)
    ):
        looks = list(canary_log)
    else:
        if as_of is None:
            raise ValueError(
                "`as_of` is required for a canary log (the analysis time; "
                "later exposures and labels are ignored)."
            )
        needed = sorted(
            {c for m in mets for c in m.columns} | ({covariate} if covariate else set())
        )
        lf = frames.canary_validate(canary_log, columns=columns, needed=needed)
        agg = frames.canary_daily_sums(
            lf, [m.spec() for m in mets], as_of=as_of, maturity_days=mat, covariate=covariate
        )
        looks = _looks_from_daily(agg, mets)
        info["first_exposure"] = agg.first_ts
        if any(m.label_based for m in mets) and "label_ts" not in frames.schema(lf):
            info["warnings"].append(
                "canary log has no `label_ts`: label-based metrics use every label present, "
                "whenever it arrived (no label window)."
            )
    for lk in looks:
        missing = [m.name for m in mets if m.name not in lk.control or m.name not in lk.canary]
        if missing:
            raise ValueError(f"CanaryLook at {lk.as_of}: no statistics for metrics {missing}.")
    if looks[-1].units_control == 0 or looks[-1].units_canary == 0:
        empty = "control" if looks[-1].units_control == 0 else "canary"
        raise ValueError(f"canary log: arm {empty!r} has no units; both arms are needed.")
    return _evaluate(looks, mets, split, st), mets, cfg, st, info


def _result_at(
    ev: _Evaluation,
    k: int,
    mets: Sequence[Metric],
    cfg: CanaryPolicy,
    st: _Settings,
    info: Mapping[str, Any],
    split: tuple[float, float],
    covariate: str | None,
) -> CanaryResult:
    look = ev.looks[k]
    verdict, reasons, warns, days_to, lb = _decide(ev, k, mets, cfg, st, info["maturity_days"])
    results = _metric_results(ev, k, mets)
    extra = list(info["warnings"])
    for r in results:
        if r.metric.label_based and r.matured_share < 1:
            extra.append(
                f"{r.metric.name}: {r.matured_share:.0%} of exposed units have a "
                f"matured label window ({info['maturity_days']:g} days)."
            )
        if r.ci_method == "newcombe":
            extra.append(
                f"{r.metric.name}: fewer than 10 events or non-events in an arm; "
                "fixed CI by Newcombe's hybrid score method."
            )
        if r.cs_low > r.cs_high:
            extra.append(
                f"{r.metric.name}: the running intersection of the confidence "
                "sequences is empty (happens with probability ≤ alpha)."
            )
    return CanaryResult(
        verdict=verdict,
        reasons=reasons,
        metrics=results,
        as_of=look.as_of,
        first_exposure=info["first_exposure"],
        days=float(look.days),
        units_control=int(look.units_control),
        units_canary=int(look.units_canary),
        expected_split=split,
        srm_p=float(ev.srm_p[k]),
        alpha=float(info["alpha"]),
        sequential=st.sequential,
        planned_days=st.planned_days,
        maturity_days=float(info["maturity_days"]),
        covariate=covariate,
        days_to_decision=float(days_to),
        days_lower_bound=lb,
        policy=cfg,
        warnings=tuple(warns) + tuple(extra),
    )


def canary_test(
    canary_log: Any,
    *,
    metrics: Sequence[Metric] | None = None,
    as_of: Any = None,
    maturity_days: float | None = None,
    expected_split: tuple[float, float] = (0.95, 0.05),
    alpha: float | None = None,
    sequential: bool = True,
    planned_days: float | None = None,
    covariate: str | None = None,
    columns: Mapping[str, str] | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> CanaryResult:
    """Canary vs control as of ``as_of``: SRM, per-metric effects and intervals, a verdict.

    Parameters
    ----------
    canary_log : a canary log (pandas, polars eager/lazy, DuckDB, path), one row per
        randomization unit (``unit_id, ts, arm`` + the metrics' columns); or pre-aggregated
        statistics: one :class:`CanaryLook` or a sequence of daily cumulative looks.
    metrics : declarations (default :func:`default_metrics`: the fraud metrics).
    as_of : analysis time; units exposed later are ignored (required for a log).
    maturity_days : label window (default ``policy.maturity_days``): label-based metrics
        count units with ``ts + maturity_days ≤ as_of`` and labels arriving within the
        window; the matured share is reported.
    expected_split : configured (control, canary) shares, for the SRM chi-square test.
    alpha : two-sided level of the intervals (default ``2 × policy.alpha`` = 0.05); every
        decision (harm, non-inferiority, superiority) reads one side at ``alpha/2``.
    sequential : decide on always-valid confidence sequences (running intersection over
        the daily looks up to ``as_of``) — safe when looking every day. ``False`` decides on
        the fixed-horizon CI: only valid for a single pre-planned look.
    planned_days : expected decision day, tunes the sequences (default policy).
    covariate : a pre-exposure per-unit column for CUPED (proportion and mean metrics).
    columns : canonical name → your column name.
    policy : a Policy, a path, or a :class:`~mlopskit.policy.CanaryPolicy`.

    Returns
    -------
    CanaryResult
        Verdict PROMOTE | ROLLBACK | CONTINUE | INVALID with reasons: SRM p below
        ``policy.srm_alpha`` → INVALID; any metric showing harm (Holm within primaries and
        within guardrails, taxonomy rows 4–5) → ROLLBACK; every metric non-inferior
        (intersection–union) after ``policy.min_days`` → PROMOTE; otherwise CONTINUE with
        the projected days, and at ``policy.max_duration_days`` the
        ``policy.inconclusive_action``.
    """
    split = _check_split(expected_split)
    ev, mets, cfg, st, info = _prepare(
        canary_log,
        metrics=metrics,
        as_of=as_of,
        maturity_days=maturity_days,
        expected_split=split,
        alpha=alpha,
        sequential=sequential,
        planned_days=planned_days,
        covariate=covariate,
        columns=columns,
        policy=policy,
    )
    return _result_at(ev, len(ev.looks) - 1, mets, cfg, st, info, split, covariate)


def canary_history(
    canary_log: Any,
    *,
    metrics: Sequence[Metric] | None = None,
    as_of: Any = None,
    maturity_days: float | None = None,
    expected_split: tuple[float, float] = (0.95, 0.05),
    alpha: float | None = None,
    sequential: bool = True,
    planned_days: float | None = None,
    covariate: str | None = None,
    columns: Mapping[str, str] | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> CanaryHistory:
    """:func:`canary_test` as of the end of every day up to ``as_of`` (same parameters).

    One lazy pass grouped by arm and day; cumulative sums in numpy. The look at day ``d``
    equals ``canary_test(..., as_of=end of day d)``. Use it for the funnel plot and to see
    when each decision boundary would have been crossed.
    """
    split = _check_split(expected_split)
    ev, mets, cfg, st, info = _prepare(
        canary_log,
        metrics=metrics,
        as_of=as_of,
        maturity_days=maturity_days,
        expected_split=split,
        alpha=alpha,
        sequential=sequential,
        planned_days=planned_days,
        covariate=covariate,
        columns=columns,
        policy=policy,
    )
    vrows, lrows = [], []
    for k, look in enumerate(ev.looks):
        verdict, _, _, days_to, _ = _decide(ev, k, mets, cfg, st, info["maturity_days"])
        vrows.append(
            {
                "as_of": look.as_of,
                "days": look.days,
                "units_control": look.units_control,
                "units_canary": look.units_canary,
                "srm_p": float(ev.srm_p[k]),
                "verdict": str(verdict),
                "days_to_decision": days_to,
            }
        )
        for m in mets:
            a = ev.paths[m.name]
            lrows.append(
                {
                    "as_of": look.as_of,
                    "days": look.days,
                    "metric": m.name,
                    "effect": a["effect"][k],
                    "ci_low": a["ci_low"][k],
                    "ci_high": a["ci_high"][k],
                    "cs_low": a["cs_low"][k],
                    "cs_high": a["cs_high"][k],
                    "decision_low": a["decision_low"][k],
                    "decision_high": a["decision_high"][k],
                    "margin": m.margin,
                    "row": int(a["row"][k]),
                    "taxonomy": TAXONOMY[int(a["row"][k])],
                    "p_value": a["p_value"][k],
                    "p_harm": a["p_harm"][k],
                    "n_control": int(a["n_control"][k]),
                    "n_canary": int(a["n_canary"][k]),
                    "days_to_decision": a["days_to_decision"][k],
                    "verdict": str(verdict),
                }
            )
    crossings = []
    as_ofs = [lk.as_of for lk in ev.looks]
    for m in mets:
        a = ev.paths[m.name]
        sg = m.sign
        lh = np.where(sg > 0, a["decision_low"], -a["decision_high"])
        uh = np.where(sg > 0, a["decision_high"], -a["decision_low"])
        mh = sg * m.margin
        first: dict[str, Any] = {"metric": m.name}
        for name, hit in (
            ("superior", uh < 0),
            ("non_inferior", uh < mh),
            ("harm", lh > 0),
            ("inferior", lh > mh),
        ):
            idx = np.flatnonzero(hit)
            first[name] = as_ofs[idx[0]] if idx.size else pd.NaT
        crossings.append(first)
    final = _result_at(ev, len(ev.looks) - 1, mets, cfg, st, info, split, covariate)
    return CanaryHistory(pd.DataFrame(lrows), pd.DataFrame(vrows), pd.DataFrame(crossings), final)


# --------------------------------------------------------------------------------------
# Planning: before the canary starts
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CanaryPlan:
    """A non-inferiority design for one metric at canary share κ.

    Attributes
    ----------
    metric : name.  baseline : control rate/mean.  sd_control, sd_canary : per-unit SDs
        (``sqrt(p(1 − p))`` for proportions).  true_effect : assumed ``canary − control``
        (absolute).  margin : Δ (absolute; a relative margin times ``baseline``).
    canary_share : κ.  alpha : one-sided level.  power : power at ``n_total``.
    n_total, n_canary, n_control : units.  daily_units : total units per day (if given);
    days : ``n_total / daily_units``.  sequential : sized for confidence sequences
    (wider than a single fixed look) with ``planned_days``.
    """

    metric: str
    baseline: float
    sd_control: float
    sd_canary: float
    true_effect: float
    margin: float
    canary_share: float
    alpha: float
    power: float
    n_total: float
    daily_units: float | None
    sequential: bool
    planned_days: float | None

    @property
    def n_canary(self) -> float:
        return self.n_total * self.canary_share

    @property
    def n_control(self) -> float:
        return self.n_total * (1 - self.canary_share)

    @property
    def days(self) -> float:
        return self.n_total / self.daily_units if self.daily_units else float("nan")

    def power_at(self, n_total: Any, canary_share: float | None = None) -> np.ndarray:
        """Power of this design at other sizes (and shares): the power curve."""
        k = self.canary_share if canary_share is None else canary_share
        n = np.asarray(n_total, dtype=float)
        gap = (self.margin - self.true_effect) * np.sign(self.margin)
        se = _power.se_unbalanced(n, k, self.sd_canary, self.sd_control)
        z = stats.norm.isf(self.alpha)
        if not self.sequential:
            return np.asarray(stats.norm.sf(z - gap / se), dtype=float)
        s2 = n * se**2
        n_star = (self.planned_days or 1.0) * (self.daily_units or 1.0)
        rho2 = _seq.rho_squared(self.alpha, n_star, one_sided=True)
        h = _seq.half_width(n, s2, rho2, self.alpha, one_sided=True)
        return np.asarray(stats.norm.cdf((gap - h) / se), dtype=float)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "metric": self.metric,
                    "baseline": self.baseline,
                    "margin": self.margin,
                    "true_effect": self.true_effect,
                    "canary_share": self.canary_share,
                    "alpha": self.alpha,
                    "power": self.power,
                    "n_total": self.n_total,
                    "n_canary": self.n_canary,
                    "n_control": self.n_control,
                    "days": self.days,
                    "sequential": self.sequential,
                }
            ]
        )

    __repr__ = _display.short_repr

    def summary(self) -> str:
        days = (
            f", {self.days:.1f} days at {self.daily_units:,.0f} units/day"
            if self.daily_units
            else ""
        )
        return (
            f"{self.metric}: {self.n_total:,.0f} units ({self.n_canary:,.0f} canary at "
            f"{self.canary_share:.0%}){days} give power {self.power:.2f} to show "
            f"non-inferiority (margin {_fmt(self.margin)}, true effect "
            f"{_fmt(self.true_effect)}, one-sided alpha {self.alpha:g}"
            f"{', sequential' if self.sequential else ''})."
        )

    def _repr_html_(self) -> str:
        return f"<p>{_display.escape(self.summary())}</p>" + _display.table_html(self.to_frame())

    def plot(self, ax: Any = None, shares: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.5)) -> Any:
        """Power curve against days (or units) for several canary shares."""
        from mlopskit import plots

        return plots.canary_power_curve(self, shares=shares, ax=ax)


def _plan_inputs(
    metric: Metric | str,
    baseline: float,
    sd: float | None,
    true_effect: float,
    margin: float | None,
) -> tuple[str, float, float, float, float]:
    if isinstance(metric, Metric):
        name, kind, rel = metric.name, metric.kind, metric.relative
        mg = metric.margin if margin is None else margin
    else:
        name, kind, rel = str(metric), "proportion" if sd is None else "mean", False
        if margin is None:
            raise ValueError("`margin` is required when `metric` is not a Metric.")
        mg = margin
    if not (isinstance(baseline, float | int) and np.isfinite(baseline)):
        raise ValueError(f"`baseline` must be a finite number; got {baseline!r}.")
    scale = abs(baseline) if rel else 1.0
    mg_abs, eff_abs = mg * scale, true_effect * scale
    if kind == "proportion" and sd is None:
        sd_t, sd_c = _power.proportion_sds(baseline, eff_abs)
    else:
        if sd is None or not sd > 0:
            raise ValueError(
                f"`sd` (per-unit standard deviation) must be > 0 for a {kind} metric; got {sd!r}."
            )
        sd_t = sd_c = float(sd)
    return name, mg_abs, eff_abs, sd_t, sd_c


def _plan(
    metric: Metric | str,
    *,
    baseline: float,
    sd: float | None,
    true_effect: float,
    margin: float | None,
    canary_share: float,
    alpha: float | None,
    n_total: float,
    power: float,
    daily_units: float | None,
    sequential: bool,
    planned_days: float | None,
    policy: Any,
) -> CanaryPlan:
    cfg = _policy(policy)
    name, mg, eff, sd_t, sd_c = _plan_inputs(metric, baseline, sd, true_effect, margin)
    return CanaryPlan(
        name,
        float(baseline),
        sd_c,
        sd_t,
        eff,
        mg,
        canary_share,
        cfg.alpha if alpha is None else alpha,
        power,
        n_total,
        daily_units,
        sequential,
        cfg.planned_days if planned_days is None else planned_days,
    )


def sample_size(
    metric: Metric | str,
    *,
    baseline: float,
    sd: float | None = None,
    margin: float | None = None,
    true_effect: float = 0.0,
    canary_share: float = 0.05,
    alpha: float | None = None,
    power: float | None = None,
    daily_units: float | None = None,
    sequential: bool = False,
    planned_days: float | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> CanaryPlan:
    """Units (and days) for a non-inferiority canary to pass with ``power``.

    ``n = (z_{1−α} + z_{power})²(σ_t²/κ + σ_c²/(1 − κ)) / (Δ − δ)²`` on the harm side; with
    ``sequential=True`` the size at which the one-sided confidence sequence (tuned for
    ``planned_days × daily_units``) passes with ``power``. ``baseline`` is the control
    rate/mean; ``sd`` the per-unit SD (not needed for proportions); relative margins and
    effects are fractions of ``baseline``. Defaults from the policy (α one-sided 0.025,
    power 0.8).
    """
    cfg = _policy(policy)
    pw = cfg.power if power is None else power
    a = cfg.alpha if alpha is None else alpha
    _name, mg, eff, sd_t, sd_c = _plan_inputs(metric, baseline, sd, true_effect, margin)
    if sequential:
        pdays = cfg.planned_days if planned_days is None else planned_days
        unit_var = sd_t**2 / canary_share + sd_c**2 / (1 - canary_share)
        n_fixed = _power.sample_size_normal(
            eff,
            sd_canary=sd_t,
            sd_control=sd_c,
            canary_share=canary_share,
            alpha=a,
            power=pw,
            margin=mg,
        )
        n_star = pdays * daily_units if daily_units else n_fixed
        gap = abs(mg)
        n = float(
            _seq.sample_size_for_margin(
                gap, unit_var, n_star=n_star, alpha=a, power=pw, true_effect=eff * np.sign(mg)
            )
        )
    else:
        n = _power.sample_size_normal(
            eff,
            sd_canary=sd_t,
            sd_control=sd_c,
            canary_share=canary_share,
            alpha=a,
            power=pw,
            margin=mg,
        )
    return _plan(
        metric,
        baseline=baseline,
        sd=sd,
        true_effect=true_effect,
        margin=margin,
        canary_share=canary_share,
        alpha=a,
        n_total=n,
        power=pw,
        daily_units=daily_units,
        sequential=sequential,
        planned_days=planned_days,
        policy=cfg,
    )


def power(
    metric: Metric | str,
    *,
    baseline: float,
    n_total: float | None = None,
    days: float | None = None,
    daily_units: float | None = None,
    sd: float | None = None,
    margin: float | None = None,
    true_effect: float = 0.0,
    canary_share: float = 0.05,
    alpha: float | None = None,
    sequential: bool = False,
    planned_days: float | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> CanaryPlan:
    """Design power of a non-inferiority canary at ``n_total`` units (or ``days × daily_units``).

    ``π = Φ((Δ − δ)/SE − z_{1−α})`` on the harm side (STATISTICS.md §2) — a property of the
    design, never "observed power".
    """
    if n_total is None:
        if days is None or daily_units is None:
            raise ValueError("give `n_total`, or both `days` and `daily_units`.")
        n_total = days * daily_units
    if not n_total > 0:
        raise ValueError(f"`n_total` must be > 0; got {n_total!r}.")
    plan = _plan(
        metric,
        baseline=baseline,
        sd=sd,
        true_effect=true_effect,
        margin=margin,
        canary_share=canary_share,
        alpha=alpha,
        n_total=float(n_total),
        power=0.5,
        daily_units=daily_units,
        sequential=sequential,
        planned_days=planned_days,
        policy=policy,
    )
    return replace(plan, power=float(plan.power_at(plan.n_total)))


def minimum_detectable_effect(
    metric: Metric | str,
    *,
    baseline: float,
    n_total: float | None = None,
    days: float | None = None,
    daily_units: float | None = None,
    sd: float | None = None,
    canary_share: float = 0.05,
    alpha: float | None = None,
    power: float | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> float:
    """Smallest margin |Δ| (absolute units of the metric) a truly equal canary passes with
    ``power`` at ``n_total`` units: ``(z_{1−α} + z_{power})·SE(n)`` (STATISTICS.md §2).

    The same number is the smallest true harm the one-sided harm test detects with
    ``power``. For proportions the SD is ``sqrt(p(1 − p))`` at ``baseline``.
    """
    cfg = _policy(policy)
    if n_total is None:
        if days is None or daily_units is None:
            raise ValueError("give `n_total`, or both `days` and `daily_units`.")
        n_total = days * daily_units
    kind = metric.kind if isinstance(metric, Metric) else ("proportion" if sd is None else "mean")
    if kind == "proportion" and sd is None:
        sd_c = float(np.sqrt(baseline * (1 - baseline)))
    elif sd is None or not sd > 0:
        raise ValueError(f"`sd` must be > 0 for a {kind} metric; got {sd!r}.")
    else:
        sd_c = float(sd)
    return _power.minimum_detectable_effect_normal(
        float(n_total),
        sd_canary=sd_c,
        sd_control=sd_c,
        canary_share=canary_share,
        alpha=cfg.alpha if alpha is None else alpha,
        power=cfg.power if power is None else power,
        alternative="one-sided",
    )


__all__ = [
    "TAXONOMY",
    "ArmStats",
    "CanaryHistory",
    "CanaryLook",
    "CanaryPlan",
    "CanaryResult",
    "Mean",
    "Metric",
    "MetricResult",
    "Proportion",
    "Ratio",
    "canary_history",
    "canary_test",
    "classify",
    "default_metrics",
    "minimum_detectable_effect",
    "power",
    "sample_size",
]
