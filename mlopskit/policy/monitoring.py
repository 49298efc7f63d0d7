"""The ``monitoring`` section (the four layers): :class:`MonitoringPolicy`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from mlopskit.policy.core import SECTIONS

_SEVERITIES = ("OK", "WATCH", "ALERT", "PAGE")


@dataclass(frozen=True)
class MonitoringPolicy:
    """The four monitoring layers (``mlopskit.monitoring``): owner, thresholds, severity, runbook.

    Severities are ``OK < WATCH < ALERT < PAGE``. Paging is reserved for outcome regressions
    and service health (a 3 AM page must be worth it); input drift never pages (a non-paging
    alert investigated next business day), output drift pages only if a team sets
    ``output_severe_severity: PAGE``.

    Attributes
    ----------
    service_owner, input_owner, output_owner, outcome_owner : who acts on each layer.
    service_runbook, input_runbook, output_runbook, outcome_runbook : what the on-call does.
    service_window : window of the latest service-health look (1h: an outage must page
        within the hour).
    latency_p99_watch_ms, latency_p99_page_ms : p99 latency (ms) at which service health is
        WATCH / PAGE (200 ms watch, 500 ms page: a typical real-time scoring SLO).
    error_rate_watch, error_rate_page : share of failed requests at WATCH / PAGE (0.5% / 2%).
    throughput_drop_page : PAGE when the latest window's request rate falls below this share
        of the baseline rate (0.5: half the traffic missing is an outage upstream).
    input_moderate_severity, input_significant_severity : severity of the worst feature's PSI
        status (WATCH / ALERT). Never PAGE.
    output_out_of_band_severity : latest score window outside its band but PSI below
        ``tau_moderate`` of the drift policy (WATCH).
    output_moderate_severity : outside the band with PSI ≥ ``tau_moderate`` (ALERT).
    output_severe_psi, output_severe_severity : outside the band with PSI ≥ this value
        (0.25) → this severity (ALERT by default; set PAGE to page on severe output drift).
    outcome_auc_drop_severity : "AUC dropped by more than the tolerance" confirmed (PAGE).
    outcome_auc_inconclusive_severity : inconclusive with the point estimate beyond the
        tolerance (WATCH: wait for labels).
    outcome_oe_low, outcome_oe_high : calibration band for the O/E ratio (0.8 – 1.25,
        symmetric on the log scale).
    outcome_calibration_severity : the O/E interval lies entirely outside the band (ALERT:
        a recalibration is a next-business-day fix, not a page).
    """

    service_owner: str = "ml-platform on-call"
    service_runbook: str = (
        "Check the scoring service dashboard (latency, errors, pods). If the new model "
        "version was deployed in the last 24 h, roll back to the archived Production "
        "version in the registry; otherwise escalate to the platform on-call."
    )
    service_window: str = "1h"
    latency_p99_watch_ms: float = 200.0
    latency_p99_page_ms: float = 500.0
    error_rate_watch: float = 0.005
    error_rate_page: float = 0.02
    throughput_drop_page: float = 0.5
    input_owner: str = "fraud data science"
    input_runbook: str = (
        "Non-paging. Next business day: open the PSI table, check the top bins of each "
        "flagged feature, rule out a pipeline change (missing bin, new categories, units), "
        "then decide with the outcome layer whether retraining is needed."
    )
    input_moderate_severity: str = "WATCH"
    input_significant_severity: str = "ALERT"
    output_owner: str = "fraud data science"
    output_runbook: str = (
        "Compare the score histogram with the reference band; check input drift for the "
        "cause and the flag rate for operational impact. If severe and the model changed "
        "recently, revert to the previous version; file a follow-up for the next business day."
    )
    output_out_of_band_severity: str = "WATCH"
    output_moderate_severity: str = "ALERT"
    output_severe_psi: float = 0.25
    output_severe_severity: str = "ALERT"
    outcome_owner: str = "fraud data science (model owner)"
    outcome_runbook: str = (
        "Confirm the drop on matured labels only; compare with the challenger or the archived "
        "version on the same window; if the regression is confirmed, revert or retrain once "
        "enough post-drift labels have matured (mlopskit.labels)."
    )
    outcome_auc_drop_severity: str = "PAGE"
    outcome_auc_inconclusive_severity: str = "WATCH"
    outcome_oe_low: float = 0.8
    outcome_oe_high: float = 1.25
    outcome_calibration_severity: str = "ALERT"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name.endswith("_severity"):
                v = getattr(self, f.name)
                if v not in _SEVERITIES:
                    raise ValueError(
                        f"policy monitoring: `{f.name}` must be one of {list(_SEVERITIES)}; "
                        f"got {v!r}."
                    )
        for name in ("input_moderate_severity", "input_significant_severity"):
            if getattr(self, name) == "PAGE":
                raise ValueError(
                    f"policy monitoring: `{name}` must not be PAGE; input drift is non-paging "
                    "by design (investigate next business day)."
                )
        if not 0 < self.outcome_oe_low < 1 < self.outcome_oe_high:
            raise ValueError(
                "policy monitoring: need 0 < `outcome_oe_low` < 1 < `outcome_oe_high`; got "
                f"{self.outcome_oe_low!r} and {self.outcome_oe_high!r}."
            )


SECTIONS["monitoring"] = MonitoringPolicy
