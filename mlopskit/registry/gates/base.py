"""Shared parts of gate results (see :mod:`mlopskit.registry.gates`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlopskit.registry.records import parse_model
from mlopskit.verdict import Reason

if TYPE_CHECKING:
    import pandas as pd


MODEL_QUALITY = "model_quality"
FEATURE_PARITY = "feature_parity"
STAGING_SMOKE = "staging_smoke"
REPORT = "report"

#: metric → direction ("higher" or "lower" is better).
QUALITY_METRICS: dict[str, str] = {"auc": "higher", "brier": "lower"}


class GateFailed(AssertionError):
    """Raised by ``result.raise_if_failed()``; the message is the result's summary."""


class _Gate:
    """Shared behaviour of gate results (``gate``, ``model``, ``passed``, ``reasons``)."""

    __slots__ = ()
    gate: str
    model: str
    passed: bool
    reasons: tuple[Reason, ...]
    warnings: tuple[str, ...]

    def raise_if_failed(self) -> None:
        """Raise :class:`GateFailed` with the summary when the gate did not pass."""
        if not self.passed:
            raise GateFailed(self.summary())

    def summary(self) -> str:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def _details(self) -> dict[str, Any]:
        return {}

    def to_record(self) -> dict[str, Any]:
        """JSON-safe record kept by the registry (``Registry.record_gate``)."""
        return {
            "gate": self.gate,
            "model": self.model,
            "passed": bool(self.passed),
            "summary": self.summary(),
            "reasons": [r.to_dict() for r in self.reasons],
            "warnings": list(self.warnings),
            "details": self._details(),
        }

    def reasons_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "code": r.code,
                    "passed": r.passed,
                    "value": r.value,
                    "threshold": r.threshold,
                    "message": r.message,
                }
                for r in self.reasons
            ],
            columns=["code", "passed", "value", "threshold", "message"],
        )

    def _banner(self, title: str) -> str:
        from mlopskit import _display

        verdict = "PASS" if self.passed else "FAIL"
        colour = "#1a7f37" if self.passed else "#cf222e"
        items = "".join(
            f"<li>{'✔' if r.passed else '✘' if r.passed is False else '·'} "
            f"{_display.escape(r.message)}</li>"
            for r in self.reasons
        )
        rows = getattr(self, "row_counts", None)
        if rows is not None:
            items += f"<li>· rows: {_display.escape(rows.summary())}</li>"
        return (
            f'<div class="mk-verdict" style="border-left:6px solid {colour};padding:6px 12px;">'
            f"<strong>{_display.escape(title)} — {_display.escape(self.model)}: "
            f'<span style="color:{colour}">{verdict}</span></strong><ul>{items}</ul></div>'
            + _display.warnings_html(self.warnings)
        )


def _head(passed: bool, gate: str, model: str) -> str:
    return f"{gate} gate for {model}: {'PASS' if passed else 'FAIL'}"


@dataclass(frozen=True, slots=True)
class GateResult(_Gate):
    """A gate result from elsewhere (e.g. a CI system's own test job) to record as evidence.

    ``GateResult("ci", "fraud_v2.3", passed=True, reasons=(Reason("tests", "412 passed",
    True),))``.
    """

    gate: str
    model: str
    passed: bool
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parse_model(self.model)

    def to_frame(self) -> pd.DataFrame:
        return self.reasons_frame()

    def summary(self) -> str:
        lines = [_head(self.passed, self.gate, self.model)]
        lines += [f"  {'✔' if r.passed else '✘'} {r.message}" for r in self.reasons]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self._banner(f"{self.gate} gate")
