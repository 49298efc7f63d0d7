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
def _add_report(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="render a model's decision report (HTML + decision.json) into reports/<model>/",
        description="Render the report the model's stage calls for: rollout (challenger) or "
        "monitoring (Production). Exit code 0 when the report ran to the end, 1 when it "
        "FAILED (a partial HTML marked 'not approvable' is still written), 2 on bad input.",
    )
    p.add_argument("model", metavar="MODEL", help="model name, e.g. fraud_v2.3")
    p.add_argument("--as-of", default=None, help="analysis cut-off date (default: end of data)")
    p.add_argument("--policy", default=None, help="policy YAML (default: policies/default.yml)")
    p.add_argument("--out", default=None, help="output directory (default: reports/<MODEL>/)")
    p.add_argument(
        "--data",
        default=None,
        help="data directory laid out like data/demo/ (default: the demo world, generated "
        "when missing)",
    )
    p.add_argument("--notebooks", default=None, help="report notebooks (default: notebooks/)")
    p.add_argument("--cell-timeout", type=int, default=300, help="seconds per cell (300)")
    p.set_defaults(func=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    import time

    from mlopskit import report

    t0 = time.monotonic()

    def say(msg: str) -> None:
        print(f"[report {time.monotonic() - t0:5.1f}s] {msg}", flush=True)

    res = report.report_model(
        args.model,
        as_of=args.as_of,
        policy=args.policy,
        out=args.out,
        data_dir=args.data,
        notebooks=args.notebooks,
        cell_timeout=args.cell_timeout,
        progress=say,
    )
    if not res.ok:
        fail = res.decision["failure"] or {}
        print(
            f"mlopskit report: FAILED — not approvable: {fail.get('cell')}: "
            f"{fail.get('ename')}: {fail.get('evalue')} (see {res.html_path})",
            file=sys.stderr,
        )
        return 1
    say(f"verdict {res.verdict} → {res.html_path}")
    return 0


COMMANDS.append(_add_report)


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
