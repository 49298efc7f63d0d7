"""The report kernel launched before the CLI's imports (mlopskit._report_kernel): adopted
when it is the kernel the render would launch, stopped otherwise, and the report is the
same byte for byte either way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mlopskit import report
from mlopskit._report_kernel import KERNEL_PRELOAD, EarlyKernel

SDE = "1790000000"


@pytest.fixture(autouse=True)
def _reproducible_render_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", SDE)


def _template(d: Path) -> Path:
    nb = new_notebook()
    p = new_code_cell('MODEL = "default"')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [
        p,
        new_code_cell(
            "import os, sys\nfrom mlopskit import report\n"
            "report.record(key_numbers={'pid': os.getpid(), 'cwd': os.getcwd(),\n"
            "    'user_names': sorted(n for n in dir() if not n.startswith('_'))})"
        ),
        new_code_cell(
            "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\n"
            "ax.plot([1, 2, 3], [2, 1, 3]); ax.set_title('t')\nreport.figure(ax)"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    path = d / "k.ipynb"
    nbformat.write(nb, path)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_early_kernel_is_adopted_and_the_report_is_identical(tmp_path: Path) -> None:
    tpl = _template(tmp_path)
    params = {"MODEL": "m"}
    plain = report.render(tpl, params, tmp_path / "plain", cwd=tmp_path)
    with EarlyKernel(tmp_path) as early:
        assert early.process is not None
        pid = early.process.pid
        res = report.render(tpl, params, tmp_path / "early", cwd=tmp_path, early=early)
        assert early.adopted
    assert plain.ok and res.ok
    kn = res.decision["key_numbers"]
    assert kn["pid"] == pid  # the notebook ran on the process launched first
    assert kn["cwd"] == str(tmp_path)
    # the preload binds no name in the user namespace: only the notebook's own names
    names = set(kn["user_names"]) - {"In", "Out", "exit", "quit", "get_ipython", "open"}
    assert names == {"MODEL", "os", "sys", "report"}
    assert kn["user_names"] == plain.decision["key_numbers"]["user_names"]
    assert res.html_path.read_bytes() == plain.html_path.read_bytes()
    assert not _alive(pid)  # shut down with the render
    assert not early.root.exists()


def test_early_kernel_for_another_directory_is_stopped_not_used(tmp_path: Path) -> None:
    tpl = _template(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    lines: list[str] = []
    with EarlyKernel(elsewhere) as early:
        assert early.process is not None
        pid = early.process.pid
        res = report.render(
            tpl, {"MODEL": "m"}, tmp_path / "out", cwd=tmp_path, early=early, progress=lines.append
        )
        assert not early.adopted
        assert not _alive(pid)
    assert res.ok
    assert res.decision["key_numbers"]["pid"] != pid
    assert res.decision["key_numbers"]["cwd"] == str(tmp_path)
    assert any("was not the one to run" in line for line in lines)


def test_early_kernel_with_a_changed_environment_is_stopped_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tpl = _template(tmp_path)
    with EarlyKernel(tmp_path) as early:
        monkeypatch.setenv("MLOPSKIT_TEST_CHANGED", "1")  # the kernel must see it
        res = report.render(tpl, {"MODEL": "m"}, tmp_path / "out", cwd=tmp_path, early=early)
        assert not early.adopted
    assert res.ok


def test_unused_early_kernel_is_stopped_and_its_directory_removed(tmp_path: Path) -> None:
    with EarlyKernel(tmp_path) as early:
        assert early.process is not None
        pid = early.process.pid
        root = early.root
        assert (root / "kernels" / "mlopskit-report" / "kernel.json").is_file()
    assert not _alive(pid)
    assert not root.exists()


def test_cli_error_before_the_render_leaves_no_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mlopskit._report_kernel as rk
    from mlopskit.cli import main as cli_main

    made: list[Any] = []
    real = rk.EarlyKernel

    class Spy(real):  # type: ignore[misc, valid-type]
        def __init__(self, cwd: Any) -> None:
            super().__init__(cwd)
            made.append(self)

    monkeypatch.setattr(rk, "EarlyKernel", Spy)
    monkeypatch.setenv("MLOPSKIT_REPORTS", str(tmp_path / "reports"))
    assert cli_main(["report", "a/b"]) == 2
    assert "`MODEL` must be a name" in capsys.readouterr().err
    assert len(made) == 1 and not made[0].adopted
    assert made[0].process is None and not made[0].root.exists()


def test_preload_modules_exist() -> None:
    import importlib.util

    for name in KERNEL_PRELOAD:
        assert importlib.util.find_spec(name) is not None, name
