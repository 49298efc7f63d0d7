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
    which both arms are ≥ 95% mature; the latest of these. ``(None, why)`` otherwise.
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
        need = float(a["n_needed"][k])
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
