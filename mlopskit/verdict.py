"""Verdicts and reasons: decisions as data, not prose.

Each phase has its own vocabulary (ARCHITECTURE.md §2). A ``Reason`` is one line of the
argument behind a verdict: which check, the measured value, the threshold it was compared
with, and whether it passed. Reports render reasons; tests assert on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class _Verdict(StrEnum):
    def __str__(self) -> str:  # "PROMOTE", not "CanaryVerdict.PROMOTE"
        return self.value


class ShadowVerdict(_Verdict):
    READY_FOR_CANARY = "READY_FOR_CANARY"
    FIX = "FIX"
    CONTINUE_SHADOW = "CONTINUE_SHADOW"


class CanaryVerdict(_Verdict):
    PROMOTE = "PROMOTE"
    ROLLBACK = "ROLLBACK"
    CONTINUE = "CONTINUE"
    INVALID = "INVALID"


class MonitorVerdict(_Verdict):
    OK = "OK"
    WATCH = "WATCH"
    ALERT = "ALERT"
    PAGE = "PAGE"


class RetrainVerdict(_Verdict):
    RETRAIN_NOW = "RETRAIN_NOW"
    WAIT_FOR_LABELS = "WAIT_FOR_LABELS"
    RECALIBRATE_STOPGAP = "RECALIBRATE_STOPGAP"
    NO_ACTION = "NO_ACTION"


Verdict = ShadowVerdict | CanaryVerdict | MonitorVerdict | RetrainVerdict

#: colour used by reports for each verdict (green = go, amber = wait, red = stop).
VERDICT_COLOURS: dict[str, str] = {
    "READY_FOR_CANARY": "#1a7f37",
    "PROMOTE": "#1a7f37",
    "OK": "#1a7f37",
    "NO_ACTION": "#1a7f37",
    "CONTINUE_SHADOW": "#9a6700",
    "CONTINUE": "#9a6700",
    "WATCH": "#9a6700",
    "WAIT_FOR_LABELS": "#9a6700",
    "RECALIBRATE_STOPGAP": "#9a6700",
    "FIX": "#cf222e",
    "ROLLBACK": "#cf222e",
    "INVALID": "#cf222e",
    "ALERT": "#cf222e",
    "PAGE": "#cf222e",
    "RETRAIN_NOW": "#cf222e",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """One check behind a verdict.

    Attributes
    ----------
    code : stable machine name of the check, e.g. ``"srm"``, ``"flag_rate_ratio"``.
    message : one human sentence with the numbers in it.
    passed : whether the check passed (``None`` when it could not be evaluated).
    value : the measured value, if any.
    threshold : the value it was compared with, if any.
    critical : a failing critical check decides the verdict on its own.
    """

    code: str
    message: str
    passed: bool | None = None
    value: float | None = None
    threshold: float | None = None
    critical: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
