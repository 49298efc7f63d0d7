"""The evidence each report gathers: which analysis runs on which log, with which windows.

A report notebook calls :func:`rollout` or :func:`monitoring` once and displays the parts;
the choices below (windows, reference periods, what the challenger's "inputs" are) are made
here, in the library, documented and tested, not in notebooks.

Windows (all end at the report's ``as_of``, exclusive):

* **reference period** of the score and outcome drift: the first ``reference_days`` (28)
  days of production events — the model's own early production behaviour, against which
  later windows are compared (its windows also calibrate the output-drift band);
* **current window** of input drift: the last ``current_days`` (7) days of production
  events, compared feature by feature with the training window (``reference.parquet``);
* **input drift over time**: ``current_days``-long windows from the first production day.

Rollout evidence (a challenger): the shadow profile (shadow log vs the offline holdout, the
champion's threshold as the shared threshold), the canary test and its daily history
(canary log, default fraud metrics and policy), and the PSI of the challenger's input
features between training and the current window.

Monitoring evidence (the Production model): the four layers — service health (only when
the data has a ``service_log``; otherwise the layer is *not evaluated*),
input drift, output (score) drift, outcome drift on matured labels — combined by
:func:`mlopskit.monitoring.monitor`, then label maturity and the retraining assessment
(:func:`mlopskit.labels.drift_vs_label_lag`, fed with the drift results, the model's
feature importances and training positives from its model config, and the end of the training
window as the last training date).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlopskit import frames

REFERENCE_DAYS = 28
"""Days at the start of production used as the score/outcome drift reference period."""
CURRENT_DAYS = 7
"""Length of the current window (and of the over-time windows) of input drift."""


def _model_file(inputs: Any, model: str) -> dict[str, Any]:
    """The model's feature importances and training positives, from its config."""
    cfg = inputs.config
    return {
        "feature_importance": cfg.importance() or {},
        "training": {"positives": cfg.training_positives},
    }


def _features(inputs: Any, model: str) -> list[str]:
    """The model's input features, present in events: the config's ``features``, or (none
    listed) every column that is not a contract column nor listed in ``not_features``."""
    ev = inputs.path("events")
    cols = list(frames.schema(frames.lazy(ev))) if ev is not None else []
    cfg = inputs.config
    names = list(cfg.feature_names())
    if not names:
        mapped = {c for log in cfg.logs.values() for c in log.columns.values()}
        contract = {"id", "ts", "score", "label", "label_ts", "prediction"}
        skip = mapped | contract | set(cfg.not_features)
        names = [c for c in cols if c not in skip]
    return [f for f in names if f in cols]


def _windows(inputs: Any, reference_days: int, current_days: int) -> dict[str, Any]:
    first = frames.ts_range(inputs.path("events"), before=inputs.as_of, frame="events")[0]
    if first is None:
        raise ValueError(f"events: no rows before as_of {inputs.as_of}.")
    start = first.normalize()
    cfg = getattr(inputs, "config", None)
    if cfg is not None:  # the config's windows (defaults: first 28 days, last 7 days)
        from mlopskit.report.config_inputs import window_bounds

        return {
            "start": start,
            "reference_period": window_bounds(cfg.reference_window, start, inputs.as_of),
            "current": window_bounds(cfg.current_window, start, inputs.as_of),
        }
    return {
        "start": start,
        "reference_period": (start, start + pd.Timedelta(days=reference_days)),
        "current": (inputs.as_of - pd.Timedelta(days=current_days), inputs.as_of),
    }


def _policy_for(inputs: Any, policy: Any) -> Any:
    """The policy with a model config's owners on the monitoring layers (``owners.model``,
    else ``domain.team``, for input/output/outcome; ``owners.<layer>`` overrides one,
    ``owners.service`` the service layer)."""
    cfg = getattr(inputs, "config", None)
    if cfg is None:
        return policy
    import dataclasses

    from mlopskit.policy import Policy, load_policy

    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    mon = dict(pol.raw.get("monitoring") or {})
    model_owner = cfg.owners.get("model", cfg.domain.team)
    for layer in ("input", "output", "outcome"):
        mon[f"{layer}_owner"] = cfg.owners.get(layer, model_owner)
    if "service" in cfg.owners:
        mon["service_owner"] = cfg.owners["service"]
    return dataclasses.replace(pol, raw={**pol.raw, "monitoring": mon})


def _reference(inputs: Any) -> tuple[Any, Any]:
    """The training/baseline frame of input drift and the window :func:`drift.profile` keeps
    of it: the ``reference`` log (whole), else (with a model config) the events in the
    config's reference window (the profile counts the rows outside it as dropped)."""
    if inputs.path("reference") is not None:
        return inputs.path("reference"), None
    if getattr(inputs, "config", None) is None or inputs.path("events") is None:
        return None, None
    w = _windows(inputs, REFERENCE_DAYS, CURRENT_DAYS)
    return inputs.path("events"), tuple(w["reference_period"])


def _input_drift(inputs: Any, model: str, current: tuple[Any, Any], policy: Any) -> Any:
    from mlopskit import drift

    features = _features(inputs, model)
    reference, window = _reference(inputs)
    if reference is None or inputs.path("events") is None or not features:
        return None, None
    cfg = getattr(inputs, "config", None)
    categorical = None
    if cfg is not None:
        categorical = [c for c in cfg.categorical() if c in features] or None
    prof = drift.profile(
        reference, features=features, categorical=categorical, window=window, policy=policy
    )
    cur = frames.time_filter(frames.lazy(inputs.path("events")), "ts", *current)
    return prof, drift.psi_table(prof, cur, policy=policy)


@dataclass(frozen=True)
class RolloutEvidence:
    """What a challenger's rollout report shows (``None``: no data for that part).

    Attributes
    ----------
    shadow : ``ShadowProfile`` of the shadow log.
    canary, canary_history : ``CanaryResult`` as of ``as_of`` and its daily looks.
    input_drift : ``PSITable`` of the challenger's features, training vs ``current``.
    current : the current window ``(start, end)`` of the input drift.
    """

    shadow: Any
    canary: Any
    canary_history: Any
    input_drift: Any
    current: tuple[pd.Timestamp, pd.Timestamp]
    words: Any = None
    reference_profile: Any = None
    """Card words per canary metric (a model config's ``domain`` words; ``None``: the
    defaults of :data:`mlopskit.report.card.DEFAULT_WORDS`)."""

    def key_numbers(self) -> dict[str, Any]:
        kn: dict[str, Any] = {}
        if self.shadow is not None:
            d = self.shadow.decisions
            kn["shadow"] = {
                "verdict": str(self.shadow.verdict),
                "requests": int(self.shadow.n_requests),
                "days": int(self.shadow.duration_days),
                "flag_rate_champion": float(d.flag_rate_champion),
                "flag_rate_challenger": float(d.flag_rate_challenger),
                "threshold_champion": float(self.shadow.threshold),
                "threshold_challenger": float(self.shadow.challenger_threshold),
                "jaccard": float(d.jaccard),
            }
        if self.canary is not None:
            c = self.canary
            kn["canary"] = {
                "verdict": str(c.verdict),
                "units_control": int(c.units_control),
                "units_canary": int(c.units_canary),
                "days": float(c.days),
                "srm_p": float(c.srm_p),
                # the interval the decision used (confidence sequence), as on the card
                "effects": {
                    m.metric.name: {
                        "effect": float(m.effect),
                        "ci_low": float(m.decision_low),
                        "ci_high": float(m.decision_high),
                    }
                    for m in c.metrics
                },
            }
        if self.input_drift is not None:
            kn["input_drift_flagged"] = list(self.input_drift.flagged)
        kn["row_counts"] = row_counts(
            shadow=self.shadow,
            canary=self.canary,
            input_drift_reference=self.reference_profile,
            input_drift=self.input_drift,
        )
        return kn


def row_counts(**results: Any) -> dict[str, Any]:
    """``{analysis: rows read / used / dropped by reason}`` of the results that have them
    (the provenance block's "Rows" table)."""
    return {
        name: r.row_counts.to_dict()
        for name, r in results.items()
        if r is not None and getattr(r, "row_counts", None) is not None
    }


def decision_phases(
    inputs: Any, *, policy: Any = None, shadow: bool = True, canary: bool = True
) -> tuple[Any, Any]:
    """The decision-critical results of a rollout: ``(shadow_profile, canary_test)``.

    One function for the report and the registry's promotion gate, which recomputes them
    from the registered data (``mlopskit.registry.gates.rederive``); ``shadow=False`` skips
    shadow, ``canary=False`` the canary (the report takes it from :func:`canary_phase`).
    Either is ``None`` when its log is absent or the model is not the challenger.
    """
    from mlopskit import shadow as shadow_mod

    sh = cn = None
    if shadow and inputs.role == "challenger" and inputs.path("shadow_log") is not None:
        sh = shadow_mod.shadow_profile(
            inputs.path("shadow_log"),
            threshold=float(inputs.threshold),
            challenger_threshold=(
                None if inputs.challenger_threshold is None else float(inputs.challenger_threshold)
            ),
            offline=inputs.path("offline"),
            segments=inputs.segments,
            policy=policy,
            as_of=inputs.as_of,
        )
    if canary:
        cn = canary_phase(inputs, policy=policy, history=False)
    return sh, cn


def canary_phase(inputs: Any, *, policy: Any = None, history: bool = False) -> Any:
    """The canary of a rollout: ``canary_test`` of the challenger's canary log (``None``
    without one or for another role); with ``history`` its :class:`~mlopskit.canary.
    CanaryHistory`, whose ``final`` is that same ``canary_test`` result (one analysis of
    the log instead of two: the report needs both)."""
    from mlopskit import canary

    if inputs.role != "challenger" or inputs.path("canary_log") is None:
        return None
    run = canary.canary_history if history else canary.canary_test
    return run(
        inputs.path("canary_log"),
        metrics=_canary_metrics(inputs, policy),
        as_of=inputs.as_of,
        maturity_days=_canary_maturity(inputs),
        policy=policy,
    )


def _canary_metrics(inputs: Any, policy: Any) -> Any:
    """A config model's canary metrics: its own ``canary`` section, else the defaults in its
    words (``None`` without a config: the default metrics)."""
    cfg = getattr(inputs, "config", None)
    if cfg is None:
        return None
    from mlopskit.report.config_inputs import config_metrics

    return config_metrics(cfg, policy)


def _canary_maturity(inputs: Any) -> float | None:
    """The config's ``canary.label_window_days`` (``None``: the policy's maturity)."""
    from mlopskit.report.config_inputs import config_maturity_days

    return config_maturity_days(getattr(inputs, "config", None))


def rollout(
    inputs: Any,
    *,
    policy: Any = None,
    current_days: int = CURRENT_DAYS,
) -> RolloutEvidence:
    """Shadow, canary and input-drift evidence for the challenger ``inputs.model``."""
    from mlopskit._progress import progress

    with progress("rollout evidence", 3) as p:
        policy = _policy_for(inputs, policy)
        p.step("shadow")
        sh, _ = decision_phases(inputs, policy=policy, canary=False)
        p.step("canary and its history")
        # canary_test's result is the history's final look
        # (tests/test_canary.py::test_history_final_is_the_canary_test)
        hist = canary_phase(inputs, policy=policy, history=True)
        cn = None if hist is None else hist.final
        current = (inputs.as_of - pd.Timedelta(days=current_days), inputs.as_of)
        if getattr(inputs, "config", None) is not None:
            current = _windows(inputs, REFERENCE_DAYS, current_days)["current"]
        p.step("input drift")
        prof, psi = _input_drift(inputs, inputs.model, current, policy)
    words = None
    if getattr(inputs, "config", None) is not None:
        from mlopskit.report.config_inputs import config_words

        words = config_words(inputs.config)
    return RolloutEvidence(sh, cn, hist, psi, current, words, reference_profile=prof)


@dataclass(frozen=True)
class MonitoringEvidence:
    """What the Production model's monitoring report shows.

    Attributes
    ----------
    monitor : ``MonitoringResult`` (the four layers, severities, owners, runbooks).
    service : ``ServiceHealth`` or ``None`` (no service log).
    input_drift, input_drift_over_time : ``PSITable`` of the current window and
        ``PSIOverTime`` by ``current_days`` windows.
    output_drift, outcome_drift : ``OutputDrift`` and ``OutcomeDrift`` against the
        reference period.
    maturity, retrain : ``LabelMaturity`` and ``RetrainAssessment``.
    reference_period, current : the windows used.
    estimated, estimate_check : ``EstimatedPerformance`` (CBPE per ``current_days`` window
        from the first production day) and its check against the labels arrived so far
        (:mod:`mlopskit.report.estimate_check`); ``None`` without a decision threshold.
    unit : what the model scores, in the model's words (a config's ``domain.events``).
    """

    monitor: Any
    service: Any
    input_drift: Any
    input_drift_over_time: Any
    output_drift: Any
    outcome_drift: Any
    maturity: Any
    retrain: Any
    reference_period: tuple[pd.Timestamp, pd.Timestamp]
    current: tuple[pd.Timestamp, pd.Timestamp]
    estimated: Any = None
    estimate_check: Any = None
    unit: str = "transactions"
    reference_profile: Any = None

    def key_numbers(self) -> dict[str, Any]:
        kn: dict[str, Any] = {
            "monitoring": {
                "verdict": str(self.monitor.verdict),
                **{
                    layer.layer: None if layer.severity is None else str(layer.severity)
                    for layer in self.monitor.layers
                },
            },
            "retraining": str(self.retrain.verdict) if self.retrain is not None else None,
            "reference_period": [t.isoformat() for t in self.reference_period],
            "current": [t.isoformat() for t in self.current],
        }
        if self.input_drift is not None:
            kn["input_drift_flagged"] = list(self.input_drift.flagged)
        if self.outcome_drift is not None:
            kn["confirmed_auc_drops"] = [str(t) for t in self.outcome_drift.confirmed_drops]
        kn["row_counts"] = row_counts(
            service=self.service,
            input_drift_reference=self.reference_profile,
            input_drift=self.input_drift,
            input_drift_over_time=self.input_drift_over_time,
            output_drift=self.output_drift,
            outcome_drift=self.outcome_drift,
            label_maturity=self.maturity,
            calibration=None if self.retrain is None else self.retrain.calibration,
            estimated_performance=self.estimated,
        )
        return kn


def monitoring(
    inputs: Any,
    *,
    policy: Any = None,
    reference_days: int = REFERENCE_DAYS,
    current_days: int = CURRENT_DAYS,
) -> MonitoringEvidence:
    """The four monitoring layers, label maturity and the retraining assessment."""
    from mlopskit._progress import progress

    with progress("monitoring evidence", 7) as p:
        policy = _policy_for(inputs, policy)
        from mlopskit import drift, labels
        from mlopskit import monitoring as mon

        ev = inputs.path("events")
        if ev is None:
            raise ValueError(f"data directory `{inputs.data_dir}` has no events.parquet.")
        w = _windows(inputs, reference_days, current_days)
        events = frames.time_filter(frames.lazy(ev), "ts", None, inputs.as_of)
        p.step("input drift")
        prof, psi = _input_drift(inputs, inputs.model, w["current"], policy)
        over_time = None
        if prof is not None:
            # windows end at the current window's end, so the latest over-time window IS the
            # current window: the input layer, the card and the table quote one PSI per feature
            # (a window cut short by as_of would be a stub quoted as if it were a week)
            cur_days = (w["current"][1] - w["current"][0]) / pd.Timedelta(days=1)
            over_time = drift.psi_over_time(
                prof,
                events,
                window=f"{int(cur_days) if cur_days == int(cur_days) else current_days}D",
                anchor=w["current"][1],
                features=[f.feature for f in prof.features],
                as_of=inputs.as_of,  # a window ending after as_of is partial: shown, not judged
                reference_period=w["reference_period"],  # baseline of each feature's onset
                policy=policy,
            )
        p.step("output drift")
        out = drift.output_drift(
            events, reference_period=w["reference_period"], as_of=inputs.as_of, policy=policy
        )
        p.step("outcome drift")
        outcome = drift.outcome_drift(
            events, reference_period=w["reference_period"], as_of=inputs.as_of, policy=policy
        )
        p.step("service health")
        service = None
        if inputs.path("service_log") is not None:
            service = mon.service_health(
                inputs.path("service_log"), as_of=inputs.as_of, policy=policy
            )
        result = mon.monitor(
            service=service,
            input_drift=over_time if over_time is not None else psi,
            output_drift=out,
            outcome_drift=outcome,
            policy=policy,
        )
        p.step("label maturity")
        maturity = labels.label_maturity(ev, as_of=inputs.as_of, score="score", policy=policy)
        p.step("retraining assessment")
        spec = _model_file(inputs, inputs.model)
        last_trained = None
        cfg = getattr(inputs, "config", None)
        if cfg is not None and cfg.last_trained is not None:
            last_trained = pd.Timestamp(cfg.last_trained)
        elif inputs.path("reference") is not None:
            last_trained = frames.ts_range(inputs.path("reference"), frame="reference")[1]
        elif cfg is not None:  # reference = the config's reference window of the events
            last_trained = w["reference_period"][1]
        retrain = labels.drift_vs_label_lag(
            ev,
            as_of=inputs.as_of,
            drift=out,
            psi=psi,
            feature_importance=spec.get("feature_importance") or None,
            output_drift=out,
            auc_drop=outcome,
            last_trained=last_trained,
            training_positives=spec.get("training", {}).get("positives"),
            policy=policy,
        )
        p.step("estimated performance")
        estimated = check = None
        if getattr(inputs, "model_threshold", None) is not None:
            from mlopskit.drift.estimated import estimated_performance

            estimated = estimated_performance(
                events,
                as_of=inputs.as_of,
                start=w["start"],
                threshold=float(inputs.model_threshold),
                window=f"{current_days}D",
                outcome=outcome,
            )
            from mlopskit.report.estimate_check import estimate_check

            check = estimate_check(
                ev,
                estimated,
                as_of=inputs.as_of,
                start=w["start"],
                label_window_days=outcome.label_age / pd.Timedelta(days=1),
            )
        return MonitoringEvidence(
            monitor=result,
            service=service,
            input_drift=psi,
            input_drift_over_time=over_time,
            output_drift=out,
            outcome_drift=outcome,
            maturity=maturity,
            retrain=retrain,
            reference_period=w["reference_period"],
            current=w["current"],
            estimated=estimated,
            estimate_check=check,
            unit=cfg.domain.events if cfg is not None else "transactions",
            reference_profile=prof,
        )
