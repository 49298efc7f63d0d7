"""Tests of mlopskit.report: render() machinery on small notebooks written by the tests,
the overview aggregations, and the real report notebooks on the demo world."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import mlopskit.report.notebook as nbm
from mlopskit import _format, report
from mlopskit.cli import main as cli_main
from mlopskit.report import decision
from mlopskit.schemas import decision_errors
from mlopskit.verdict import VERDICT_COLOURS, Reason

HOSTILE = "<script>alert(1)</script>"


def _notebook(path: Path, *cells: str, params: str = 'MODEL = "default"') -> Path:
    """Write a notebook: a `parameters` cell, then code cells (``md:`` prefix → markdown)."""
    nb = new_notebook()
    p = new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p]
    for src in cells:
        nb.cells.append(new_markdown_cell(src[3:]) if src.startswith("md:") else new_code_cell(src))
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nbformat.write(nb, path)
    return path


FIGURE_CELL = (
    "import matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(figsize=(4, 3))\n"
    "ax.plot([1, 2, 3], [3, 1, 2])\n"
    "ax.set_title('Volumes per day'); ax.set_xlabel('day'); ax.set_ylabel('events')\n"
    "report.figure(ax)"
)
DECISION_CELL = (
    "from mlopskit.report import decision\nfrom mlopskit.verdict import Reason\n"
    "decision.Decision(model=MODEL, report='demo', verdict='WATCH', reasons=(\n"
    f"    Reason('psi', 'PSI of {HOSTILE} is 0.3', False, 0.3, 0.25),), next_steps=('look',))"
)


class _Resources(HTMLParser):
    """Collects every URL-bearing attribute and every <img> of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.imgs: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href", "data", "poster", "action", "srcset"):
            if a.get(key):
                self.urls.append(str(a[key]))
        if tag == "img":
            self.imgs.append(a)
        if tag == "script":
            self.scripts.append(a)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def parse(html_text: str) -> _Resources:
    p = _Resources()
    p.feed(html_text)
    return p


def assert_offline(html_text: str) -> None:
    """No URL attribute, CSS url() or @import points outside the file."""
    res = parse(html_text)
    remote = [u for u in res.urls if not u.startswith(("data:", "#"))]
    assert remote == []
    assert [s for s in res.scripts if s.get("src")] == []
    css = "\n".join(res.styles)
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)  # comments load nothing
    assert re.findall(r"url\(\s*['\"]?\s*(?:https?:)?//", css) == []
    assert "@import" not in css


#: the render time every render of this module is stamped with (byte-identical renders)
SDE = "1790000000"  # date -u -d @1790000000 → 2026-09-21T14:13:20+00:00


@pytest.fixture(scope="module", autouse=True)
def _reproducible_render_time() -> Any:
    """Renders here are stamped with SOURCE_DATE_EPOCH (without it the render time is the
    wall clock, and two renders differ in that one provenance row)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", SDE)
        yield


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One notebook with a figure, a hostile table value, a decision and records; rendered twice."""
    d = tmp_path_factory.mktemp("render")
    tpl = _notebook(
        d / "demo.ipynb",
        "from mlopskit import report\nimport sys",
        "md:## A section",
        DECISION_CELL,
        FIGURE_CELL,
        f"import pandas as pd\npd.DataFrame({{'segment': [{HOSTILE!r}], 'n': [3]}})",
        "report.record(key_numbers={'model_type': type(MODEL).__name__, 'model': MODEL,\n"
        "    'version_type': type(VERSION).__name__, 'kernel_python': sys.executable,\n"
        "    'flags': FLAGS}, as_of='2026-09-29T00:00:00')",
        params='MODEL = "default"\nVERSION = "1"\nFLAGS = None',
    )
    params = {"MODEL": "fraud_v2.10", "VERSION": "2.10", "FLAGS": [1, "a", None]}
    first = report.render(tpl, params, d / "a")
    second = report.render(tpl, params, d / "b")
    return {"first": first, "second": second, "params": params}


def test_parameters_are_passed_as_values_not_strings(rendered: dict[str, Any]) -> None:
    """MODEL=fraud_v2.10 stays the string 'fraud_v2.10' (a -p string would parse 2.10→2.1)."""
    kn = rendered["first"].decision["key_numbers"]
    assert kn["model"] == "fraud_v2.10" and kn["model_type"] == "str"
    assert kn["version_type"] == "str"
    assert kn["flags"] == [1, "a", None]


def test_kernel_runs_the_current_interpreter(rendered: dict[str, Any]) -> None:
    kn = rendered["first"].decision["key_numbers"]
    assert Path(kn["kernel_python"]).resolve() == Path(sys.executable).resolve()


def test_two_renders_are_byte_identical(rendered: dict[str, Any]) -> None:
    a = rendered["first"].html_path.read_bytes()
    b = rendered["second"].html_path.read_bytes()
    assert a == b

    def without_issue_time(d: dict[str, Any]) -> dict[str, Any]:
        # the promotion gate block (issue 14) records when the evidence was issued and when it
        # expires (wall clock, so a stale report cannot promote); everything else is identical
        gate = {k: v for k, v in d.get("gate", {}).items() if k not in ("issued_at", "expires_at")}
        return {**d, "gate": gate}

    first, second = rendered["first"].decision, rendered["second"].decision
    assert without_issue_time(first) == without_issue_time(second)
    # no execution timestamps or papermill metadata survive
    text = a.decode()
    assert "papermill" not in text and "execution_count" not in text
    assert re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+", text) is None


def test_decision_json_matches_the_html(rendered: dict[str, Any]) -> None:
    res = rendered["first"]
    html_bytes = res.html_path.read_bytes()
    on_disk = json.loads(res.decision_path.read_text())
    assert on_disk["report_sha256"] == hashlib.sha256(html_bytes).hexdigest()
    assert on_disk["report"] == res.html_path.name == "demo.html"
    assert on_disk["model"] == "fraud_v2.10"
    assert on_disk["verdict"] == "WATCH" and on_disk["status"] == "ok" and res.ok
    assert on_disk["reasons"][0]["code"] == "psi" and on_disk["reasons"][0]["value"] == 0.3
    assert decision_errors(on_disk) == []
    banner = re.search(r'id="verdict"[^>]*data-verdict="([A-Z_]+)"', html_bytes.decode())
    banner = banner or re.search(r'data-verdict="([A-Z_]+)"[^>]*id="verdict"', html_bytes.decode())
    assert banner is not None and banner.group(1) == on_disk["verdict"]
    prov = on_disk["provenance"]
    assert prov["parameters"] == rendered["params"]
    assert set(prov["versions"]) >= {"python", "mlopskit", "numpy", "pandas", "polars"}
    assert prov["versions"]["scipy"] and prov["versions"]["statsmodels"]
    # the render time is SOURCE_DATE_EPOCH's (set for the module), not the data's as-of
    assert prov["render_time"] == "2026-09-21T14:13:20+00:00"
    assert prov["render_time_source"] == "SOURCE_DATE_EPOCH"
    assert "git" in prov and "dirty" in prov["git"]


def test_verdict_banner_comes_first_and_provenance_last(rendered: dict[str, Any]) -> None:
    text = rendered["first"].html_path.read_text()
    main = text[text.index("<main>") :]
    assert main.index('id="verdict"') < main.index("<figure") < main.index('id="provenance"')
    assert main.index('id="provenance"') > main.index("segment")
    assert "WATCH" in main and "look" in main  # verdict word and next step


def test_html_loads_nothing_from_the_network(rendered: dict[str, Any]) -> None:
    text = rendered["first"].html_path.read_text()
    assert_offline(text)
    assert report.remote_resources(text) == []


def test_remote_resource_scanner_catches_cdn_references() -> None:
    bad = [
        '<script src="https://cdn.example/require.js"></script>',
        "<link rel=stylesheet href='http://x/y.css'>",
        '<img src="//cdn.example/a.png">',
        "<style>body{background:url( 'https://x/bg.png')}</style>",
        '<style>@import url("https://fonts.example/css");</style>',
    ]
    for b in bad:
        assert report.remote_resources(b), b
    assert report.remote_resources('<img src="data:image/png;base64,AAAA">') == []


def test_hostile_strings_are_escaped(rendered: dict[str, Any]) -> None:
    text = rendered["first"].html_path.read_text()
    assert HOSTILE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert parse(text).scripts == []  # no script element at all


def test_figures_are_embedded_pngs_with_alt_text(rendered: dict[str, Any]) -> None:
    imgs = parse(rendered["first"].html_path.read_text()).imgs
    assert len(imgs) == 1
    img = imgs[0]
    assert img["alt"] == "Volumes per day — events by day"
    src = str(img["src"])
    assert src.startswith("data:image/png;base64,")
    png = base64.b64decode(src.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"tEXt" not in png and b"Matplotlib" not in png  # no Software/date metadata
    assert int(str(img["width"])) > 100 and int(str(img["height"])) > 100


def _failing(tmp_path: Path, *cells: str, **kw: Any) -> report.RenderResult:
    tpl = _notebook(tmp_path / "f.ipynb", *cells)
    return report.render(tpl, {"MODEL": "fraud_v2.3"}, tmp_path / "out", **kw)


def test_failing_cell_gives_failed_banner_and_names_the_cell(tmp_path: Path) -> None:
    res = _failing(
        tmp_path, "x = 1", "md:text", f"raise ValueError('bad data in {HOSTILE}')", "y = 2"
    )
    assert not res.ok and res.verdict == "FAILED"
    text = res.html_path.read_text()
    assert "FAILED — not approvable" in text
    assert HOSTILE not in text
    dec = json.loads(res.decision_path.read_text())
    assert dec["status"] == "failed" and dec["verdict"] == "FAILED"
    assert dec["failure"]["cell_index"] == 3  # index in the template (0 = parameters)
    assert dec["failure"]["ename"] == "ValueError"
    assert "bad data in" in dec["failure"]["evalue"]
    assert "raise ValueError" in dec["failure"]["cell_source"]
    assert "\x1b[" not in dec["failure"]["traceback"]
    assert dec["reasons"][0]["code"] == "report_failed" and dec["reasons"][0]["critical"]
    assert decision_errors(dec) == [] and dec["expires"] is None  # a failure never expires
    assert dec["report_sha256"] == hashlib.sha256(res.html_path.read_bytes()).hexdigest()
    assert 'id="provenance"' in text  # provenance even on failure
    assert text.index("FAILED — not approvable") < text.index("ValueError")


def test_figure_drawn_but_not_displayed_fails_the_report(tmp_path: Path) -> None:
    res = _failing(tmp_path, "import matplotlib.pyplot as plt\nplt.plot([1, 2]);\nplt.gcf()")
    # the inline backend shows a figure left as the cell's value, so this one passes ...
    assert res.ok, res.decision["failure"]
    res = _failing(
        tmp_path,
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "plt.plot([1, 2]);",
    )
    # ... but a figure that never reaches the output is an error, not a silent gap
    assert not res.ok
    assert res.decision["failure"]["cell"] == "the figure check after the last cell"
    assert "never displayed" in res.decision["failure"]["evalue"]


def test_cell_timeout_interrupts_and_fails(tmp_path: Path) -> None:
    res = _failing(tmp_path, "import time\ntime.sleep(60)", cell_timeout=2)
    assert not res.ok
    assert res.decision["failure"]["cell_index"] == 1
    assert "timeout of 2 s" in res.decision["failure"]["evalue"]


def test_stale_user_kernels_and_mplbackend_do_not_matter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken `python3` / `mlopskit-report` kernelspec on JUPYTER_PATH and a GUI
    MPLBACKEND in the environment must not change what runs."""
    jp = tmp_path / "jupyter"
    for name in ("python3", report.KERNEL_NAME):
        k = jp / "kernels" / name
        k.mkdir(parents=True)
        (k / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": ["/nonexistent/python", "-f", "{connection_file}"],
                    "display_name": "stale",
                    "language": "python",
                }
            )
        )
    monkeypatch.setenv("JUPYTER_PATH", str(jp))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(jp))
    monkeypatch.setenv("MPLBACKEND", "module://no_such_backend")
    tpl = _notebook(
        tmp_path / "k.ipynb",
        "from mlopskit import report\nimport sys, os",
        FIGURE_CELL,
        "report.record(key_numbers={'py': sys.executable, 'mpl': os.environ['MPLBACKEND']})",
    )
    res = report.render(tpl, {"MODEL": "m"}, tmp_path / "out")
    assert res.ok, res.decision["failure"]
    kn = res.decision["key_numbers"]
    assert Path(kn["py"]).resolve() == Path(sys.executable).resolve()
    assert kn["mpl"] == "module://matplotlib_inline.backend_inline"
    assert len(parse(res.html_path.read_text()).imgs) == 1


def test_source_date_epoch_sets_the_render_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    assert report.render_time("2026-09-29") == (
        "2026-09-21T14:13:20+00:00",
        "SOURCE_DATE_EPOCH",
    )  # date -u -d @1790000000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        report.render_time(None)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    # without it: the real render time (wall clock, UTC, to the second), never the as-of
    before = datetime.now(tz=UTC).replace(microsecond=0)
    stamp, source = report.render_time("2026-09-29")
    after = datetime.now(tz=UTC)
    assert source.startswith("wall clock")
    assert stamp is not None and before <= datetime.fromisoformat(stamp) <= after
    assert report.render_time(None)[1] == source


@pytest.mark.parametrize(
    "bad", ["", ".", "..", "../etc", "a/b", "a\\b", "-rf", ".hidden", HOSTILE, "a b"]
)
def test_names_that_are_not_safe_path_components_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="MODEL"):
        report.validate_name(bad)


def test_valid_names_pass() -> None:
    for ok in ("fraud_v2.3", "fraud_v2.10", "m-1", "A.b_c"):
        assert report.validate_name(ok) == ok


def test_template_without_parameters_cell_is_rejected(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nbformat.write(nb, tmp_path / "t.ipynb")
    with pytest.raises(ValueError, match="tagged `parameters`"):
        report.render(tmp_path / "t.ipynb", {"MODEL": "m"}, tmp_path / "out")
    with pytest.raises(ValueError, match="does not exist"):
        report.render(tmp_path / "nope.ipynb", {"MODEL": "m"}, tmp_path / "out")


def test_record_outside_a_kernel_is_a_no_op(capsys: pytest.CaptureFixture[str]) -> None:
    report.record(as_of="2026-01-01")
    assert capsys.readouterr().out == ""


def test_jsonable_converts_numpy_timestamps_and_nan() -> None:
    out = nbm.jsonable(
        {"a": np.int64(3), "b": np.float64("nan"), "c": pd.Timestamp("2026-01-02"), "d": (1, 2)}
    )
    assert out == {"a": 3, "b": None, "c": "2026-01-02T00:00:00", "d": [1, 2]}
    json.dumps(out)


def test_kernel_start_timeout_fails_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text("import time\ntime.sleep(20)\n")  # kernel-only
    monkeypatch.setenv("PYTHONPATH", str(slow))
    res = _failing(tmp_path, "x = 1", start_timeout=2)
    assert not res.ok
    assert res.decision["failure"]["cell"] == "the kernel"
    assert "2 seconds" in res.decision["failure"]["evalue"]
    assert "sitecustomize" in res.decision["failure"]["traceback"]  # the kernel's own output
    assert "FAILED — not approvable" in res.html_path.read_text()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_timeouts_must_be_positive_integers(tmp_path: Path, bad: Any) -> None:
    tpl = _notebook(tmp_path / "t.ipynb", "x = 1")
    with pytest.raises(ValueError, match="cell_timeout"):
        report.render(tpl, {"MODEL": "m"}, tmp_path / "o", cell_timeout=bad)


# --------------------------------------------------------------------------------------
# Decision rules
# --------------------------------------------------------------------------------------
def _result(verdict: str, *reasons: Reason, warnings: tuple[str, ...] = ()) -> Any:
    return SimpleNamespace(verdict=verdict, reasons=reasons, warnings=warnings)


OK_R = Reason("ok", "fine", True)
BAD_R = Reason("bad", "broken", False)
CRIT_R = Reason("crit", "very broken", False, critical=True)


@pytest.mark.parametrize(
    ("shadow", "canary", "expected"),
    [
        (None, None, "NOT_ASSESSED"),
        ("READY_FOR_CANARY", None, "READY_FOR_CANARY"),
        ("CONTINUE_SHADOW", None, "CONTINUE_SHADOW"),
        ("FIX", None, "FIX"),
        ("READY_FOR_CANARY", "PROMOTE", "PROMOTE"),
        ("CONTINUE_SHADOW", "PROMOTE", "PROMOTE"),
        (None, "PROMOTE", "PROMOTE"),
        ("READY_FOR_CANARY", "CONTINUE", "CONTINUE"),
        ("FIX", "PROMOTE", "FIX"),
        ("FIX", "CONTINUE", "FIX"),
        ("FIX", "ROLLBACK", "ROLLBACK"),
        ("READY_FOR_CANARY", "ROLLBACK", "ROLLBACK"),
        ("FIX", "INVALID", "INVALID"),
        ("READY_FOR_CANARY", "INVALID", "INVALID"),
    ],
)
def test_rollout_rule(shadow: str | None, canary: str | None, expected: str) -> None:
    s = None if shadow is None else _result(shadow, OK_R)
    c = None if canary is None else _result(canary, OK_R)
    d = decision.rollout_decision("fraud_v2.3", shadow=s, canary=c)
    assert d.verdict == expected
    assert d.key_numbers["shadow_verdict"] == shadow
    assert d.key_numbers["canary_verdict"] == canary
    assert d.next_steps  # every verdict says what to do next
    assert d.reasons


def test_rollout_reasons_put_deciding_failures_first() -> None:
    s = _result("READY_FOR_CANARY", OK_R, Reason("lat", "latency ok", True), warnings=("w1",))
    c = _result("ROLLBACK", OK_R, BAD_R, CRIT_R, warnings=("w2", "w1"))
    d = decision.rollout_decision("m", shadow=s, canary=c)
    assert [r.code for r in d.reasons] == ["crit", "bad", "ok"]
    assert d.warnings == ("w1", "w2")
    d = decision.rollout_decision("m", shadow=_result("FIX", OK_R, BAD_R), canary=c)
    assert d.verdict == "ROLLBACK"
    assert [r.code for r in d.reasons] == ["crit", "bad", "ok", "bad"]
    d = decision.rollout_decision(
        "m", shadow=_result("FIX", OK_R, BAD_R), canary=_result("PROMOTE")
    )
    assert d.reasons[0].code == "shadow_fix_overrides_canary" and d.reasons[1].code == "bad"
    d = decision.rollout_decision("m", shadow=_result("READY_FOR_CANARY", "plain words"))
    assert d.reasons[0].message == "plain words" and d.reasons[0].code == "shadow"


def test_go_verdicts_lead_with_the_checks_that_passed() -> None:
    # a PROMOTE is decided by the metrics that passed; an inconclusive secondary metric
    # (passed=False, not critical) must not head the banner's "why"
    c = _result("PROMOTE", BAD_R, OK_R, Reason("srm", "split ok", True, critical=True))
    d = decision.rollout_decision("m", shadow=_result("READY_FOR_CANARY", OK_R), canary=c)
    assert [r.code for r in d.reasons] == ["srm", "ok", "bad"]
    d = decision.rollout_decision("m", shadow=_result("READY_FOR_CANARY", BAD_R, OK_R))
    assert [r.code for r in d.reasons] == ["ok", "bad"]
    d = decision.rollout_decision("m", canary=_result("CONTINUE", OK_R, BAD_R))
    assert [r.code for r in d.reasons] == ["bad", "ok"]


def test_promote_next_step_names_the_promotion_command() -> None:
    d = decision.rollout_decision("fraud_v2.3", canary=_result("PROMOTE"))
    assert any("make promote MODEL=fraud_v2.3 TO=Production" in s for s in d.next_steps)


def test_monitoring_rule() -> None:
    d = decision.monitoring_decision("fraud_v2.2")
    assert d.verdict == "NOT_ASSESSED"
    m = _result("ALERT", OK_R, BAD_R)
    r = _result("WAIT_FOR_LABELS", Reason("labels", "only 40% mature", False))
    d = decision.monitoring_decision("fraud_v2.2", monitor=m, retrain=r)
    assert d.verdict == "ALERT"
    assert [x.code for x in d.reasons] == ["bad", "retraining", "ok", "labels"]
    assert "WAIT_FOR_LABELS" in d.reasons[1].message and d.reasons[1].passed is False
    assert d.key_numbers["retraining_verdict"] == "WAIT_FOR_LABELS"
    assert any("wait" in s.lower() for s in d.next_steps)


def test_monitoring_reasons_come_from_its_layers() -> None:
    layers = (
        SimpleNamespace(layer="input_drift", reasons=(BAD_R,)),
        SimpleNamespace(layer="output_drift", reasons=(OK_R,)),
    )
    m = SimpleNamespace(verdict="WATCH", layers=layers, warnings=())
    d = decision.monitoring_decision("fraud_v2.2", monitor=m)
    assert d.verdict == "WATCH" and [r.code for r in d.reasons] == ["bad", "ok"]


def test_decision_banner_escapes_and_records() -> None:
    d = decision.Decision(
        model="m",
        report="rollout",
        verdict="FIX",
        reasons=(Reason("x", HOSTILE, False),),
        next_steps=(HOSTILE,),
        warnings=(HOSTILE,),
    )
    html = d._repr_html_()
    assert HOSTILE not in html and html.count("&lt;script&gt;") == 3
    assert 'data-verdict="FIX"' in html and VERDICT_COLOURS["FIX"] in html
    bundle = d._repr_mimebundle_()
    assert bundle[nbm.RECORD_MIME]["decision"]["verdict"] == "FIX"
    assert json.dumps(bundle[nbm.RECORD_MIME])
    assert "FIX" in d.summary()


# --------------------------------------------------------------------------------------
# The report notebooks on the demo world, through the CLI
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every test of this module uses its own registry file (never data/registry.sqlite)."""
    path = tmp_path_factory.mktemp("registry") / "registry.sqlite"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPSKIT_REGISTRY", str(path))
        yield path


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory: pytest.TempPathFactory, registry_file: Path) -> dict[str, Any]:
    """With no data configured, `mlopskit report` simulates and registers the demo world,
    then renders the report each model's registry stage calls for."""
    root = tmp_path_factory.mktemp("world")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPSKIT_DATA", str(root / "data"))
        mp.setenv("MLOPSKIT_REPORTS", str(root / "reports"))
        codes = {m: cli_main(["report", m]) for m in ("fraud_v2.3", "fraud_v2.2")}
    return {"root": root, "data": root / "data" / "demo", "codes": codes, "registry": registry_file}


def _read(root: Path, model: str, kind: str) -> tuple[str, dict[str, Any]]:
    d = root / "reports" / model
    return (d / f"{kind}.html").read_text(), json.loads((d / "decision.json").read_text())


@pytest.mark.parametrize(
    ("model", "kind"), [("fraud_v2.3", "rollout"), ("fraud_v2.2", "monitoring")]
)
def test_demo_report_stage_picks_the_report(
    demo_reports: dict[str, Any], model: str, kind: str
) -> None:
    assert demo_reports["codes"][model] == 0
    assert (demo_reports["data"] / "models" / f"{model}.yml").is_file()  # generated on demand
    text, dec = _read(demo_reports["root"], model, kind)
    assert dec["model"] == model and dec["report"] == f"{kind}.html" and dec["status"] == "ok"
    banner = re.search(r'<section class="mk-verdict[^"]*"[^>]*data-verdict="([A-Z_]+)"', text)
    assert banner is not None and banner.group(1) == dec["verdict"]
    assert decision_errors(dec) == []  # rollout and monitoring: decision.json is a contract
    assert _format.defects(re.sub(r"<[^>]+>", " ", text)) == []
    assert f"{kind} report" in text[: text.index('id="provenance"')]
    assert_offline(text)
    assert len(text.encode()) < 5_000_000
    prov = dec["provenance"]
    names = [i["name"] for i in prov["inputs"]]
    assert names[:2] == ["events", "reference"] and "model config" in names
    events = next(i for i in prov["inputs"] if i["name"] == "events")
    assert events["rows"] == 480_000
    cfg = yaml.safe_load((demo_reports["data"] / "models" / f"{model}.yml").read_text())
    assert events["path"] == "events.parquet"  # relative to the data directory
    assert events["sha256"] == report.file_sha256(demo_reports["data"] / "events.parquet")
    assert prov["policy"]["sha256"] == report.file_sha256(prov["policy"]["path"])
    assert prov["as_of"] == cfg["as_of"]
    assert prov["render_time"] == "2026-09-21T14:13:20+00:00"  # SOURCE_DATE_EPOCH
    stage = "Staging" if kind == "rollout" else "Production"
    reg = prov["registry"]
    assert (reg["source"], reg["model"], reg["stage"]) == ("registry", model, stage)
    assert reg["path"] == str(demo_reports["registry"]) and reg["run_id"]
    assert prov["model"] == model
    assert prov["model_sha256"] == reg["model_artifact_sha256"]  # the registered artifact
    imgs = parse(text).imgs
    assert len(imgs) >= 3 and all(i.get("alt") for i in imgs)


def test_rollout_report_passes_the_registry_promotion_gate(demo_reports: dict[str, Any]) -> None:
    """The rendered PROMOTE report is the evidence `→ Production` asks for."""
    from mlopskit.registry import gates, open_registry

    html = demo_reports["root"] / "reports" / "fraud_v2.3" / "rollout.html"
    reg = open_registry(demo_reports["registry"])
    res = gates.report_gate(html, "fraud_v2.3", registry=reg)
    assert res.passed, [r.message for r in res.reasons if not r.passed]


def test_rollout_report_decides_as_the_world_was_built(demo_reports: dict[str, Any]) -> None:
    """The default world's challenger is better: shadow READY_FOR_CANARY, canary PROMOTE."""
    truth = json.loads((demo_reports["data"] / "truth.json").read_text())
    text, dec = _read(demo_reports["root"], "fraud_v2.3", "rollout")
    assert dec["verdict"] == truth["expected"]["canary"] == "PROMOTE"
    assert dec["key_numbers"]["shadow"]["verdict"] == truth["expected"]["shadow"]
    assert dec["key_numbers"]["canary_verdict"] == "PROMOTE"
    assert any("make promote MODEL=fraud_v2.3" in s for s in dec["next_steps"])
    main = text[text.index("<main>") :]
    order = [
        main.index(h)
        for h in (
            "<h2>Shadow profile",
            "<h2>Canary",
            "<h2>Drift of the challenger",
            "<h2>Data overview",
            "<h2>Provenance",
        )
    ]
    assert order == sorted(order)
    # the drifted feature of the default world (drift from day 100) is in the input drift
    assert "merchant_category" in dec["key_numbers"]["input_drift_flagged"]


def test_monitoring_report_has_the_four_layers_and_the_retraining_assessment(
    demo_reports: dict[str, Any],
) -> None:
    text, dec = _read(demo_reports["root"], "fraud_v2.2", "monitoring")
    mon = dec["key_numbers"]["monitoring"]
    assert mon["verdict"] == dec["verdict"] in ("OK", "WATCH", "ALERT", "PAGE")
    assert set(mon) == {"verdict", "service_health", "input_drift", "output_drift", "outcome_drift"}
    assert mon["service_health"] == "OK"  # the demo service log: 18 ms median, 0.05 % errors
    assert dec["key_numbers"]["retraining"] in (
        "RETRAIN_NOW",
        "WAIT_FOR_LABELS",
        "RECALIBRATE_STOPGAP",
        "NO_ACTION",
    )
    assert any(r["code"] == "retraining" for r in dec["reasons"])
    main = text[text.index("<main>") :]
    for heading in (
        "The four layers",
        "Input drift",
        "Output drift",
        "Outcome drift",
        "Label maturity",
        "Retraining assessment",
        "Data overview",
    ):
        assert f"<h2>{heading}" in main, heading
    assert "<details" in main  # long per-window tables are folded


def test_demo_report_renders_byte_identically(demo_reports: dict[str, Any]) -> None:
    root = demo_reports["root"]
    out = root / "again"
    code = cli_main(
        ["report", "fraud_v2.3", "--data", str(demo_reports["data"]), "--out", str(out)]
    )
    assert code == 0
    first = (root / "reports" / "fraud_v2.3" / "rollout.html").read_bytes()
    assert (out / "rollout.html").read_bytes() == first


def test_injected_failing_cell_fails_the_demo_report(
    demo_reports: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    nb = nbformat.read(report.notebooks_dir() / "rollout.ipynb", as_version=4)
    bad = new_code_cell("raise RuntimeError('injected failure')")
    nb.cells.insert(4, bad)
    nbformat.write(nb, nbs / "rollout.ipynb")
    out = tmp_path / "out"
    code = cli_main(
        [
            "report",
            "fraud_v2.3",
            "--data",
            str(demo_reports["data"]),
            "--notebooks",
            str(nbs),
            "--out",
            str(out),
        ]
    )
    assert code == 1
    assert "FAILED — not approvable" in capsys.readouterr().err
    text = (out / "rollout.html").read_text()
    dec = json.loads((out / "decision.json").read_text())
    assert "FAILED — not approvable" in text
    assert dec["verdict"] == "FAILED" and dec["failure"]["cell_index"] == 4
    assert dec["failure"]["evalue"] == "injected failure"
    assert dec["provenance"]["inputs"]  # recorded before the failure
    assert dec["report_sha256"] == hashlib.sha256((out / "rollout.html").read_bytes()).hexdigest()


def test_unknown_model_lists_known_models(
    demo_reports: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["report", "fraud_v9.9", "--data", str(demo_reports["data"])])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown MODEL 'fraud_v9.9'" in err
    assert "fraud_v2.2 (Production), fraud_v2.3 (Staging)" in err


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a/b", "..", HOSTILE, ""])
def test_model_is_validated_before_it_becomes_a_path(
    demo_reports: dict[str, Any], tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPSKIT_REPORTS", str(out))
        code = cli_main(["report", bad, "--data", str(demo_reports["data"])])
    assert code == 2
    assert "`MODEL` must be a name" in capsys.readouterr().err
    assert not out.exists()


def test_as_of_and_policy_options(demo_reports: dict[str, Any], tmp_path: Path) -> None:
    policy = tmp_path / "team.yml"
    policy.write_text((report.notebooks_dir().parent / "policies" / "default.yml").read_text())
    out = tmp_path / "out"
    code = cli_main(
        [
            "report",
            "fraud_v2.2",
            "--data",
            str(demo_reports["data"]),
            "--as-of",
            "2026-08-01",
            "--policy",
            str(policy),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    dec = json.loads((out / "decision.json").read_text())
    prov = dec["provenance"]
    assert prov["parameters"]["AS_OF"] == "2026-08-01T00:00:00"
    assert prov["as_of"] == "2026-08-01T00:00:00"
    assert prov["policy"] == {"path": str(policy), "sha256": report.file_sha256(policy)}
    assert dec["key_numbers"]["overview"]["rows"]["production events"] == 61 * 4000  # Jun+Jul


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "yesterday-ish"], "`--as-of` must be a date"),
        (["--policy", "/nonexistent.yml"], "`--policy` file"),
    ],
)
def test_bad_options_are_one_line_errors(
    demo_reports: dict[str, Any], args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["report", "fraud_v2.3", "--data", str(demo_reports["data"]), *args])
    assert code == 2 and message in capsys.readouterr().err


def test_report_notebooks_are_committed_without_outputs() -> None:
    for path in sorted(report.notebooks_dir().rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells) or (
            "examples" in path.parts
        ), path
        for c in nb.cells:
            if c.cell_type == "code":
                assert c.outputs == [] and c.execution_count is None, path


EXAMPLES = sorted((report.notebooks_dir() / "examples").glob("*.ipynb"))


def test_there_are_example_walkthroughs() -> None:
    assert [p.stem for p in EXAMPLES] == [
        "01_overview",
        "02_shadow",
        "03_canary",
        "04_drift",
        "05_label_lag",
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_notebook_runs_top_to_bottom(
    demo_reports: dict[str, Any], example: Path, tmp_path: Path
) -> None:
    """Through render(): every cell runs, every figure is displayed, nothing is fetched."""
    res = report.render(example, {"DATA_DIR": str(demo_reports["data"])}, tmp_path)
    assert res.ok, res.decision["failure"]
    text = res.html_path.read_text()
    assert_offline(text)
    assert parse(text).imgs  # the walkthrough shows its figures


def test_hostile_model_name_in_a_config_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models").mkdir()
    cfg = {
        "model": "fraud_v2.3",
        "logs": {"events": {"source": {"path": "../events.parquet"}, "columns": {"ts": "ts"}}},
        "champion": HOSTILE,
    }
    (tmp_path / "models" / "fraud_v2.3.yml").write_text(yaml.safe_dump(cfg))
    assert cli_main(["report", "fraud_v2.3", "--data", str(tmp_path)]) == 2
    assert "`champion`" in capsys.readouterr().err
    assert cli_main(["report", "fraud_v2.3", "--data", str(tmp_path / "nope")]) == 2
    assert "has no model config" in capsys.readouterr().err


def test_hostile_category_in_the_data_shows_as_text(
    demo_reports: dict[str, Any], tmp_path: Path
) -> None:
    """A merchant category named `<script>alert(1)</script>` reaches tables and figures
    of the rollout report as text, never as markup."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(demo_reports["data"], data)
    for log in ("shadow_log", "events", "canary_log"):
        df = pd.read_parquet(data / f"{log}.parquet")
        df["merchant_category"] = df["merchant_category"].replace("digital_goods", HOSTILE)
        df.to_parquet(data / f"{log}.parquet", index=False)
    out = tmp_path / "out"
    assert cli_main(["report", "fraud_v2.3", "--data", str(data), "--out", str(out)]) == 0
    text = (out / "rollout.html").read_text()
    assert HOSTILE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # shown, escaped
    assert parse(text).scripts == []
    dec = json.loads((out / "decision.json").read_text())
    events = next(i for i in dec["provenance"]["inputs"] if i["name"] == "events")
    assert events["sha256"] == report.file_sha256(data / "events.parquet")  # the copy's


def test_banner_reasons_for_a_pass_lead_with_critical_checks() -> None:
    s = _result(
        "READY_FOR_CANARY",
        Reason("duration", "14 days", True),
        Reason("unknown", "n/a", None),
        Reason("error_rate", "0.1%", True, critical=True),
    )
    d = decision.rollout_decision("m", shadow=s)
    assert [r.code for r in d.reasons] == ["error_rate", "duration", "unknown"]


def test_private_kernel_sockets_live_in_the_render_directory(tmp_path: Path) -> None:
    """Concurrent renders must not share ipc socket files (they did in the working directory,
    and one kernel client then read another kernel's messages: 'Invalid Signature')."""
    from mlopskit.report.notebook import kernel_manager_class

    a = kernel_manager_class(tmp_path / "a" / "kernels")(kernel_name="mk")
    b = kernel_manager_class(tmp_path / "b" / "kernels")(kernel_name="mk")
    assert a.transport == b.transport == "ipc"
    assert a.ip == str(tmp_path / "a" / "kernel-ipc") and b.ip == str(tmp_path / "b" / "kernel-ipc")
