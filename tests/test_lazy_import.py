"""``import mlopskit`` is instant: the public names load their modules on first use."""

from __future__ import annotations

import subprocess
import sys

import mlopskit

HEAVY = ("scipy", "statsmodels", "matplotlib", "papermill", "nbconvert")


def _imported_modules(code: str) -> set[str]:
    """Top-level modules imported by ``python -X importtime -c code`` (read from stderr)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    mods = set()
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            mods.add(name.split(".")[0])
    return mods


def test_import_mlopskit_loads_no_heavy_dependency() -> None:
    mods = _imported_modules("import mlopskit")
    assert "mlopskit" in mods
    assert not mods & set(HEAVY), sorted(mods & set(HEAVY))
    assert not mods & {"polars", "pandas", "narwhals", "numpy"}, sorted(mods)


def test_heavy_dependencies_load_on_first_use() -> None:
    mods = _imported_modules("import mlopskit; mlopskit.canary_test")
    assert "scipy" in mods


def test_public_names_resolve_lazily_and_all_is_complete() -> None:
    for name in mlopskit.__all__:
        assert getattr(mlopskit, name) is not None, name
    assert set(mlopskit.__all__) <= set(dir(mlopskit))
    from mlopskit import ReferenceProfile, psi_table

    assert psi_table is mlopskit.psi_table
    assert ReferenceProfile.__name__ == "ReferenceProfile"


def test_subpackages_are_reachable_as_attributes() -> None:
    assert mlopskit.demo.__name__ == "mlopskit.demo"
    assert mlopskit.frames.bin_counts is not None


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        mlopskit.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
