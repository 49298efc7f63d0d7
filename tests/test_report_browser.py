"""The reports in a real browser: headless Chromium (Debian `chromium`), no network.

Each report is opened from a file:// URL with every network request sent to a dead proxy.
One run takes a 1280×800 screenshot (the verdict banner's colour must be on it); another
runs a copy of the report with a small probe script that, after load, writes into the DOM
the images' natural sizes, the verdict banner's position and every resource the page
fetched, read back with --dump-dom.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlopskit import demo, report
from mlopskit.verdict import VERDICT_COLOURS

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs headless Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

PROBE = """<script>
window.addEventListener('load', () => {
  const v = document.getElementById('verdict');
  const r = v.getBoundingClientRect();
  const out = {
    imgs: Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight, i.complete]),
    verdict: [r.top, r.bottom, getComputedStyle(v).visibility, getComputedStyle(v).display],
    viewport: [window.innerWidth, window.innerHeight],
    resources: performance.getEntriesByType('resource').map(e => e.name),
    text: v.innerText,
  };
  const pre = document.createElement('pre');
  pre.id = 'mk-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,800",
        "--proxy-server=127.0.0.1:9",  # any network request fails
        "--proxy-bypass-list=<-loopback>",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("browser")
    data = root / "demo"
    demo.write(demo.generate("default"), data)
    out = {}
    with pytest.MonkeyPatch.context() as mp:  # no registry: stages from the model configs
        mp.setenv("MLOPSKIT_REGISTRY", str(root / "no-registry.sqlite"))
        for model in ("fraud_v2.3", "fraud_v2.2"):
            res = report.report_model(model, data_dir=data, out=root / model)
            assert res.ok, res.decision["failure"]
            out[model] = res
    return {"root": root, "results": out}


@pytest.mark.parametrize("model", ["fraud_v2.3", "fraud_v2.2"])
def test_screenshot_shows_the_verdict_banner(
    reports: dict[str, Any], model: str, tmp_path: Path
) -> None:
    import matplotlib.image

    res = reports["results"][model]
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", res.html_path.as_uri())
    img = matplotlib.image.imread(shot)[..., :3]
    assert img.shape[:2] == (800, 1280)
    assert img.std() > 0.05  # not a blank page
    colour = VERDICT_COLOURS.get(res.verdict, "#57606a")
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    hits = np.all(np.abs(img - rgb) < 0.02, axis=-1)
    rows = np.nonzero(hits.any(axis=1))[0]
    # the banner's coloured border (8 px wide) and verdict word, in the first screen
    assert hits.sum() > 500 and rows.min() < 400


@pytest.mark.parametrize("model", ["fraud_v2.3", "fraud_v2.2"])
def test_figures_load_and_nothing_is_fetched(
    reports: dict[str, Any], model: str, tmp_path: Path
) -> None:
    res = reports["results"][model]
    html = res.html_path.read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"))
    dom = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()).stdout
    m = re.search(r'<pre id="mk-probe">(.*?)</pre>', dom, flags=re.DOTALL)
    assert m is not None, dom[-2000:]
    facts = json.loads(html_lib.unescape(m.group(1)))
    n_img = html.count("<img ")
    assert n_img >= 3 and len(facts["imgs"]) == n_img
    assert all(w > 100 and h > 100 and done for w, h, done in facts["imgs"])
    top, bottom, visibility, display = facts["verdict"]
    assert 0 <= top < facts["viewport"][1] and bottom > top
    assert (visibility, display) == ("visible", "block")
    assert res.verdict in facts["text"] and model in facts["text"]
    assert facts["resources"] == []
