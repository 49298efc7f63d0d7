"""The ``mlopskit`` command (also ``python -m mlopskit``).

Subcommands register themselves in ``COMMANDS`` from their sections below; each is a
function ``(subparsers) -> None`` that adds a parser whose ``func`` runs the command and
returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

COMMANDS: list[Callable[[Any], None]] = []


# ---- demo --------------------------------------------------------------------------


# ---- end demo ----------------------------------------------------------------------


# ---- report (issue 7) --------------------------------------------------------------


# ---- end report --------------------------------------------------------------------


# ---- registry / promote / revert (issue 8) -----------------------------------------


# ---- end registry ------------------------------------------------------------------


# ---- monitor -----------------------------------------------------------------------


# ---- end monitor -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlopskit",
        description="Statistics you can defend for model rollout decisions.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:  # contract and argument errors: one clear line, no traceback
        print(f"mlopskit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
