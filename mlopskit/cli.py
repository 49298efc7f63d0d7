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
    p.add_argument(
        "--registry",
        default=None,
        help="register fraud_v2.2 (Production) and fraud_v2.3 (Staging) in this registry file "
        "(default: the default registry when writing to data/demo, none otherwise)",
    )
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from mlopskit import config

    out = config.demo_dir() if args.out is None else Path(args.out).resolve()
    config.output_dir(out, purpose="the demo world's files are written into it")
    from mlopskit import demo

    if any((out / "models").glob("*.yml")) and not args.force:
        print(f"demo world already at {out} (use --force to regenerate)")
        return 0
    overrides = {} if args.seed is None else {"seed": args.seed}
    print(f"[demo] simulating scenario {args.scenario!r} ({args.size}) ...", flush=True)
    world = demo.generate(args.scenario, size=args.size, **overrides)
    paths = demo.write(world, out)
    print(f"[demo] wrote {len(paths)} files to {out}")
    if args.registry is not None or out == config.demo_dir():
        from mlopskit.registry import register_demo

        reg_path = None if args.registry is None else Path(args.registry).resolve()
        champion, challenger = register_demo(world, out, reg_path, replace=True)
        print(
            f"[demo] registered {champion.display} ({champion.stage}) and "
            f"{challenger.display} ({challenger.stage})"
        )
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
        help="directory holding models/<MODEL>.yml (default: the model config the registry "
        "records, else a models/ directory, else the demo world, generated when missing)",
    )
    p.add_argument(
        "--kind",
        default=None,
        choices=["monitoring", "rollout"],
        help="report to render (default: the one the model's stage calls for)",
    )
    p.add_argument("--notebooks", default=None, help="report notebooks (default: notebooks/)")
    p.add_argument("--cell-timeout", type=int, default=300, help="seconds per cell (300)")
    p.set_defaults(func=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    import time

    from mlopskit import config
    from mlopskit._report_kernel import EarlyKernel

    t0 = time.monotonic()
    # the kernel starts ipykernel and its imports on the second core while this process
    # imports the report machinery and resolves the model (mlopskit._report_kernel); a
    # kernel not used (an error before the render, another kernel needed) is stopped
    with EarlyKernel(config.REPO_ROOT) as early:
        return _report(args, t0, early)


def _report(args: argparse.Namespace, t0: float, early: Any) -> int:
    import time

    from mlopskit import report

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
        kind=args.kind,
        early=early,
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


# ---- init (issue 16) ---------------------------------------------------------------
def _add_init(sub: Any) -> None:
    p = sub.add_parser(
        "init",
        help="write a commented model config guessed from a sample of your data",
        description="Guess timestamps, ids, labels and scores from the first 5,000 rows of "
        "each file, say what was guessed, and write models/<MODEL>.yml (check it, then "
        "`mlopskit report MODEL`).",
    )
    p.add_argument("model", metavar="MODEL", help="model name, e.g. loans_v1")
    p.add_argument(
        "--data",
        nargs="+",
        required=True,
        help="parquet/CSV files; the first is the scored events unless named after its log "
        "(reference, shadow, canary, service, offline)",
    )
    p.add_argument("--out", default="models", help="directory or .yml file (default: models/)")
    p.add_argument("--force", action="store_true", help="overwrite an existing config")
    p.set_defaults(func=_run_init)


def _run_init(args: argparse.Namespace) -> int:
    from mlopskit.modelconfig import write_initial_config
    from mlopskit.report.inputs import validate_name

    validate_name(args.model)
    path, guesses = write_initial_config(args.model, args.data, args.out, force=args.force)
    for g in guesses:
        print(f"{g.log} ← {g.source.path}")
        for note in g.notes:
            print(f"  guessed {note}")
    print(f"wrote {path}: check the guesses, then `mlopskit report {args.model}`")
    return 0


COMMANDS.append(_add_init)


# ---- monitor -------------------------------------------------------------------------
MONITOR_EXIT = {"OK": 0, "WATCH": 1, "ALERT": 2, "PAGE": 3}
"""Exit code per monitoring verdict, so a scheduler can act on it (4: bad input)."""


def _add_monitor(sub: Any) -> None:
    p = sub.add_parser(
        "monitor",
        help="run the four monitoring layers and the retraining check; exit 0/1/2/3 for "
        "OK/WATCH/ALERT/PAGE",
        description="Monitoring for a daily scheduler: prints the alerts as text, writes "
        "the decision JSON, and exits 0 (OK), 1 (WATCH), 2 (ALERT) or 3 (PAGE); 4 on bad "
        "input.",
    )
    p.add_argument("model", metavar="MODEL", help="model name, e.g. fraud_v2.2")
    p.add_argument("--as-of", default=None, help="analysis cut-off date (default: end of data)")
    p.add_argument("--policy", default=None, help="policy YAML (default: policies/default.yml)")
    p.add_argument(
        "--data",
        default=None,
        help="directory holding models/<MODEL>.yml (default: the model config the registry "
        "records, else the one in a models/ directory)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="decision JSON path (default: reports/<MODEL>/monitor.json)",
    )
    p.set_defaults(func=_run_monitor)


def _run_monitor(args: argparse.Namespace) -> int:
    import json

    from mlopskit.report import evidence
    from mlopskit.report.inputs import open_inputs, validate_name

    try:
        validate_name(args.model)
        inputs = open_inputs(args.data, args.model, as_of=args.as_of, role="champion")
        ev = evidence.monitoring(inputs, policy=args.policy)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    mon = ev.monitor
    verdict = str(mon.verdict)
    print(mon.summary())
    out_drift = ev.output_drift
    if out_drift is not None and getattr(out_drift, "fired", False):
        print(
            f"Drift onset {out_drift.onset.date()} (between {out_drift.onset_low.date()} and "
            f"{out_drift.onset_high.date()})."
        )
    if ev.retrain is not None:
        print(f"Retraining: {ev.retrain.verdict}")
    decision = {
        "model": args.model,
        "as_of": str(inputs.as_of),
        "verdict": verdict,
        "exit_code": MONITOR_EXIT[verdict],
        "monitoring": mon.to_dict(),
        "key_numbers": ev.key_numbers(),
        "drift_onset": None
        if out_drift is None or not getattr(out_drift, "fired", False)
        else {
            "onset": str(out_drift.onset),
            "earliest": str(out_drift.onset_low),
            "latest": str(out_drift.onset_high),
        },
    }
    path = Path(args.out) if args.out else Path("reports") / args.model / "monitor.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(decision, indent=2, default=str) + "\n")
    print(f"decision JSON: {path}")
    return MONITOR_EXIT[verdict]


COMMANDS.append(_add_monitor)


# ---- end report --------------------------------------------------------------------


# ---- registry / promote / revert (issue 8) -----------------------------------------
def _registry_arg(p: Any) -> None:
    p.add_argument(
        "--registry",
        default=None,
        help="registry file (default: $MLOPSKIT_REGISTRY or <repo>/data/registry.sqlite)",
    )


def _open_registry(args: argparse.Namespace) -> Any:
    from mlopskit.registry import open_registry

    # a path typed on the command line is relative to the shell's directory, as usual
    return open_registry(None if args.registry is None else Path(args.registry).resolve())


def _add_registry(sub: Any) -> None:
    p = sub.add_parser("registry", help="inspect the model registry (list, show, history)")
    rsub = p.add_subparsers(dest="registry_command", required=True, metavar="ACTION")
    q = rsub.add_parser("list", help="every registered version and its stage")
    _registry_arg(q)
    q = rsub.add_parser("show", help="one version: stage, run record, artifacts, data")
    q.add_argument("model", help="NAME_vVERSION (e.g. fraud_v2.3) or NAME (its Production)")
    _registry_arg(q)
    q = rsub.add_parser("history", help="the append-only transitions log of a model")
    q.add_argument("name", help="model name (e.g. fraud) or NAME_vVERSION")
    _registry_arg(q)
    q = rsub.add_parser("verify", help="audit: hash chain, log replay, one Production")
    _registry_arg(q)
    p.set_defaults(func=_run_registry)


def _run_registry(args: argparse.Namespace) -> int:
    from mlopskit.registry import parse_model

    reg = _open_registry(args)
    if args.registry_command == "list":
        print(reg.list_models().summary())
    elif args.registry_command == "show":
        print(reg.resolve(args.model).summary())
    elif args.registry_command == "history":
        name = args.name
        if "_v" in name:
            try:
                name = parse_model(name)[0]
            except ValueError:
                pass
        print(reg.history(name).summary())
    else:
        problems = reg.verify()
        print("\n".join(problems) if problems else f"{reg.path}: consistent")
        return 1 if problems else 0
    return 0


def _add_promote(sub: Any) -> None:
    p = sub.add_parser("promote", help="move a model version to a stage (gated, logged)")
    p.add_argument("model", help="NAME_vVERSION, e.g. fraud_v2.3")
    p.add_argument("--to", required=True, help="Staging, Production or Archived")
    p.add_argument("--report", default=None, help="rendered rollout report (→ Production)")
    p.add_argument("--reason", required=True, help="why (kept in the log)")
    p.add_argument("--actor", default=None, help="who (default: $MLOPSKIT_ACTOR or the user)")
    p.add_argument(
        "--force", action="store_true", help="override a failing gate (logged with the reason)"
    )
    _registry_arg(p)
    p.set_defaults(func=_run_promote)


def _run_promote(args: argparse.Namespace) -> int:
    from mlopskit.registry import default_actor

    reg = _open_registry(args)
    written = reg.promote(
        args.model,
        to=args.to,
        reason=args.reason,
        actor=args.actor or default_actor(),
        report=None if not args.report else Path(args.report).resolve(),
        force=args.force,
    )
    print(written.summary())
    return 0


def _add_revert(sub: Any) -> None:
    p = sub.add_parser("revert", help="bring back the last version that left Production")
    p.add_argument("name", help="model name, e.g. fraud")
    p.add_argument("--reason", required=True, help="why (kept in the log)")
    p.add_argument("--actor", default=None, help="who (default: $MLOPSKIT_ACTOR or the user)")
    _registry_arg(p)
    p.set_defaults(func=_run_revert)


def _run_revert(args: argparse.Namespace) -> int:
    from mlopskit.registry import default_actor

    reg = _open_registry(args)
    print(reg.revert(args.name, reason=args.reason, actor=args.actor or default_actor()).summary())
    return 0


def _add_policy(sub: Any) -> None:
    p = sub.add_parser(
        "policy",
        help="register a policy file (hash, approver, time) or list the registered ones",
        description="Reports rendered under a policy that is not registered cannot promote "
        "(the gate refuses unless --force with a reason, which is logged).",
    )
    psub = p.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    q = psub.add_parser("register", help="validate and register a policy YAML file")
    q.add_argument("file", help="policy YAML file")
    q.add_argument("--approved-by", required=True, help="who approved this policy")
    q.add_argument("--reason", required=True, help="why (e.g. the review that approved it)")
    _registry_arg(q)
    q = psub.add_parser("list", help="every registered policy")
    _registry_arg(q)
    p.set_defaults(func=_run_policy)


def _run_policy(args: argparse.Namespace) -> int:
    reg = _open_registry(args)
    if args.policy_command == "register":
        rec = reg.register_policy(
            Path(args.file).resolve(), approved_by=args.approved_by, reason=args.reason
        )
        print(rec.summary())
    else:
        recs = reg.policies()
        print("\n".join(r.summary() for r in recs) if recs else "no registered policy")
    return 0


COMMANDS.append(_add_registry)
COMMANDS.append(_add_policy)
COMMANDS.append(_add_promote)
COMMANDS.append(_add_revert)


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
