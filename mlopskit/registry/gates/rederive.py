"""The promotion gate re-derives the decision; it does not trust a file.

A rendered rollout report's ``decision.json`` carries a ``gate`` block (written by the
report renderer through :func:`gate_block`)::

    "gate": {
      "schema_version": 1,
      "as_of": "2026-09-29T00:00:00",           # the analysis cut-off the report used
      "issued_at": "...", "expires_at": "...",  # wall clock (UTC); valid registry.report_valid_days
      "policy_sha256": "...",                   # sha256 of the policy file's bytes
      "inputs": {"canary_log": "<sha256>", ...},# every input file the report read
      "verdicts": {"shadow": "...", "canary": "...", "rollout": "PROMOTE"}
    }

Before ``→ Production`` the registry (:func:`rederive`) checks that block against what it
holds and recomputes the decision-critical statistics itself:

1. the block exists, has this schema version and has not expired;
2. the policy is **registered** (its content is stored in the registry with who approved
   it and when); the recomputation runs under the registered content, not a file on disk;
3. the version's **registered** data locations hold the inputs, and their sha256 today
   equal the hashes the report recorded (the report read exactly the registered data);
4. the canary verdict (and the shadow verdict when the policy's
   ``registry.gate_requires_shadow`` is true) is recomputed from the registered logs at the
   report's ``as_of`` and combined by the same rule as the report
   (:func:`mlopskit.report.decision.rollout_decision`); the gate refuses unless the recomputed
   verdicts equal the report's and the result is ``PROMOTE``.

A hand-written report, an edited decision.json or a report rendered under an unregistered
(relaxed) policy therefore cannot promote; ``force=True`` with a reason overrides, and the
override and the failed checks are logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from mlopskit.verdict import Reason

GATE_SCHEMA_VERSION = 1

#: registered data location roles the re-derivation reads (demo layout, README "own data").
CANARY_ROLE, SHADOW_ROLE = "canary_log", "shadow_log"


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def gate_block(
    *,
    inputs: Any,
    policy: Mapping[str, Any] | None,
    as_of: Any,
    key_numbers: Mapping[str, Any],
    verdict: str,
    valid_days: float,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The ``gate`` block of decision.json (see the module docstring)."""
    issued = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    files = {
        str(f["name"]): f.get("sha256")
        for f in (inputs or [])
        if isinstance(f, Mapping) and "name" in f
    }

    def verdict_of(phase: str) -> str | None:
        kn = key_numbers.get(phase)
        return str(kn.get("verdict")) if isinstance(kn, Mapping) and kn.get("verdict") else None

    return {
        "schema_version": GATE_SCHEMA_VERSION,
        "as_of": None if as_of is None else str(as_of),
        "issued_at": issued.isoformat(),
        "expires_at": (issued + timedelta(days=float(valid_days))).isoformat(),
        "policy_sha256": (policy or {}).get("sha256"),
        "inputs": files,
        "verdicts": {
            "shadow": verdict_of("shadow"),
            "canary": verdict_of("canary"),
            "rollout": str(verdict),
        },
    }


def gate_block_for(records: Mapping[str, Any], decision: Mapping[str, Any]) -> dict[str, Any]:
    """decision.json's ``gate`` block from the renderer's records (see the module docstring):
    schema version, as_of, expiry, policy and input hashes,
    the phases' verdicts. Issued at SOURCE_DATE_EPOCH when set, else the wall clock."""
    from mlopskit.policy import RegistryPolicy, load_policy
    from mlopskit.report.rendering import render_time

    pol = records.get("policy") or {}
    path = pol.get("path") if isinstance(pol, Mapping) else None
    valid_days = load_policy(path).section("registry", RegistryPolicy).report_valid_days
    stamp, source = render_time(None)
    now = datetime.fromisoformat(stamp) if source == "SOURCE_DATE_EPOCH" and stamp else None
    return gate_block(
        inputs=records.get("inputs"),
        policy=pol if isinstance(pol, Mapping) else None,
        as_of=records.get("as_of"),
        key_numbers=decision.get("key_numbers", {}),
        verdict=str(decision.get("verdict")),
        valid_days=valid_days,
        now=now,
    )


@dataclass(frozen=True)
class Rederived:
    """What the gate recomputed and the checks it made (``reasons``, all critical)."""

    reasons: tuple[Reason, ...]
    policy_sha256: str | None = None
    policy_registered: bool = False
    recomputed: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.reasons) and all(r.passed for r in self.reasons)

    def to_record(self) -> dict[str, Any]:
        return {
            "gate": "rederive",
            "passed": self.passed,
            "policy_sha256": self.policy_sha256,
            "policy_registered": self.policy_registered,
            "recomputed": dict(self.recomputed),
            "reasons": [r.to_dict() for r in self.reasons],
        }


def rederive(
    registry: Any, model: str, decision: Mapping[str, Any], *, now: datetime | None = None
) -> Rederived:
    """Check decision.json's ``gate`` block against the registry and recompute the verdict."""
    reasons: list[Reason] = []

    def check(code: str, ok: bool, message: str) -> bool:
        reasons.append(Reason(code, message, ok, critical=True))
        return ok

    gate = decision.get("gate")
    if not check(
        "gate_block",
        isinstance(gate, Mapping) and gate.get("schema_version") == GATE_SCHEMA_VERSION,
        f"decision.json has a gate block (schema version {GATE_SCHEMA_VERSION})"
        if isinstance(gate, Mapping) and gate.get("schema_version") == GATE_SCHEMA_VERSION
        else "decision.json has no gate block of schema version "
        f"{GATE_SCHEMA_VERSION}: it was not written by this mlopskit's report renderer; "
        "render the report again",
    ):
        return Rederived(tuple(reasons))
    gate = cast(Mapping[str, Any], gate)  # the gate_block check above returned otherwise
    now = (now or datetime.now(UTC)).astimezone(UTC)
    try:
        expires = _utc(gate.get("expires_at"))
        fresh, exp_text = now <= expires, expires.isoformat()
    except (TypeError, ValueError):
        fresh, exp_text = False, repr(gate.get("expires_at"))
    check(
        "not_expired",
        fresh,
        f"report valid until {exp_text}"
        if fresh
        else f"report expired at {exp_text} (now {now.isoformat()}): render it again on "
        "current data",
    )
    psha = gate.get("policy_sha256")
    rec = registry.policy(psha) if isinstance(psha, str) else None
    check(
        "policy_registered",
        rec is not None,
        f"policy {psha} registered, approved by {rec.approved_by} at {rec.approved_at}"
        if rec is not None
        else f"the report was rendered under policy {psha!r}, which is not registered: "
        "register it (mlopskit policy register FILE --approved-by WHO --reason WHY) or "
        "promote with --force and a reason",
    )
    mv = registry.get(model)
    locs = dict(mv.data_locations)
    if not check(
        "registered_canary_log",
        CANARY_ROLE in locs,
        f"registered canary log {locs.get(CANARY_ROLE)}"
        if CANARY_ROLE in locs
        else f"{model} has no registered `{CANARY_ROLE}` data location: the gate cannot "
        "recompute the canary verdict (Registry.set_data_locations, logged)",
    ):
        return Rederived(tuple(reasons), psha, rec is not None)
    from mlopskit.policy import Policy, RegistryPolicy, parse_policy
    from mlopskit.report import decision as decision_mod
    from mlopskit.report import evidence
    from mlopskit.report.inputs import open_inputs

    data_dir = Path(locs[CANARY_ROLE]).parent
    try:
        inputs = open_inputs(data_dir, model, as_of=gate.get("as_of"))
    except ValueError as exc:
        check("registered_inputs", False, f"registered data cannot be read: {exc}")
        return Rederived(tuple(reasons), psha, rec is not None)
    raw_inputs = gate.get("inputs")
    recorded: Mapping[str, Any] = raw_inputs if isinstance(raw_inputs, Mapping) else {}
    for f in inputs.files:
        name = str(f["name"])
        registered_path = locs.get(name)
        if registered_path is not None and Path(registered_path) != data_dir / str(f["path"]):
            check(
                f"input_{name}",
                False,
                f"input {name}: the registered location is {registered_path}, the report "
                f"read {data_dir / str(f['path'])}",
            )
            continue
        ok = recorded.get(name) == f["sha256"]
        check(
            f"input_{name}",
            ok,
            f"input {name} sha256 matches the registered data"
            if ok
            else f"input {name}: the registered file's sha256 is {f['sha256']}, the report "
            f"recorded {recorded.get(name)!r} (other data, or the data changed since)",
        )
    missing = sorted(set(recorded) - {str(f["name"]) for f in inputs.files})
    if missing:
        check("inputs_known", False, f"the report recorded inputs {missing} the registry has not")
    if rec is None:
        return Rederived(tuple(reasons), psha, False)
    policy: Policy = parse_policy(rec.content, source=f"registry policy {rec.sha256[:12]}")
    needs_shadow = policy.section("registry", RegistryPolicy).gate_requires_shadow
    shadow, canary = evidence.decision_phases(inputs, policy=policy, shadow=needs_shadow)
    dec = decision_mod.rollout_decision(model, shadow=shadow, canary=canary)
    got = {
        "canary": None if canary is None else str(canary.verdict),
        "shadow": None if shadow is None else str(shadow.verdict),
        "rollout": str(dec.verdict),
        "as_of": str(inputs.as_of),
        "shadow_recomputed": needs_shadow,
    }
    raw_verdicts = gate.get("verdicts")
    claimed: Mapping[str, Any] = raw_verdicts if isinstance(raw_verdicts, Mapping) else {}
    phases = ["canary", "rollout"] + (["shadow"] if needs_shadow else [])
    for phase in phases:
        ok = claimed.get(phase) == got[phase]
        check(
            f"rederived_{phase}",
            ok,
            f"recomputed {phase} verdict {got[phase]} equals the report's"
            if ok
            else f"recomputed {phase} verdict is {got[phase]} from the registered data under "
            f"the registered policy; the report says {claimed.get(phase)!r}",
        )
    top = decision.get("verdict")
    check(
        "rederived_matches_decision",
        top == got["rollout"],
        f"decision.json verdict {top!r} equals the recomputed {got['rollout']}"
        if top == got["rollout"]
        else f"decision.json verdict {top!r} differs from the recomputed {got['rollout']}",
    )
    check(
        "rederived_promote",
        got["rollout"] == "PROMOTE",
        "recomputed verdict is PROMOTE"
        if got["rollout"] == "PROMOTE"
        else f"recomputed verdict is {got['rollout']}; promotion needs PROMOTE",
    )
    return Rederived(tuple(reasons), psha, True, got)
