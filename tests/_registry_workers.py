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


def promote(path: str, version: str, report: str, barrier: Any, out: Any) -> None:
    """Wait for the others, then promote ``fraud`` ``version`` to Production."""
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

    registry_module._HOOKS["after_archive"] = stall
    Registry(Path(path)).transition(
        "fraud", "2", Stage.PRODUCTION, reason="r", actor="a", report=report
    )
