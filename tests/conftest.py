"""Shared fixtures: every frame-taking test runs once per backend (pandas, polars, polars lazy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib
import pandas as pd
import polars as pl
import pytest

matplotlib.use("Agg")

BACKENDS: dict[str, Callable[[pd.DataFrame], Any]] = {
    "pandas": lambda df: df,
    "polars": lambda df: pl.from_pandas(df),
    "polars_lazy": lambda df: pl.from_pandas(df).lazy(),
}


@pytest.fixture(scope="session", autouse=True)
def audit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The registry's audit key lives in a per-session file, never in ~/.config."""
    path = tmp_path_factory.mktemp("audit") / "audit.key"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLOPSKIT_AUDIT_KEY", raising=False)
        mp.setenv("MLOPSKIT_AUDIT_KEY_FILE", str(path))
        yield path


@pytest.fixture(params=sorted(BACKENDS))
def to_backend(request: pytest.FixtureRequest) -> Callable[[pd.DataFrame], Any]:
    """Convert a pandas frame to the backend under test (pandas / polars / polars lazy)."""
    return BACKENDS[request.param]
