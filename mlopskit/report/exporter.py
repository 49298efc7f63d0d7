"""The report page from an executed notebook: nbconvert's lab template without any script
loaded from elsewhere, plus the report's stylesheet, and an HTML exporter that skips
nbconvert's BeautifulSoup pass (:func:`focusable` does what it did).

Split from :mod:`mlopskit.report.notebook` (kernel and execution) for size.
"""

from __future__ import annotations

import re
from typing import Any

# nbconvert's lab template without any script loaded from elsewhere (require.js, MathJax,
# mermaid, widgets), plus the report's own small stylesheet.
TEMPLATE = """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block notebook_css -%}
<style type="text/css">
:root { color-scheme: light; }
body.jp-Notebook { margin: 0; padding: 12px 20px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328; background: #fff; }
.jp-Collapser, .jp-InputPrompt, .jp-OutputPrompt { display: none; }
.jp-Cell { margin: 0; padding: 2px 0; }
.jp-RenderedHTMLCommon h1 { font-size: 1.6em; margin: 18px 0 6px; }
.jp-RenderedHTMLCommon h2 { font-size: 1.35em; margin: 22px 0 6px; border-bottom: 1px solid #d0d7de; padding-bottom: 3px; }
.jp-RenderedHTMLCommon h3 { font-size: 1.12em; margin: 14px 0 4px; }
.jp-RenderedHTMLCommon p { margin: 4px 0 8px; max-width: 980px; }
.jp-RenderedHTMLCommon ul, .jp-RenderedHTMLCommon ol { margin: 2px 0 6px; padding-left: 24px; }
.jp-RenderedHTMLCommon code { font: 12px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f6f8fa; padding: 0 3px; }
.jp-RenderedHTMLCommon table { border-collapse: collapse; border: none; margin: 6px 0 10px; font-size: 12px; font-variant-numeric: tabular-nums; }
.jp-RenderedHTMLCommon th { text-align: left; font-weight: 600; border-bottom: 1px solid #8c959f; padding: 2px 8px; vertical-align: bottom; }
.jp-RenderedHTMLCommon td { text-align: right; padding: 2px 8px; border: none; }
.jp-RenderedHTMLCommon td:first-child { text-align: left; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: #f6f8fa; }
.jp-RenderedHTMLCommon pre { white-space: pre-wrap; font: 12px/1.35 ui-monospace, Menlo, Consolas, monospace; }
details > summary { cursor: pointer; }
.jp-OutputArea-output { overflow-x: auto; }
</style>
{%- endblock notebook_css -%}
{%- block extra_css -%}
<style type="text/css">
main { max-width: 1240px; margin: 0 auto; }
.jp-RenderedHTMLCommon table { font-size: 12px; }
details.mk-details > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.mk-verdict { margin: 8px 0 14px 0; background: #f6f8fa; }
.mk-banner { font-size: 1.5em; font-weight: 700; }
.mk-next { margin: 6px 0 2px 0; }
.mk-failed { border: 3px solid #cf222e; background: #ffebe9; padding: 10px 14px; }
.mk-failed .mk-banner { color: #cf222e; }
.mk-warnings { border-left: 4px solid #9a6700; padding: 4px 10px; margin: 6px 0; }
.mk-table caption { caption-side: top; font-weight: 600; text-align: left; }
.mk-table td, .mk-table th { padding: 2px 8px; }
.mk-provenance { font-size: 0.85em; border-top: 2px solid #d0d7de; margin-top: 24px; }
.mk-provenance code { word-break: break-all; }
figure.mk-figure { margin: 8px 0; }
figure.mk-figure img { max-width: 100%; height: auto; }
</style>
{%- endblock extra_css -%}
"""


def _exporter_options() -> dict[str, Any]:
    from jinja2 import DictLoader

    return {
        "template_name": "lab",
        "extra_loaders": [DictLoader({"mlopskit_report.html.j2": TEMPLATE})],
        "template_file": "mlopskit_report.html.j2",
        "exclude_input": True,
        "exclude_input_prompt": True,
        "exclude_output_prompt": True,
        "exclude_anchor_links": True,
        "embed_images": True,
    }


#: an output wrapper of the lab template, and an ``<img>`` tag (see :func:`focusable`)
_OUTPUT_DIV = re.compile(r'<div\b[^>]*\bclass="[^"]*\bjp-OutputArea-output\b[^"]*"[^>]*>')
_INPUT_DIV = re.compile(r'<div\b[^>]*\bclass="[^"]*\bjp-Cell-inputWrapper\b[^"]*"[^>]*>')
_IMG = re.compile(r"<img\b[^>]*>")
_HAS_TABINDEX = re.compile(r"\stabindex\s*=")
_HAS_ALT = re.compile(r"\salt\s*=")
NO_ALT = "No description has been provided for this image"


def focusable(html_text: str) -> str:
    """What nbconvert's ``HTMLExporter.from_notebook_node`` adds after templating, without
    its BeautifulSoup round trip (a parse and re-serialisation of the whole page: ~90 % of
    the export's time). Output areas and input wrappers get ``tabindex="0"`` and an image
    without alt text gets nbconvert's placeholder. The page differs from nbconvert's only
    in serialisation details the HTML parser does not see (tests/test_report_kernel.py:
    passed through nbconvert's own soup step, it gives nbconvert's page byte for byte).
    """

    def tab(m: re.Match[str]) -> str:
        tag = m.group(0)
        return tag if _HAS_TABINDEX.search(tag) else f'{tag[:-1]} tabindex="0">'

    def alt(m: re.Match[str]) -> str:
        tag = m.group(0)
        if _HAS_ALT.search(tag):
            return tag
        end = 2 if tag.endswith("/>") else 1
        return f'{tag[:-end]} alt="{NO_ALT}"{tag[-end:]}'

    html_text = _OUTPUT_DIV.sub(tab, html_text)
    html_text = _INPUT_DIV.sub(tab, html_text)
    return _IMG.sub(alt, html_text)


def make_exporter() -> Any:
    """nbconvert's HTML exporter with the report template (code and prompts hidden), minus
    the BeautifulSoup step (:func:`focusable` does what it did)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):  # type: ignore[misc]
        def from_notebook_node(  # type: ignore[override]
            self, nb: Any, resources: Any = None, **kw: Any
        ) -> tuple[str, Any]:
            # HTMLExporter.from_notebook_node (nbconvert 7) up to its BeautifulSoup step
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
            )
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            html_text, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return focusable(html_text), resources

    return ReportExporter(**_exporter_options())


def nbconvert_exporter() -> Any:
    """nbconvert's own HTMLExporter with the report's options (the reference for tests)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(**_exporter_options())


def export_html(nb: Any, title: str, exporter: Any = None) -> str:
    """The report HTML of a normalised notebook (``exporter``: from :func:`make_exporter`)."""
    if exporter is None:
        exporter = make_exporter()
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return str(body)
