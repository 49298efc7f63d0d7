"""``make bench``'s table: repetitions per tool and size, and issue 15's goal lines computed
from the medians of the same run (synthetic runs, no process started)."""

from __future__ import annotations

import sys
from typing import Any

from benchmarks import suite


def _run(rows: int, task: str, tool: str, wall: float, rss: float = 100.0, **kw: object) -> dict:
    return {
        "stamp": "2026-01-01T00:00:00Z",
        "rev": "abc",
        "rows": rows,
        "task": task,
        "tool": tool,
        "ok": True,
        "wall_s": wall,
        "cpu_s": wall,
        "rss_mib": rss,
        "load": 1.0,
        **kw,
    }


def test_reps_per_tool_and_size() -> None:
    assert suite._reps("mlopskit", 10**6, 3) == 3
    # at 10⁷ mlopskit and the floor get a median of two runs, the slow tools one
    assert suite._reps("mlopskit", 10**7, 3) == 2
    assert suite._reps("floor", 10**7, 6) == 3
    assert suite._reps("nannyml", 10**7, 6) == 1
    assert suite._reps("mlopskit", 10**8, 6) == 1


def test_run_order_alternates_light_tools_and_runs_heavy_ones_last() -> None:
    order = suite.run_order(suite.TOOLS, ("profile", "psi_profile"), 10**6, 2)
    light = [(rep, task, tool) for rep, task, tool in order if tool in suite.LIGHT]
    assert light == [
        (0, "profile", "mlopskit"),
        (0, "profile", "floor"),
        (0, "psi_profile", "mlopskit"),
        (0, "psi_profile", "floor"),
        (1, "profile", "floor"),
        (1, "profile", "mlopskit"),
        (1, "psi_profile", "floor"),
        (1, "psi_profile", "mlopskit"),
    ]
    # NannyML and Evidently only after every mlopskit and floor run; each task's profile
    # (which writes the stored profile) still runs before its psi_profile
    assert order[: len(light)] == light
    heavy = order[len(light) :]
    assert {tool for _, _, tool in heavy} == {"nannyml", "evidently"}
    for tool in ("mlopskit", "floor", "nannyml"):
        mine = [(rep, task) for rep, task, t in order if t == tool]
        assert mine.index((0, "profile")) < mine.index((0, "psi_profile"))
    # every (rep, task, tool) exactly once
    assert len(order) == len(set(order)) == 2 * 2 * 4


def test_goal_lines_from_the_medians_of_the_run() -> None:
    runs = [
        _run(10**6, "psi_cold", "mlopskit", 3.0),
        _run(10**6, "psi_cold", "floor", 4.0),
        _run(10**7, "psi_cold", "mlopskit", 9.0, rss=2000.0),
        _run(10**7, "psi_cold", "mlopskit", 13.0, rss=2000.0),
        _run(10**7, "psi_cold", "mlopskit", 12.0, rss=2000.0),
        _run(10**7, "shadow", "mlopskit", 7.5),
        _run(10**7, "psi_cold", "nannyml", 240.0, rss=20000.0),
    ]
    md = suite.render(runs)
    goals = md.split("## Goals (issue 15)")[1]
    assert (
        "| PSI table cold, 25 × 10⁶, wall vs the floor | ≤ 1× floor | 0.75× floor | holds |"
        in goals
    )
    # median of 9, 12, 13 is 12: 20% over the 10 s goal
    assert "| PSI table cold, 25 × 10⁷, wall | ≤ 10 s | 12.00 s | missed by 20% |" in goals
    assert "| shadow_profile 10⁷, wall | ≤ 6 s | 7.50 s | missed by 25% |" in goals
    assert "| canary_test 10⁷, wall | ≤ 6 s | — | not measured in this run |" in goals
    assert "| 1e+07 | psi_cold | nannyml | 20.0× | 10.0× |" in goals


def test_timed_runs_import_cached_bytecode(monkeypatch: Any) -> None:
    """A warm run is timed as a user's warm run: with cached bytecode, even when this
    session sets PYTHONDONTWRITEBYTECODE (which would recompile mlopskit every run)."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    code = "import json, os; print(json.dumps({'flag': 'PYTHONDONTWRITEBYTECODE' in os.environ}))"
    res = suite.run_one([sys.executable, "-c", code], 60.0)
    assert res["ok"] and res["flag"] is False
    assert res["wall_s"] > 0 and res["rss_mib"] > 0
