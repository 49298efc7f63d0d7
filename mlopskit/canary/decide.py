"""The canary decision rule: per-metric classifications combined into PROMOTE / ROLLBACK / CONTINUE / INVALID."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mlopskit.policy import CanaryPolicy
from mlopskit.stats import dist as _dist
from mlopskit.stats.multiple import holm
from mlopskit.verdict import CanaryVerdict, Reason

if TYPE_CHECKING:
    pass
from mlopskit.canary.evaluate import _Evaluation, _Settings
from mlopskit.canary.metrics import ROLES, TAXONOMY, Metric, _fmt


def _cap_text(m: Metric, a: dict[str, float], alpha1: float) -> str:
    """ "latency_ms capped at 2,000: 0.4% of control, 0.6% of canary values above the cap;
    uncapped difference …" — the bias a capped metric buys, stated beside its decision."""
    scale = "relative " if m.relative else ""
    return (
        f"{m.name} capped at {m.cap:,g}: {a['above_cap_control']:.1%} of control, "
        f"{a['above_cap_canary']:.1%} of canary values above the cap (guarded by "
        f"{m.above_cap_name}); uncapped {scale}difference {_fmt(a['uncapped_effect'])} "
        f"(fixed {1 - 2 * alpha1:.0%} CI [{_fmt(a['uncapped_ci_low'])}, "
        f"{_fmt(a['uncapped_ci_high'])}], shown, not decided on)."
    )


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
    units = look.units_control + look.units_canary
    observed = look.units_canary / units if units else float("nan")
    test = "sequential mixture test (valid over daily looks)" if st.sequential else "chi-square"
    msg = (
        f"Sample-ratio check: {look.units_control:,} control vs {look.units_canary:,} canary "
        f"units — canary share {observed:.1%} observed vs {ev.split[1]:.1%} expected; "
        f"{test} p = {_fmt(srm_p)} (alarm below {cfg.srm_alpha})."
    )
    if not srm_ok:
        msg += (
            f" If the configured split is not (control, canary) = ({ev.split[0]:g}, "
            f"{ev.split[1]:g}), set `expected_split` (observed: ({1 - observed:.3f}, "
            f"{observed:.3f})); otherwise the assignment is broken and no other number is "
            "trustworthy."
        )
    reasons.append(Reason("srm", msg, srm_ok, srm_p, cfg.srm_alpha, critical=not srm_ok))
    if not srm_ok:
        return CanaryVerdict.INVALID, tuple(reasons), (), float("nan"), False
    at = {m.name: {key: v[k] for key, v in ev.paths[m.name].items()} for m in metrics}
    bad_missing = []
    for m in metrics:
        a = at[m.name]
        mc_, mt_ = a["missing_control"], a["missing_canary"]
        if mc_ + mt_ == 0:
            continue
        rc = mc_ / max(a["n_control"] + mc_, 1.0)
        rt = mt_ / max(a["n_canary"] + mt_, 1.0)
        text = (
            f"{m.name}: values missing in {int(mc_):,} control ({rc:.2%}) and {int(mt_):,} "
            f"canary ({rt:.2%}) units (column {', '.join(m.columns)}), dropped from the "
            f"metric; equal-missingness p = {_fmt(a['missing_p'])}"
        )
        if a["missing_p"] < cfg.srm_alpha:
            bad_missing.append(m.name)
            reasons.append(
                Reason(
                    f"missing_{m.name}",
                    text + f" < {cfg.srm_alpha}: the arms lose values at different rates, so "
                    "the comparison is biased (e.g. the canary's slow calls time out without "
                    "a latency). Declare what a missing value means (fill_missing=, "
                    "fill_when=) or fix the logging.",
                    False,
                    float(a["missing_p"]),
                    cfg.srm_alpha,
                    critical=True,
                )
            )
        else:
            warns.append(text + ".")
    if bad_missing:
        return CanaryVerdict.INVALID, tuple(reasons), tuple(warns), float("nan"), False
    harm_p = np.full(len(metrics), np.nan)
    for role in ROLES:
        idx = [i for i, m in enumerate(metrics) if m.role == role]
        if idx:
            harm_p[idx] = holm(np.array([at[metrics[i].name]["p_harm"] for i in idx], float))
    rollback = hold = False
    guards = {p.above_cap_name: p.name for p in metrics if p.cap is not None}
    for i, m in enumerate(metrics):
        a = at[m.name]
        row = int(a["row"])
        lo, hi = a["decision_low"], a["decision_high"]
        shown = f"[{_fmt(lo)}, {_fmt(hi)}]"
        kind = "confidence sequence" if st.sequential else "CI"
        scale = "relative " if m.relative else ""
        harm = bool(harm_p[i] < st.alpha1) and row in (4, 5)
        if row == 1 and int(a["gate"]) == 3:
            msg = _biased_window_message(ev, k, m, a, st)
        elif row == 1 and int(a["gate"]) == 5:
            msg = _late_message(m, a, st)
        elif row == 1 and int(a["gate"]) == 4:
            w = dict(st.windows).get(m.name, float("nan"))
            msg = (
                f"{m.name}: its {w:g}-day label window is shorter than the "
                f"{st.horizon_days}-day label horizon; whether both arms' labels are as "
                f"complete at {w:g} days (missed frauds arrive later) can only be checked "
                f"once the first units are {st.horizon_days} days old. Not decided before; "
                "declare window_days equal to the horizon to decide as soon as the "
                "horizon has passed for enough units."
            )
        elif row == 1 and int(a["gate"]) == 2:
            need = st.skewness_factor * float(a["skewness"]) ** 2
            msg = (
                f"{m.name}: normal approximation not yet valid — skewness {_fmt(a['skewness'])} "
                f"of the values needs about {need:,.0f} canary units "
                f"(skewness_factor {st.skewness_factor:g} × skewness²), have "
                f"{int(a['n_canary']):,}; heavy tails would make the interval too short. "
                "CONTINUE."
            )
        elif row == 1 and m.name in guards:
            msg = (
                f"{m.name}: the guard on values above {guards[m.name]}'s cap waits for "
                f"{int(st.min_events)} values above the cap in each arm (have "
                f"{int(a['events_control'])} control / {int(a['events_canary'])} canary); "
                "until then PROMOTE is not possible (a cap this rarely exceeded needs more "
                "units, or a lower cap)."
            )
        elif row == 1:
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
        if m.cap is not None:
            msg += " " + _cap_text(m, a, st.alpha1)
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
    windows = dict(st.windows)
    for m in undecided:
        if m.label_based and at[m.name]["n_control"] + at[m.name]["n_canary"] == 0:
            wait = max(windows.get(m.name, maturity_days) - look.days, 0.0)
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
    # an undecided label metric's data lag its window: its maximum duration counts from when
    # the first units' windows elapsed (a 90-day window could not decide within 90 days)
    lag = max((windows.get(m.name, maturity_days) for m in undecided if m.label_based), default=0.0)
    if look.days >= cfg.max_duration_days + lag:
        action = cfg.inconclusive_action
        plus = f" + the {lag:g}-day label window" if lag else ""
        reasons.append(
            Reason(
                "max_duration",
                f"Inconclusive after {_fmt(look.days)} days (maximum "
                f"{cfg.max_duration_days:g} days{plus}); policy inconclusive_action = {action}.",
                False,
                look.days,
                cfg.max_duration_days + lag,
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
    if undecided:
        reasons.append(
            Reason(
                "continue",
                "CONTINUE: for "
                + ", ".join(m.name for m in undecided)
                + " the data cannot yet rule out harm beyond the margin (nor show harm); "
                "non-inferiority needs the upper bound below the margin.",
                None,
            )
        )
    return CanaryVerdict.CONTINUE, tuple(reasons), tuple(warns), days_to, lower_bound


def _late_message(m: Metric, a: dict[str, Any], st: _Settings) -> str:
    """Why a label metric is not decided on its window: labels arriving after it differ."""
    w = dict(st.windows).get(m.name, float("nan"))
    ex, se = float(a["late_excess"]), float(a["late_excess_se"])
    z = float(_dist.norm_isf(st.alpha1))
    back = np.expm1 if m.relative else (lambda v: v)
    lo, hi = back(ex - z * se), back(ex + z * se)
    towards = "against the canary" if m.sign * ex > 0 else "in the canary's favour"
    scale = "relative scale; " if m.relative else ""
    return (
        f"{m.name}: labels arriving after the {w:g}-day window (within the "
        f"{st.horizon_days}-day horizon) differ between the arms — the canary's late label "
        f"mass beyond what the control's maturing predicts is {_fmt(back(ex))} {towards} "
        f"({scale}fixed {1 - 2 * st.alpha1:.0%} CI [{_fmt(lo)}, {_fmt(hi)}], "
        f"{float(a['late_share']):.0%} of the margin; tolerance {st.bias_tolerance:.0%}), "
        "so the window's decision would not hold on all labels. Not decided on this "
        f"window; declare window_days={st.horizon_days} to decide on every label within "
        "the horizon."
    )


def _biased_window_message(
    ev: _Evaluation, k: int, m: Metric, a: dict[str, Any], st: _Settings
) -> str:
    """Why a label metric is not decided on its window: the arms' labels mature differently."""
    from mlopskit.canary import labels as _lab

    w = dict(st.windows).get(m.name, float("nan"))
    look = ev.looks[k]
    fc, ft = float(a["maturity_control"]), float(a["maturity_canary"])
    bias = float(a["maturity_bias"])
    sg = m.sign
    towards = "in the canary's favour" if sg * bias < 0 else "against the canary"
    scale = "relative " if m.relative else ""
    msg = (
        f"{m.name}: labels mature at different speeds in the two arms — F̂({w:g} days) = "
        f"{fc:.0%} in control vs {ft:.0%} in the canary (chain ladder per arm), so the "
        f"{w:g}-day {scale}effect is biased by {_fmt(bias)} {towards} "
        f"({float(a['bias_share']):.0%} of the margin; tolerance "
        f"{st.bias_tolerance:.0%}). Not decided on this window."
    )
    arr = (ev.looks[-1].labels or {}).get(m.name)
    if arr is not None:
        u = _lab.unbiased_window(arr, look.as_of, st.horizon_days)
        if np.isfinite(u):
            msg += (
                f" Both arms are ≥ 95% mature by {u:g} days: declare window_days={u:g} "
                "(or longer) for this metric."
            )
    return msg
