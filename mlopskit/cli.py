"""The ``mlopskit`` command (also ``python -m mlopskit``).

Subcommands register themselves in ``COMMANDS`` from their sections below; each is a
function ``(subparsers) -> None`` that adds a parser whose ``func`` runs the command and
returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

COMMANDS: list[Callable[[Any], None]] = []


# ---- demo --------------------------------------------------------------------------
def _add_demo(sub: Any) -> None:
    p = sub.add_parser("demo", help="generate the simulated fraud world (parquet) into data/demo/")
    p.add_argument("--scenario", default="default", help="one of mlopskit.demo.SCENARIOS")
    p.add_argument("--size", default="small", choices=["small", "medium", "large"])
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument("--out", default=None, help="output directory (default: data/demo)")
    p.add_argument("--force", action="store_true", help="regenerate even if the files exist")
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from mlopskit import config, demo

    out = config.demo_dir() if args.out is None else Path(args.out).resolve()
    if (out / "manifest.json").exists() and not args.force:
        print(f"demo world already at {out} (use --force to regenerate)")
        return 0
    overrides = {} if args.seed is None else {"seed": args.seed}
    print(f"[demo] simulating scenario {args.scenario!r} ({args.size}) ...", flush=True)
    world = demo.generate(args.scenario, size=args.size, **overrides)
    paths = demo.write(world, out)
    print(f"[demo] wrote {len(paths)} files to {out}")
    return 0


COMMANDS.append(_add_demo)


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
