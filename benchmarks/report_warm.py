"""Warm ``make report``, phase by phase: ``python -m benchmarks.report_warm [MODEL]``.

Renders the report exactly as ``make report MODEL=...`` does (``report.report_model`` with
the defaults: demo world, ``reports/<MODEL>/``) and times each phase: wall clock, CPU of
this process and CPU of the kernel (a child process: its CPU is counted when it is reaped,
so it appears on the phase in which the kernel exits). Per-cell wall times come from
papermill's cell metadata. Prints the phase table on stderr and one JSON line on stdout
(``compute_s``, ``phases``, ``cells``) for :mod:`benchmarks.suite`.

The kernel is started in a new session (jupyter_client does that), which on Linux puts it
in a new scheduler autogroup; when this process's autogroup has a priority (``echo -15 >
/proc/$$/autogroup`` while benchmarking on a shared machine) the kernel gets the same.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

T0 = time.perf_counter()

AUTOGROUP = "/proc/self/autogroup"


def autogroup_nice() -> int | None:
    """The scheduler autogroup priority of this process (Linux), None when unknown."""
    try:
        with open(AUTOGROUP) as fh:
            return int(fh.read().split("nice")[-1])
    except (OSError, ValueError):
        return None


def set_autogroup_nice(pid: int, nice: int) -> None:
    try:
        with open(f"/proc/{pid}/autogroup", "w") as fh:
            fh.write(str(nice))
    except OSError:
        pass


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def main(argv: list[str]) -> int:
    marks: list[tuple[str, float, float, float]] = []

    def mark(what: str) -> None:
        marks.append(
            (
                what,
                time.perf_counter() - T0,
                _cpu(resource.RUSAGE_SELF),
                _cpu(resource.RUSAGE_CHILDREN),
            )
        )

    mark("interpreter start")
    # as `mlopskit report` (mlopskit/cli.py): the kernel is launched before the imports
    from mlopskit import config
    from mlopskit._report_kernel import EarlyKernel

    with EarlyKernel(config.REPO_ROOT) as early:
        nice = autogroup_nice()
        if nice and early.process is not None:
            set_autogroup_nice(early.process.pid, nice)
        mark("kernel launched")
        return _main(argv, mark, marks, early)


def _main(argv: list[str], mark: Callable[[str], None], marks: list[Any], early: Any) -> int:
    import mlopskit.report.notebook as nbmod
    import mlopskit.report.rendering as rendering

    mark("import mlopskit.report")
    nice = autogroup_nice()
    if nice:
        from jupyter_client.provisioning import local_provisioner

        launch = local_provisioner.launch_kernel

        def launch_same_priority(*a: Any, **k: Any) -> Any:
            proc = launch(*a, **k)
            set_autogroup_nice(proc.pid, nice)
            return proc

        local_provisioner.launch_kernel = launch_same_priority  # type: ignore[assignment]

    def wrap(mod: Any, name: str) -> None:
        fn: Callable[..., Any] = getattr(mod, name)

        def timed(*a: Any, **k: Any) -> Any:
            mark(f"{name} start")
            try:
                return fn(*a, **k)
            finally:
                mark(f"{name} end")

        setattr(mod, name, timed)

    for name in ("prepare", "execute", "export_html"):
        wrap(nbmod, name)
    cells: dict[str, float] = {}
    run = nbmod._run

    def run_and_read_cells(nb: Any, *a: Any, **k: Any) -> Any:
        executed, failure = run(nb, *a, **k)
        for c in executed.cells:
            d = c.metadata.get("papermill", {}).get("duration")
            if d is not None:
                cells[str(c.get("id"))] = round(float(d), 3)
        return executed, failure

    nbmod._run = run_and_read_cells  # type: ignore[assignment]
    model = argv[0] if argv else "fraud_v2.3"
    res = rendering.report_model(model, progress=mark, early=early)
    mark("done")
    phases = []
    prev = (0.0, 0.0, 0.0)
    for what, w, c, k in marks:
        phases.append(
            {
                "phase": what,
                "at_s": round(w, 3),
                "wall_s": round(w - prev[0], 3),
                "cpu_s": round(c - prev[1], 3),
                "kernel_cpu_s": round(k - prev[2], 3),
            }
        )
        prev = (w, c, k)
    for p in phases:
        print(
            f"{p['at_s']:7.2f} s  +{p['wall_s']:6.2f} wall  cpu +{p['cpu_s']:5.2f}  "
            f"kernel cpu +{p['kernel_cpu_s']:5.2f}  {p['phase']}",
            file=sys.stderr,
        )
    out = {
        "compute_s": time.perf_counter() - T0,
        "verdict": res.verdict,
        "ok": res.ok,
        "cpu_self_s": _cpu(resource.RUSAGE_SELF),
        "cpu_kernel_s": _cpu(resource.RUSAGE_CHILDREN),
        "phases": phases,
        "cells": cells,
    }
    print(json.dumps(out))
    return 0 if res.ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
