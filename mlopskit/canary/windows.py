"""Label windows on the result: per-metric LabelWindow rows and the expected decision date."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mlopskit.canary import labels as _lab
from mlopskit.canary.evaluate import _Evaluation, _metric_path, _Settings
from mlopskit.canary.labels import LabelWindow
from mlopskit.canary.looks import CanaryLook
from mlopskit.canary.metrics import Metric

_DAY = pd.Timedelta(days=1)


def last_exposure(ev: _Evaluation) -> pd.Timestamp:
    """Time of the last exposure up to the final look (first exposure + exposure days)."""
    look = ev.looks[-1]
    exposed = look.days if look.exposure_days is None else look.exposure_days
    return pd.Timestamp(look.as_of) - (look.days - exposed) * _DAY


def enrolment_ended(ev: _Evaluation) -> bool:
    """No unit exposed during the last day before the final look."""
    look = ev.looks[-1]
    exposed = look.days if look.exposure_days is None else look.exposure_days
    return bool(look.days - exposed > 1.0)


def label_windows(
    ev: _Evaluation, k: int, metrics: Sequence[Metric], st: _Settings
) -> tuple[LabelWindow, ...]:
    """One :class:`LabelWindow` per label metric with arrivals, at look ``k``."""
    arrivals = ev.looks[-1].labels or {}
    windows = dict(st.windows)
    look = ev.looks[k]
    units = {"control": look.units_control, "canary": look.units_canary}
    end = last_exposure(ev)
    out = []
    for m in metrics:
        arr = arrivals.get(m.name)
        if not m.label_based or arr is None or m.name not in windows:
            continue
        a = ev.paths[m.name]
        w = windows[m.name]
        eff = lo = hi = float("nan")
        uncapped = {"effect": eff, "ci_low": eff, "ci_high": eff}
        if arr.all_labels:
            one = CanaryLook(
                look.as_of, look.days, look.units_control, look.units_canary,
                {m.name: arr.all_labels["control"]}, {m.name: arr.all_labels["canary"]},
                look.exposure_days,
            )  # fmt: skip
            p = _metric_path(m, [one], np.array([max(float(ev.rate[k]), 1.0)]), st)
            eff, lo, hi = float(p["effect"][0]), float(p["ci_low"][0]), float(p["ci_high"][0])
            if m.cap is not None:  # capped values above; the uncapped difference beside
                uncapped = {k: float(p["uncapped_" + k][0]) for k in uncapped}
        u = _lab.unbiased_window(arr, pd.Timestamp(look.as_of), st.horizon_days)

        t = pd.Timestamp(look.as_of)
        c_ = _lab.arm_maturity(arr, "control", t, w, st.horizon_days)
        t_ = _lab.arm_maturity(arr, "canary", t, w, st.horizon_days)
        margin_a = float(np.log1p(m.margin)) if m.relative else m.margin
        bias, share, _ = _lab.window_bias(
            m.sign, m.relative, margin_a, float(a["mean_canary"][k]), c_, t_, arr.sign,
            st.alpha1, st.bias_tolerance,
        )  # fmt: skip
        mc, mt = c_.maturity, t_.maturity
        late = _lab._NO_LATE
        if w < st.horizon_days:
            late = _lab.late_excess(
                arr, t, w, st.horizon_days, m.relative, float(a["mean_canary"][k]), st.alpha1
            )
        out.append(
            LabelWindow(
                metric=m.name,
                window_days=w,
                horizon_days=st.horizon_days,
                maturity_control=mc,
                maturity_canary=mt,
                maturity_se_control=c_.se,
                maturity_se_canary=t_.se,
                oldest_age=c_.oldest_age,
                maturity_ratio=mt / mc if mc > 0 else float("nan"),
                bias=bias,
                bias_share=share,
                biased=bool(a["label_biased"][k]) if "label_biased" in a else False,
                matured_control=float(a["n_control"][k]) / units["control"]
                if units["control"]
                else float("nan"),
                matured_canary=float(a["n_canary"][k]) / units["canary"]
                if units["canary"]
                else float("nan"),
                all_labels_effect=eff,
                all_labels_low=lo,
                all_labels_high=hi,
                window_closes=end + w * _DAY,
                unbiased_window=u,
                unbiased_date=end + u * _DAY if np.isfinite(u) else None,
                all_labels_uncapped_effect=uncapped["effect"],
                all_labels_uncapped_low=uncapped["ci_low"],
                all_labels_uncapped_high=uncapped["ci_high"],
                late_excess=late.effect,
                late_excess_low=late.low,
                late_excess_high=late.high,
                late_excess_share=abs(late.excess) / abs(margin_a),
                late_guarded=bool(a["late_guarded"][k]) if "late_guarded" in a else False,
            )
        )
    return tuple(out)


def decision_expected(
    ev: _Evaluation,
    k: int,
    undecided: Sequence[Metric],
    st: _Settings,
    windows_rows: Sequence[LabelWindow],
) -> tuple[pd.Timestamp | None, str]:
    """When a CONTINUE whose enrolment ended decides without new traffic.

    Only when every undecided gating metric is label-based: for each, the first day on
    which the units whose window has elapsed reach the projected ``n_needed`` (units
    exposed by ``t − W``), or — for a biased window — the last exposure plus the window at
    which both arms are ≥ 95% mature; the latest of these. A metric waiting for its
    burn-in (``min_events`` events per arm; for an above-cap guard, values above the cap)
    also needs the day its events are projected to reach it (events per counted unit ×
    exposed units, by exposure date); projected short of it, it cannot decide without new
    traffic. A window refused by the late-labels guard is not expected to decide.
    ``(None, why)`` otherwise.
    """
    if not undecided:
        return None, ""
    if not enrolment_ended(ev):
        return None, "enrolment has not ended: the decision also waits for new traffic"
    if not all(m.label_based for m in undecided):
        names = ", ".join(m.name for m in undecided if not m.label_based)
        return None, f"{names} need new traffic (not label-based)"
    windows = dict(st.windows)
    rows = {r.metric: r for r in windows_rows}
    end = last_exposure(ev)
    exposed = np.array([lk.units_control + lk.units_canary for lk in ev.looks], dtype=float)
    times = [pd.Timestamp(lk.as_of) for lk in ev.looks]
    dates: list[pd.Timestamp] = []
    for m in undecided:
        w = windows.get(m.name, float("nan"))
        a = ev.paths[m.name]
        row = rows.get(m.name)
        if row is not None and row.biased:
            if row.unbiased_date is None:
                return None, f"{m.name}: no window with both arms ≥ 95% mature is observed yet"
            dates.append(row.unbiased_date)
            continue
        if row is not None and row.late_guarded:
            return None, (
                f"{m.name}: its labels arriving after the {w:g}-day window differ between "
                "the arms (late-labels guard), so it is not expected to decide on this "
                f"window; declared with window_days={st.horizon_days} it would decide on "
                f"every label within the horizon (all in by {_day(end + st.horizon_days * _DAY)})"
            )
        ev_need = _events_wait(ev, k, m, st)
        if isinstance(ev_need, str):
            return None, ev_need
        need = float(a["n_needed"][k])
        if ev_need is not None:
            dates.append(ev_need + w * _DAY)
        if not np.isfinite(need):
            dates.append(end + w * _DAY)  # nothing matured yet: at least the window
            continue
        if need > exposed[-1]:
            return None, (
                f"{m.name}: needs about {need:,.0f} units with matured labels, more than "
                f"the {exposed[-1]:,.0f} units exposed; it cannot decide without new traffic"
            )
        first = int(np.argmax(exposed >= need))
        dates.append(times[first] + w * _DAY)
    when = max(dates)
    return max(when, pd.Timestamp(ev.looks[k].as_of)), ""


def _day(t: pd.Timestamp) -> str:
    return pd.Timestamp(t).strftime("%Y-%m-%d")


def _events_wait(ev: _Evaluation, k: int, m: Metric, st: _Settings) -> pd.Timestamp | str | None:
    """A metric short of its burn-in at look ``k``: the exposure date by which each arm's
    events, projected at the rate per counted unit, reach ``min_events`` (``None``: not
    waiting on events); a sentence when the exposed units cannot reach it."""
    a = ev.paths[m.name]
    if int(a["row"][k]) != 1 or int(a["gate"][k]) != 1:
        return None
    guard = m.name.endswith("_above_cap")
    what = "values above the cap" if guard else "events"
    when: list[pd.Timestamp] = []
    for arm in ("control", "canary"):
        events, n = float(a[f"events_{arm}"][k]), float(a[f"n_{arm}"][k])
        if events >= st.min_events or not n > 0:
            continue  # reached, or nothing counted yet (the window's date rules)
        exposed = np.array([getattr(lk, f"units_{arm}") for lk in ev.looks], dtype=float)
        projected = exposed * events / n if n > 0 else np.zeros_like(exposed)
        if not projected[-1] >= st.min_events:
            return (
                f"{m.name}: needs {st.min_events:g} {what} in each arm; {arm} has "
                f"{events:g} among {n:,.0f} counted units, about {projected[-1]:.1f} "
                f"projected over its {exposed[-1]:,.0f} exposed units — it cannot decide "
                "without new traffic"
            )
        when.append(pd.Timestamp(ev.looks[int(np.argmax(projected >= st.min_events))].as_of))
    return max(when) if when else None
