"""The simulated card-fraud world: the embedded default data and the tests' ground truth.

A seeded simulation realistic enough to exercise every decision mlopskit makes:

* transactions with 12 features of mixed types (heavy-tailed ``amount``, merchant category,
  country, channel, hour, account age, velocity counts, device risk, new device, distance,
  card present); fraud (≈ 0.7 %) depends on the features through a known logit;
* two *fitted* logistic models: champion ``fraud_v2.2`` (fewer signals) and challenger
  ``fraud_v2.3`` (more signals in the ``better`` scenario), both calibrated probabilities
  fitted on a training window, judged on an offline holdout;
* label lag: a fraud's chargeback arrives after a Gamma delay (median ≈ 17 days, horizon 90
  days), faster for riskier frauds (arrival bias), so recent labels are immature;
* an optional drift event (a merchant-category surge, an amount shift and a new fraud
  pattern) that degrades the champion;
* a shadow log (both scores, latencies, rare challenger errors) and a canary log (units
  hashed into control/canary, decisions, outcomes, losses) following ARCHITECTURE.md §4;
* a service log (latency and errors of the serving champion's calls) for the
  service-health monitoring layer.

``events`` and ``shadow_log`` are a uniform sample of production traffic (``daily_volume``
rows a day, as a monitoring sample would be); the canary log holds every unit of the canary
period (``canary_daily_volume`` a day) because the canary comparison needs the volume.

Same seed → the same frames and byte-identical files. Scenarios export their ground truth
(true effects, drift onset, the segment made to disagree) so tests can check decisions.

Modules: ``scenarios`` (constants, :class:`Scenario`, :func:`scenario`, :class:`GroundTruth`),
``model`` (:class:`LogisticModel` and its fit), ``world`` (the simulation, :class:`DemoWorld`,
:func:`generate`), ``files`` (:func:`write`, :func:`load`). Everything is re-exported here.
"""

from __future__ import annotations

from mlopskit.demo.files import (
    TABLES,
    load,
    write,
)
from mlopskit.demo.model import (
    CHALLENGER_TERMS,
    CHAMPION_TERMS,
    WORSE_TERMS,
    LogisticModel,
)
from mlopskit.demo.scenarios import (
    BASE_LOGIT,
    CATEGORICAL,
    CHANNEL_EFFECT,
    CHANNEL_P,
    CHANNELS,
    COUNTRIES,
    COUNTRY_EFFECT,
    COUNTRY_P,
    DRIFTED_FEATURES,
    FEATURES,
    MCC_EFFECT,
    MCC_P,
    MERCHANT_CATEGORIES,
    NEW_DEVICE_APP,
    SCENARIOS,
    SEGMENTS,
    SIGNAL,
    SIZES,
    GroundTruth,
    Scenario,
    scenario,
)
from mlopskit.demo.world import (
    DemoWorld,
    generate,
)

__all__ = [
    "BASE_LOGIT",
    "CATEGORICAL",
    "CHALLENGER_TERMS",
    "CHAMPION_TERMS",
    "CHANNELS",
    "CHANNEL_EFFECT",
    "CHANNEL_P",
    "COUNTRIES",
    "COUNTRY_EFFECT",
    "COUNTRY_P",
    "DRIFTED_FEATURES",
    "FEATURES",
    "MCC_EFFECT",
    "MCC_P",
    "MERCHANT_CATEGORIES",
    "NEW_DEVICE_APP",
    "SCENARIOS",
    "SEGMENTS",
    "SIGNAL",
    "SIZES",
    "TABLES",
    "WORSE_TERMS",
    "DemoWorld",
    "GroundTruth",
    "LogisticModel",
    "Scenario",
    "generate",
    "load",
    "scenario",
    "write",
]
