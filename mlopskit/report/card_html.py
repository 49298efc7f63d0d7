"""The decision card in HTML: verdict, headline, policy banner, chips, timeline, reasons.

No script, no external resource: flex boxes and percentage-positioned bars only. Element
ids (``verdict``, ``mk-headline``, ``mk-policy``, ``mk-chips``, ``mk-money``,
``mk-timeline``, ``mk-why``) are stable: the browser tests and readers find them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from mlopskit import _format as fmt
from mlopskit._display import escape
from mlopskit.report.card import EXPIRY_DAYS, Card, Chip, TimelineSpan, _day
from mlopskit.verdict import VERDICT_COLOURS

# ----------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------
CHIP_COLOURS = {
    "pass": "#1a7f37",
    "marginal": "#9a6700",
    "pending": "#57606a",
    "fail": "#cf222e",
    "hidden": "#8c959f",
}
CHIP_WORDS = {
    "pass": "pass",
    "marginal": "marginal",
    "pending": "undecided",
    "fail": "fail",
    "hidden": "not read",
}

CARD_CSS = """
.mk-card{font-size:14px}
.mk-card .mk-headline{font-size:1.05em;margin:4px 0 8px 0}
.mk-chips{display:flex;flex-wrap:wrap;gap:8px;margin:6px 0}
.mk-chip{border:1px solid #d0d7de;border-top:4px solid var(--c);border-radius:4px;padding:4px 8px;
 min-width:220px;max-width:290px;background:#fff;font-size:12.5px;line-height:1.35}
.mk-chip b{color:var(--c)}
.mk-chip .mk-k{color:#57606a}
.mk-policy-banner{background:#fff8c5;border:1px solid #d4a72c;padding:4px 10px;margin:6px 0}
.mk-timeline{position:relative;margin:6px 0 4px 0;font-size:12px}
.mk-tl-row{display:flex;align-items:center;height:18px}
.mk-tl-label{width:150px;color:#57606a}
.mk-tl-track{position:relative;flex:1;height:10px;background:#eaeef2;border-radius:3px}
.mk-tl-bar{position:absolute;top:0;height:10px;background:#0969da;border-radius:3px;min-width:2px}
.mk-tl-note{width:330px;padding-left:8px;color:#57606a;white-space:nowrap;overflow:hidden;
 text-overflow:ellipsis}
.mk-card ol.mk-why{margin:2px 0 4px 0;padding-left:22px}
.mk-card .mk-money,.mk-card .mk-ran{margin:3px 0}
.mk-card .mk-cols{display:flex;gap:24px;flex-wrap:wrap}
.mk-card .mk-cols>div{flex:1;min-width:380px}
"""


def _chip_html(c: Chip) -> str:
    colour = CHIP_COLOURS[c.status]
    role = c.role if c.gating else f"{c.role}, not gating"
    if c.status == "hidden":
        body = "<div>effect not read: the split is invalid</div>"
    else:
        body = (
            f'<div><span class="mk-k">effect</span> {escape(c.effect_text)}</div>'
            f'<div><span class="mk-k">interval</span> {escape(c.interval_text)}</div>'
            f'<div><span class="mk-k">margin</span> {escape(c.margin_text)}</div>'
        )
    return (
        f'<div class="mk-chip" data-metric="{escape(c.metric)}" data-status="{c.status}" '
        f'style="--c:{colour}"><b>{escape(CHIP_WORDS[c.status])}</b> · '
        f"<strong>{escape(c.label)}</strong> <span class='mk-k'>({escape(role)})</span>{body}</div>"
    )


def _timeline_html(spans: Sequence[TimelineSpan]) -> str:
    if not spans:
        return ""
    ts = [s.start for s in spans] + [s.end for s in spans if s.end is not None]
    lo, hi = min(ts), max(ts)
    width = max((hi - lo) / pd.Timedelta(days=1), 1.0)

    def pos(t: pd.Timestamp) -> float:
        return 100.0 * ((t - lo) / pd.Timedelta(days=1)) / width

    rows = []
    for s in spans:
        left = pos(s.start)
        span = 0.6 if s.end is None else max(pos(s.end) - left, 0.6)
        dates = _day(s.start) if s.end is None else f"{_day(s.start)} → {_day(s.end)}"
        rows.append(
            f'<div class="mk-tl-row" data-span="{escape(s.label)}">'
            f'<span class="mk-tl-label">{escape(s.label)}</span><span class="mk-tl-track">'
            f'<span class="mk-tl-bar" style="left:{left:.1f}%;width:{span:.1f}%"></span></span>'
            f'<span class="mk-tl-note" title="{escape(s.note)}">{escape(dates)}'
            f"{' · ' + escape(s.note) if s.note else ''}</span></div>"
        )
    return f'<div class="mk-timeline" id="mk-timeline">{"".join(rows)}</div>'


def card_html(
    card: Card, next_steps: Sequence[str] = (), warnings: Sequence[str] = (), n_reasons: int = 4
) -> str:
    """The first screen (see the module docstring); ids ``verdict``, ``mk-chips``,
    ``mk-timeline``, ``mk-policy`` and ``mk-why`` for tests and readers."""
    colour = VERDICT_COLOURS.get(card.verdict, "#57606a")
    pol_html = policy_html(card.policy)
    chips_html = "".join(_chip_html(c) for c in card.chips)
    why = card.reasons[:n_reasons]
    ran = f'<div class="mk-ran">{escape(card.window.sentence())}</div>' if card.window else ""
    if card.window is not None and card.window.label_windows:
        ran += (
            f'<div class="mk-ran mk-labels" id="mk-labels">'
            f"{escape(card.window.labels_sentence())}</div>"
        )
    mon = (
        f'<div class="mk-money" id="mk-money">{escape(card.money.sentence())}</div>'
        if card.money
        else ""
    )
    expires = expires_text(card.expires, card.as_of)
    return (
        f"<style>{CARD_CSS}</style>"
        f'<section class="mk-verdict mk-card" id="verdict" data-verdict="{escape(card.verdict)}" '
        f'style="border-left:8px solid {colour};padding:8px 14px;">'
        f'<div class="mk-banner">{escape(card.model)} · rollout report: '
        f'<span class="mk-verdict-word" style="color:{colour}">{escape(card.verdict)}</span>'
        f'<span style="font-size:0.55em;font-weight:400;color:#57606a">{escape(expires)}</span></div>'
        f'<div class="mk-headline mk-meaning" id="mk-headline">{escape(card.headline)}</div>'
        f"{pol_html}"
        f'<div class="mk-chips" id="mk-chips">{chips_html}</div>{ran}{mon}'
        f"{_timeline_html(card.timeline)}"
        f"{why_next_html([r for r, _ in why], next_steps, warnings)}"
        f"</section>"
    )


def _short(sha: str | None) -> str:
    return "sha256 " + sha[:12] if sha else "built-in defaults"


def policy_html(pol: Any) -> str:
    """The policy line (``id="mk-policy"``): the default's hash, or a banner naming what
    differs from ``policies/default.yml`` (shared by the rollout and monitoring cards)."""
    if pol.default:
        return (
            f'<div class="mk-ran" id="mk-policy">Policy: default '
            f"({escape(_short(pol.sha256))}).</div>"
        )
    diff = ", ".join(pol.differs[:8]) + (" …" if len(pol.differs) > 8 else "")
    return (
        f'<div class="mk-policy-banner" id="mk-policy" data-default="false">'
        f"<strong>Not the default policy:</strong> {escape(pol.path)} "
        f"({escape(_short(pol.sha256))}); differs from policies/default.yml in "
        f"{escape(diff or 'its bytes')}.</div>"
    )


def expires_text(expires: Any, as_of: Any) -> str:
    """`` · decision expires D (as-of A + N days)``, or nothing without an expiry."""
    if expires is None:
        return ""
    return f" · decision expires {_day(expires)} (as-of {_day(as_of)} + {EXPIRY_DAYS} days)"


def why_next_html(
    reasons: Sequence[Any], next_steps: Sequence[str], warnings: Sequence[str]
) -> str:
    """The two columns under the chips: ranked reasons (``id="mk-why"``) and next steps with
    the warnings folded behind one line."""
    why_html = "".join(
        f"<li>{'✔' if r.passed else '✘' if r.passed is False else '·'} {escape(r.message)}</li>"
        for r in reasons
    )
    steps = "".join(f"<li>{escape(s)}</li>" for s in next_steps)
    warn = "".join(f"<li>{escape(x)}</li>" for x in warnings)
    more_w = (
        f'<details class="mk-details"><summary>{fmt.count(len(warnings))} warning(s)</summary>'
        f"<ul>{warn}</ul></details>"
        if warnings
        else ""
    )
    return (
        f'<div class="mk-cols"><div><strong>Why (what decided, first)</strong>'
        f'<ol class="mk-why" id="mk-why">{why_html}</ol></div>'
        f'<div class="mk-next"><strong>What to do next</strong><ul>{steps}</ul>{more_w}</div></div>'
    )
