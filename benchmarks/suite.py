"""The benchmark suite behind ``make bench``: mlopskit vs a hand-written polars floor vs
NannyML and Evidently, on the same parquet files, in the same run.

    python -m benchmarks.suite [--sizes 100000,1000000,10000000,100000000] [--reps 3]
        [--out data/bench] [--md benchmarks/results.md]

Every measurement is one whole process (interpreter start, imports, parquet read, compute),
started by this script and reaped with ``os.wait4``: wall time, CPU time (user + system) and
peak RSS of that process. Tools and tasks are interleaved (size → repetition → task → tool,
mlopskit and the floor alternating which goes first; NannyML and Evidently after them, see
:func:`run_order`), so a change in machine load hits every tool alike; the table reports medians and the
1-minute load average seen at the start of the runs. NannyML and Evidently pin pandas < 3,
so they run from their own virtual environments (``BENCH_NANNYML_PYTHON``,
``BENCH_EVIDENTLY_PYTHON``; default ``/work/venvs/{nannyml,evidently}/bin/python``); a tool
whose interpreter is missing is reported as not run. A run longer than its time limit
(Evidently: 300 s) is killed and reported as such; the next larger size is then skipped.

Raw runs are appended to ``benchmarks/results.json``; ``benchmarks/results.md`` is
rewritten from the latest run of every (size, task, tool).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import datasets
from benchmarks.report_warm import autogroup_nice, set_autogroup_nice

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "results.md"

TASKS = ("profile", "psi_cold", "psi_profile", "shadow", "canary", "label_maturity")
TOOLS = ("mlopskit", "floor", "nannyml", "evidently")
TOOL_TASKS = {
    "mlopskit": TASKS,
    "floor": TASKS,
    "nannyml": ("profile", "psi_cold", "psi_profile"),
    "evidently": ("psi_cold",),
}
TIME_LIMIT = {"mlopskit": 1800.0, "floor": 1800.0, "nannyml": 900.0, "evidently": 300.0}
BIG = 20_000_000  # above this only the drift tasks and the shadow log run (see _skip)


def _python(tool: str) -> str | None:
    if tool in ("mlopskit", "floor"):
        return sys.executable
    env = os.environ.get(f"BENCH_{tool.upper()}_PYTHON", f"/work/venvs/{tool}/bin/python")
    return env if Path(env).exists() else None


#: the files each task reads (read into the page cache before every timed run)
TASK_INPUTS = {
    "profile": ("reference.parquet",),
    "psi_cold": ("reference.parquet", "current.parquet"),
    "psi_profile": ("current.parquet",),
    "shadow": ("shadow.parquet",),
    "canary": ("canary.parquet",),
    "label_maturity": ("events.parquet",),
}


def warm_inputs(task: str, d: Path) -> None:
    """Read ``task``'s input files once (each inode once: the 10⁸ files are hard links), so
    every tool starts with them in the page cache. Without it a tool run after NannyML (8 GiB
    at 10⁷ rows) read its files back from disk, and the first tool of each task paid for it:
    mlopskit's cold PSI measured 18 s against 6 s warm, with 2× the CPU (page faults)."""
    seen: set[int] = set()
    buf = bytearray(16 << 20)
    for name in TASK_INPUTS.get(task, ()):
        p = d / name
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if not f.is_file() or f.stat().st_ino in seen:
                continue
            seen.add(f.stat().st_ino)
            with f.open("rb", buffering=0) as fh:
                while fh.readinto(buf):
                    pass


def _command(tool: str, task: str, d: Path) -> list[str] | None:
    py = _python(tool)
    if py is None:
        return None
    module = {"mlopskit": "benchmarks.mk", "floor": "benchmarks.floor"}.get(tool)
    if module is not None:
        return [py, "-m", module, task, str(d)]
    return [py, str(HERE / f"ext_{tool}.py"), task, str(d)]


def _same_priority() -> Any:
    """``preexec_fn`` giving the child's new session this process's autogroup priority.

    On Linux every session is a scheduler autogroup that gets an equal share of the CPU
    whatever its processes' ``nice``; a benchmark run on a shared machine raises its own
    (``echo -15 > /proc/$$/autogroup``), and the measured process, started in a new
    session so it can be killed as a group, would otherwise fall back to the default.
    """
    nice = autogroup_nice()
    if not nice:
        return None
    return lambda: set_autogroup_nice(os.getpid(), nice)


def run_one(cmd: list[str], limit: float) -> dict[str, Any]:
    """Run ``cmd``; wall, CPU and peak RSS of that process (``os.wait4``).

    ``PYTHONDONTWRITEBYTECODE`` is not passed on: a user's warm run imports cached bytecode;
    with the variable set every run would compile mlopskit from source again (measured
    0.05–0.15 s a process here)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
        preexec_fn=_same_priority(),  # the runner is single-threaded
    )
    out: dict[str, Any] = {"load": load}
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > limit:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(proc.pid, 0)
            out["timeout"] = True
            break
        time.sleep(0.05)
    out["wall_s"] = time.perf_counter() - t0
    out["cpu_s"] = ru.ru_utime + ru.ru_stime
    out["rss_mib"] = ru.ru_maxrss / 1024
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    out["ok"] = os.waitstatus_to_exitcode(status) == 0 and not out.get("timeout")
    if out["ok"]:
        last = stdout.strip().splitlines()[-1] if stdout.strip() else "{}"
        out.update(json.loads(last))
    elif not out.get("timeout"):
        out["error"] = stderr.strip().splitlines()[-1][:300] if stderr.strip() else "failed"
    return out


def _mem_available_mib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _too_big(rows_before: int, rss_before: float, rows: int) -> str | None:
    """Skip a tool whose peak RSS, scaled linearly in rows from a smaller size, would not
    fit in 80% of the memory available now (a shared machine must not start swapping or
    OOM-killing other work); the note says so."""
    avail = _mem_available_mib()
    need = rss_before * rows / rows_before
    if avail is None or need <= 0.8 * avail:
        return None
    return (
        f"not run: {rss_before / 1024:.1f} GiB at {rows_before:.0e} rows, ~{need / 1024:.0f} GiB "
        f"expected here; {avail / 1024:.0f} GiB available"
    )


def _skip(tool: str, task: str, rows: int) -> str | None:
    if task not in TOOL_TASKS[tool]:
        return "n/a"
    if rows > BIG:
        if task not in ("profile", "psi_profile", "shadow"):
            return "not run at this size"
        if tool != "mlopskit" and task != "shadow":  # the shadow floor streams
            return "not run (in-memory: > 24 GiB)"
    return None


def _reps(tool: str, rows: int, reps: int) -> int:
    """Repetitions of one (tool, size): ``reps`` up to 10⁶ rows; at 10⁷ at least two for
    mlopskit and the floor (a median of one run on a shared machine is one draw of the
    load) and one for NannyML and Evidently (minutes a run, an order of magnitude apart);
    one above :data:`BIG`."""
    if rows <= 1_000_000:
        return reps
    if rows <= BIG:
        return max(2, reps // 2) if tool in ("mlopskit", "floor") else 1
    return 1


LIGHT = ("mlopskit", "floor")


def run_order(
    tools: tuple[str, ...], tasks: tuple[str, ...], rows: int, reps: int
) -> list[tuple[int, str, str]]:
    """The (repetition, task, tool) runs of one size, in the order they run.

    mlopskit and the floor first, for every repetition and task, their order alternating
    between repetitions (neither always runs first, or right after the other); NannyML and
    Evidently after them: a NannyML run of 8–9 GiB just before a timed run of mlopskit made
    that run 30–60 % slower in CPU time in round 4, even with its inputs back in the page cache.
    """
    order: list[tuple[int, str, str]] = []
    light = [t for t in tools if t in LIGHT]
    heavy = [t for t in tools if t not in LIGHT]
    for group in (light, heavy):
        if not group:
            continue
        for rep in range(max(_reps(t, rows, reps) for t in group)):
            turn = rep % len(group)
            for task in tasks:
                order += [(rep, task, tool) for tool in group[turn:] + group[:turn]]
    return order


def bench(
    sizes: list[int],
    reps: int,
    out: Path,
    tools: tuple[str, ...],
    tasks: tuple[str, ...],
    progress: Path | None = None,
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    timed_out: set[tuple[str, str]] = set()
    peak: dict[tuple[str, str], tuple[int, float]] = {}  # (tool, task) → (rows, peak RSS MiB)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    for rows in sizes:
        print(f"== {rows:,} rows: writing inputs", flush=True)
        d = datasets.make_all(rows, out)
        for rep, task, tool in run_order(tools, tasks, rows, reps):
            base = {"stamp": stamp, "rev": rev, "rows": rows, "task": task, "tool": tool}
            why = _skip(tool, task, rows)
            if why == "n/a" or rep >= _reps(tool, rows, reps):
                continue
            cmd = _command(tool, task, d)
            if why is None and cmd is None:
                why = "not installed"
            if why is None and (tool, task) in timed_out:
                why = f"skipped: did not finish in {TIME_LIMIT[tool]:.0f} s at a smaller size"
            if why is None and (tool, task) in peak:
                why = _too_big(*peak[(tool, task)], rows)
            if why is not None:
                if rep == 0:
                    runs.append({**base, "skipped": why})
                continue
            assert cmd is not None
            warm_inputs(task, d)
            res = run_one(cmd, TIME_LIMIT[tool])
            if res.get("timeout"):
                timed_out.add((tool, task))
            elif res.get("ok"):
                peak[(tool, task)] = (
                    rows,
                    max(res["rss_mib"], peak.get((tool, task), (0, 0.0))[1]),
                )
            runs.append({**base, "rep": rep, **res})
            if progress is not None:  # keep what is measured if the run is cut short
                progress.write_text(json.dumps(runs, indent=0) + "\n")
            print(
                f"{rows:>11,} {task:<15s} {tool:<10s} wall {res['wall_s']:8.2f} s "
                f"cpu {res['cpu_s']:8.2f} s rss {res['rss_mib']:7.0f} MiB "
                f"load {res['load']:5.1f} {'' if res['ok'] else res.get('error', 'TIMEOUT')}",
                flush=True,
            )
    return runs


def import_times(reps: int = 5) -> list[dict[str, Any]]:
    """``import mlopskit`` vs ``import polars``, whole process, interleaved."""
    runs = []
    for _ in range(reps):
        for what in ("mlopskit", "polars"):
            res = run_one([sys.executable, "-c", f"import {what}"], 120)
            runs.append({"task": "import", "tool": what, **res})
    return runs


REPORT_MODEL = "fraud_v2.3"


def report_times(reps: int = 3) -> list[dict[str, Any]]:
    """Warm ``make report MODEL=fraud_v2.3``: one untimed render first (demo world written,
    bytecode compiled, files in the page cache), then ``reps`` timed renders, each a whole
    process (``python -m benchmarks.report_warm``: the CLI's call plus phase timings)."""
    cmd = [sys.executable, "-m", "benchmarks.report_warm", REPORT_MODEL]
    warm = run_one(cmd, 1800)
    if not warm["ok"]:
        return [{"task": "report_warm", "tool": "mlopskit", **warm}]
    runs = []
    for _ in range(reps):
        res = run_one(cmd, 600)
        runs.append({"task": "report_warm", "tool": "mlopskit", **res})
        print(
            f"warm report: wall {res['wall_s']:6.2f} s cpu {res['cpu_s']:6.2f} s "
            f"rss {res['rss_mib']:5.0f} MiB load {res['load']:5.1f}",
            flush=True,
        )
    return runs


#: report cells by template cell id (notebooks/rollout.ipynb)
REPORT_CELLS = {
    "tpl-001": "analysis cell (imports, inputs hashed, overview, evidence, decision)",
    "tpl-005": "shadow figures (4)",
    "tpl-008": "canary figures (2)",
    "tpl-012": "drift figure",
    "tpl-015": "volumes figure",
    "tpl-018": "labels figure",
    "tpl-021": "scores figure",
}


def report_phases(run: dict[str, Any]) -> dict[str, float]:
    """Wall seconds per phase of one ``benchmarks.report_warm`` run."""
    ph = run["phases"]
    at = {p["phase"]: p["at_s"] for p in ph}
    cells = run.get("cells", {})
    resolved = next(p["at_s"] for p in ph if " → " in p["phase"])  # "<model>: stage … → …"
    first = next(p["at_s"] for p in ph if p["phase"].startswith("executing cell 1/"))
    last = [p["at_s"] for p in ph if p["phase"].startswith("executing cell")][-1]
    wrote = next(p["at_s"] for p in ph if p["phase"].startswith("wrote"))
    out = {
        "interpreter start + import mlopskit.report": at["import mlopskit.report"],
        "model and stage from the registry": resolved - at["import mlopskit.report"],
        "prepare the notebook": at["prepare end"] - at["prepare start"],
        "kernel start + preloaded imports + prologue": first - at["execute start"],
    }
    out |= {name: cells.get(cid, 0.0) for cid, name in REPORT_CELLS.items()}
    out["tables and other cells"] = sum(
        v for k, v in cells.items() if k not in REPORT_CELLS and k != "mk-prologue"
    )
    out["last cell done → kernel gone (epilogue, shutdown)"] = (
        at["execute end"] - last - cells.get("tpl-021", 0.0)
    )
    out["HTML export (nbconvert)"] = at["export_html end"] - at["export_html start"]
    out["after the export (decision.json, gate block)"] = wrote - at["export_html end"]
    return out


def _render_report(runs: list[dict[str, Any]]) -> list[str]:
    """The warm-report section of results.md: totals and median wall time per phase."""
    ok = sorted((r for r in runs if r.get("ok")), key=lambda r: r["wall_s"])
    if not ok:
        return []
    med = ok[len(ok) // 2]
    phases = [report_phases(r) for r in ok]
    lines = [
        "",
        f"## Warm `make report MODEL={REPORT_MODEL}` (whole process, kernel included)",
        "",
        "| runs | wall s (median) | wall s (min) | cpu s (CLI + kernel) | peak RSS MiB (CLI) "
        "| load |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {len(ok)} | {med['wall_s']:.2f} | {ok[0]['wall_s']:.2f} | {med['cpu_s']:.2f} "
        f"| {med['rss_mib']:.0f} | {statistics.median(r['load'] for r in ok):.1f} |",
        "",
        "Median wall seconds per phase (`benchmarks/report_warm.py`; cells from papermill's "
        "metadata):",
        "",
        "| phase | wall s |",
        "|---|---:|",
    ]
    for name in phases[0]:
        lines.append(f"| {name} | {statistics.median(p[name] for p in phases):.2f} |")
    return lines


#: issue 15's goals: (what, (rows, task, tool), field, limit, unit); "floor" in unit means
#: the limit is a ratio to the floor's median in the same run
GOALS: tuple[tuple[str, tuple[int, str, str], str, float, str], ...] = (
    (
        "PSI table cold, 25 × 10⁶, wall vs the floor",
        (10**6, "psi_cold", "mlopskit"),
        "wall_s",
        1.0,
        "× floor",
    ),
    ("PSI table cold, 25 × 10⁷, wall", (10**7, "psi_cold", "mlopskit"), "wall_s", 10.0, " s"),
    (
        "PSI table cold, 25 × 10⁷, peak RSS",
        (10**7, "psi_cold", "mlopskit"),
        "rss_mib",
        3 * 1024,
        " MiB",
    ),
    (
        "PSI from a stored profile, 10⁷, wall",
        (10**7, "psi_profile", "mlopskit"),
        "wall_s",
        4.0,
        " s",
    ),
    ("`profile()` 10⁸, peak RSS", (10**8, "profile", "mlopskit"), "rss_mib", 4 * 1024, " MiB"),
    (
        "PSI from a stored profile, 10⁸, peak RSS",
        (10**8, "psi_profile", "mlopskit"),
        "rss_mib",
        4 * 1024,
        " MiB",
    ),
    ("shadow_profile 10⁷, wall", (10**7, "shadow", "mlopskit"), "wall_s", 6.0, " s"),
    (
        "shadow_profile 10⁸ peak RSS (our bound: one read in pieces, flat in rows)",
        (10**8, "shadow", "mlopskit"),
        "rss_mib",
        4 * 1024,
        " MiB",
    ),
    ("canary_test 10⁷, wall", (10**7, "canary", "mlopskit"), "wall_s", 6.0, " s"),
)


def _goal_line(what: str, got: float | None, limit: float, unit: str) -> str:
    if got is None:
        return f"| {what} | ≤ {limit:g}{unit} | — | not measured in this run |"
    ok = "holds" if got <= limit else f"missed by {100 * (got / limit - 1):.0f}%"
    shown = f"{got:.2f}{unit}" if unit.startswith("×") or got < 100 else f"{got:,.0f}{unit}"
    return f"| {what} | ≤ {limit:g}{unit} | {shown} | {ok} |"


def _render_goals(med: Any, all_runs: list[dict[str, Any]]) -> list[str]:
    """Issue 15's goals against the medians of this table (``med(key, field)``)."""
    lines = ["", "## Goals (issue 15)", "", "| goal | limit | measured (median) | |"]
    lines.append("|---|---:|---:|---|")
    for what, key, field, limit, unit in GOALS:
        got = med(key, field)
        if got is not None and unit == "× floor":
            floor = med((key[0], key[1], "floor"), field)
            got = got / floor if floor else None
        lines.append(_goal_line(what, got, limit, unit))
    imports = [r for r in all_runs if r.get("task") == "import" and r.get("tool") == "mlopskit"]
    reports = [r for r in all_runs if r.get("task") == "report_warm"]
    for what, rs, limit in (
        ("`import mlopskit`, wall", imports, 0.5),
        ("warm `make report`, wall", reports, 8.0),
    ):
        last = max((r["stamp"] for r in rs), default=None)
        ok = [r["wall_s"] for r in rs if r["stamp"] == last and r.get("ok")]
        lines.append(_goal_line(what, statistics.median(ok) if ok else None, limit, " s"))
    lines += [
        "",
        "Against NannyML and Evidently on the same files in the same run (their wall and peak",
        "RSS divided by mlopskit's; the issue asks for an order of magnitude):",
        "",
        "| rows | task | tool | wall × mlopskit | peak RSS × mlopskit |",
        "|---:|---|---|---:|---:|",
    ]
    for rows in sorted({r["rows"] for r in all_runs if "rows" in r}):
        for task in ("profile", "psi_cold", "psi_profile"):
            ours_w, ours_m = (
                med((rows, task, "mlopskit"), "wall_s"),
                med((rows, task, "mlopskit"), "rss_mib"),
            )
            for tool in ("nannyml", "evidently"):
                w, m = med((rows, task, tool), "wall_s"), med((rows, task, tool), "rss_mib")
                if ours_w and ours_m and w and m:
                    lines.append(
                        f"| {rows:.0e} | {task} | {tool} | {w / ours_w:.1f}× | {m / ours_m:.1f}× |"
                    )
    return lines


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "—"
    return f"{v:,.2f}{unit}" if v < 100 else f"{v:,.0f}{unit}"


def render(all_runs: list[dict[str, Any]]) -> str:
    """Markdown table from the latest run of every (rows, task, tool)."""
    latest: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    stamps: dict[tuple[int, str, str], str] = {}
    for r in all_runs:
        if r.get("task") in ("import", "report_warm"):
            continue
        key = (r["rows"], r["task"], r["tool"])
        if stamps.get(key, "") < r["stamp"]:
            stamps[key] = r["stamp"]
            latest[key] = []
        if stamps[key] == r["stamp"]:
            latest[key].append(r)

    def med(key: tuple[int, str, str], field: str) -> float | None:
        ok = [r[field] for r in latest.get(key, []) if r.get("ok")]
        return statistics.median(ok) if ok else None

    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m benchmarks.suite`). Whole process per run",
        "(interpreter start, imports, parquet read, compute); medians over interleaved runs;",
        "input files are read into the page cache before every run (`warm_inputs`);",
        "mlopskit and the floor alternate which runs first, NannyML and Evidently run after",
        "them (`run_order`).",
        "`cpu` is user + system time of the process (less sensitive to the load of the shared",
        "2-core machine than wall time); `load` is the 1-minute load average when the runs",
        "started. Ratios are against the hand-written polars floor (`benchmarks/floor.py`).",
        "25 features (20 numeric, 5 categorical); inputs from `benchmarks/datasets.py`.",
        "At 10⁸ rows (the 10⁷-row feature files hard-linked ten times) only mlopskit's",
        "`profile` (streaming: edges from a 2·10⁶-row sample, exact counts) and `psi_profile`",
        "run: the floor, NannyML and Evidently hold the columns in memory (floor 2.1 GiB at",
        "10⁷). The shadow log is written in full at 10⁸ (unique ids) and both mlopskit (read",
        "once in pieces above 2 GiB, `frames/shadow_stream.py`) and the floor run on it.",
        "",
        "| rows | task | tool | wall s | cpu s | peak RSS MiB | wall / floor | cpu / floor "
        "| runs | load | note |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    rows_sorted = sorted({k[0] for k in latest})
    for rows in rows_sorted:
        for task in TASKS:
            for tool in TOOLS:
                key = (rows, task, tool)
                rs = latest.get(key)
                if not rs:
                    continue
                note = ""
                skipped = [r["skipped"] for r in rs if "skipped" in r]
                if skipped:
                    note = skipped[0]
                elif any(r.get("timeout") for r in rs):
                    note = f"did not finish in {TIME_LIMIT[tool]:.0f} s (killed)"
                elif any(not r.get("ok") for r in rs):
                    note = "failed: " + next(r.get("error", "") for r in rs if not r.get("ok"))
                w, c, m = med(key, "wall_s"), med(key, "cpu_s"), med(key, "rss_mib")
                fw, fc = med((rows, task, "floor"), "wall_s"), med((rows, task, "floor"), "cpu_s")
                rw = f"{w / fw:.2f}×" if w and fw else "—"
                rc = f"{c / fc:.2f}×" if c and fc else "—"
                n_ok = sum(1 for r in rs if r.get("ok"))
                loads = [r["load"] for r in rs if "load" in r]
                load = f"{statistics.median(loads):.1f}" if loads else "—"
                lines.append(
                    f"| {rows:.0e} | {task} | {tool} | {_fmt(w)} | {_fmt(c)} | {_fmt(m)} | {rw} "
                    f"| {rc} | {n_ok} | {load} | {note} |"
                )
    lines += _render_goals(med, all_runs)
    used = sorted({(r["stamp"], r.get("rev", "")) for k in latest for r in latest[k]})
    lines += ["", "Runs in this table (a row shows the latest run of its size, task and tool;"]
    lines += ["ratios compare tools within one run):", ""]
    lines += [f"- {stamp} at `{rev or '?'}`" for stamp, rev in used]
    imports = [r for r in all_runs if r.get("task") == "import"]
    if imports:
        last = max(r["stamp"] for r in imports)
        lines += ["", "## Import time (whole process, median)", "", "| import | wall s | cpu s |"]
        lines.append("|---|---:|---:|")
        for what in ("mlopskit", "polars"):
            rs = [r for r in imports if r["stamp"] == last and r["tool"] == what and r["ok"]]
            if rs:
                lines.append(
                    f"| `import {what}` | {statistics.median(r['wall_s'] for r in rs):.2f} "
                    f"| {statistics.median(r['cpu_s'] for r in rs):.2f} |"
                )
    reports = [r for r in all_runs if r.get("task") == "report_warm"]
    if reports:
        last = max(r["stamp"] for r in reports)
        lines += _render_report([r for r in reports if r["stamp"] == last])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="100000,1000000,10000000,100000000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "bench")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--no-imports", action="store_true")
    ap.add_argument("--no-report", action="store_true", help="skip the warm-report timing")
    ap.add_argument("--json", type=Path, default=RESULTS_JSON, help="raw runs appended here")
    ap.add_argument(
        "--render", nargs="*", type=Path, help="only rewrite results.md from these raw files"
    )
    ap.add_argument(
        "--md", type=Path, default=RESULTS_MD, help="the table written (default results.md)"
    )
    args = ap.parse_args(argv)
    if args.render is not None:
        merged = [r for p in args.render for r in json.loads(p.read_text())]
        args.md.write_text(render(merged))
        print(f"wrote {args.md}", flush=True)
        return 0
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    tasks = tuple(t for t in TASKS if t in args.tasks.split(","))
    free = shutil.disk_usage(args.out.parent if args.out.parent.exists() else ROOT).free
    for s in list(sizes):
        # ~110 B/row per feature file, two files, margin; the shadow log ~25 B/row
        if s > BIG and free < s * (250 * 2 + 25):
            print(f"skipping {s:,} rows: {free / 2**30:.0f} GiB free on disk", flush=True)
            sizes.remove(s)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    partial = args.json.with_suffix(".partial.json")
    runs = bench(sizes, args.reps, args.out, tuple(args.tools.split(",")), tasks, partial)
    if not args.no_imports:
        runs += [{"stamp": stamp, **r} for r in import_times()]
    if not args.no_report:
        runs += [{"stamp": stamp, **r} for r in report_times(args.reps)]
    old = json.loads(args.json.read_text()) if args.json.exists() else []
    args.json.write_text(json.dumps(old + runs, indent=0) + "\n")
    partial.unlink(missing_ok=True)
    args.md.write_text(render(old + runs))
    print(f"wrote {args.md}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
