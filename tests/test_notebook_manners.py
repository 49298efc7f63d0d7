"""Notebook manners (issue 17 Build 7): results compare equal after a pickle round trip even
with NaN fields; long calls show progress in a terminal or notebook and never in a pipe or
a rendered report; the monitoring decision's words never contradict each other."""

from __future__ import annotations

import dataclasses
import io
import math
import pickle
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from mlopskit import _display, _progress, drift, labels
from mlopskit import monitoring as mon
from mlopskit.drift.estimated import estimated_performance
from mlopskit.report import decision
from mlopskit.report.estimate_check import estimate_check
from mlopskit.report.notebook import write_kernelspec
from mlopskit.verdict import Reason
from tests._monitoring_sim import simulate_world


def _has_nan(obj: Any, depth: int = 0) -> bool:
    if depth > 4:
        return False
    if isinstance(obj, float):
        return math.isnan(obj)
    if isinstance(obj, tuple | list):
        return any(_has_nan(x, depth + 1) for x in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return any(_has_nan(getattr(obj, f.name), depth + 1) for f in dataclasses.fields(obj))
    return False


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """Real result objects of the monitoring path on one seeded world (about 5 s)."""
    w = simulate_world(3, n_days=70, reference_days=28, daily_volume=800)
    ev = w.events
    thr = float(np.quantile(ev["score"], 0.985))
    out = drift.output_drift(ev, reference_period=w.reference_period, as_of=w.as_of)
    outcome = drift.outcome_drift(ev, reference_period=w.reference_period, as_of=w.as_of)
    ref = ev[ev["ts"] < w.reference_period[1]].assign(x=lambda d: d["score"])
    cur = ev[ev["ts"] >= w.as_of - np.timedelta64(7, "D")].assign(x=lambda d: d["score"])
    psi = drift.psi_table(ref[["x"]], cur[["x"]])
    est = estimated_performance(
        ev, as_of=w.as_of, start=w.start, threshold=thr, outcome=outcome, n_sim=100
    )
    return {
        "output_drift": out,
        "outcome_drift": outcome,
        "psi_table": psi,
        "monitor": mon.monitor(output_drift=out, outcome_drift=outcome, input_drift=psi),
        "maturity": labels.label_maturity(ev, as_of=w.as_of, score="score"),
        "estimated": est,
        "estimate_check": estimate_check(
            ev, est, as_of=w.as_of, start=w.start, label_window_days=30
        ),
    }


def test_results_compare_equal_after_a_pickle_round_trip(results: dict[str, Any]) -> None:
    with_nan = []
    for name, r in results.items():
        back = pickle.loads(pickle.dumps(r))
        assert back == r and not (back != r), name
        assert back is not r
        if _has_nan(r):
            with_nan.append(name)
    # the point of the NaN-safe __eq__: these carry NaN fields (immature windows, …)
    assert {"output_drift", "outcome_drift", "estimated"} <= set(with_nan), with_nan


def test_equality_still_tells_results_apart(results: dict[str, Any]) -> None:
    out = results["output_drift"]
    moved = dataclasses.replace(out, psi=(out.psi[0] + 1e-9, *out.psi[1:]))
    assert moved != out
    assert results["output_drift"] != results["outcome_drift"]
    assert (results["monitor"] == "WATCH") is False


def test_same_value_handles_nan_arrays_frames_and_numbers() -> None:
    import pandas as pd

    nan = float("nan")
    assert _display.same_value((1.0, nan, {"a": [nan]}), (1.0, nan, {"a": [nan]}))
    assert not _display.same_value((1.0, nan), (1.0, 2.0))
    assert _display.same_value(np.array([1.0, np.nan]), np.array([1.0, np.nan]))
    assert _display.same_value(pd.DataFrame({"a": [nan]}), pd.DataFrame({"a": [nan]}))
    assert _display.same_value(np.float64(nan), nan) and _display.same_value(np.int64(3), 3)
    assert not _display.same_value("3", 3)


# --------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_after_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPSKIT_PROGRESS", raising=False)
    monkeypatch.setattr(_progress, "MIN_SECONDS", 0.0)
    tty = _Tty()
    with _progress.progress("monitoring evidence", 2, stream=tty) as p:
        p.step("input drift")
        p.step("output drift")
    text = tty.getvalue()
    assert "step 1/2 input drift" in text and "step 2/2 output drift" in text
    assert text.endswith("\n") and "done in" in text


def test_progress_is_silent_when_quick_piped_or_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPSKIT_PROGRESS", raising=False)
    tty = _Tty()
    with _progress.progress("quick", 1, stream=tty) as p:  # under MIN_SECONDS: nothing
        p.step("a")
    assert tty.getvalue() == ""
    monkeypatch.setattr(_progress, "MIN_SECONDS", 0.0)
    pipe = io.StringIO()  # not a terminal (a log, CI): nothing
    with _progress.progress("piped", 1, stream=pipe) as p:
        p.step("a")
    assert pipe.getvalue() == ""
    monkeypatch.setenv("MLOPSKIT_PROGRESS", "0")
    tty = _Tty()
    with _progress.progress("off", 1, stream=tty) as p:
        p.step("a")
    assert tty.getvalue() == ""


def test_report_kernels_turn_progress_off(tmp_path: Any) -> None:
    import json

    write_kernelspec(tmp_path)
    spec = json.loads(next(tmp_path.glob("*/kernel.json")).read_text())
    assert spec["env"]["MLOPSKIT_PROGRESS"] == "0"  # executed notebooks carry no progress


# --------------------------------------------------------------------------------------
# monitoring words
# --------------------------------------------------------------------------------------
def _result(verdict: str, *reasons: Reason) -> SimpleNamespace:
    return SimpleNamespace(verdict=verdict, reasons=reasons, warnings=())


def test_ok_monitoring_with_a_retraining_verdict_does_not_contradict() -> None:
    m = _result("OK", Reason("psi", "all features stable", True))
    r = _result("RETRAIN_NOW", Reason("labels", "enough fresh labels", True))
    d = decision.monitoring_decision("fraud_v2.2", monitor=m, retrain=r)
    steps = " ".join(d.next_steps).lower()
    assert "nothing to do" not in steps and "next scheduled report checks again" not in steps
    assert "retraining (retrain_now)" in steps
    assert "RETRAIN_NOW" in d.headline


def test_estimate_check_marks_partial_windows_and_never_flags_them() -> None:
    w = simulate_world(5, n_days=66, daily_volume=600, drift_day=60, concept_shift=2.0)
    thr = float(np.quantile(w.events["score"], 0.985))
    est = estimated_performance(w.events, as_of=w.as_of, start=w.start, threshold=thr, n_sim=50)
    c = estimate_check(w.events, est, as_of=w.as_of, start=w.start, label_window_days=30)
    assert c.complete[-1] is False  # 66 days = 9 weeks and 3 days: the last window is partial
    assert c.diverged[-1] is False
    assert all(c.complete[:-1])
    assert c.to_frame()["complete"].tolist() == list(c.complete)
    for exp, bd in zip(c.expected_positives, c.bound, strict=True):
        assert bd >= exp  # an upper bound
