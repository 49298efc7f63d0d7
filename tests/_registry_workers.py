"""Process targets for the registry's concurrency and crash tests.

Kept apart from the test modules so a spawned child imports only ``mlopskit.registry``
(stdlib only), not pytest, pandas or the gates: children start fast.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from mlopskit import registry as registry_module
from mlopskit.registry import Registry, RegistryError, Stage


def trust_hand_written_reports() -> None:
    """Lifecycle tests (stages, archive-on-promote, revert, locking, mirrors) promote with the
    hand-written reports of :func:`render_report`. The gate's re-derivation from registered
    data — which refuses exactly those reports — is tested in test_gate_rederive.py; here it
    is replaced by a passing check that says so in the logged evidence. Call it in the
    process that promotes (spawned workers call it themselves)."""
    from mlopskit.registry.gates import rederive as g
    from mlopskit.verdict import Reason

    def passing(registry: object, model: str, decision: object, **_: object) -> g.Rederived:
        msg = "re-derivation not under test (lifecycle test with a hand-written report)"
        return g.Rederived((Reason("rederive_not_under_test", msg, True, critical=True),))

    g.rederive = passing  # type: ignore[assignment]


def promote(path: str, version: str, report: str, barrier: Any, out: Any) -> None:
    """Wait for the others, then promote ``fraud`` ``version`` to Production."""
    trust_hand_written_reports()  # a child process: the parent's monkeypatch is not here
    registry_module._HOOKS["after_archive"] = lambda: time.sleep(0.05)  # widen the race window
    reg = Registry(Path(path))
    barrier.wait()
    try:
        reg.transition(
            "fraud", version, Stage.PRODUCTION, reason=f"p{version}",
            actor=f"proc-{os.getpid()}", report=report,
        )  # fmt: skip
        out.put((version, "ok"))
    except RegistryError as exc:
        out.put((version, f"{type(exc).__name__}: {exc}"))


def promote_then_stall(path: str, report: str, ready: Any) -> None:
    """Promote fraud 2 but stall between archiving the old Production and promoting."""

    def stall() -> None:
        ready.set()
        time.sleep(120)

    trust_hand_written_reports()
    registry_module._HOOKS["after_archive"] = stall
    Registry(Path(path)).transition(
        "fraud", "2", Stage.PRODUCTION, reason="r", actor="a", report=report
    )
