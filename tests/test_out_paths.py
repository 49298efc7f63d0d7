"""``--out`` onto an existing file (issue 14): ``report`` and ``demo`` refuse it with a
clear error before any work, and the file is left as it was (same bytes, mtime, inode; no
file created beside it). A new or existing directory is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopskit import config
from mlopskit.cli import main as cli_main
from mlopskit.report.rendering import render


def _state(d: Path) -> dict[str, tuple[int, int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) for p in d.iterdir()}


@pytest.mark.parametrize("command", ["report", "demo"])
@pytest.mark.parametrize("under", [False, True])
def test_out_onto_an_existing_file_is_refused_and_nothing_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, under: bool
) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("my notes\n")
    before = _state(tmp_path)
    out = target / "sub" if under else target
    argv = ["report", "fraud_v2.3"] if command == "report" else ["demo"]
    assert cli_main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"mlopskit {command}: error: `--out` must be a directory" in err
    assert "notes.txt" in err and ("is under" in err) == under
    assert "Traceback" not in err
    assert _state(tmp_path) == before  # same bytes, mtime and inode; nothing created


def test_render_refuses_a_file_as_out_dir(tmp_path: Path) -> None:
    target = tmp_path / "x.html"
    target.write_text("<html></html>")
    nb = tmp_path / "r.ipynb"
    nb.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    before = _state(tmp_path)
    with pytest.raises(ValueError, match=r"`out_dir` must be a directory.*x\.html"):
        render(nb, {}, target, model="fraud_v2.3")
    assert _state(tmp_path) == before


def test_a_directory_new_or_existing_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert config.output_dir(tmp_path) == tmp_path
    new = tmp_path / "a" / "b"
    assert config.output_dir(new) == new and not new.exists()  # created by the writer later
    monkeypatch.chdir(tmp_path)
    assert config.output_dir("rel/dir") == Path("rel/dir")
