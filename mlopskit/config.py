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


def output_dir(
    path: str | Path,
    flag: str = "--out",
    purpose: str = "the report writes its HTML and decision.json into it",
) -> Path:
    """``path`` as a directory to write into (created later), or a clear error when it, or a
    parent of it, is an existing file: nothing is written, nothing overwritten."""
    p = Path(path)
    for part in (p, *p.parents):
        if part.exists() and not part.is_dir():
            what = "is an existing file" if part == p else f"is under `{part}`, an existing file"
            raise ValueError(
                f"`{flag}` must be a directory ({purpose}); `{p}` {what}. Give a directory "
                "path, new or existing."
            )
    return p
