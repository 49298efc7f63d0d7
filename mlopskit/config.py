"""Where things live. Every location is absolute: an environment variable, or a default
under the repository root (never relative to the current working directory)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Root of data: ``$MLOPSKIT_DATA`` or ``<repo>/data``."""
    return _env_path("MLOPSKIT_DATA", REPO_ROOT / "data")


def demo_dir() -> Path:
    """The demo world used when no data is configured: ``<data_dir>/demo``."""
    return data_dir() / "demo"


def reports_dir() -> Path:
    """Rendered reports: ``$MLOPSKIT_REPORTS`` or ``<repo>/reports``."""
    return _env_path("MLOPSKIT_REPORTS", REPO_ROOT / "reports")
