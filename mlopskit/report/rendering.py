"""Decision reports: run a notebook, write one self-contained HTML and its ``decision.json``.

:func:`render` is the one code path used by ``make report``, the CLI, CI and tests:

1. **Execute** the notebook in-process with papermill, parameters passed as a dict (so
   ``MODEL="fraud_v2.10"`` stays a string), on a *private* kernelspec written to a
   temporary directory and pinned to the running interpreter (``sys.executable``); stale or
   missing user kernels cannot be picked up. A per-cell timeout interrupts a hung cell; a
   start timeout bounds the kernel launch. The kernel's environment fixes ``MPLBACKEND``
   to the inline backend, ``PYTHONHASHSEED=0`` and puts this checkout's ``mlopskit`` first
   on ``PYTHONPATH``. A hidden last cell fails the report when a matplotlib figure was drawn
   but never displayed (figures cannot silently vanish).
2. **Normalise** the executed notebook so the HTML is a function of inputs and parameters
   only: fixed cell ids, no execution counts, no papermill/execution timing metadata, no
   kernel version details.
3. **Export** with nbconvert's ``lab`` template minus every ``<script src>`` (require.js,
   MathJax, mermaid, widgets): code hidden, images embedded as ``data:`` URIs. The HTML is
   checked to load nothing from the network before it is written.
4. **Write** ``<out_dir>/<name>.html`` and ``<out_dir>/decision.json`` (verdict, reasons,
   key numbers, the HTML's sha256, provenance). When a cell fails, the partial HTML carries
   a "FAILED — not approvable" banner, decision.json names the failing cell and the error,
   and :attr:`RenderResult.ok` is false (the CLI exits non-zero).

Inside the report kernel, notebooks hand machine-readable facts (the decision, the inputs
they read, the policy) to :func:`render` with :func:`record`; displaying a
:class:`Decision` records it. Figures go through :func:`figure`, which embeds a PNG with
alt text. The provenance block at the end of every report is added by :func:`render`.

Render time and determinism
---------------------------
The provenance block's *render time* is when the report was rendered: the wall clock (UTC,
to the second), or ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) when that
variable is set. With ``SOURCE_DATE_EPOCH`` set, two renders of the same inputs and
parameters are byte-identical (the tests render that way); the data's as-of time is its
own provenance row and never stands in for the render time.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import mlopskit.report.notebook as _notebook
from mlopskit import config
from mlopskit._display import escape
from mlopskit._report_kernel import EarlyKernel
from mlopskit.report.cells import Collapsed as Collapsed
from mlopskit.report.cells import Figure as Figure
from mlopskit.report.cells import Figures as Figures
from mlopskit.report.cells import Note as Note
from mlopskit.report.cells import collapsed as collapsed
from mlopskit.report.cells import figure as figure
from mlopskit.report.cells import figures as figures
from mlopskit.report.cells import section as section
from mlopskit.report.config_inputs import config_report as _config_report
from mlopskit.report.inputs import REPORT_FOR_STAGE as REPORT_FOR_STAGE
from mlopskit.report.inputs import ModelRef as ModelRef
from mlopskit.report.inputs import ReportInputs as ReportInputs
from mlopskit.report.inputs import file_sha256 as file_sha256
from mlopskit.report.inputs import known_models as known_models
from mlopskit.report.inputs import open_inputs as open_inputs
from mlopskit.report.inputs import registered as registered
from mlopskit.report.inputs import resolve_model as resolve_model
from mlopskit.report.inputs import validate_name as validate_name
from mlopskit.report.notebook import RECORD_MIME, Failure, jsonable, remote_resources
from mlopskit.schemas import DECISION_SCHEMA_VERSION
from mlopskit.verdict import Reason

#: name of render's private kernelspec (see mlopskit.report.notebook).
KERNEL_NAME = _notebook.KERNEL_NAME
#: packages whose versions go into every provenance block.
PROVENANCE_PACKAGES = ("mlopskit", "numpy", "pandas", "polars", "scipy", "statsmodels", "narwhals")
#: imported while the kernel runs (see notebook.Preload): what render() needs afterwards
#: (the gate block's module pulls in the registry's gates, ~1.4 s of imports).
AFTER_KERNEL_MODULES = ("mlopskit.report.card", "mlopskit.registry.gates.rederive")
#: verdict written to decision.json when the notebook did not run to the end.
FAILED = "FAILED"
#: verdict written when the notebook ran but displayed no decision.
NOT_ASSESSED = "NOT_ASSESSED"


# --------------------------------------------------------------------------------------
# Kernel-side helpers (called from report notebooks)
# --------------------------------------------------------------------------------------
def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return False
    return get_ipython() is not None


def record(**facts: Any) -> None:
    """Hand machine-readable facts to :func:`render` (no visible output).

    Known keys: ``decision`` (a ``Decision`` or its dict), ``inputs`` (a
    :class:`ReportInputs`, or a list of ``{"name", "path", "sha256", "rows"}``), ``as_of``,
    ``policy`` (a ``Policy`` or ``{"path", "sha256"}``), ``registry`` (mapping),
    ``key_numbers`` (mapping). Later records update earlier ones.
    Outside an IPython kernel this does nothing.
    """
    if not _in_kernel():
        return
    from IPython.display import display

    inputs = facts.get("inputs")
    if isinstance(inputs, ReportInputs):
        facts["inputs"] = [dict(f) for f in inputs.files]
        facts.setdefault("as_of", inputs.as_of)
        facts.setdefault("registry", dict(inputs.registry))
        model_file = next((f for f in inputs.files if f["name"] == f"model {inputs.model}"), None)
        if model_file is not None:
            facts.setdefault("model_sha256", model_file["sha256"])
    pol = facts.get("policy")
    if pol is not None and hasattr(pol, "sha256"):
        facts["policy"] = {"path": pol.path, "sha256": pol.sha256}

    display({RECORD_MIME: jsonable(facts)}, raw=True)


# --------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------
def _git_state(where: Path) -> dict[str, Any]:
    """Commit and dirty flag of the git checkout containing ``where`` (None outside git)."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        ).stdout
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in PROVENANCE_PACKAGES:
        try:
            out[pkg] = _metadata.version(pkg)
        except _metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def render_time(as_of: str | None) -> tuple[str | None, str]:
    """The provenance render time and where it came from (see the module docstring)."""
    sde = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if sde:
        if not sde.isdigit():
            raise ValueError(f"`SOURCE_DATE_EPOCH` must be an integer of seconds; got {sde!r}.")
        stamp = datetime.fromtimestamp(int(sde), tz=UTC).isoformat()
        return stamp, "SOURCE_DATE_EPOCH"
    del as_of  # the data's as-of is its own provenance field, never the render time
    now = datetime.now(tz=UTC).replace(microsecond=0).isoformat()
    return now, "wall clock (set SOURCE_DATE_EPOCH for byte-identical renders)"


def provenance(
    params: Mapping[str, Any], records: Mapping[str, Any], model: str | None = None
) -> dict[str, Any]:
    """Everything a reviewer needs to reproduce the report (also written to decision.json).

    ``model`` and ``model_sha256`` (the model file the report read) let the registry's
    promotion gate check that the report is about the exact registered artifact.
    """
    here = Path(__file__).resolve().parent
    stamp, source = render_time(records.get("as_of"))
    return {
        "model": model,
        "model_sha256": records.get("model_sha256"),
        "parameters": jsonable(dict(params)),
        "git": _git_state(here),
        "inputs": records.get("inputs", []),
        "policy": records.get("policy"),
        "registry": records.get("registry"),
        "as_of": records.get("as_of"),
        "row_counts": ((records.get("decision") or {}).get("key_numbers") or {}).get("row_counts"),
        "versions": _versions(),
        "render_time": stamp,
        "render_time_source": source,
    }


def provenance_html(prov: Mapping[str, Any]) -> str:
    """The provenance block appended to every report."""

    def row(k: str, v: Any) -> str:
        return f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>"

    params = "".join(row(k, json.dumps(v)) for k, v in prov["parameters"].items())
    git = prov["git"]
    dirty = {True: " (dirty: uncommitted changes)", False: " (clean)", None: ""}[git["dirty"]]
    inputs = "".join(
        f"<tr><td>{escape(i.get('name'))}</td><td><code>{escape(i.get('path'))}</code></td>"
        f"<td>{escape(_rows(i.get('rows')))}</td><td><code>{escape(i.get('sha256'))}</code></td></tr>"
        for i in prov["inputs"]
    )
    inputs_html = (
        "<table class='mk-table'><caption>Inputs</caption><tr><th>input</th><th>path</th>"
        f"<th>rows</th><th>sha256</th></tr>{inputs}</table>"
        if inputs
        else "<p>Inputs: none recorded.</p>"
    )
    pol = prov.get("policy") or {}
    reg = prov.get("registry")
    versions = ", ".join(f"{escape(k)} {escape(v)}" for k, v in prov["versions"].items())
    return (
        '<section class="mk-provenance" id="provenance"><h2>Provenance</h2>'
        f"<table class='mk-table'><caption>Parameters</caption>{params}</table>"
        "<table class='mk-table'><caption>Code, policy, registry</caption>"
        f"{row('model', prov.get('model') or '—')}"
        f"{row('model file sha256', prov.get('model_sha256') or 'not recorded')}"
        f"{row('git commit', (git['commit'] or 'not a git checkout') + dirty)}"
        f"{row('policy file', pol.get('path') or 'built-in defaults')}"
        f"{row('policy sha256', pol.get('sha256') or '—')}"
        f"{row('registry', json.dumps(reg, sort_keys=True) if reg else 'not recorded')}"
        f"{row('data as of', prov.get('as_of') or 'not recorded')}"
        f"{row('render time', _stamp(prov['render_time'], prov['render_time_source']))}"
        f"</table>{inputs_html}{_rows_html(prov.get('row_counts'))}"
        f"<p>Versions: {versions}</p></section>"
    )


def _rows_html(counts: Mapping[str, Any] | None) -> str:
    """Rows read, used and dropped by reason per analysis (``RowCounts.to_dict()``)."""
    if not counts:
        return ""
    body = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(_rows(rc.get('read')))}</td>"
        f"<td>{escape(_rows(rc.get('used')))}</td><td>"
        + escape("; ".join(f"{r} {k:,}" for r, k in (rc.get("dropped") or {}).items()) or "—")
        + f"</td><td>{escape(rc.get('unit', 'rows'))}</td></tr>"
        for name, rc in counts.items()
    )
    return (
        "<table class='mk-table'><caption>Rows read, used and dropped (by reason)</caption>"
        f"<tr><th>analysis</th><th>read</th><th>used</th><th>dropped</th><th>unit</th></tr>"
        f"{body}</table>"
    )


def _stamp(value: str | None, source: str) -> str:
    return f"{value} ({source})" if value else source


def _rows(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else "—"


# --------------------------------------------------------------------------------------
# render()
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RenderResult:
    """What :func:`render` wrote.

    Attributes
    ----------
    ok : the notebook ran to the end (the report is approvable evidence).
    html_path, decision_path : the files written.
    decision : the content of decision.json.
    """

    ok: bool
    html_path: Path
    decision_path: Path
    decision: Mapping[str, Any]

    @property
    def verdict(self) -> str:
        return str(self.decision["verdict"])


def failed_banner_html(failure: Failure, model: str) -> str:
    where = failure.cell
    return (
        '<section class="mk-verdict mk-failed" id="verdict" data-verdict="FAILED">'
        f'<div class="mk-banner">FAILED — not approvable ({escape(model)})</div>'
        f"<p>The report stopped at {escape(where)}: <code>{escape(failure.ename)}: "
        f"{escape(failure.evalue)}</code>. Everything below is partial; fix the error and "
        "render again. decision.json names the failing cell.</p></section>"
    )


def render(
    template: str | Path,
    params: Mapping[str, Any],
    out_dir: str | Path,
    *,
    name: str | None = None,
    model: str | None = None,
    cell_timeout: int = 300,
    start_timeout: int = 60,
    cwd: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    early: EarlyKernel | None = None,
) -> RenderResult:
    """Execute ``template`` with ``params`` and write ``<name>.html`` + ``decision.json``.

    Parameters
    ----------
    template : path of a notebook with a cell tagged ``parameters``.
    params : parameter name → JSON-able value, injected after the ``parameters`` cell.
    out_dir : directory for the HTML and decision.json (created).
    name : HTML file stem; defaults to the template's stem.
    model : model named in the banner and decision.json; defaults to ``params["MODEL"]``.
    cell_timeout : seconds a cell may run before it is interrupted (the report fails).
    start_timeout : seconds the kernel may take to start.
    cwd : working directory of the kernel (default: the template's directory).
    progress : called with one line per stage (and per cell).
    early : the kernel launched at the start of the CLI (:mod:`mlopskit._report_kernel`);
        adopted when it is the kernel this render would launch, else stopped.

    Returns
    -------
    RenderResult
        ``ok`` is false when a cell failed or the kernel did not start; the HTML then
        carries the FAILED banner and decision.json the failing cell and error.
    """
    for what, value in (("cell_timeout", cell_timeout), ("start_timeout", start_timeout)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{what}` must be a positive integer of seconds; got {value!r}.")
    template = Path(template)
    if not template.is_file():
        raise ValueError(f"`template` must be a notebook file; `{template}` does not exist.")
    stem = validate_name(name or template.stem, "name")
    model_name = validate_name(str(model if model is not None else params.get("MODEL", stem)))
    params = dict(params)
    json.dumps(jsonable(params))  # parameters must be plain data
    out = config.output_dir(out_dir, "out_dir")
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _msg: None)

    nb = _notebook.prepare(template)
    executed, failure, preload = _notebook.execute(
        nb,
        params,
        cell_timeout=cell_timeout,
        start_timeout=start_timeout,
        cwd=str(cwd or template.parent),
        say=say,
        preload=AFTER_KERNEL_MODULES,
        early=early,
    )

    say("writing HTML")
    records = _notebook.extract_records(executed)
    html_path = out / f"{stem}.html"
    executed = _notebook.normalise(executed)
    prov = provenance(params, records, model_name)
    if failure is not None:
        executed.cells.insert(
            0, _notebook.html_cell(failed_banner_html(failure, model_name), "failed")
        )
    executed.cells.append(_notebook.html_cell(provenance_html(prov), "provenance"))
    executed = _notebook.normalise(executed)
    exporter = None if preload is None else preload.exporter()
    html_text = _notebook.export_html(executed, f"{model_name} — {stem} report", exporter)
    remote = remote_resources(html_text)
    if remote:
        raise ValueError(
            f"report HTML would load network resources {remote[:5]}; the template or a "
            "notebook output must embed them instead."
        )
    html_bytes = html_text.encode("utf-8")
    html_path.write_bytes(html_bytes)

    from mlopskit.report.card import policy_from_provenance

    dec = records.get("decision") or {}
    decision: dict[str, Any] = {
        "model": model_name,
        "report": html_path.name,
        "report_sha256": hashlib.sha256(html_bytes).hexdigest(),
        "status": "ok" if failure is None else "failed",
        "verdict": FAILED if failure is not None else dec.get("verdict", NOT_ASSESSED),
        "reasons": dec.get("reasons", []),
        "next_steps": [
            str(x).replace(_notebook.REPORT_PATH_TOKEN, _notebook.shown_path(html_path))
            for x in dec.get("next_steps", [])
        ],
        "key_numbers": {**dec.get("key_numbers", {}), **records.get("key_numbers", {})},
        "warnings": dec.get("warnings", []),
        "schema_version": dec.get("schema_version", DECISION_SCHEMA_VERSION),
        "headline": dec.get("headline", ""),
        "warning_codes": dec.get("warning_codes", []),
        "canary": dec.get("canary"),
        "policy": dec.get("policy") or policy_from_provenance(prov),
        "as_of": dec.get("as_of", prov.get("as_of")),
        "expires": dec.get("expires") if failure is None else None,
        "provenance": prov,
        "failure": None,
    }
    if "monitoring" in dec:  # the monitoring card (schema 1.1)
        decision["monitoring"] = dec["monitoring"] if failure is None else None
    if failure is not None:
        decision["failure"] = {
            "cell_index": failure.cell_index,
            "cell": failure.cell,
            "cell_source": failure.cell_source,
            "ename": failure.ename,
            "evalue": failure.evalue,
            "traceback": failure.traceback,
        }
        decision["reasons"] = [
            Reason(
                code="report_failed",
                message=f"The report did not run to the end: {failure.ename}: {failure.evalue}",
                passed=False,
                critical=True,
            ).to_dict(),
            *decision["reasons"],
        ]
    from mlopskit.registry.gates.rederive import gate_block_for

    decision["gate"] = gate_block_for(records, decision)  # what the promotion gate checks
    decision_path = out / "decision.json"
    decision_path.write_text(
        json.dumps(decision, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    say(f"wrote {html_path} ({len(html_bytes) / 1e6:.2f} MB) and {decision_path.name}")
    return RenderResult(failure is None, html_path, decision_path, decision)


def notebooks_dir() -> Path:
    """The report notebooks of this checkout (``<repo>/notebooks``)."""
    from mlopskit import config

    return config.REPO_ROOT / "notebooks"


def _simulate_demo(d: Path, say: Callable[[str], None]) -> None:
    """Write the default demo world to ``d`` and register it (as ``mlopskit demo`` does)."""
    from mlopskit import demo
    from mlopskit.registry import register_demo

    say(f"no data: simulating the demo world into {d}")
    world = demo.generate("default")
    demo.write(world, d)
    champion, challenger = register_demo(world, d, None, replace=True)
    say(
        f"registered {champion.display} ({champion.stage}), {challenger.display} ({challenger.stage})"
    )


def _has_config(d: Path, model: str | None = None) -> bool:
    models = d / "models"
    if model is None:
        return any(models.glob("*.yml"))
    return (models / f"{model}.yml").is_file() or (models / f"{model}.yaml").is_file()


def ensure_data(model: str, data_dir: str | Path | None, say: Callable[[str], None]) -> Path:
    """The data directory of ``model``'s report (its ``models/<model>.yml`` is the config).

    ``data_dir`` when given; else the registry's data location of the model; else the
    demo world (simulated and registered when missing — also when the registry points at a
    demo world that was deleted, e.g. by ``make clean``).
    """
    from mlopskit import config

    if data_dir is not None:
        d = Path(data_dir).resolve()
        if not _has_config(d):
            raise ValueError(
                f"data directory `{d}` has no model config (models/<model>.yml); write one "
                "with `mlopskit init MODEL --data PATH` or simulate one with `mlopskit demo`."
            )
        return d
    ref = registered(model)
    demo_dir = config.demo_dir()
    if ref is not None and ref.data_dir is not None and ref.data_dir != demo_dir:
        if not _has_config(ref.data_dir, model):
            raise ValueError(f"{model}: the registered data `{ref.data_dir}` has no model config.")
        return ref.data_dir
    if not _has_config(demo_dir):
        _simulate_demo(demo_dir, say)
    return demo_dir


def report_model(
    model: str,
    *,
    as_of: str | None = None,
    policy: str | Path | None = None,
    out: str | Path | None = None,
    data_dir: str | Path | None = None,
    notebooks: str | Path | None = None,
    cell_timeout: int = 300,
    progress: Callable[[str], None] | None = None,
    kind: str | None = None,
    early: EarlyKernel | None = None,
) -> RenderResult:
    """Render the report ``model``'s stage calls for into ``<out>/<report>.html``.

    The model's config is found through the registry, then the ``models/`` directories
    (:func:`~mlopskit.report.config_inputs.config_report`); ``data_dir`` names a directory
    holding ``models/<model>.yml`` instead. Without either, the demo world is simulated
    and registered. ``out`` defaults to ``reports/<model>/``; ``notebooks`` to this
    checkout's ``notebooks/``. ``early``: see :func:`render` (the CLI launches it
    before importing this module).
    """
    import pandas as pd

    from mlopskit import config

    say = progress or (lambda _msg: None)
    validate_name(model)
    if out is not None:  # before any work: a file there is refused, never overwritten
        config.output_dir(out)
    if as_of is not None:
        try:
            as_of = pd.Timestamp(as_of).isoformat()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"`--as-of` must be a date like 2026-09-01; got {as_of!r}.") from exc
    policy_path = None
    if policy is not None:
        policy_path = Path(policy).resolve()
        if not policy_path.is_file():
            raise ValueError(f"`--policy` file `{policy}` does not exist.")
    found = _config_report(model, kind, say) if data_dir is None else None
    if found is not None:
        report_kind, params = found
    else:
        d = ensure_data(model, data_dir, say)
        ref = resolve_model(model, d)
        if ref.config is None:
            raise ValueError(f"{model}: no model config in `{d}/models/` nor in the registry.")
        report_kind = kind or ref.report
        say(f"{model}: stage {ref.stage} → {report_kind} report")
        params = {"MODEL": model, "DATA_DIR": None, "CONFIG": str(ref.config)}
    template = Path(notebooks or notebooks_dir()) / f"{report_kind}.ipynb"
    params |= {"AS_OF": as_of, "POLICY": None if policy_path is None else str(policy_path)}
    out_dir = Path(out) if out is not None else config.reports_dir() / model
    return render(
        template,
        params,
        out_dir,
        name=report_kind,
        model=model,
        cell_timeout=cell_timeout,
        cwd=config.REPO_ROOT,
        progress=say,
        early=early,
    )
