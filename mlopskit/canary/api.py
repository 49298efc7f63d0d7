"""The canary entry points: canary_test() and canary_history()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlopskit import frames
from mlopskit.policy import CanaryPolicy, Policy
from mlopskit.stats import proportions as _prop
from mlopskit.verdict import Reason

if TYPE_CHECKING:
    from pathlib import Path
from mlopskit.canary import windows as _win
from mlopskit.canary.decide import _decide
from mlopskit.canary.evaluate import _check_split, _evaluate, _Evaluation, _Settings
from mlopskit.canary.labels import LabelArrivals
from mlopskit.canary.looks import ArmStats, CanaryLook, _looks_from_daily, _with_cap_guards
from mlopskit.canary.metrics import TAXONOMY, Metric, _policy, default_metrics
from mlopskit.canary.results import CanaryHistory, CanaryResult, _metric_results
from mlopskit.rows import RowCounts


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
    a = cfg.alpha if alpha is None else alpha
    _prop._check_alpha(a)
    if a >= 0.5:
        raise ValueError(f"`alpha` is one-sided and must be < 0.5; got {alpha!r}.")
    horizon = _labels_horizon(policy)
    if maturity_days is not None and not (
        isinstance(maturity_days, int | float) and np.isfinite(maturity_days) and maturity_days >= 0
    ):
        raise ValueError(f"`maturity_days` must be a number ≥ 0; got {maturity_days!r}.")
    mat = float(
        maturity_days
        if maturity_days is not None
        else cfg.maturity_days
        if cfg.maturity_days is not None
        else horizon
    )
    windows = {m.name: float(m.window_days or mat) for m in mets if m.label_based}
    # a capped metric's above-cap guard is counted in its aggregation: the same window
    windows |= {m.above_cap_name: windows[m.name] for m in mets if m.cap and m.name in windows}
    pdays = cfg.planned_days if planned_days is None else float(planned_days)
    if not pdays > 0:
        raise ValueError(f"`planned_days` must be > 0; got {planned_days!r}.")
    st = _Settings(
        a,
        bool(sequential),
        pdays,
        float(cfg.burn_in_min_events),
        cfg.power,
        covariate is not None,
        float(cfg.skewness_factor),
        tuple(windows.items()),
        horizon,
        float(cfg.label_bias_tolerance),
    )
    info: dict[str, Any] = {
        "maturity_days": max(windows.values(), default=mat),
        "windows": windows,
        "horizon_days": horizon,
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
        groups = _window_groups(mets, windows, mat)
        w0, first = next(iter(groups.items()))
        lf, agg, arrivals = frames.canary_scan(
            canary_log,
            [m.spec() for m in first],
            columns=columns,
            needed=needed,
            as_of=as_of,
            maturity_days=w0,
            covariate=covariate,
            label_specs=[m.spec() for m in mets],
            horizon_days=horizon,
        )
        agg = _daily_by_window(lf, agg, groups, as_of, covariate)
        looks = _looks_from_daily(agg, mets)
        if arrivals:
            looks[-1] = replace(looks[-1], labels=_label_arrivals(arrivals))
        info["first_exposure"] = agg.first_ts
        info["units_late"] = dict(agg.late)
        info["units_upto"] = dict(agg.units_total)
        if sum(agg.late.values()):
            info["warnings"].append(
                f"canary log: {sum(agg.late.values()):,} units exposed after as_of "
                f"{agg.as_of} are left out (control {agg.late['control']:,}, canary "
                f"{agg.late['canary']:,})."
            )
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
    looks, mets = _with_cap_guards(looks, mets, cfg.cap_share_margin)
    return _evaluate(looks, mets, split, st), mets, cfg, st, info


def _labels_horizon(policy: Any) -> int:
    """The labels' horizon (``policy.labels.horizon_days``; 90 for a bare CanaryPolicy)."""
    from mlopskit.policy import LabelsPolicy, as_policy

    if isinstance(policy, CanaryPolicy):
        return int(LabelsPolicy().horizon_days)
    return int(as_policy(policy).section("labels", LabelsPolicy).horizon_days)


def _window_groups(
    mets: Sequence[Metric], windows: Mapping[str, float], default: float
) -> dict[float, list[Metric]]:
    """Metrics grouped by label window (non-label metrics with the default's group)."""
    groups: dict[float, list[Metric]] = {}
    for m in mets:
        groups.setdefault(windows.get(m.name, default), []).append(m)
    return groups


def _daily_by_window(
    lf: Any,
    first: frames.CanaryDaily,
    groups: Mapping[float, Sequence[Metric]],
    as_of: Any,
    covariate: str | None,
) -> frames.CanaryDaily:
    """Daily sums with each label metric's own window: ``first`` holds the first group's
    (from the validating scan); one more pass per further distinct window."""
    aggs = [first] + [
        frames.canary_daily_sums(
            lf,
            [m.spec() for m in ms],
            as_of=as_of,
            maturity_days=w,
            covariate=covariate,
            validated=True,
        )
        for w, ms in list(groups.items())[1:]
    ]
    if len(aggs) == 1:
        return first
    daily = {k: v for a in aggs for k, v in a.daily.items()}
    final = {k: v for a in aggs for k, v in a.final.items()}
    return replace(first, daily=daily, final=final)


def _label_arrivals(arrivals: Mapping[str, frames.CanaryArrivals]) -> dict[str, LabelArrivals]:
    return {
        name: LabelArrivals(
            a.day_starts,
            a.as_of,
            a.base,
            a.delay_sums,
            a.sign,
            {arm: ArmStats(**v) for arm, v in a.all_labels.items()},
            a.delay_squares,
            a.delay_cross,
            a.base_squares,
        )
        for name, a in arrivals.items()
    }


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
    windows = _win.label_windows(ev, k, mets, st)
    expected: pd.Timestamp | None = None
    if str(verdict) == "CONTINUE":
        gating = [r for r in results if r.metric.role != "secondary"]
        undecided = [r.metric for r in gating if r.row in (1, 6, 7)]
        expected, why = _win.decision_expected(ev, k, undecided, st, windows)
        if expected is not None:
            days_to, lb = (expected - pd.Timestamp(look.as_of)) / pd.Timedelta(days=1), False
            reasons = (
                *(r for r in reasons if r.code != "days_to_decision"),
                Reason(
                    "decision_expected",
                    f"Enrolment ended on {_day(_win.last_exposure(ev))}; without new traffic "
                    f"the label metrics ({', '.join(m.name for m in undecided)}) are "
                    f"expected to decide on {_day(expected)}, when enough label windows "
                    "have elapsed.",
                    None,
                ),
            )
        elif why and any(m.label_based for m in undecided):
            extra_why = f"decision date: {why}."
            warns = (*warns, extra_why)
    extra = list(info["warnings"])
    for r in results:
        if r.metric.label_based and r.matured_share < 1:
            w = info["windows"].get(r.metric.name, info["maturity_days"])
            extra.append(
                f"{r.metric.name}: {r.matured_share:.0%} of exposed units have a "
                f"matured label window ({w:g} days)."
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
    caps = {r.metric.name: r.metric.cap for r in results}
    for lw in windows:
        if lw.window_days < lw.horizon_days and not lw.biased and np.isfinite(lw.bias_share):
            cap = caps.get(lw.metric)
            within = (
                "within tolerance"
                if lw.bias_share <= st.bias_tolerance
                else "not significant against F̂'s standard errors"
            )
            on = "" if cap is None else f" (on the values capped at {cap:,g})"
            extra.append(
                f"{lw.metric}: {lw.window_days:g}-day label window, shorter than the "
                f"{lw.horizon_days}-day horizon — F̂{on} = {lw.maturity_control:.0%} control "
                f"vs {lw.maturity_canary:.0%} canary (bias {lw.bias_share:.0%} of the margin, "
                f"{within}); effect on all labels so far "
                f"{lw.all_labels_effect:.4g} (sensitivity, not a decision)."
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
        row_counts=_row_counts(look, info),
        label_windows=windows,
        decision_expected=expected,
    )


def _row_counts(look: CanaryLook, info: Mapping[str, Any]) -> RowCounts:
    """Units of the log: read, exposed by this look (used), exposed after ``as_of``, and
    exposed between this look and ``as_of`` (a sequential stop or an earlier daily look)."""
    used = {"control": int(look.units_control), "canary": int(look.units_canary)}
    late = info.get("units_late") or {a: 0 for a in used}
    upto = info.get("units_upto") or used
    later = f"after the look of {look.as_of}"
    by = {
        a: RowCounts.of(
            upto[a] + late[a], {"after as_of": late[a], later: upto[a] - used[a]}, unit="units"
        )
        for a in used
    }
    total = by["control"] + by["canary"]
    return RowCounts.of(total.read, total.dropped, by=by, unit="units")


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
    maturity_days : label window W of label metrics that declare none (``window_days``);
        default ``policy.maturity_days``, else the labels' horizon (``policy.labels.
        horizon_days``, 90): a unit counts once ``ts + W ≤ as_of``, with the labels that
        arrived within W. Per-arm maturity ``F̂(W)``, the differential-maturity check (a
        window shorter than the horizon is decided only once the first units are horizon
        days old and the arms mature alike through it), the all-labels sensitivity row and,
        for an ended canary, the expected decision date are on the result
        (``label_windows``, ``decision_expected``).
    expected_split : configured (control, canary) shares, for the SRM test (sequential
        mixture test when ``sequential``: checking every day keeps its error ≤
        ``policy.srm_alpha``; chi-square for a single look).
    alpha : one-sided error of every decision — harm, non-inferiority, superiority
        (default ``policy.alpha`` = 0.025, the convention of the planning functions too);
        the fixed intervals shown are two-sided ``1 − 2·alpha``.
    sequential : decide on always-valid confidence sequences (running intersection over
        the daily looks up to ``as_of``) — safe when looking every day. The canary stops at
        its first terminal verdict: if an earlier daily look already reached PROMOTE,
        ROLLBACK or INVALID, that look's result is returned (``stopped_at``). ``False``
        decides on the fixed-horizon CI at ``as_of``: only valid for a single pre-planned
        look.
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
    k = _stop_index(ev, mets, cfg, st, info)
    return _final(ev, k, mets, cfg, st, info, split, covariate)


_TERMINAL = ("PROMOTE", "ROLLBACK", "INVALID")


def _stop_index(
    ev: _Evaluation,
    mets: Sequence[Metric],
    cfg: CanaryPolicy,
    st: _Settings,
    info: Mapping[str, Any],
) -> int:
    """First look with a terminal verdict (sequential designs stop there), else the last.

    A sample-ratio mismatch detected at any look up to the last invalidates the whole
    canary, earlier decisions included (the assignment was broken while they were made),
    so the first SRM alarm takes precedence over an earlier PROMOTE or ROLLBACK.
    """
    last = len(ev.looks) - 1
    if not st.sequential:
        return last
    srm = np.flatnonzero(ev.srm_p < cfg.srm_alpha)
    if srm.size:
        return int(srm[0])
    for k in range(last):
        verdict = _decide(ev, k, mets, cfg, st, info["maturity_days"])[0]
        if str(verdict) in _TERMINAL:
            return k
    return last


def _final(
    ev: _Evaluation,
    k: int,
    mets: Sequence[Metric],
    cfg: CanaryPolicy,
    st: _Settings,
    info: Mapping[str, Any],
    split: tuple[float, float],
    covariate: str | None,
) -> CanaryResult:
    res = _result_at(ev, k, mets, cfg, st, info, split, covariate)
    last = len(ev.looks) - 1
    if k == last:
        return res
    look = ev.looks[k]
    stop = Reason(
        "stopped",
        f"The canary reached {res.verdict} at the look of {_day(look.as_of)}, after "
        f"{look.days:.1f} days; a sequential canary stops at its first decision, so the "
        f"{last - k} later look{'s' if last - k != 1 else ''} up to "
        f"{_day(ev.looks[last].as_of)} are not used.",
        None,
        float(look.days),
    )
    return replace(res, reasons=(*res.reasons, stop), stopped_at=look.as_of)


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
    stop = _stop_index(ev, mets, cfg, st, info)
    for k, look in enumerate(ev.looks[: stop + 1]):
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
    as_ofs = [lk.as_of for lk in ev.looks[: stop + 1]]
    for m in mets:
        a = {key: v[: stop + 1] for key, v in ev.paths[m.name].items()}
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
    final = _final(ev, stop, mets, cfg, st, info, split, covariate)
    stopped = (
        ev.looks[stop].as_of
        if stop < len(ev.looks) - 1 or str(final.verdict) in _TERMINAL
        else None
    )
    return CanaryHistory(
        pd.DataFrame(lrows), pd.DataFrame(vrows), pd.DataFrame(crossings), final, stopped
    )


def _day(ts: Any) -> str:
    """A look's date as YYYY-MM-DD (with the time of day only when it is not midnight)."""
    t = pd.Timestamp(ts)
    return f"{t:%Y-%m-%d}" if t == t.normalize() else f"{t:%Y-%m-%d %H:%M}"
