"""The monitoring decision card in HTML (same look and element ids as the rollout card).

Ids: ``verdict``, ``mk-headline``, ``mk-policy``, ``mk-chips`` (one ``.mk-chip`` per layer,
``data-layer`` and ``data-status``), ``mk-onset``, ``mk-estimate``, ``mk-timeline``,
``mk-why``. No script, no external resource.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlopskit._display import escape
from mlopskit.report.card_html import (
    CARD_CSS,
    _timeline_html,
    expires_text,
    policy_html,
    why_next_html,
)
from mlopskit.report.monitor_card import LayerChip, MonitorCard
from mlopskit.verdict import VERDICT_COLOURS

STATUS_COLOURS = {
    "OK": "#1a7f37",
    "WATCH": "#9a6700",
    "ALERT": "#bc4c00",
    "PAGE": "#cf222e",
    "not evaluated": "#8c959f",
}


def _chip_html(c: LayerChip) -> str:
    colour = STATUS_COLOURS.get(c.status, "#57606a")
    note = f'<div><span class="mk-k">note</span> {escape(c.note)}</div>' if c.note else ""
    return (
        f'<div class="mk-chip" data-layer="{escape(c.layer)}" data-status="{escape(c.status)}" '
        f'data-quantity="{escape(c.quantity)}" style="--c:{colour}"><b>{escape(c.status)}</b> · '
        f"<strong>{escape(c.name)}</strong>"
        f'<div><span class="mk-k">decided by</span> {escape(c.text)}</div>'
        f'<div><span class="mk-k">window</span> {escape(c.window_text)}</div>{note}</div>'
    )


def monitor_card_html(
    card: MonitorCard,
    next_steps: Sequence[str] = (),
    warnings: Sequence[str] = (),
    n_reasons: int = 4,
) -> str:
    """The monitoring report's first screen (see the module docstring)."""
    colour = VERDICT_COLOURS.get(card.verdict, "#57606a")
    pol_html = policy_html(card.policy)
    retrain = (
        f' · retraining: <span class="mk-retrain">{escape(card.retraining)}</span>'
        if card.retraining
        else ""
    )
    onset = (
        f'<div class="mk-ran" id="mk-onset">{escape(card.onset.sentence())}</div>'
        if card.onset is not None
        else '<div class="mk-ran" id="mk-onset">No drift onset on the output scores.</div>'
    )
    estimate = (
        f'<div class="mk-ran" id="mk-estimate">Estimated performance: {escape(card.estimate)}</div>'
        if card.estimate
        else ""
    )
    expires = expires_text(card.expires, card.as_of)
    chips = "".join(_chip_html(c) for c in card.chips)
    return (
        f"<style>{CARD_CSS}</style>"
        f'<section class="mk-verdict mk-card" id="verdict" data-verdict="{escape(card.verdict)}" '
        f'data-retraining="{escape(card.retraining or "")}" '
        f'style="border-left:8px solid {colour};padding:8px 14px;">'
        f'<div class="mk-banner">{escape(card.model)} · monitoring report: '
        f'<span class="mk-verdict-word" style="color:{colour}">{escape(card.verdict)}</span>'
        f"{retrain}"
        f'<span style="font-size:0.55em;font-weight:400;color:#57606a">{escape(expires)}</span></div>'
        f'<div class="mk-headline mk-meaning" id="mk-headline">{escape(card.headline)}</div>'
        f"{pol_html}"
        f'<div class="mk-chips" id="mk-chips">{chips}</div>{onset}{estimate}'
        f"{_timeline_html(card.timeline)}"
        f"{why_next_html(card.reasons[:n_reasons], next_steps, warnings)}"
        f"</section>"
    )
