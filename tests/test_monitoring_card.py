"""The monitoring report's first screen, one window per number, and CBPE against reality.

One render of the monitoring report on the default demo world (concept shift from
2026-09-09; ``demo.generate("default")``), shared by the tests of this module:

* decision.json validates against the schema and carries the card (``monitoring``);
* the card shows the verdict, the retraining verdict, the headline, the policy, one chip per
  layer with its status, the number that decided it and its window, the onset with its
  interval, the timeline and the ranked reasons — all inside the first 900 px of a
  1280×900 headless-Chromium window;
* every PSI the report prints for a feature (card, layer text, reasons, table, JSON) is the
  PSI of the one current window; the output chip's PSI is its window's row of the table;
* the estimated performance is shown with its assumption, and the report says it diverges
  from reality from the drift's week (and not before).

The ``better`` world (no drift) is checked at the evidence level: no onset, no divergence.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlopskit import _format, demo, report
from mlopskit.policy import load_policy
from mlopskit.report import decision, evidence
from mlopskit.schemas import decision_errors
from mlopskit.verdict import VERDICT_COLOURS
from tests.test_report_card import _chromium, _text

CHROMIUM = Path("/usr/bin/chromium")
CARD_IDS = ("verdict", "mk-headline", "mk-policy", "mk-chips", "mk-onset", "mk-timeline", "mk-why")

pytestmark = [pytest.mark.slow]

PROBE = (
    "<script>window.addEventListener('load', () => {"
    " const box = id => { const e = document.getElementById(id);"
    "  if (!e) return null; const r = e.getBoundingClientRect(); return [r.top, r.bottom]; };"
    " const out = {ids: {}};"
    f" for (const id of {json.dumps(list(CARD_IDS))}) out.ids[id] = box(id);"
    " const pre = document.createElement('pre'); pre.id = 'mk-probe';"
    " pre.textContent = JSON.stringify(out); document.body.appendChild(pre); });</script>"
)


@pytest.fixture(scope="module")
def default_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("monitoring_card")
    data = root / "data"
    world = demo.generate("default")
    demo.write(world, data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPSKIT_REGISTRY", str(root / "none.sqlite"))  # stage from the manifest
        mp.setenv("SOURCE_DATE_EPOCH", "1790000000")
        res = report.report_model("fraud_v2.2", data_dir=data, out=root / "out")
    assert res.ok, res.decision["failure"]
    return {
        "html": res.html_path.read_text(),
        "path": res.html_path,
        "decision": json.loads(res.decision_path.read_text()),
        "truth": world.truth,
        "data": data,
    }


def _card(html: str) -> str:
    m = re.search(r'<section class="mk-verdict mk-card".*?</section>', html, flags=re.DOTALL)
    assert m is not None, "no decision card"
    return m.group(0)


def _table(html: str, first_header: str, needle: str) -> list[dict[str, str]]:
    """Rows of the first table whose header row starts with ``first_header`` and that
    contains ``needle``."""
    for m in re.finditer(r"<table.*?</table>", html, flags=re.DOTALL):
        t = m.group(0)
        heads = [_text(h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", t, re.DOTALL)]
        if heads and heads[0] == first_header and needle in t:
            out = []
            for tr in re.findall(r"<tr>(.*?)</tr>", t, flags=re.DOTALL):
                cells = [
                    _text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.DOTALL)
                ]
                if cells:
                    out.append(dict(zip(heads, cells, strict=False)))
            return out
    raise AssertionError(f"no table starting with {first_header!r} containing {needle!r}")


def test_decision_json_carries_the_card(default_world: dict[str, Any]) -> None:
    dec = default_world["decision"]
    assert decision_errors(dec) == []
    assert dec["schema_version"] == "1.1"
    mon = dec["monitoring"]
    assert mon["verdict"] == dec["verdict"] == dec["key_numbers"]["monitoring"]["verdict"]
    assert mon["retraining_verdict"] == dec["key_numbers"]["retraining_verdict"]
    assert [c["layer"] for c in mon["layers"]] == [
        "service_health",
        "input_drift",
        "output_drift",
        "outcome_drift",
    ]
    for chip in mon["layers"]:  # every layer names its number and that number's window
        assert chip["text"] and chip["quantity"]
        assert chip["status"] == (
            dec["key_numbers"]["monitoring"][chip["layer"]] or "not evaluated"
        )
    # the outcome layer says what it cannot see
    assert mon["not_evaluable_since"] is not None
    assert any(s["label"] == "not evaluable" for s in mon["timeline"])
    # headline and next steps carry both verdicts and do not contradict each other
    assert dec["verdict"] in dec["headline"] and mon["retraining_verdict"] in dec["headline"]
    if mon["retraining_verdict"] != "NO_ACTION":
        assert not any("nothing to do" in s.lower() for s in dec["next_steps"])


def test_onset_with_interval_near_the_truth(default_world: dict[str, Any]) -> None:
    onset = default_world["decision"]["monitoring"]["onset"]
    truth = pd.Timestamp(default_world["truth"].drift_onset)
    assert onset is not None
    assert abs(pd.Timestamp(onset["onset"]) - truth) <= pd.Timedelta(days=7)
    assert (
        pd.Timestamp(onset["earliest"])
        <= pd.Timestamp(onset["onset"])
        <= pd.Timestamp(onset["latest"])
    )
    assert "Drift onset" in _text(_card(default_world["html"]))


def test_every_psi_in_the_report_is_the_current_window(default_world: dict[str, Any]) -> None:
    """Card, layer text, reasons, input-drift table and decision.json: one PSI per feature,
    the current window's (the old report quoted a 1-day stub's 0.146 above a 7-day 0.1407)."""
    html, dec = default_world["html"], default_world["decision"]
    text = re.sub(r"\s+", " ", _text(html))
    rows = _table(html, "feature", "merchant_category")
    table = {r["feature"]: float(r["psi"]) for r in rows if r.get("psi") not in (None, "", "—")}
    assert {"amount", "merchant_category"} <= set(table)
    current = dec["key_numbers"]["current"]
    chip = next(c for c in dec["monitoring"]["layers"] if c["layer"] == "input_drift")
    assert [chip["window_start"], chip["window_end"]] == current
    assert chip["complete"] is True
    feature = chip["quantity"].split(":", 1)[1]
    assert chip["value"] == pytest.approx(table[feature], abs=5e-4)
    assert chip["value"] == max(
        r["value"]
        for r in dec["reasons"]
        if r["code"].startswith("psi:") and r["value"] is not None
    )
    for r in dec["reasons"]:  # decision.json's reasons: the same window's PSI
        if r["code"].startswith("psi:") and r["value"] is not None:
            assert r["value"] == pytest.approx(table[r["code"][4:]], abs=5e-4)
    checked = 0
    for f, v in table.items():  # every printed "f: PSI x" / "PSI x on f" in the whole report
        for m in re.finditer(
            rf"{re.escape(f)}: PSI ([\d.]+)|PSI ([\d.]+) on {re.escape(f)}\b", text
        ):
            printed = m.group(1) or m.group(2)
            digits = len(printed.split(".")[1])
            assert float(printed) == pytest.approx(v, abs=0.6 * 10**-digits + 5e-5), (f, m.group(0))
            checked += 1
    assert checked >= 6  # card, layer section, why, retraining reasons …
    assert "0.146" not in text.split("Data overview")[0] or "0.1457" not in text


def test_output_chip_is_its_windows_table_row(default_world: dict[str, Any]) -> None:
    html, dec = default_world["html"], default_world["decision"]
    chip = next(c for c in dec["monitoring"]["layers"] if c["layer"] == "output_drift")
    assert chip["complete"] is True
    rows = _table(html, "window_start", "band_upper")
    day = chip["window_start"][:10]
    row = next(r for r in rows if r["window_start"] == day)
    assert row["complete"] == "True"
    assert chip["value"] == pytest.approx(float(row["psi"]), rel=1e-3)
    card = _text(_card(html))
    assert f"score PSI {chip['value']:.4f}" in card
    # a partial window is never the chip's window
    partial = [r["window_start"] for r in rows if r["complete"] == "False"]
    assert day not in partial


def test_estimate_diverges_from_reality_after_the_concept_shift(
    default_world: dict[str, Any],
) -> None:
    html, dec = default_world["html"], default_world["decision"]
    sentence = dec["monitoring"]["estimate"]
    assert sentence.startswith("The estimate diverges from reality from the window of ")
    first = pd.Timestamp(re.search(r"window of (\d{4}-\d{2}-\d{2})", sentence).group(1))
    truth = pd.Timestamp(default_world["truth"].drift_onset)
    assert truth - pd.Timedelta(days=7) < first <= truth + pd.Timedelta(days=7)
    text = re.sub(r"\s+", " ", _text(html))
    assert sentence in text  # on the card and in its section
    assert "Assumption: the score is calibrated as on the reference" in text
    rows = _table(html, "window_start", "positives_bound")
    before = [r for r in rows if pd.Timestamp(r["window_start"]) < first]
    assert before and all(r["diverged"] == "False" for r in before)
    # realized AUC beside the estimate once matured
    matured = [r for r in rows if r["matured"] == "True"]
    assert matured and all(r["auc_realized"] not in ("", "—", "nan") for r in matured)


def test_first_screen_in_a_browser(default_world: dict[str, Any], tmp_path: Path) -> None:
    html, dec = default_world["html"], default_world["decision"]
    card = _card(html)
    assert len(re.findall(r'<div class="mk-chip" data-layer="', card)) == 4
    assert re.search(r'data-verdict="([A-Z_]+)"', card).group(1) == dec["verdict"]
    words = re.sub(r"\s+", " ", _text(card))
    assert f"retraining: {dec['monitoring']['retraining_verdict']}" in words
    assert _format.defects(_text(html)) == []
    assert "monitoring evidence: step" not in html  # no progress output in the render
    if not CHROMIUM.exists():
        pytest.skip("needs headless Chromium at /usr/bin/chromium (apt-get install chromium)")
    import matplotlib.image

    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", default_world["path"].as_uri())
    img = matplotlib.image.imread(shot)[..., :3]
    assert img.shape[:2] == (900, 1280)
    colour = VERDICT_COLOURS.get(dec["verdict"], "#57606a")
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    hits = np.all(np.abs(img - rgb) < 0.02, axis=-1)
    assert hits.sum() > 500 and np.nonzero(hits.any(axis=1))[0].min() < 200
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"))
    dom = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()).stdout
    m = re.search(r'<pre id="mk-probe">(.*?)</pre>', dom, flags=re.DOTALL)
    assert m is not None, dom[-2000:]
    facts = json.loads(html_lib.unescape(m.group(1)))
    for element in CARD_IDS:
        top_bottom = facts["ids"][element]
        assert top_bottom is not None, element
        assert top_bottom[1] <= 900, (element, top_bottom)


def test_no_drift_world_card(tmp_path: Path) -> None:
    """``better`` (no drift): no onset on the card, the estimate stands, the card validates."""
    data = tmp_path / "data"
    demo.write(demo.generate("better"), data)
    inputs = report.open_inputs(data, "fraud_v2.2", role="champion")
    policy = load_policy(None)
    ev = evidence.monitoring(inputs, policy=policy)
    dec = decision.monitoring_decision(
        "fraud_v2.2", evidence=ev, key_numbers=ev.key_numbers(), policy=policy, as_of=inputs.as_of
    )
    d = dec.to_dict()
    assert d["monitoring"]["onset"] is None
    assert d["monitoring"]["estimate"].startswith("The labels arrived so far are consistent")
    assert not any(ev.estimate_check.diverged)
    doc = {**d, "report": "monitoring.html", "report_sha256": "0" * 64, "status": "ok"}
    doc.update(provenance={"model": "fraud_v2.2"}, failure=None)
    assert decision_errors(doc) == []
    assert "No drift onset" in dec._repr_html_()
