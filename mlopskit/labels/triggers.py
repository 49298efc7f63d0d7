"""Retraining triggers: drift flags, AUC drop, PSI weighted by importance, the schedule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from mlopskit.policy import LabelsPolicy
from mlopskit.stats.auc import positives_for_auc_precision

_DAY = pd.Timedelta(days=1)


def timestamp(value: Any, name: str) -> pd.Timestamp:
    """``value`` as a ``pd.Timestamp``; a ValueError naming ``name`` otherwise."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be a timestamp; got {value!r}.") from exc
    if ts is pd.NaT:
        raise ValueError(f"`{name}` must be a timestamp; got NaT.")
    return ts


@dataclass(frozen=True, slots=True)
class Trigger:
    """One retraining trigger: whether it fired and why.

    ``fired`` is None when the input was not given (not evaluated).
    """

    name: str
    fired: bool | None
    value: float | None = None
    threshold: float | None = None
    detail: str = ""


# -- the assessment ---------------------------------------------------------------------
def onset_of(drift: Any) -> tuple[pd.Timestamp | None, bool]:
    """Drift onset and materiality from ``drift``.

    Accepts None; a timestamp (str/datetime/``pd.Timestamp``: a material drift starting
    then); or a result object, read duck-typed: its ``onset`` attribute (timestamp or None)
    and optional boolean ``material`` attribute (default True when an onset is present), or
    else its ``flagged_windows`` (a sequence of window-start timestamps, as on the output
    drift result): the first flagged window is the onset.
    """
    if drift is None:
        return None, False
    if hasattr(drift, "onset"):
        onset = drift.onset
        if onset is None:
            return None, False
        material = getattr(drift, "material", True)
        return timestamp(onset, "drift.onset"), bool(material)
    if hasattr(drift, "flagged_windows"):
        windows = [timestamp(w, "drift.flagged_windows") for w in drift.flagged_windows]
        return (min(windows), True) if windows else (None, False)
    return timestamp(drift, "drift"), True


def conservative_onset(drift: Any, onset: pd.Timestamp | None) -> pd.Timestamp | None:
    """The late end of the onset interval (``drift.onset_high``) when the drift result has
    one, else ``onset``: new-world labels are counted from it so pre-drift labels stay out."""
    if onset is None:
        return None
    high = getattr(drift, "onset_high", None)
    return onset if high is None else max(onset, timestamp(high, "drift.onset_high"))


def k_star_for(k_star: int | None, pol: LabelsPolicy) -> tuple[int, str]:
    if k_star is not None:
        if not (isinstance(k_star, int | np.integer) and k_star >= 1):
            raise ValueError(f"`k_star` must be a positive integer; got {k_star!r}.")
        return int(k_star), "argument"
    if pol.k_star is not None:
        return int(pol.k_star), "policy"
    k = positives_for_auc_precision(
        auc=pol.k_star_auc, detectable_drop=pol.k_star_auc_drop, alpha=0.05, power=pol.k_star_power
    )
    return k, (
        f"Hanley–McNeil: detect an AUC drop of {pol.k_star_auc_drop} at AUC "
        f"{pol.k_star_auc} with power {pol.k_star_power}"
    )


def flag_trigger(name: str, obj: Any) -> Trigger:
    """bool, or an object with ``flagged`` / ``fired`` (bool or a sequence: non-empty fires),
    ``flagged_windows`` (a sequence, as on the output drift result) or ``verdict``
    (ALERT/PAGE fire)."""
    if obj is None:
        return Trigger(name, None, detail="not given")
    if isinstance(obj, bool | np.bool_):
        return Trigger(name, bool(obj), detail="given as a boolean")
    for attr in ("flagged", "fired", "flagged_windows"):
        if hasattr(obj, attr):
            value = getattr(obj, attr)
            fired = bool(len(value)) if isinstance(value, tuple | list) else bool(value)
            return Trigger(name, fired, detail=f"`{attr}` of {type(obj).__name__}")
    if hasattr(obj, "verdict"):
        v = str(obj.verdict)
        return Trigger(name, v in ("ALERT", "PAGE"), detail=f"verdict {v}")
    raise ValueError(
        f"`{name}` must be a bool or an object with a `flagged`, `fired`, `flagged_windows` "
        f"or `verdict` attribute; got {type(obj).__name__}."
    )


def auc_trigger(auc_drop: Any, pol: LabelsPolicy) -> Trigger:
    """bool, ``(drop, se)`` (confirmed iff drop − z_{1−α}·se > threshold, STATISTICS.md §5),
    or an object with a boolean ``confirmed`` attribute, a ``confirmed_drops`` sequence
    (non-empty fires, as on the outcome drift result) or ``auc_drop_test == "confirmed"``."""
    name, thr = "auc_drop", pol.auc_drop_threshold
    if auc_drop is None:
        return Trigger(name, None, threshold=thr, detail="not given")
    if isinstance(auc_drop, bool | np.bool_):
        return Trigger(name, bool(auc_drop), threshold=thr, detail="given as a boolean")
    if hasattr(auc_drop, "confirmed"):
        return Trigger(
            name, bool(auc_drop.confirmed), threshold=thr, detail="`confirmed` attribute"
        )
    if hasattr(auc_drop, "confirmed_drops"):
        drops = tuple(auc_drop.confirmed_drops)
        return Trigger(
            name, bool(drops), threshold=thr, detail=f"confirmed drops in windows {drops[:3]}"
        )
    if hasattr(auc_drop, "auc_drop_test"):
        test = str(auc_drop.auc_drop_test)
        return Trigger(name, test == "confirmed", threshold=thr, detail=f"AUC drop test: {test}")
    if isinstance(auc_drop, tuple) and len(auc_drop) == 2:
        drop, se = (float(v) for v in auc_drop)
        lower = drop - float(sps.norm.isf(pol.alpha)) * se
        return Trigger(
            name,
            lower > thr,
            value=drop,
            threshold=thr,
            detail=f"drop {drop:.4f}, one-sided lower bound {lower:.4f}",
        )
    raise ValueError(
        f"`auc_drop` must be a bool, a (drop, se) tuple or an object with `confirmed`, "
        f"`confirmed_drops` or `auc_drop_test`; "
        f"got {type(auc_drop).__name__}."
    )


def psi_trigger(psi: Any, importance: Any, pol: LabelsPolicy) -> Trigger:
    """PSI > threshold on a feature holding ≥ ``psi_min_importance`` of the importance.

    ``psi``: bool, mapping feature → PSI, or a frame / result with ``to_frame()`` having
    ``feature`` and ``psi`` columns. ``importance``: mapping feature → importance, or an
    object with a ``feature_importance`` mapping (a model); None counts every feature.
    """
    name, thr = "psi", pol.psi_threshold
    if psi is None:
        return Trigger(name, None, threshold=thr, detail="not given")
    if isinstance(psi, bool | np.bool_):
        return Trigger(name, bool(psi), threshold=thr, detail="given as a boolean")
    if isinstance(psi, Mapping):
        values = {str(k): float(v) for k, v in psi.items()}
    else:
        df = psi if isinstance(psi, pd.DataFrame) else getattr(psi, "to_frame", lambda: None)()
        if not isinstance(df, pd.DataFrame) or not {"feature", "psi"} <= set(df.columns):
            raise ValueError(
                "`psi` must be a bool, a mapping feature → PSI, or a frame/result whose "
                "to_frame() has `feature` and `psi` columns."
            )
        values = dict(zip(df["feature"].astype(str), df["psi"].astype(float), strict=True))
    imp = getattr(importance, "feature_importance", importance)
    if imp is None:
        shares = dict.fromkeys(values, 1.0)
        note = "no feature importance given: every feature counts"
    else:
        if not isinstance(imp, Mapping):
            raise ValueError("`feature_importance` must be a mapping feature → importance.")
        tot = sum(abs(float(v)) for v in imp.values()) or 1.0
        shares = {f: abs(float(imp.get(f, 0.0))) / tot for f in values}
        note = "importance-weighted PSI " + f"{sum(shares[f] * values[f] for f in values):.3f}"
    hits = sorted(
        (f for f in values if values[f] > thr and shares[f] >= pol.psi_min_importance),
        key=lambda f: -values[f],
    )
    top = max((values[f] for f in values if shares[f] >= pol.psi_min_importance), default=None)
    detail = (f"drifted important features {hits}; " if hits else "") + note
    return Trigger(name, bool(hits), value=top, threshold=thr, detail=detail)


_CADENCE_OFFSETS = {
    "weekly": pd.DateOffset(weeks=1),
    "monthly": pd.DateOffset(months=1),
    "quarterly": pd.DateOffset(months=3),
}


def scheduled_trigger(
    last_trained: pd.Timestamp | None, as_of: pd.Timestamp, cadence: str
) -> Trigger:
    if cadence == "none":
        return Trigger("scheduled", None, detail="no cadence in the policy")
    if last_trained is None:
        return Trigger("scheduled", None, detail="`last_trained` not given")
    due = last_trained + _CADENCE_OFFSETS[cadence]
    age = (as_of - last_trained) / _DAY
    return Trigger(
        "scheduled",
        bool(as_of >= due),
        value=float(age),
        threshold=float((due - last_trained) / _DAY),
        detail=f"{cadence} cadence: last training {last_trained.date()}, due {due.date()}",
    )
