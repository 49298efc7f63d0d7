"""Tests of mlopskit.report: render() machinery on small notebooks written by the tests,
the overview aggregations, and the real report notebooks on the demo world."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mlopskit import _notebook as nbm
from mlopskit import report

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
    "from mlopskit import decision\nfrom mlopskit.verdict import Reason\n"
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
    assert rendered["first"].decision == rendered["second"].decision
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
    banner = re.search(r'id="verdict"[^>]*data-verdict="([A-Z_]+)"', html_bytes.decode())
    banner = banner or re.search(r'data-verdict="([A-Z_]+)"[^>]*id="verdict"', html_bytes.decode())
    assert banner is not None and banner.group(1) == on_disk["verdict"]
    prov = on_disk["provenance"]
    assert prov["parameters"] == rendered["params"]
    assert set(prov["versions"]) >= {"python", "mlopskit", "numpy", "pandas", "polars"}
    assert prov["versions"]["scipy"] and prov["versions"]["statsmodels"]
    assert prov["render_time"] == "2026-09-29T00:00:00"  # deterministic: the data as-of
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
    assert report.render_time("2026-09-29")[0] == "2026-09-29"
    assert report.render_time(None) == (None, "not recorded")


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
    assert "FAILED — not approvable" in res.html_path.read_text()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_timeouts_must_be_positive_integers(tmp_path: Path, bad: Any) -> None:
    tpl = _notebook(tmp_path / "t.ipynb", "x = 1")
    with pytest.raises(ValueError, match="cell_timeout"):
        report.render(tpl, {"MODEL": "m"}, tmp_path / "o", cell_timeout=bad)
