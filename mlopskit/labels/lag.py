"""drift_vs_label_lag(): enough new-world labels to retrain, or wait, or recalibrate?"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import frames
from mlopskit.labels.calibration import calib_text, calibration_check
from mlopskit.labels.maturity import LabelMaturity, _maturity_from_counts
from mlopskit.labels.prepare import _COHORTS, _cohort_arrays, _prepare, _score_edges
from mlopskit.labels.retrain import RetrainAssessment, decide
from mlopskit.labels.triggers import (
    Trigger,
    auc_trigger,
    conservative_onset,
    flag_trigger,
    k_star_for,
    onset_of,
    psi_trigger,
    scheduled_trigger,
    timestamp,
)
from mlopskit.policy import LabelsPolicy, Policy
from mlopskit.stats.matured_calibration import band_maturity_curves
from mlopskit.stats.maturity import (
    MaturityFn,
    forecast_label_count,
)


# ======================================================================================
# Retraining: wait for labels, recalibrate, or retrain now
# ======================================================================================
def _window_stats(
    counts: pd.DataFrame,
    splits: list[pd.Timestamp],
    start: pd.Timestamp,
    lm: LabelMaturity,
    *,
    after: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cohort: events, labelled positives and mean age (days) of the events at or after
    ``start`` (``after=True``) or before it, from the ``period`` key of the counts."""
    k = splits.index(start) + 1  # period = number of splits ≤ ts
    sel = counts[counts["period"] >= k] if after else counts[counts["period"] < k]
    m = len(lm.cohort_start)
    n = np.bincount(sel["cohort"], weights=sel["n"], minlength=m)[:m]
    pos_sel = sel[sel["delay_day"] >= 0]
    c = np.bincount(pos_sel["cohort"], weights=pos_sel["n"], minlength=m)[:m]
    age = np.bincount(sel["cohort"], weights=sel["age_sum"], minlength=m)[:m]
    mean_age = np.divide(age, n, out=np.zeros(m), where=n > 0)
    return n, c, mean_age


def drift_vs_label_lag(
    events: Any,
    *,
    as_of: Any,
    drift: Any = None,
    ts: str = "ts",
    label_ts: str = "label_ts",
    label: str | None = "label",
    score: str | None = "score",
    k_star: int | None = None,
    last_trained: Any = None,
    training_positives: int | None = None,
    psi: Any = None,
    feature_importance: Any = None,
    output_drift: Any = None,
    auc_drop: Any = None,
    horizon_days: int | None = None,
    cohort: str | None = None,
    columns: Mapping[str, str] | None = None,
    policy: Policy | LabelsPolicy | str | None = None,
) -> RetrainAssessment:
    """Retrain now, wait for labels, or ship a recalibration stopgap?

    Parameters
    ----------
    events : scored events with late labels (see :func:`label_maturity`); ``score`` is the
        served model's probability (needed for the calibration check and the stopgap).
    as_of : when the decision is made (later events and labels are treated as unknown).
    drift : the drift onset — None, a timestamp (a material drift starting then), or a
        drift result object: its ``onset`` attribute (timestamp or None) is read, and its
        optional boolean ``material`` attribute (default True when an onset is present);
        without ``onset``, the first of its ``flagged_windows``. When the result also has
        ``onset_high`` (the output drift's change point interval), new-world labels and the
        calibration check start there: the conservative end keeps pre-drift labels out.
    k_star : labelled new-world positives needed to retrain; default from the policy, else
        derived from the AUC precision target (``positives_for_auc_precision``).
    last_trained : date of the model's last training run (scheduled cadence, fresh labels).
    training_positives : positives the model was trained on (fresh-label share trigger).
    psi, feature_importance : input drift per feature (mapping / result with to_frame()
        having ``feature``, ``psi``) and the model's importances (mapping, or a model with
        a ``feature_importance`` mapping). Fires when PSI > 0.25 on an important feature.
    output_drift : bool, or an object with ``flagged``/``fired``/``flagged_windows`` or
        ``verdict`` (ALERT/PAGE fire).
    auc_drop : bool, ``(drop, se)``, or an object with a boolean ``confirmed``, a
        ``confirmed_drops`` sequence or ``auc_drop_test == "confirmed"``.
    horizon_days, cohort, columns, policy : as in :func:`label_maturity`; thresholds from the
        policy section ``labels``.

    Returns
    -------
    RetrainAssessment

    Notes
    -----
    Rules, in order. A drift is *material* when an onset is given (and not marked
    immaterial) or a monitoring trigger fired (PSI, output drift, AUC drop, calibration
    shift). Material: RETRAIN_NOW if the labelled new-world positives reach K*; else
    RECALIBRATE_STOPGAP if calibration on matured recent labels has shifted and the stopgap
    improved calibration on held-out matured data; else WAIT_FOR_LABELS, with the date the
    count reaches K* with the policy's probability. Not material: RETRAIN_NOW if the
    scheduled cadence is due or fresh labels exceed the policy share, else NO_ACTION.
    A due schedule never overrides waiting for post-drift labels: retraining then would fit
    new features to mostly pre-drift labels.
    """
    prep = _prepare(
        events,
        ts=ts,
        label_ts=label_ts,
        label=label,
        score=score,
        as_of=as_of,
        horizon_days=horizon_days,
        cohort=cohort,
        policy=policy,
        columns=columns,
    )
    pol = prep.policy
    warns: list[str] = []
    onset, drift_material = onset_of(drift)
    trained = None if last_trained is None else timestamp(last_trained, "last_trained")
    if onset is not None and not (prep.origin <= onset < prep.as_of):
        raise ValueError(
            f"`drift` onset {onset} must lie within the data, in [{prep.origin}, {prep.as_of})."
        )
    if trained is not None and trained >= prep.as_of:
        raise ValueError(f"`last_trained` ({trained}) must be before as_of ({prep.as_of}).")
    if training_positives is not None and not (
        isinstance(training_positives, int | np.integer) and training_positives >= 1
    ):
        raise ValueError(
            f"`training_positives` must be a positive integer; got {training_positives!r}."
        )
    kstar, kstar_src = k_star_for(k_star, pol)
    new_world = conservative_onset(drift, onset)
    cal_start = new_world or trained or prep.as_of - pd.Timedelta(days=pol.calibration_window_days)
    splits = sorted({t for t in (onset, new_world, trained, cal_start) if t is not None})
    edges = _score_edges(prep)
    counts = frames.label_triangle_counts(
        prep.lf,
        as_of=prep.as_of,
        origin=prep.origin,
        cohort_days=prep.cohort_days,
        horizon_days=prep.horizon_days,
        has_label=prep.has_label,
        splits=splits,
        score_edges=None if edges is None else list(edges),
    )
    lm = _maturity_from_counts(prep, counts, edges)
    fmat = lm.maturity_fn
    band_curves, band_notes = (
        (None, ()) if edges is None else _band_curves(prep, counts, edges, fmat)
    )

    # -- triggers
    calib = (
        calibration_check(
            prep.lf,
            as_of=prep.as_of,
            start=cal_start,
            has_label=prep.has_label,
            fmat=fmat,
            pol=pol,
            band_edges=edges,
            band_curves=band_curves,
        )
        if prep.has_score
        else None
    )
    cal_trigger = Trigger(
        "calibration_shift",
        None if calib is None or not calib.evaluated else calib.shifted,
        value=None if calib is None or calib.fit is None else calib.fit.citl,
        threshold=pol.calibration_citl_threshold,
        detail="no score column" if calib is None else (calib.note or calib_text(calib)),
    )
    if calib is not None and calib.evaluated and band_notes:
        warns.append(
            "calibration_band_maturity: some score bands have too few labelled positives for "
            "their own maturity curve and use the pooled one (" + "; ".join(band_notes) + ")."
        )
    monitors = (
        psi_trigger(psi, feature_importance, pol),
        flag_trigger("output_drift", output_drift),
        auc_trigger(auc_drop, pol),
        cal_trigger,
    )
    fired_monitors = [t.name for t in monitors if t.fired]
    material = (onset is not None and drift_material) or bool(fired_monitors)
    window_start = new_world if onset is not None else trained
    if material and window_start is None:
        window_start = cal_start
        warns.append(
            f"window_assumed: a monitoring trigger fired but neither a drift onset nor "
            f"`last_trained` was given; new-world labels are counted from {cal_start}."
        )
    fresh: Trigger
    if trained is None or training_positives is None:
        fresh = Trigger(
            "fresh_labels",
            None,
            threshold=pol.fresh_label_share,
            detail="needs `last_trained` and `training_positives`",
        )
    else:
        _, c_tr, _ = _window_stats(counts, splits, trained, lm, after=True)
        share = float(c_tr.sum()) / int(training_positives)
        fresh = Trigger(
            "fresh_labels",
            share >= pol.fresh_label_share,
            value=share,
            threshold=pol.fresh_label_share,
            detail=f"{int(c_tr.sum()):,} positives labelled since {trained.date()} vs "
            f"{int(training_positives):,} in training",
        )
    scheduled = scheduled_trigger(trained, prep.as_of, pol.cadence)
    triggers = (scheduled, *monitors, fresh)

    # -- labels in the new world and the forecast
    labelled = window_n = 0
    rate, rate_src, volume = float("nan"), "", float("nan")
    forecast = None
    date_e = date_p = None
    if window_start is not None:
        n_w, c_w, age_w = _window_stats(counts, splits, window_start, lm, after=True)
        labelled, window_n = int(c_w.sum()), int(n_w.sum())
        expo = float(np.sum(n_w * fmat(age_w)))
        rate, rate_src = (labelled / expo if expo > 0 else float("nan")), "post-window cohorts"
        rate_cv = 1 / math.sqrt(labelled) if labelled else 0.0
        if labelled < pol.min_positives_for_rate or not np.isfinite(rate):
            n_b, c_b, age_b = _window_stats(counts, splits, window_start, lm, after=False)
            fb = fmat(age_b)
            ok = fb >= pol.min_maturity
            if np.sum(n_b[ok] * fb[ok]) > 0:
                rate = float(c_b[ok].sum() / np.sum(n_b[ok] * fb[ok]))
                rate_cv = 1 / math.sqrt(max(float(c_b[ok].sum()), 1.0))
                rate_src = "pre-window cohorts (too few labelled positives since the window start)"
                warns.append(
                    f"rate_from_before_window: only {labelled} labelled positives since "
                    f"{window_start}; the forecast assumes the eventual positive rate of the "
                    f"earlier cohorts ({rate:.4%}) — a drift that changed prevalence moves the date."
                )
        volume = _daily_volume(lm, pol.future_volume_days)
        if np.isfinite(rate):
            forecast = forecast_label_count(
                fmat,
                k_star=kstar,
                future_rate=rate * volume,
                past_rates=n_w * rate,
                past_ages=age_w,
                observed=labelled,
                max_days=pol.max_forecast_days,
                probability=pol.forecast_probability,
                future_age_offset=0.5,
                rate_cv=rate_cv,
            )
            if forecast.day_expected is not None:
                date_e = prep.as_of + pd.Timedelta(days=forecast.day_expected)
            if forecast.day_probable is not None:
                date_p = prep.as_of + pd.Timedelta(days=forecast.day_probable)

    verdict, reasons = decide(
        pol=pol,
        onset=onset,
        drift_material=drift_material,
        material=material,
        fired_monitors=fired_monitors,
        window_start=window_start,
        labelled=labelled,
        kstar=kstar,
        kstar_src=kstar_src,
        forecast=forecast,
        date_e=date_e,
        date_p=date_p,
        calib=calib,
        triggers=triggers,
    )
    return RetrainAssessment(
        verdict=verdict,
        reasons=reasons,
        as_of=prep.as_of,
        onset=onset,
        window_start=window_start,
        k_star=kstar,
        k_star_source=kstar_src,
        labelled_now=labelled,
        window_events=window_n,
        positive_rate=rate,
        rate_source=rate_src,
        daily_volume=volume,
        forecast=forecast,
        forecast_date_expected=date_e,
        forecast_date=date_p,
        calibration=calib,
        triggers=triggers,
        maturity=lm,
        warnings=(*lm.warnings, *warns),
    )


def _band_curves(
    prep: Any, counts: pd.DataFrame, edges: np.ndarray, fmat: MaturityFn
) -> tuple[list[MaturityFn], tuple[str, ...]]:
    """Chain-ladder maturity curve per score band (the triangle's ``group``), pooled over
    cohorts; bands with too few positives use the pooled curve (STATISTICS.md §7.2)."""
    starts, _, _, latest = _cohort_arrays(prep, counts)
    h = prep.horizon_days
    rows = counts[(counts["delay_day"] >= 0) & (counts["delay_day"] < h)]
    pos = np.zeros((len(edges) + 1, len(starts), h))
    np.add.at(
        pos,
        (rows["group"].to_numpy(), rows["cohort"].to_numpy(), rows["delay_day"].to_numpy()),
        rows["n"].to_numpy(),
    )
    return band_maturity_curves(pos, latest, pooled=fmat)


def _daily_volume(lm: LabelMaturity, days: int) -> float:
    w = _COHORTS[lm.cohort]
    complete = lm.cohort_start + pd.Timedelta(days=w) <= lm.as_of
    n = lm.n_events[complete]
    k = max(1, round(days / w))
    return float(n[-k:].mean() / w) if n.size else float(lm.n_events.sum())
