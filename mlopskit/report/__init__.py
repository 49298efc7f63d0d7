"""Decision reports: render a notebook into one self-contained HTML and its ``decision.json``.

The public API a report notebook and the CLI use is re-exported here
(``from mlopskit import report; report.render(...)``, ``report.figure(ax)``,
``report.record(...)``, ``report.open_inputs(...)``). The modules:

* ``rendering`` — :func:`render` (papermill + nbconvert), provenance, :func:`report_model`,
  and the kernel-side helpers (:func:`record`, :func:`figure`, :func:`section`, ...);
* ``notebook`` — the private machinery of :func:`render` (kernelspec, execution,
  normalisation, offline HTML export);
* ``inputs`` — which data and which report for a model (model config, registry stage, hashes);
* ``evidence`` — which analysis runs on which log, with which windows;
* ``decision`` — the rules combining the analyses' verdicts, and the verdict banner;
* ``overview`` — volumes, labels at a glance, score distributions.

``evidence``, ``decision`` and ``overview`` are imported by name
(``from mlopskit.report import decision, evidence, overview``) so ``import mlopskit.report``
stays light inside the report kernel.
"""

from __future__ import annotations

from mlopskit.report.inputs import (
    REPORT_FOR_STAGE,
    ModelRef,
    ReportInputs,
    file_sha256,
    known_models,
    open_inputs,
    registered,
    resolve_model,
    validate_name,
)
from mlopskit.report.notebook import RECORD_MIME, Failure, jsonable, remote_resources
from mlopskit.report.rendering import (
    FAILED,
    KERNEL_NAME,
    NOT_ASSESSED,
    PROVENANCE_PACKAGES,
    Collapsed,
    Figure,
    Figures,
    Note,
    RenderResult,
    collapsed,
    ensure_data,
    failed_banner_html,
    figure,
    figures,
    notebooks_dir,
    provenance,
    provenance_html,
    record,
    render,
    render_time,
    report_model,
    section,
)

__all__ = [
    "FAILED",
    "KERNEL_NAME",
    "NOT_ASSESSED",
    "PROVENANCE_PACKAGES",
    "RECORD_MIME",
    "REPORT_FOR_STAGE",
    "Collapsed",
    "Failure",
    "Figure",
    "Figures",
    "ModelRef",
    "Note",
    "RenderResult",
    "ReportInputs",
    "collapsed",
    "ensure_data",
    "failed_banner_html",
    "figure",
    "figures",
    "file_sha256",
    "jsonable",
    "known_models",
    "notebooks_dir",
    "open_inputs",
    "provenance",
    "provenance_html",
    "record",
    "registered",
    "remote_resources",
    "render",
    "render_time",
    "report_model",
    "resolve_model",
    "section",
    "validate_name",
]
