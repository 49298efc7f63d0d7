"""The report's HTML exporter skips nbconvert's BeautifulSoup pass: its page must be the
same document as nbconvert's (nbconvert's own soup step turns it into nbconvert's page byte
for byte), for every kind of output a report notebook shows."""

from __future__ import annotations

import base64
from typing import Any

import nbformat
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mlopskit.report import exporter, notebook
from mlopskit.report.cells import Figure, Figures

# a 1×1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _soup_step(html_text: str) -> str:
    """nbconvert 7's HTMLExporter.from_notebook_node after templating (html.py), verbatim."""
    soup = BeautifulSoup(html_text, features="html.parser")
    for elem in soup.select("img:not([alt])"):
        elem.attrs["alt"] = "No description has been provided for this image"
    for elem in soup.select(".jp-Notebook div.jp-Cell-inputWrapper"):
        elem.attrs["tabindex"] = "0"
    for elem in soup.select(".jp-Notebook div.jp-OutputArea-output"):
        elem.attrs["tabindex"] = "0"
    return str(soup)


def _cell(outputs: list[Any], src: str = "x") -> Any:
    c = new_code_cell(src)
    c.outputs = outputs
    return c


def _notebook() -> Any:
    fig = Figures((Figure(PNG, "Volumes — events by day", 1, 1), Figure(PNG, 'a "b" <c>', 1, 1)))
    cells = [
        new_markdown_cell("# Title\n\nSome *text* with `code`, a list:\n\n- a\n- b & c\n"),
        _cell([new_output("display_data", data={"text/html": fig._repr_html_()})]),
        _cell(
            [
                new_output(
                    "execute_result",
                    data={
                        "text/html": "<table class='mk-table'><caption>t</caption><tr><th>a</th>"
                        "<td>&lt;script&gt;1</td><td>x&nbsp;y</td></tr></table><br>"
                        "<img src='data:image/png;base64,AAAA'><p>end</p>",
                        "text/plain": "<T>",
                    },
                    execution_count=None,
                )
            ]
        ),
        _cell(
            [
                new_output(
                    "display_data",
                    data={
                        "image/png": base64.b64encode(PNG).decode(),
                        "text/plain": "<Figure>",
                    },
                )
            ]
        ),
        _cell([new_output("stream", name="stdout", text="hello <world>\n")]),
        _cell([new_output("stream", name="stderr", text="a warning\n")]),
        _cell([new_output("execute_result", data={"text/plain": "42"}, execution_count=None)]),
        _cell(
            [
                new_output(
                    "display_data",
                    data={"text/markdown": "**bold** <img src='data:image/png;base64,AAAA'/>"},
                )
            ]
        ),
    ]
    nb = new_notebook(cells=cells)
    return notebook.normalise(nb)


def test_report_page_is_nbconverts_page_without_the_soup_round_trip() -> None:
    nb = _notebook()
    nbformat.validate(nb)
    ours = notebook.export_html(nb, "m — rollout report", notebook.make_exporter())
    theirs = notebook.export_html(nb, "m — rollout report", exporter.nbconvert_exporter())
    assert _soup_step(ours) == theirs
    assert ours.count('tabindex="0"') == theirs.count('tabindex="0"') == 8  # one per output
    assert 'alt="Volumes — events by day"' in ours
    assert ours.count(f'alt="{exporter.NO_ALT}"') == 3  # the html, png and markdown images


def test_focusable_adds_once_and_keeps_existing_attributes() -> None:
    html_text = (
        '<div class="jp-RenderedHTML jp-OutputArea-output" data-mime-type="text/html">'
        '<div class="jp-OutputArea-output" tabindex="-1"><img src="a" alt="x">'
        '<img src="b"/><img src="c"></div></div>'
    )
    out = exporter.focusable(html_text)
    assert out == (
        '<div class="jp-RenderedHTML jp-OutputArea-output" data-mime-type="text/html" '
        'tabindex="0"><div class="jp-OutputArea-output" tabindex="-1"><img src="a" alt="x">'
        f'<img src="b" alt="{exporter.NO_ALT}"/><img src="c" alt="{exporter.NO_ALT}"></div></div>'
    )
    assert exporter.focusable(out) == out
